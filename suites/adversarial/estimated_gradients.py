"""Gradients estimated from the forward pass alone: the expectation attack of the escalation.

When a masking flag says a model's own gradient misleads the attacks (a wrong surrogate, a
straight-through estimator, shattered gradients), APGD can still run on a gradient estimated from
forward passes only: the gradient of the loss smoothed with Gaussian noise,

    grad E_u[L(x + sigma u)] = E_u[L(x + sigma u) u] / sigma,

estimated with `pairs` antithetic pairs (u, -u) per step (NES, Ilyas et al. 2018; the
gradient-free estimate Uesato et al. 2018 used against masked defences). `EstimatedForward` wraps
the suite's `Forward` and replaces `loss_grad` with that estimate, so the native APGD runs on it
unchanged. The noise of a point is drawn from `suites.counter_rng` keyed by the point's own bits,
so it depends on the sample and its trajectory, never on the batch it sits in.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from harness.suites import counter_rng
from harness.suites.adversarial.forward import Forward, Loss

_MIX = torch.tensor(
    [0x2545F491, 0x4F6CDD1D, 0x1B873593, 0x68E31DA4, 0x2C1B3C6D, 0x297A2D39, 0x5F356495],
    dtype=torch.int64,
)


def point_seeds(x: torch.Tensor) -> torch.Tensor:
    """One int64 seed per row of `x`, a hash of the row's float32 bits."""
    bits = x.detach().float().flatten(1).contiguous().view(torch.int32).to(torch.int64)
    weights = _MIX.to(x.device).repeat(bits.shape[1] // len(_MIX) + 1)[: bits.shape[1]]
    return counter_rng.splitmix64((bits * weights).sum(1) + bits.shape[1])


@dataclass(frozen=True, kw_only=True)
class EstimatedForward(Forward):
    """`Forward` whose `loss_grad` estimates the input gradient from forward passes only."""

    pairs: int = 16
    sigma: float = 0.01
    bounds: tuple[float, float] = (0.0, 1.0)

    def loss_grad(
        self, x: torch.Tensor, loss: Loss
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = x.detach()
        logits = self.logits(x)
        value = loss(logits)
        seeds = point_seeds(x)
        shape = tuple(x.shape[1:])
        grad = torch.zeros_like(x)
        view = (-1,) + (1,) * (x.ndim - 1)
        for j in range(self.pairs):
            u = counter_rng.normal(seeds, shape, j).to(x.dtype)
            up = loss(self.logits((x + self.sigma * u).clamp(*self.bounds)))
            down = loss(self.logits((x - self.sigma * u).clamp(*self.bounds)))
            diff = torch.nan_to_num(up - down, nan=0.0, posinf=0.0, neginf=0.0)
            grad += diff.view(view).to(x.dtype) * u
        return logits, value, grad / (2 * self.sigma * self.pairs)
