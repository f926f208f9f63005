"""Model code that misbehaves towards the harness itself, not just in what it returns: it edits
its inputs in place, moves the working directory, raises BaseExceptions that are not errors, or
never returns from its factory (`tests.reliability.hostile.hostile_code:<name>`)."""

from __future__ import annotations

import os
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
        self.to = to

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        os.chdir(self.to)
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
    def __init__(self, what: str) -> None:
        super().__init__()
        self.inner = linear_digits()
        self.what = what

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise _RAISED[self.what]("raised by the model's forward")


def raising_forward(what: str) -> nn.Module:
    """A digits model whose forward raises the BaseException named `what`."""
    return _Raises(what)


def raising_factory(what: str) -> nn.Module:
    """A factory that raises the BaseException named `what` instead of returning a model."""
    raise _RAISED[what]("raised by the factory")


def sleeping_factory(seconds: float = 3600.0) -> nn.Module:
    """A factory that does not return for an hour (a download stuck, a lock never released)."""
    time.sleep(seconds)
    return linear_digits()


def marker_factory(marker: str) -> nn.Module:
    """A factory that leaves a file behind when it runs (to tell which process built it)."""
    Path(marker).write_text(str(os.getpid()))
    return linear_digits()
