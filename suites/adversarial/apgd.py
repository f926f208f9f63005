"""Auto-PGD (Croce & Hein 2020): APGD on the cross-entropy loss and APGD-T on the targeted DLR loss.

Follows the reference implementation (fra31/auto-attack, `autopgd_base.py`) for L-inf and L2:
initial step 2 eps; momentum 0.75 from the second step on; checkpoints after 22% of the steps,
then every checkpoint interval shrinks by 3% of the steps down to 6%; at a checkpoint a sample's
step size halves (and it restarts from its best point and gradient) when its loss rose in at most
rho = 75% of the steps since the last checkpoint, or when the step size was not halved last time
and the best loss has not improved since. The random start is x + eps * t / ||t|| (t uniform in
the L-inf box, Gaussian for L2), clipped to the bounds.

Differences from the reference, none of which weakens the attack:
- everything is per sample and batched: random starts come from `suites.counter_rng` keyed by the
  sample's own seed, so a sample's trajectory does not depend on its batch, the batch size or
  the device, and no global RNG state is read or changed;
- a sample leaves the batch as soon as it is misclassified (its adversarial iterate is kept), so
  broken samples cost nothing more; the reference iterates them to the end;
- APGD-T runs each target class only on the samples no earlier target broke (as AutoAttack's
  cascade does between attacks), targets being the clean input's 2nd, 3rd... highest logits;
- with fewer than 4 classes the targeted DLR loss cannot be formed; its denominator then is the
  gap between the highest and lowest logit (3 classes) or 1 (2 classes: the plain margin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

from harness.suites import counter_rng
from harness.suites.adversarial.attack import Attack, AttackBatch, Proposal, tensor_inputs
from harness.suites.adversarial.budgets import Norm
from harness.suites.adversarial.forward import Forward, Loss, cross_entropy
from harness.suites.adversarial.projection import Box, clamp_into, linf_box
from harness.suites.adversarial.targets import target_ranking

APGDLoss = Literal["ce", "dlr_targeted"]


@dataclass(frozen=True, kw_only=True)
class AttackResult:
    """Per sample: the adversarial input where one was found (else the clean input), and found."""

    adv: torch.Tensor
    found: torch.Tensor  # bool (B,)


def dlr_targeted(y: torch.Tensor, target: torch.Tensor) -> Loss:
    """The targeted DLR loss -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2), scale invariant."""

    def loss(z: torch.Tensor) -> torch.Tensor:
        num = z.gather(1, y[:, None]).squeeze(1) - z.gather(1, target[:, None]).squeeze(1)
        classes = z.shape[1]
        if classes >= 4:
            top = z.topk(4, dim=1).values
            den = top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12
        elif classes == 3:
            den = z.amax(1) - z.amin(1) + 1e-12
        else:
            den = torch.ones_like(num)
        return -num / den

    return loss


def apgd(
    fwd: Forward,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    norm: Norm,
    eps: float,
    bounds: Box,
    seeds: torch.Tensor,
    steps: int,
    restarts: int,
    loss: APGDLoss,
    targets: int = 9,
    rho: float = 0.75,
    ranking: torch.Tensor | None = None,
    skip_targets: int = 0,
) -> AttackResult:
    """APGD-CE (`loss="ce"`) or APGD-T (`loss="dlr_targeted"`, `targets` target classes after
    the first `skip_targets` of the order) on a batch; each restart and target runs only on the
    samples still unbroken. `ranking` (B, classes) orders each sample's targets after its top
    class (default: its clean logits)."""
    x, y = x.detach(), y.detach()
    found = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    adv = x.clone()
    runs: list[tuple[int, int | None]] = []
    if loss == "ce":
        runs = [(r, None) for r in range(restarts)]
    else:
        last = min(skip_targets + targets, fwd.num_classes - 1)
        runs = [(r, t) for t in range(skip_targets, last) for r in range(restarts)]
        if runs and ranking is None:
            ranking = fwd.logits(x).argsort(dim=1, descending=True)
    for job, (_, rank) in enumerate(runs):
        idx = (~found).nonzero().squeeze(1)
        if len(idx) == 0:
            break
        target = None
        if rank is not None:
            assert ranking is not None
            target = ranking[idx, rank + 1]
        run = _Run(
            fwd, x[idx], y[idx], target, norm=norm, eps=eps, bounds=bounds, rho=rho, steps=steps
        )
        hit, xs = run.attack(seeds[idx], stream=job)
        found[idx[hit]] = True
        adv[idx[hit]] = xs
    return AttackResult(adv=adv, found=found)


class _Run:
    """One APGD run (one restart, one target) over a batch, shrinking as samples break."""

    def __init__(
        self,
        fwd: Forward,
        x: torch.Tensor,
        y: torch.Tensor,
        target: torch.Tensor | None,
        *,
        norm: Norm,
        eps: float,
        bounds: Box,
        rho: float,
        steps: int,
    ) -> None:
        self.fwd, self.x, self.y, self.target = fwd, x, y, target
        self.norm, self.eps, self.rho, self.steps = norm, eps, rho, steps
        self.bounds = bounds
        self.view = (-1,) + (1,) * (x.ndim - 1)
        box = linf_box(x, eps, bounds) if norm == "linf" else None
        self.lower: torch.Tensor | None = box[0] if box is not None else None
        self.upper: torch.Tensor | None = box[1] if box is not None else None

    def attack(self, seeds: torch.Tensor, *, stream: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(found (B,), adversarial inputs of the found samples in batch order)."""
        x, n = self.x, len(self.x)
        shape = tuple(x.shape[1:])
        if self.norm == "linf":
            t = counter_rng.uniform(seeds, shape, stream) * 2 - 1
        else:
            t = counter_rng.normal(seeds, shape, stream)
        xa = self.project(x + self.eps * _normalize(t, self.norm, self.view), x, None)
        found = torch.zeros(n, dtype=torch.bool, device=x.device)
        adv = x.clone()
        s = _State.start(self, xa)
        s.mark(found, adv)
        # A randomised model's decision is noisy: a sample is not dropped at its first
        # misclassified iterate (often barely across, and a fresh verification then calls it
        # correct), it keeps ascending and keeps its latest misclassified iterate, as AutoAttack
        # does for every sample.
        drop = not self.fwd.eot
        if drop:
            s = s.keep(~s.hit)
        k = max(int(0.22 * self.steps), 1)
        k_min, k_decr = max(int(0.06 * self.steps), 1), max(int(0.03 * self.steps), 1)
        since = 0
        for i in range(self.steps):
            if len(s.rows) == 0:
                break
            s.advance(self, momentum=0.75 if i > 0 else 1.0)
            s.mark(found, adv)
            since += 1
            if since == k:
                s.checkpoint(k, self.rho)
                k, since = max(k - k_decr, k_min), 0
            if drop and s.hit.any():
                s = s.keep(~s.hit)
        return found, adv[found]

    def loss(self, rows: torch.Tensor) -> Loss:
        """The attack loss of the batch rows `rows` (CE, or targeted DLR towards their targets)."""
        if self.target is None:
            return cross_entropy(self.y[rows])
        return dlr_targeted(self.y[rows], self.target[rows])

    def project(self, v: torch.Tensor, x: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
        """`v` into the budget around `x` (the batch rows `rows`; None: every row) and the box."""
        if self.norm == "linf":
            assert self.lower is not None and self.upper is not None
            if rows is None:
                return torch.clamp(v, self.lower, self.upper)
            return torch.clamp(v, self.lower[rows], self.upper[rows])
        delta = v - x
        dn = delta.flatten(1).norm(dim=1).view(self.view)
        scale = torch.clamp(self.eps / (dn + 1e-12), max=1.0)
        return clamp_into(x + delta * scale, self.bounds)


@dataclass(kw_only=True)
class _State:
    """The per-sample state of the samples still being attacked (`rows` index the batch)."""

    rows: torch.Tensor
    x: torch.Tensor
    xa: torch.Tensor
    xa_old: torch.Tensor
    grad: torch.Tensor
    x_best: torch.Tensor
    grad_best: torch.Tensor
    loss_best: torch.Tensor
    loss_prev: torch.Tensor
    loss_last_check: torch.Tensor
    rises: torch.Tensor  # loss increases since the last checkpoint
    reduced: torch.Tensor  # bool: the step was halved at the last checkpoint
    step: torch.Tensor
    hit: torch.Tensor  # bool: misclassified at the current iterate

    @classmethod
    def start(cls, run: _Run, xa: torch.Tensor) -> _State:
        rows = torch.arange(len(xa), device=xa.device)
        logits, loss, grad = run.fwd.loss_grad(xa, run.loss(rows))
        loss = _finite(loss)
        return cls(
            rows=rows,
            x=run.x,
            xa=xa,
            xa_old=xa.clone(),
            grad=grad,
            x_best=xa.clone(),
            grad_best=grad.clone(),
            loss_best=loss.clone(),
            loss_prev=loss,
            loss_last_check=loss.clone(),
            rises=torch.zeros_like(loss),
            reduced=torch.ones(len(xa), dtype=torch.bool, device=xa.device),
            step=torch.full((len(xa),), 2.0 * run.eps, device=xa.device),
            hit=logits.argmax(1) != run.y,
        )

    def advance(self, run: _Run, *, momentum: float) -> None:
        """One momentum step, then the loss and gradient at the new iterate."""
        view = run.view
        step = self.step.view(view)
        direction = self.grad.sign() if run.norm == "linf" else _normalize(self.grad, "l2", view)
        z = run.project(self.xa + step * direction, self.x, self.rows)
        moved = self.xa + (z - self.xa) * momentum + (self.xa - self.xa_old) * (1 - momentum)
        self.xa_old = self.xa
        self.xa = run.project(moved, self.x, self.rows)
        y = run.y[self.rows]
        logits, loss, self.grad = run.fwd.loss_grad(self.xa, run.loss(self.rows))
        loss = _finite(loss)
        self.hit = logits.argmax(1) != y
        self.rises += (loss > self.loss_prev).float()
        self.loss_prev = loss
        better = loss > self.loss_best
        self.x_best = torch.where(better.view(view), self.xa, self.x_best)
        self.grad_best = torch.where(better.view(view), self.grad, self.grad_best)
        self.loss_best = torch.where(better, loss, self.loss_best)

    def checkpoint(self, k: int, rho: float) -> None:
        """Halve the step (and go back to the best point) where progress stalled."""
        oscillating = self.rises <= k * rho
        stalled = ~self.reduced & (self.loss_last_check >= self.loss_best)
        halve = oscillating | stalled
        self.reduced = halve
        self.loss_last_check = self.loss_best.clone()
        self.rises = torch.zeros_like(self.rises)
        view = (-1,) + (1,) * (self.xa.ndim - 1)
        self.step = torch.where(halve, self.step / 2, self.step)
        self.xa = torch.where(halve.view(view), self.x_best, self.xa)
        self.grad = torch.where(halve.view(view), self.grad_best, self.grad)

    def mark(self, found: torch.Tensor, adv: torch.Tensor) -> None:
        """Record the samples misclassified at the current iterate."""
        if self.hit.any():
            rows = self.rows[self.hit]
            found[rows] = True
            adv[rows] = self.xa[self.hit]

    def keep(self, keep: torch.Tensor) -> _State:
        """The state restricted to the samples in `keep`."""
        sel = keep.nonzero().squeeze(1)
        fields = {
            name: getattr(self, name)[sel]
            for name in (
                "rows",
                "x",
                "xa",
                "xa_old",
                "grad",
                "x_best",
                "grad_best",
                "loss_best",
                "loss_prev",
                "loss_last_check",
                "rises",
                "reduced",
                "step",
                "hit",
            )
        }
        return _State(**fields)


def _finite(loss: torch.Tensor) -> torch.Tensor:
    """NaN losses (a model returning NaN under perturbation) never count as progress."""
    return torch.nan_to_num(loss, nan=-torch.inf)


def _normalize(t: torch.Tensor, norm: Norm, view: tuple[int, ...]) -> torch.Tensor:
    flat = t.flatten(1)
    size = flat.abs().amax(1) if norm == "linf" else flat.norm(dim=1)
    return t / (size.view(view) + 1e-12)


class ApgdCe(Attack):
    """APGD on the cross-entropy loss."""

    family = "apgd_ce"
    at_most = {"rho": 1.0}  # a share of the steps since the last checkpoint
    norms = ("linf", "l2")
    summary = "{norm} APGD on the cross-entropy loss (Croce & Hein 2020)"

    @classmethod
    def defaults(cls, norm: str) -> dict[str, Any]:
        return {"steps": 100, "restarts": 1, "rho": 0.75}

    def worst_case_passes(self) -> tuple[int, int] | None:
        return self.params["steps"] * self.params["restarts"] * self._runs(), 0

    def _runs(self) -> int:
        return 1

    def run(self, model: Forward, batch: AttackBatch, eps: float | None) -> Proposal:
        assert eps is not None
        return Proposal(x=self._apgd(model, batch, eps, "ce", 0).adv)

    def _apgd(
        self,
        model: Forward,
        batch: AttackBatch,
        eps: float,
        loss: APGDLoss,
        targets: int,
        ranking: torch.Tensor | None = None,
        skip_targets: int = 0,
    ) -> AttackResult:
        p = self.params
        return apgd(
            model,
            tensor_inputs(batch),
            batch.y,
            norm=self.norm,  # type: ignore[arg-type]
            eps=eps,
            bounds=batch.box,
            seeds=batch.seeds,
            steps=p["steps"],
            restarts=p["restarts"],
            loss=loss,
            targets=targets,
            rho=p["rho"],
            ranking=ranking,
            skip_targets=skip_targets,
        )


class ApgdT(ApgdCe):
    """APGD on the targeted DLR loss, one run per target class."""

    family = "apgd_t"
    choices = {"target_order": ("logits", "malt")}
    at_least = {"skip_targets": 0}
    summary = "{norm} APGD on the targeted DLR loss, top-k target classes (Croce & Hein 2020)"

    @classmethod
    def defaults(cls, norm: str) -> dict[str, Any]:
        return {
            "steps": 100,
            "restarts": 1,
            "targets": 9,
            "rho": 0.75,
            "target_order": "logits",
            "skip_targets": 0,  # start after this many targets of the order (the escalation)
        }

    def _runs(self) -> int:
        return int(self.params["targets"])

    def run(self, model: Forward, batch: AttackBatch, eps: float | None) -> Proposal:
        assert eps is not None
        ranking = None
        if self.params["target_order"] != "logits":
            ranking = target_ranking(
                model,
                tensor_inputs(batch),
                batch.y,
                norm=self.norm,  # type: ignore[arg-type]
                order=self.params["target_order"],
            )
        p = self.params
        res = self._apgd(
            model, batch, eps, "dlr_targeted", p["targets"], ranking, p["skip_targets"]
        )
        return Proposal(x=res.adv)
