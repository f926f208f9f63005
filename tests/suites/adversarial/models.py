"""Deliberately broken models for the validity checks, plus an honest control.

Importable as `tests.suites.adversarial.models:<factory>` from specs. The control is a logistic
regression fitted on the digits training split (deterministic lbfgs); each broken model wraps it.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from harness.builtin_tasks import digits_arrays


def control_digits() -> nn.Module:
    """Undefended logistic regression on digits (about 95% clean accuracy)."""
    x, y = digits_arrays("train")
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    clf = LogisticRegression(max_iter=300, C=1.0).fit(flat, y)
    model = nn.Sequential(nn.Flatten(), nn.Linear(flat.shape[1], 10))
    with torch.no_grad():
        model[1].weight.copy_(torch.as_tensor(clf.coef_, dtype=torch.float32))
        model[1].bias.copy_(torch.as_tensor(clf.intercept_, dtype=torch.float32))
    return model


class _Quantize(nn.Module):
    """Rounds inputs to a few levels: gradients are zero almost everywhere (gradient masking)."""

    def __init__(self, levels: int) -> None:
        super().__init__()
        self.levels = levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x * self.levels) / self.levels


class _Noisy(nn.Module):
    """Adds fresh random noise to the logits on every call (a randomised defence)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.randn_like(x)


class _NaNOffGrid(nn.Module):
    """NaN logits for inputs off the clean 1/16 pixel grid: breaks under any perturbation."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        off = ((x * 16 - torch.round(x * 16)).abs() > 1e-4).flatten(1).any(1)
        return torch.where(off[:, None], torch.full_like(out, float("nan")), out)


def quantized_digits(levels: int = 2) -> nn.Module:
    return nn.Sequential(_Quantize(levels), control_digits())


def probability_digits() -> nn.Module:
    """Returns a saturated softmax (x50 logits) instead of logits."""
    return nn.Sequential(control_digits(), _Scale(50.0), nn.Softmax(dim=1))


class _Scale(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def randomized_digits() -> nn.Module:
    return nn.Sequential(control_digits(), _Noisy())


def nan_off_grid_digits() -> nn.Module:
    return _NaNOffGrid(control_digits())
