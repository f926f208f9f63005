"""A child process's target that exits 1 when SIGINT is blocked in it, 0 otherwise (importable,
so a fork server's child can run it)."""

from __future__ import annotations

import os
import signal


def exit_by_sigint_mask() -> None:
    os._exit(1 if signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []) else 0)
