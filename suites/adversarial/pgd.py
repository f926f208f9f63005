"""FGSM and Madry PGD, native and batched, through the checked `Forward`.

PGD is our own loop rather than foolbox's `LinfPGD`: foolbox returns the *last* iterate and has no
restarts, while a sound evaluation keeps the first adversarial iterate of every step and restart.
It uses the Madry step size (`rel_stepsize * eps / steps`, default 2.5 eps / steps) and per-sample
random starts from `noise.start_noise` (restart r is stream r of the sample's seed). Samples leave
the batch once broken. FGSM is one signed-gradient step of size eps from the clean input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from harness.suites.adversarial.apgd import AttackResult
from harness.suites.adversarial.attack import Attack, AttackBatch, Proposal, tensor_inputs
from harness.suites.adversarial.budgets import Norm
from harness.suites.adversarial.forward import Forward, Loss, cross_entropy
from harness.suites.adversarial.noise import start_noise
from harness.suites.adversarial.projection import Box, clamp_into, linf_box

LOSS_RISE = 1e-6  # relative: a rise above this share of the loss's rounding unit is not rounding


def loss_rose(best: torch.Tensor, start: torch.Tensor, tolerance: torch.Tensor) -> torch.Tensor:
    """Where the tracked loss (`tracked_cross_entropy`) rose above its start by more than
    `tolerance` (`rise_tolerance` at the start; validity_checks).

    Relative, and in float64: a confidently correct sample (logit margin above ~17) has a float32
    cross-entropy of exactly 0, and a float64 one far below any absolute threshold, at the start
    and at every point of a PGD run that leaves it correct; such a loss still rises by orders of
    magnitude on an honest model. A function that is constant around the input (a quantised or
    detached input) gives the same logits, so the same loss, at every point: no rise."""
    return best > start + tolerance


def rise_tolerance(loss: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """The smallest rise of each row's tracked `loss` that `loss_rose` counts: LOSS_RISE x the
    loss, or x what a change of the row's largest logit's size moves it by, whichever is smaller.

    The loss moves with the logits by at most 1 - p_y = -expm1(-loss) per unit of the margin, and
    float32 rounds a logit by its own size x 2^-24; so a rise is rounding only below about that
    size x -expm1(-loss). Relative to the loss alone, a model whose logits are all small (x1e-7:
    the loss stays near log K while an honest step moves it by ~1e-7) never rose, and was flagged
    `loss_not_increasing` for the unit of its logits. The size is the largest finite |logit|:
    a class masked to -inf adds nothing to the loss and has no rounding, and its inf size put
    the rise back in the loss's unit (an honest x1e-7 model with one masked class: 52 of 52
    flat). A row whose loss is NaN has a NaN tolerance (never rose), as before; an inf loss
    cannot rise."""
    scale = logits.detach().double().abs().nan_to_num(nan=0.0, posinf=0.0).amax(1)
    return LOSS_RISE * torch.minimum(loss, -torch.expm1(-loss) * scale).abs()


def tracked_cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss check's cross-entropy, in float64 as log(1 + sum over j != y of exp(l_j - l_y)):
    the same value as logsumexp(l) - l_y without its cancellation, so a confidently correct
    sample (a margin of 40 on a 2-class model) has a positive loss that can rise, where
    logsumexp(l) - l_y rounds to 0 in float64 beyond a margin of about 36."""
    z = logits.double()
    diff = z - z.gather(1, y[:, None])
    diff.scatter_(1, y[:, None], -torch.inf)
    return torch.log1p(torch.exp(diff).sum(1))


# Below this, log(log1p(e^u)) is u to within e^u / 2 relative (1e-13): the loss check's objective
# takes u itself there, where log1p(e^u) would underflow.
_LOG_CE_LINEAR = -30.0


def log_cross_entropy(y: torch.Tensor) -> Loss:
    """The loss check's ascent objective: the log of `tracked_cross_entropy`, in float64.

    A per-sample increasing function of the cross-entropy, so each sample's PGD step (the sign of
    its gradient, or its normalised gradient) ascends the cross-entropy exactly as the
    cross-entropy's own gradient would, but without its saturation: with u = logsumexp over
    j != y of (l_j - l_y), its gradient in the logits is about softmax(l_j, j != y) - onehot(y),
    where the float32 cross-entropy's is softmax(l) - onehot(y) with p_y - 1 rounding to 0 for a
    confidently correct sample. That lost true-class term made the step lower the loss on
    confident models with many classes (a 120-class linear model: 16 of 60 samples flat, and
    `loss_not_increasing` raised against the model for the attack's rounding)."""

    def loss(logits: torch.Tensor) -> torch.Tensor:
        z = logits.double()
        diff = z - z.gather(1, y[:, None])
        u = torch.logsumexp(diff.scatter(1, y[:, None], -torch.inf), 1)
        # the unused branch is clamped so that its gradient stays finite (where() passes it 0)
        smooth = torch.log(torch.nn.functional.softplus(u.clamp_min(_LOG_CE_LINEAR)))
        return torch.where(u < _LOG_CE_LINEAR, u, smooth)

    return loss


def fgsm(
    fwd: Forward, x: torch.Tensor, y: torch.Tensor, *, eps: float, bounds: Box
) -> torch.Tensor:
    """One signed-gradient step of the cross-entropy (the candidate for every sample)."""
    _, _, grad = fwd.loss_grad(x, cross_entropy(y))
    low, high = linf_box(x.detach(), eps, bounds)
    return torch.where(grad > 0, high, torch.where(grad < 0, low, x.detach()))


@dataclass(frozen=True, kw_only=True)
class PGDResult(AttackResult):
    """PGD's result plus the loss trace the `loss_not_increasing` check reads."""

    # (B,) float64 cross-entropy at the first iterate of restart 0, and the highest over all steps
    # and restarts (track_loss)
    loss_start: torch.Tensor | None
    loss_best: torch.Tensor | None
    # (B,) float64 smallest rise of the loss that is not rounding (`rise_tolerance` at the start)
    loss_tolerance: torch.Tensor | None


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
    bounds: Box,
    seeds: torch.Tensor,
    track_loss: bool = False,
    objective: Callable[[torch.Tensor], Loss] | None = None,
) -> PGDResult:
    """Madry PGD with restarts, keeping the first adversarial iterate found for each sample.

    Every iterate (the start and each step) is classified by the forward pass that also gives the
    next gradient; the final iterate of a restart is classified without a gradient. With
    `track_loss` a sample runs until its loss rose above its start (what the `loss_not_increasing`
    check reads), broken or not, ascending `log_cross_entropy` (the same steps as the
    cross-entropy's, without its float32 saturation). `objective` (labels -> loss) replaces the
    cross-entropy as the ascent objective when given.
    """
    x, y = x.detach(), y.detach()
    n = len(x)
    lower, upper = linf_box(x, eps, bounds)
    state = _PGDState(
        x=x,
        y=y,
        best=x.clone(),
        found=torch.zeros(n, dtype=torch.bool, device=x.device),
        loss_best=torch.full((n,), -torch.inf, dtype=torch.float64, device=x.device)
        if track_loss
        else None,
        lower=lower,
        upper=upper,
    )
    for restart in range(restarts):
        rows = torch.arange(n, device=x.device) if track_loss else (~state.found).nonzero()[:, 0]
        if len(rows) == 0:
            break
        x0 = x[rows]
        if random_start:
            noise = start_noise(tuple(x.shape[1:]), norm, seeds[rows], restart)
            xa = clamp_into(x0 + eps * noise, bounds)
            if norm == "linf":
                xa = torch.clamp(xa, lower[rows], upper[rows])
        else:
            xa = x0.clone()
        _restart(
            fwd,
            state,
            rows,
            xa,
            norm=norm,
            eps=eps,
            bounds=bounds,
            steps=steps,
            step=rel_stepsize * eps / steps,
            track_loss=track_loss,
            objective=objective,
        )
    return PGDResult(
        adv=state.best,
        found=state.found,
        loss_start=state.loss_start,
        loss_best=state.loss_best,
        loss_tolerance=state.loss_tolerance,
    )


@dataclass(kw_only=True)
class _PGDState:
    x: torch.Tensor
    y: torch.Tensor
    best: torch.Tensor
    found: torch.Tensor
    loss_best: torch.Tensor | None
    lower: torch.Tensor
    upper: torch.Tensor
    loss_start: torch.Tensor | None = None
    loss_tolerance: torch.Tensor | None = None


def _restart(
    fwd: Forward,
    s: _PGDState,
    rows: torch.Tensor,
    xa: torch.Tensor,
    *,
    norm: Norm,
    eps: float,
    bounds: Box,
    steps: int,
    step: float,
    track_loss: bool,
    objective: Callable[[torch.Tensor], Loss] | None = None,
) -> None:
    """One restart from `xa` for batch rows `rows`; samples leave once broken (unless tracking)."""
    view = (-1,) + (1,) * (xa.ndim - 1)
    x0 = s.x[rows]
    for t in range(steps + 1):
        yr = s.y[rows]
        grad = None
        if t == steps:
            logits = fwd.logits(xa)
        else:
            ascent = objective or (log_cross_entropy if track_loss else cross_entropy)
            logits, _, grad = fwd.loss_grad(xa, ascent(yr))
        loss = tracked_cross_entropy(logits, yr) if track_loss else None
        if fwd.eot:  # a noisy decision: keep ascending, keep the latest misclassified iterate
            new = logits.argmax(1) != yr
            leave = torch.zeros_like(new)
        else:
            new = (logits.argmax(1) != yr) & ~s.found[rows]
            leave = new
        s.best[rows[new]] = xa[new]
        s.found[rows[new]] = True
        # a sample leaves once broken (a randomised model's: never); when tracking the loss,
        # once its loss rose above the start (all the loss check needs to know about it)
        drop = _rising(s, rows, loss, logits) if track_loss else leave
        if grad is None:
            return
        if drop.any():
            keep = ~drop
            rows, xa, grad, x0 = rows[keep], xa[keep], grad[keep], x0[keep]
            if len(rows) == 0:
                return
        if norm == "linf":
            xa = torch.clamp(xa + step * grad.sign(), s.lower[rows], s.upper[rows])
        else:
            gnorm = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(view)
            delta = xa + step * grad / gnorm - x0
            dnorm = delta.flatten(1).norm(dim=1).clamp_min(1e-12).view(view)
            xa = clamp_into(x0 + delta * torch.clamp(eps / dnorm, max=1.0), bounds)


def _rising(
    s: _PGDState, rows: torch.Tensor, loss: torch.Tensor | None, logits: torch.Tensor
) -> torch.Tensor:
    """Record the loss of `rows`; True where it has risen above its start."""
    assert loss is not None and s.loss_best is not None
    if s.loss_start is None or s.loss_tolerance is None:
        s.loss_start = loss.clone()
        s.loss_tolerance = rise_tolerance(loss, logits)
    s.loss_best[rows] = torch.maximum(s.loss_best[rows], torch.nan_to_num(loss, nan=-torch.inf))
    return loss_rose(s.loss_best[rows], s.loss_start[rows], s.loss_tolerance[rows])


class Fgsm(Attack):
    """FGSM: one signed-gradient step of size eps (the candidate for every sample)."""

    family = "fgsm"
    norms = ("linf",)
    summary = "one signed-gradient step of size eps"

    @classmethod
    def names(cls) -> dict[str, str]:
        return {"fgsm": "linf"}

    @classmethod
    def defaults(cls, norm: str) -> dict[str, Any]:
        return {}

    def worst_case_passes(self) -> tuple[int, int] | None:
        return 1, 0

    def run(self, model: Forward, batch: AttackBatch, eps: float | None) -> Proposal:
        assert eps is not None
        return Proposal(x=fgsm(model, tensor_inputs(batch), batch.y, eps=eps, bounds=batch.box))


class Pgd(Attack):
    """Madry PGD with random restarts, first adversarial iterate kept."""

    family = "pgd"
    norms = ("linf", "l2")
    summary = "Madry {norm} PGD with random restarts, best iterate kept"

    @classmethod
    def defaults(cls, norm: str) -> dict[str, Any]:
        return {"steps": 10, "rel_stepsize": 2.5, "restarts": 1, "random_start": True}

    def worst_case_passes(self) -> tuple[int, int] | None:
        return self.params["steps"] * self.params["restarts"], self.params["restarts"]

    def run(self, model: Forward, batch: AttackBatch, eps: float | None) -> Proposal:
        assert eps is not None
        p = self.params
        res = pgd(
            model,
            tensor_inputs(batch),
            batch.y,
            norm=self.norm,  # type: ignore[arg-type]
            eps=eps,
            steps=p["steps"],
            rel_stepsize=p["rel_stepsize"],
            restarts=p["restarts"],
            random_start=p["random_start"],
            bounds=batch.box,
            seeds=batch.seeds,
        )
        return Proposal(x=res.adv)
