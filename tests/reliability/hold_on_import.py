"""A module whose import stalls while the file named by `HARNESS_TEST_HOLD` exists, after
creating `<hold>.importing`: a child process that imports it (a fork server's preload, a spawned
child's start) is provably inside its start-up, for a signal sent to it there."""

from __future__ import annotations

import os
import time
from pathlib import Path

_hold = os.environ.get("HARNESS_TEST_HOLD")
if _hold:
    Path(f"{_hold}.importing").touch()
    while Path(_hold).exists():
        time.sleep(0.01)


def ignore_ctrl_c_and_return() -> None:
    """A spawned child's target: what the Ray driver process does first."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
