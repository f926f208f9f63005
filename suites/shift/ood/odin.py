"""ODIN (Liang, Li & Srikant 2018): temperature scaling and input perturbation.

Each input moves by `epsilon` (a share of the task's input range, which the adapter normalises
inside) against the gradient sign of the cross-entropy of its own prediction at temperature T,
and is kept within the task's bounds; the score is the maximum softmax probability at T of the
moved input. It needs the model's gradients (`module()`) and costs a backward and a second
forward pass per input, so it is not among the default detectors.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from harness.suites.shift.ood.base import Detector, Outputs

Bounds = tuple[float, float] | tuple[torch.Tensor, torch.Tensor]
"""The input range: one (low, high) for every value, or per-feature tensors of the input shape."""


def odin_inputs(
    module: torch.nn.Module,
    x: torch.Tensor,
    *,
    temperature: float,
    epsilon: float,
    bounds: Bounds | None,
) -> torch.Tensor:
    """`x` moved by epsilon (times the bounds' width: each feature's own with per-feature
    bounds) against the gradient sign of the cross-entropy of its prediction at `temperature`,
    clamped to the bounds."""
    return _moved(module, x, temperature=temperature, epsilon=epsilon, bounds=bounds)[0]


def _moved(
    module: torch.nn.Module,
    x: torch.Tensor,
    *,
    temperature: float,
    epsilon: float,
    bounds: Bounds | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`odin_inputs`, and per input whether its gradient has a non-zero value (an input that
    has none is not moved, whatever epsilon)."""
    low, high = bounds if bounds is not None else (0.0, 1.0)
    if isinstance(low, torch.Tensor) and isinstance(high, torch.Tensor):
        low, high = low.to(x.device, x.dtype), high.to(x.device, x.dtype)
    with torch.inference_mode(False), torch.enable_grad():
        leaf = x.detach().clone().requires_grad_(True)
        logits = module(leaf) / temperature
        loss = F.cross_entropy(logits, logits.argmax(dim=1))
        # outputs that do not depend on the input (a model that ignores it) have no gradient
        # there: nothing moves, and the score is the MSP at T of the outputs
        (gradient,) = (
            torch.autograd.grad(loss, leaf, allow_unused=True) if loss.requires_grad else (None,)
        )
    if gradient is None:
        steered = torch.zeros(len(x), dtype=torch.bool)
    else:
        steered = gradient.detach().reshape(len(x), -1).ne(0).any(dim=1).cpu()
    moved = (
        x.detach() if gradient is None else x.detach() - epsilon * (high - low) * gradient.sign()
    )
    if bounds is None:
        return moved, steered
    if isinstance(low, torch.Tensor) and isinstance(high, torch.Tensor):
        return moved.clamp(low, high), steered
    return moved.clamp(float(low), float(high)), steered


def odin_scores(
    module: torch.nn.Module,
    x: torch.Tensor,
    *,
    temperature: float,
    epsilon: float,
    bounds: Bounds | None,
) -> np.ndarray:
    """ODIN's score (higher = more in-distribution) of a batch of raw inputs."""
    return odin_scored(module, x, temperature=temperature, epsilon=epsilon, bounds=bounds)[0]


def odin_scored(
    module: torch.nn.Module,
    x: torch.Tensor,
    *,
    temperature: float,
    epsilon: float,
    bounds: Bounds | None,
) -> tuple[np.ndarray, int]:
    """`odin_scores`, and how many of the inputs had a non-zero gradient to move along (0 on a
    model that detaches or rounds its input, or computes outside torch's autograd: there ODIN
    is the MSP at T, not ODIN)."""
    moved, steered = _moved(module, x, temperature=temperature, epsilon=epsilon, bounds=bounds)
    with torch.no_grad():
        logits = module(moved).double() / temperature
    return torch.softmax(logits, dim=1).max(dim=1).values.cpu().numpy(), int(steered.sum())


class ODIN(Detector):
    """Scored from the inputs (`odin_scores`), not from one forward pass's outputs."""

    name: ClassVar[str] = "odin"
    needs = "gradients"
    # MSP at T of the module's own outputs, moved along the gradient of their cross-entropy: of
    # softmax(probabilities / T) for a model that ends in a softmax
    scores_outputs: ClassVar[bool] = True

    def score(self, out: Outputs) -> np.ndarray:
        raise TypeError("ODIN scores inputs (odin_scores), not outputs")
