"""FGSM and Madry PGD, native and batched, through the checked `Forward`.

PGD is our own loop rather than foolbox's `LinfPGD`: foolbox returns the *last* iterate and has no
restarts, while a sound evaluation keeps the first adversarial iterate of every step and restart.
It uses the Madry step size (`rel_stepsize * eps / steps`, default 2.5 eps / steps) and per-sample
random starts from `noise.start_noise` (restart r is stream r of the sample's seed). Samples leave
the batch once broken. FGSM is one signed-gradient step of size eps from the clean input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from suites.adversarial.apgd import AttackResult
from suites.adversarial.budgets import Norm
from suites.adversarial.forward import Forward, cross_entropy
from suites.adversarial.noise import start_noise


def fgsm(
    fwd: Forward, x: torch.Tensor, y: torch.Tensor, *, eps: float, bounds: tuple[float, float]
) -> torch.Tensor:
    """One signed-gradient step of the cross-entropy (the candidate for every sample)."""
    _, _, grad = fwd.loss_grad(x, cross_entropy(y))
    return (x.detach() + eps * grad.sign()).clamp_(*bounds)


@dataclass(frozen=True, kw_only=True)
class PGDResult(AttackResult):
    """PGD's result plus the loss trace the `loss_not_increasing` check reads."""

    loss_start: torch.Tensor | None  # (B,) loss at the first iterate of restart 0 (track_loss)
    loss_best: torch.Tensor | None  # (B,) highest loss over all steps and restarts (track_loss)


def pgd(
    fwd: Forward,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    norm: Norm,
    eps: float,
    steps: int,
    rel_stepsize: float,
    restarts: int,
    random_start: bool,
    bounds: tuple[float, float],
    seeds: torch.Tensor,
    track_loss: bool = False,
) -> PGDResult:
    """Madry PGD with restarts, keeping the first adversarial iterate found for each sample.

    Every iterate (the start and each step) is classified by the forward pass that also gives the
    next gradient; the final iterate of a restart is classified without a gradient. With
    `track_loss` every sample runs every step (the loss trace is wanted even after a break).
    """
    lo, hi = bounds
    step = rel_stepsize * eps / steps
    x, y = x.detach(), y.detach()
    n = len(x)
    best = x.clone()
    found = torch.zeros(n, dtype=torch.bool, device=x.device)
    loss_start: torch.Tensor | None = None
    loss_best = torch.full((n,), -torch.inf, device=x.device) if track_loss else None
    view = (-1,) + (1,) * (x.ndim - 1)
    lower, upper = (x - eps).clamp_(lo, hi), (x + eps).clamp_(lo, hi)
    for restart in range(restarts):
        rows = torch.arange(n, device=x.device) if track_loss else (~found).nonzero().squeeze(1)
        if len(rows) == 0:
            break
        x0 = x[rows]
        if random_start:
            shape = tuple(x.shape[1:])
            xa = (x0 + eps * start_noise(shape, norm, seeds[rows], restart)).clamp_(lo, hi)
        else:
            xa = x0.clone()
        for t in range(steps + 1):
            yr = y[rows]
            if t == steps:
                logits = fwd.logits(xa)
                loss = cross_entropy(yr)(logits) if track_loss else None
                grad = None
            else:
                logits, loss, grad = fwd.loss_grad(xa, cross_entropy(yr))
            if track_loss:
                assert loss is not None and loss_best is not None
                if loss_start is None:
                    loss_start = loss.clone()
                loss_best[rows] = torch.maximum(
                    loss_best[rows], torch.nan_to_num(loss, nan=-torch.inf)
                )
            new = (logits.argmax(1) != yr) & ~found[rows]
            best[rows[new]] = xa[new]
            found[rows[new]] = True
            if grad is None:
                break
            if not track_loss and new.any():
                keep = ~new
                rows, xa, grad, x0 = rows[keep], xa[keep], grad[keep], x0[keep]
                if len(rows) == 0:
                    break
            if norm == "linf":
                xa = torch.clamp(xa + step * grad.sign(), lower[rows], upper[rows])
            else:
                gnorm = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(view)
                xa = xa + step * grad / gnorm
                delta = xa - x0
                dnorm = delta.flatten(1).norm(dim=1).clamp_min(1e-12).view(view)
                xa = (x0 + delta * torch.clamp(eps / dnorm, max=1.0)).clamp_(lo, hi)
    return PGDResult(adv=best, found=found, loss_start=loss_start, loss_best=loss_best)
