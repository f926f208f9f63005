"""A transfer attack from the model's own linearisation: forward passes only, no model gradient.

The surrogate is the first-order model of the logits at the clean input, z(x') = z(x) + J (x' - x),
with the Jacobian J measured by central finite differences of the forward pass, one coordinate at
a time (2 x inputs forward passes per sample, in chunks). For each target class t (the clean
logits' order), the surrogate's best move within the budget is taken in closed form: towards
z_t - z_y, L-inf moves every coordinate to the end of its budget and box that raises the
difference (exact for a linear model over the box: the problem is separable), L2 moves along the
difference's gradient by eps; each candidate is then classified by the model itself, and a sample
keeps its first misclassified candidate. On a model whose own gradient misleads (a wrong
surrogate, a straight-through estimator) this follows the true forward pass; the escalation runs
it (escalation.py), and a spec may list it as `linf_linear_transfer` / `l2_linear_transfer`.
"""

from __future__ import annotations

from typing import Any

import torch

from harness.suites.adversarial.attack import Attack, AttackBatch, Proposal, tensor_inputs
from harness.suites.adversarial.forward import Forward
from harness.suites.adversarial.projection import into_budget, linf_box

CHUNK_INPUTS = 256  # perturbed inputs per forward pass while measuring the Jacobian


def jacobian(
    fwd: Forward, x: torch.Tensor, step: float, bounds: tuple[float, float]
) -> torch.Tensor:
    """(B, classes, n) central finite differences of the logits at `x` (one-sided at a bound)."""
    n = x[0].numel()
    flat = x.flatten(1)
    out = torch.zeros(len(x), fwd.num_classes, n, device=x.device)
    per = max(1, CHUNK_INPUTS // max(1, 2 * len(x)))
    for start in range(0, n, per):
        idx = torch.arange(start, min(start + per, n), device=x.device)
        k = len(idx)
        eye = torch.zeros(k, n, device=x.device, dtype=x.dtype)
        eye[torch.arange(k), idx] = step
        up = (flat[:, None, :] + eye[None]).clamp(*bounds)  # (B, k, n)
        down = (flat[:, None, :] - eye[None]).clamp(*bounds)
        width = (up - down).gather(2, idx.view(1, k, 1).expand(len(x), k, 1)).squeeze(2)
        both = torch.cat([up, down], 1).reshape(-1, *x.shape[1:])
        z = fwd.logits(both).view(len(x), 2 * k, -1)
        diff = (z[:, :k] - z[:, k:]) / width.clamp_min(1e-30)[..., None]  # (B, k, classes)
        out[:, :, idx] = torch.where(width[..., None] > 0, diff, 0.0).transpose(1, 2)
    return out


class LinearTransfer(Attack):
    """Transfer from the model's finite-difference linearisation, every target class."""

    family = "linear_transfer"
    norms = ("linf", "l2")
    gradients = False
    summary = (
        "{norm} transfer attack from the model's own linearisation (finite differences of the "
        "forward pass), every target class"
    )

    @classmethod
    def defaults(cls, norm: str) -> dict[str, Any]:
        return {"step": 0.01}  # the finite-difference step, as a fraction of eps

    def worst_case_passes(self) -> tuple[int, int] | None:
        return None  # 2 forward passes per input coordinate: depends on the input's size

    def run(self, model: Forward, batch: AttackBatch, eps: float | None) -> Proposal:
        assert eps is not None
        x, y = tensor_inputs(batch), batch.y
        logits = model.logits(x)
        jac = jacobian(model, x, self.params["step"] * eps, batch.bounds)
        order = logits.argsort(dim=1, descending=True)
        view = (-1,) + (1,) * (x.ndim - 1)
        found = torch.zeros(len(x), dtype=torch.bool, device=x.device)
        adv = x.clone()
        low, high = linf_box(x, eps, batch.bounds) if self.norm == "linf" else (x, x)
        for rank in range(1, model.num_classes):
            left = (~found).nonzero().squeeze(1)
            if len(left) == 0:
                break
            t = order[left, rank]
            g = jac[left, t] - jac[left, y[left]]  # grad of z_t - z_y, (b, n)
            g = g.view(-1, *x.shape[1:])
            if self.norm == "linf":
                cand = torch.where(g > 0, high[left], torch.where(g < 0, low[left], x[left]))
            else:
                size = g.flatten(1).norm(dim=1).clamp_min(1e-30).view(view)
                cand = into_budget(
                    x[left], x[left] + eps * g / size, norm="l2", eps=eps, bounds=batch.bounds
                )
            hit = model.logits(cand).argmax(1) != y[left]
            found[left[hit]] = True
            adv[left[hit]] = cand[hit]
        return Proposal(x=adv)
