"""Whether the process that wrote a leftover (a temporary folder, a staging folder, a cache
entry being written) is still running, from the pid in the leftover's name."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """Whether a process `pid` exists on this host (one of another user counts as alive: it
    cannot be signalled, but it runs)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
