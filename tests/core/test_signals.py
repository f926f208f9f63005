"""The running command's signal latch, read through the installed handler (harness.core.signals)."""

from __future__ import annotations

import signal
from types import FrameType

import pytest

from harness.core.signals import signal_received, stop_if_signalled
from harness.run.interrupts import Interrupted, SignalLatch


class _Application:
    """An application's own handler object that happens to record a `signum` (no latch)."""

    def __init__(self) -> None:
        self.signum: int | None = signal.SIGTERM

    def handler(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum


def _installed(handler: object) -> object:
    return signal.signal(signal.SIGTERM, handler)  # type: ignore[arg-type]


def test_a_caught_signal_is_raised_again_and_none_is_not() -> None:
    latch = SignalLatch()
    previous = _installed(latch.handler)
    try:
        assert not signal_received()
        stop_if_signalled()  # nothing caught: nothing raised
        latch.signum = signal.SIGTERM  # as the handler records it
        assert signal_received()
        with pytest.raises(Interrupted, match="SIGTERM"):
            stop_if_signalled()
    finally:
        _installed(previous)


def test_an_applications_handler_is_not_taken_for_the_latch() -> None:
    """Called from Python inside an application whose SIGTERM handler is a method of an object
    with a `signum`: the report must neither stop nor fail on it."""
    previous = _installed(_Application().handler)
    try:
        assert not signal_received()
        stop_if_signalled()
    finally:
        _installed(previous)
