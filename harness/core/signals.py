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

import contextlib
import signal
from collections.abc import Iterator
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


@contextlib.contextmanager
def ctrl_c_held_from_children() -> Iterator[None]:
    """Block SIGINT in this thread while it starts a child process (fork + exec), so the child
    starts with SIGINT blocked: a Ctrl-C in the terminal reaches the whole process group, and a
    child still importing torch, before it ignores SIGINT, printed a KeyboardInterrupt traceback
    (the time-limit workers' fork server died of it). The child keeps the signal pending until
    it ignores it, which discards it; the parent handles Ctrl-C and stops its children. This
    process gets a SIGINT that arrived meanwhile when the block ends (nothing is lost). The
    same as multiprocessing's own resource tracker does. A no-op where there are no masks."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    # the tracker (every multiprocessing child but a fork's uses it) unblocks SIGINT outright
    # once it has started, which would undo the block here: start it first
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


FORK_SERVER_HELD_ENV = "HARNESS_FORK_SERVER_HELD"
"""Set while the harness starts its workers' fork server with SIGINT blocked: the server's last
preload module (`harness.run.executors.server_ready`) then unblocks it."""

FORK_SERVER_SAFE_PATH_ENV = "HARNESS_FORK_SERVER_SAFE_PATH"
"""Set while the harness starts that server with PYTHONSAFEPATH set by it: `server_ready` then
drops PYTHONSAFEPATH from the server's environment, before the server forks any worker."""


def ignore_ctrl_c() -> None:
    """In a child started under `ctrl_c_held_from_children`: ignore SIGINT from now on (its
    parent handles Ctrl-C) and unblock it, so processes it starts in turn see it as usual."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
