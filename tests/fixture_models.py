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
