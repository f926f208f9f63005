"""SIGINT / SIGTERM during a run: stop at once, keep finished jobs, record the signal, exit 128+N.

The handler raises `Interrupted` (a KeyboardInterrupt, so code that already lets Ctrl-C through
does the same for SIGTERM) in the main thread. The runner catches it, marks the manifest
`status: interrupted` with the signal's name, and the CLI exits 130 (SIGINT) or 143 (SIGTERM).
Stopping at once is safe because every results write is atomic (temp + rename): a job that was
being written is simply absent and reruns on resume. Handlers are restored on exit.

Python swallows an exception raised while it runs a finalizer (`__del__`, a weakref callback,
garbage collection): a signal that lands there would be lost, and the run would go on and exit 0.
So the handler also latches the signal (`SignalLatch`), and the runner checks the latch between
jobs and once more before it finishes: a caught signal always ends the run as interrupted (every
command does the same at its end, and the report while it waits for its workers:
`harness.core.signals`). The
"Exception ignored in ..." traceback Python would print for it is left out (the run prints its
one line), and the latch is what tells a real signal from a KeyboardInterrupt that model code
raised itself (`harness.core.signals.signal_received`: only the latter is the model's
failure).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; `exit_code` is the shell convention 128 + signal."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        super().__init__(f"interrupted by {self.signal_name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def signal_of(exc: BaseException) -> str:
    """The signal name an interruption came from ('SIGINT' for a plain KeyboardInterrupt)."""
    return exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"


def exit_code_of(signal_name: str | None) -> int:
    return 128 + signal.Signals[signal_name or "SIGINT"].value


class SignalLatch:
    """The first signal caught inside `interruptible()`, kept even if its exception was lost."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def handler(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
        raise Interrupted(signum)

    @property
    def signal_name(self) -> str | None:
        """'SIGINT' / 'SIGTERM' once a signal was caught, else None."""
        return None if self.signum is None else signal.Signals(self.signum).name

    def unraisable(self, unraisable: sys.UnraisableHookArgs, previous: object) -> None:
        """`sys.unraisablehook` during a run: our own signal's exception, swallowed in a
        finalizer or a C callback, is kept by the latch and not printed as a traceback."""
        if isinstance(unraisable.exc_value, Interrupted) and self.signum is not None:
            return
        previous(unraisable)  # type: ignore[operator]

    def check(self) -> None:
        """Raise `Interrupted` again if a signal was caught (its first exception may be lost)."""
        if self.signum is not None:
            raise Interrupted(self.signum)


@contextmanager
def interruptible() -> Iterator[SignalLatch]:
    """Within this block SIGINT and SIGTERM raise `Interrupted` (main thread only; else no-op)."""
    latch = SignalLatch()
    if threading.current_thread() is not threading.main_thread():
        yield latch
        return
    previous = {s: signal.signal(s, latch.handler) for s in HANDLED}
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: latch.unraisable(unraisable, hook)
    try:
        yield latch
    finally:
        sys.unraisablehook = hook
        for s, handler in previous.items():
            signal.signal(s, handler)
