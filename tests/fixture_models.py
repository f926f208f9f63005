"""Tiny deterministic models for tests (importable as `tests.fixture_models:<factory>`)."""

from __future__ import annotations

import torch
from torch import nn


def linear_digits(seed: int = 0, classes: int = 10) -> nn.Module:
    """Flatten + Linear(64 -> classes) with seeded weights (a weak but real digits model)."""
    gen = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, classes))
    with torch.no_grad():
        model[1].weight.copy_(torch.randn(classes, 64, generator=gen) * 0.3)
        model[1].bias.zero_()
    return model


class _NaNHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = linear_digits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        out[0, 0] = float("nan")
        return out


def nan_digits() -> nn.Module:
    """Returns a NaN logit for the first sample of every batch."""
    return _NaNHead()


def linear_tabular(features: int = 10, classes: int = 2) -> nn.Module:
    gen = torch.Generator().manual_seed(1)
    model = nn.Linear(features, classes)
    with torch.no_grad():
        model.weight.copy_(torch.randn(classes, features, generator=gen))
        model.bias.zero_()
    return model


class _Slow(nn.Module):
    def __init__(self, delay: float, seed: int) -> None:
        super().__init__()
        self.inner = linear_digits(seed=seed)
        self.delay = delay

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import time

        time.sleep(self.delay)
        return self.inner(x)


def slow_linear_digits(delay: float = 0.2, seed: int = 0) -> nn.Module:
    """`linear_digits` that sleeps `delay` seconds per batch (to interrupt runs mid-job)."""
    return _Slow(delay, seed)


class _Stalling(nn.Module):
    def __init__(self, hold: str, after: int, seed: int) -> None:
        super().__init__()
        self.inner = linear_digits(seed=seed)
        self.hold = hold
        self.after = after
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import time
        from pathlib import Path

        self.calls += 1
        hold = Path(self.hold)
        if self.calls > self.after and hold.exists():
            Path(f"{self.hold}.stalled").touch()
            while hold.exists():  # Python code: a signal handler runs here at once
                time.sleep(0.01)
        return self.inner(x)


def stalling_linear_digits(hold: str, after: int = 0, seed: int = 0) -> nn.Module:
    """`linear_digits` that, from its call `after + 1` on, waits while the file `hold` exists
    (touching `<hold>.stalled` first): a run that is provably mid-job when a test signals it."""
    return _Stalling(hold, after, seed)


class _SignalsInFinalizer(nn.Module):
    """Sends SIGTERM to its own process from inside a finalizer, once, on its first batch."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = linear_digits()
        self.sent = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.sent:
            self.sent = True
            _Finalizer()  # collected at once: the handler's exception is raised in __del__
        return self.inner(x)


class _Finalizer:
    def __del__(self) -> None:
        import os
        import signal

        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(1000))  # bytecode after the signal: the handler runs (and raises) here


def signal_in_finalizer_digits() -> nn.Module:
    """`linear_digits` whose first forward triggers SIGTERM inside a `__del__` (Python swallows
    an exception raised there)."""
    return _SignalsInFinalizer()


class _HangsInC(nn.Module):
    """Blocks in C (libc `pause()`) on its first forward: no Python code runs again."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = linear_digits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import ctypes

        ctypes.CDLL(None).pause()
        return self.inner(x)


def hanging_digits() -> nn.Module:
    """A digits model that hangs in C code forever (only a killed process gets out)."""
    return _HangsInC()


class _ExitsProcess(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = linear_digits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import os

        os._exit(3)


def process_exiting_digits() -> nn.Module:
    """A digits model whose forward ends its whole process (`os._exit(3)`)."""
    return _ExitsProcess()
