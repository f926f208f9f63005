"""Model code that misbehaves towards the harness itself, not just in what it returns: it edits
its inputs in place, moves the working directory, raises BaseExceptions that are not errors, or
never returns from its factory (`tests.reliability.hostile.hostile_code:<name>`)."""

from __future__ import annotations

import ctypes
import os
import signal
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tests.fixture_models import linear_digits


class _EditsInputs(nn.Module):
    """`linear_digits` whose forward first writes into its input tensor (`how`)."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.inner = linear_digits()
        self.how = how

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.how == "mul":
            x.mul_(0)
        elif self.how == "data":  # bypasses autograd's version counter
            x.data.fill_(1.0)
        elif self.how == "numpy":  # a numpy view writes the same memory
            x.detach().cpu().numpy()[...] = 0.5
        return self.inner(x)


def zeroing(how: str = "mul") -> nn.Module:
    """A digits model that zeroes (or otherwise overwrites) its input batch in place."""
    return _EditsInputs(how)


def zeroing_callable() -> Any:
    """A black-box predictor (adapter: callable, factory: true) that zeroes its numpy batch."""
    inner = linear_digits()

    def predict(batch: Any) -> Any:
        batch[...] = 0
        with torch.no_grad():
            return inner(torch.as_tensor(batch)).numpy()

    return predict


class _Wanders(nn.Module):
    """A digits model whose every forward changes the working directory (to `to`)."""

    def __init__(self, to: str) -> None:
        super().__init__()
        self.inner = linear_digits()
        self.target = to

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        os.chdir(self.target)
        return self.inner(x)


def wandering(to: str) -> nn.Module:
    return _Wanders(to)


def wandering_factory(to: str) -> nn.Module:
    """A factory that changes the working directory while it builds the model."""
    os.chdir(to)
    return linear_digits()


class CustomStop(BaseException):
    """A BaseException that is neither an error nor a signal."""


_RAISED: dict[str, type[BaseException]] = {
    "KeyboardInterrupt": KeyboardInterrupt,
    "SystemExit": SystemExit,
    "GeneratorExit": GeneratorExit,
    "CustomStop": CustomStop,
}


class _Raises(nn.Module):
    def __init__(self, what: str, after: int) -> None:
        super().__init__()
        self.inner = linear_digits()
        self.what = what
        self.after = after  # forward calls that return normally first
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls > self.after:
            raise _RAISED[self.what]("raised by the model's forward")
        return self.inner(x)


def raising_forward(what: str, after: int = 0) -> nn.Module:
    """A digits model whose forward raises the BaseException named `what` (after `after` calls
    that return: the probe forward passes, the suite's own calls through module() do not)."""
    return _Raises(what, after)


class _SignalInCCallback(nn.Module):
    """Sends itself a real signal from inside a C callback (libc's qsort calling a Python
    comparator through ctypes), where Python swallows the handler's exception; then the forward
    returns, or raises as a C library would report its callback's failure."""

    def __init__(self, signal_name: str, then: str) -> None:
        super().__init__()
        self.inner = linear_digits()
        self.signum = int(getattr(signal, signal_name))
        self.then = then

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        compare_t = ctypes.CFUNCTYPE(
            ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)
        )
        sent = []

        def compare(a: Any, b: Any) -> int:
            if not sent:
                sent.append(True)
                os.kill(os.getpid(), self.signum)
                sum(range(1000))  # bytecode after the signal: the handler raises here
            return int(a[0] - b[0])

        values = (ctypes.c_int * 8)(*range(8, 0, -1))
        libc = ctypes.CDLL(None)
        libc.qsort(values, len(values), ctypes.sizeof(ctypes.c_int), compare_t(compare))
        if self.then == "raise":
            raise RuntimeError("qsort's comparator failed")
        return self.inner(x)


def signal_in_c_callback(signal_name: str = "SIGTERM", then: str = "raise") -> nn.Module:
    return _SignalInCCallback(signal_name, then)


def raising_factory(what: str) -> nn.Module:
    """A factory that raises the BaseException named `what` instead of returning a model."""
    raise _RAISED[what]("raised by the factory")


def sleeping_factory(seconds: float = 3600.0, calls: str | None = None) -> nn.Module:
    """A factory that does not return for an hour (a download stuck, a lock never released);
    with `calls`, a file it appends a line to each time it starts (to count its builds)."""
    if calls is not None:
        with open(calls, "a") as f:
            f.write(f"{os.getpid()}\n")
    time.sleep(seconds)
    return linear_digits()


def marker_factory(marker: str) -> nn.Module:
    """A factory that leaves a file behind when it runs (to tell which process built it)."""
    Path(marker).write_text(str(os.getpid()))
    return linear_digits()
