"""Gradients measured from the forward pass alone: the escalation's gradient attacks.

When a masking flag says a model's own gradient misleads the attacks (a wrong surrogate, a
straight-through estimator, shattered gradients), APGD can still run on a gradient measured from
forward passes only. `EstimatedForward` wraps the suite's `Forward` and replaces `loss_grad`:
it estimates the Jacobian of the logits at the point from forward passes, then takes the loss's
gradient through it by the chain rule (grad_x L = J^T grad_z L, the second factor by autograd on
the logits alone), so APGD-CE, APGD-T and MALT's target ranking run on it unchanged. Each estimate
costs at most `passes` forward passes per sample:

- **coordinates** when the input has fewer than `passes` features: one-sided finite differences,
  one coordinate at a time (features + 1 passes), stepping down where a step up would leave the
  box. On a piecewise-linear network (ReLU, max-pool) this is the exact gradient wherever the
  step crosses no kink, so the gradient attacks then run on the true forward pass's own gradient;
- **NES** otherwise (Ilyas et al. 2018; the gradient-free estimate Uesato et al. 2018 used against
  masked defences): the Jacobian of the logits smoothed with Gaussian noise,
  E_u[z(x + sigma u) u^T] / sigma, from `passes / 2` antithetic pairs (u, -u). The noise of a
  point is drawn from `suites.counter_rng` keyed by the point's own bits, so it depends on the
  sample and its trajectory, never on the batch it sits in.

The last estimate is kept for the same inputs (MALT's ranking asks for one gradient per class at
the same point: one estimate serves them all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from harness.suites import counter_rng
from harness.suites.adversarial.forward import Forward, Loss

CHUNK_INPUTS = 256  # perturbed inputs per forward pass (4,096 was 2.6x slower per pass on CPU)

_MIX = torch.tensor(
    [0x2545F491, 0x4F6CDD1D, 0x1B873593, 0x68E31DA4, 0x2C1B3C6D, 0x297A2D39, 0x5F356495],
    dtype=torch.int64,
)


def point_seeds(x: torch.Tensor) -> torch.Tensor:
    """One int64 seed per row of `x`, a hash of the row's float32 bits."""
    bits = x.detach().float().flatten(1).contiguous().view(torch.int32).to(torch.int64)
    weights = _MIX.to(x.device).repeat(bits.shape[1] // len(_MIX) + 1)[: bits.shape[1]]
    return counter_rng.splitmix64((bits * weights).sum(1) + bits.shape[1])


def uses_coordinates(features: int, passes: int) -> bool:
    """Whether an estimate with `passes` forward passes measures every coordinate exactly."""
    return features + 1 <= passes


@dataclass(frozen=True, kw_only=True)
class EstimatedForward(Forward):
    """`Forward` whose `loss_grad` measures the input gradient from forward passes only."""

    passes: int = 128  # forward passes per estimate and sample (at most)
    sigma: float = 0.01  # NES: the noise scale (L-inf: per coordinate)
    step: float = 1e-3  # coordinates: the finite-difference step
    bounds: tuple[float, float] = (0.0, 1.0)
    _last: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def method(self) -> str:
        """`coordinates` or `nes` for inputs of this shape (set once the first estimate ran)."""
        return str(self._last.get("method", ""))

    def loss_grad(
        self, x: torch.Tensor, loss: Loss, *, finite: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = x.detach()  # measured from finite logits: always finite
        logits, jac = self._estimate(x)
        z = logits.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            value = loss(z)
            dz = torch.zeros_like(z)
            if value.requires_grad:
                (dz,) = torch.autograd.grad(value.sum(), z, allow_unused=True)
                dz = torch.zeros_like(z) if dz is None else dz
        dz = torch.nan_to_num(dz.detach(), nan=0.0, posinf=0.0, neginf=0.0)
        grad = torch.einsum("bc,bcn->bn", dz, jac).view_as(x)
        return logits, value.detach(), grad.contiguous()

    def _estimate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, C), Jacobian estimate (B, C, features)) at `x`, the last one reused."""
        last = self._last.get("x")
        if last is not None and last.shape == x.shape and torch.equal(last, x):
            return self._last["logits"], self._last["jac"]
        features = x[0].numel() if len(x) else 0
        logits = self.logits(x)
        if uses_coordinates(features, self.passes):
            jac, method = self._coordinates(x, logits), "coordinates"
        else:
            jac, method = self._nes(x), "nes"
        self._last.update(x=x.clone(), logits=logits, jac=jac, method=method)
        return logits, jac

    def _coordinates(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """One-sided finite differences, one coordinate at a time (down at the upper bound)."""
        b, n = len(x), x[0].numel()
        flat = x.flatten(1)
        lo, hi = self.bounds
        step = torch.where(flat + self.step <= hi, self.step, -self.step)
        step = torch.where(flat + step >= lo, step, 0.0)  # a box narrower than the step: no move
        jac = torch.zeros(b, self.num_classes, n, device=x.device)
        per = max(1, CHUNK_INPUTS // max(1, b))
        for start in range(0, n, per):
            idx = torch.arange(start, min(start + per, n), device=x.device)
            k = len(idx)
            moved = flat[:, None, :].repeat(1, k, 1)  # (B, k, n)
            cols = torch.arange(k, device=x.device)
            moved[:, cols, idx] += step[:, idx]
            h = moved[:, cols, idx] - flat[:, idx]  # the step as the inputs' dtype took it
            z = self.logits(moved.reshape(-1, *x.shape[1:])).view(b, k, -1)
            diff = (z - logits[:, None, :]) / torch.where(h != 0, h, 1.0)[..., None]
            jac[:, :, idx] = torch.where(h[..., None] != 0, diff, 0.0).transpose(1, 2)
        return torch.nan_to_num(jac, nan=0.0, posinf=0.0, neginf=0.0)

    def _nes(self, x: torch.Tensor) -> torch.Tensor:
        """Antithetic Gaussian estimate of the smoothed logits' Jacobian."""
        b, n = len(x), x[0].numel()
        pairs = max(1, self.passes // 2)
        seeds = point_seeds(x)
        shape = tuple(x.shape[1:])
        jac = torch.zeros(b, self.num_classes, n, device=x.device)
        for j in range(pairs):
            u = counter_rng.normal(seeds, shape, j).to(x.dtype)
            up = self.logits((x + self.sigma * u).clamp(*self.bounds))
            down = self.logits((x - self.sigma * u).clamp(*self.bounds))
            diff = torch.nan_to_num(up - down, nan=0.0, posinf=0.0, neginf=0.0)
            jac += diff[:, :, None] * u.reshape(b, 1, n)
        return jac / (2 * self.sigma * pairs)
