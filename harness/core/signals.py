"""The running command's record of SIGINT / SIGTERM, for code that cannot rely on the exception.

`harness.run.interrupts.interruptible` installs a handler that latches the signal it catches
(`SignalLatch.signum`) and raises `Interrupted` in the main thread. That exception can be lost:
swallowed by the finalizer or C callback it lands in, replaced by a model's own `except
BaseException`, or never raised while the main thread waits in C for a lock (the C handler ran
on another thread, and the Python handler runs only when the main thread next runs Python
code). The latch cannot be lost. Code that waits on other processes (the report's workers) or
catches broadly (model calls) reads it here, through the installed handler: no import of the
runner (the layers below it stay below it).
"""

from __future__ import annotations

import signal
from typing import Protocol


class _Latch(Protocol):
    signum: int | None

    def check(self) -> None: ...


def _latch() -> _Latch | None:
    """The installed handler's latch, if it caught a signal."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        latch = getattr(signal.getsignal(signum), "__self__", None)
        # a latch, not any handler's object that happens to have a `signum` (an application's)
        if getattr(latch, "signum", None) is not None and callable(getattr(latch, "check", None)):
            return latch  # type: ignore[no-any-return]
    return None


def signal_received() -> bool:
    """Whether SIGINT or SIGTERM really reached this process during a command. A
    KeyboardInterrupt that model code raises itself leaves no record."""
    return _latch() is not None


def stop_if_signalled() -> None:
    """Raise the latched signal's `Interrupted` again, if one was caught (its first exception
    may be lost); nothing otherwise."""
    latch = _latch()
    if latch is not None:
        latch.check()
