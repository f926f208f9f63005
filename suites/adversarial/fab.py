"""FAB-T, the targeted Fast Adaptive Boundary attack (Croce & Hein 2020), L-inf and L2, batched.

FAB walks towards the decision boundary between the true class and a target class: at every step
it linearises the logit difference z_t - z_y at the current point, projects both the current point
and the clean input onto that hyperplane (within the input box, with the minimal L-inf or L2
move), and takes a convex combination of the two projections (weight alpha <= alpha_max on the
clean one's, each overshot by eta). Once a point is misclassified, its distance is recorded and it
steps back towards the clean input by beta, so that the search goes on for a closer adversarial.
AutoAttack's standard version runs it targeted (FAB-T) on 9 target classes, the clean input's 2nd
to 10th highest logits, each on the samples no earlier target broke.

The projection onto {z : <w, z> = b} within the box, minimising ||z - p||_inf or ||z - p||_2, is
solved exactly per sample: moving every coordinate towards the side that lowers <w, z>, the
reachable change is a piecewise linear, nondecreasing function of the radius (L-inf) or of the
Lagrange multiplier (L2), whose breakpoints are where a coordinate reaches the box; sorting them
gives the exact root with one cumulative sum. If the hyperplane lies beyond the box, the point
moves to the box's nearest corner.

Differences from the reference implementation (fra31/auto-attack, `fab_pt.py`), none of which
weakens the attack at a fixed budget:
- it stops a sample as soon as it found a misclassified point within eps (the reference keeps
  shrinking the distance; only "within eps" counts for robust accuracy), and returns the clean
  input where its closest misclassified point is farther than eps (never an over-budget candidate);
- inputs of any shape and the task's bounds (the search runs in the unit box, rescaled);
- random starts for restarts beyond the first come from `suites.counter_rng`, per sample;
- on a randomised model (EOT) a sample runs all its steps (a misclassified point may be a lucky
  draw), and its candidate is its latest misclassified point within eps moved along its
  direction from the clean input to the edge of the budget (FAB's points lie just past the
  boundary: a fresh verification confirmed 42% to 50% of them; at the edge, 55% to 67%).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from harness.suites import counter_rng
from harness.suites.adversarial.attack import Attack, AttackBatch, Proposal, tensor_inputs
from harness.suites.adversarial.budgets import Norm
from harness.suites.adversarial.forward import Forward
from harness.suites.adversarial.targets import target_ranking


def project_to_hyperplane(
    p: torch.Tensor, w: torch.Tensor, b: torch.Tensor, norm: Norm
) -> torch.Tensor:
    """Per row: the smallest move d (L-inf or L2) with <w, p + d> = b and p + d in [0, 1]^n
    (rows of p are points in the unit box); the move to the nearest corner when no such d exists.
    """
    lower = (w * p).sum(1) - b  # > 0: <w, .> must go down; < 0: up (flip w to make it go down)
    flip = torch.where(lower < 0, -1.0, 1.0).to(p.dtype)[:, None]
    w = w * flip
    need = lower.abs()  # how much <w, .> must decrease
    room = torch.where(w > 0, p, 1.0 - p)  # how far each coordinate can move in that direction
    aw = w.abs()
    active = aw > 0
    if norm == "linf":
        slope, key = aw, room  # the radius at which a coordinate reaches the box
    else:
        slope = aw * aw
        key = room / aw.clamp_min(1e-30)  # the multiplier at which it does
    key = torch.where(active, key, torch.full_like(key, torch.inf))
    order = key.argsort(dim=1)
    k = key.gather(1, order)
    full = (aw * room).gather(1, order)  # decrease from a coordinate that reached the box
    s = torch.where(active, slope, torch.zeros_like(slope)).gather(1, order)
    saturated = torch.cumsum(full, 1)  # decrease from coordinates at the box, up to each key
    rest = s.sum(1, keepdim=True) - torch.cumsum(s, 1)  # slope of the ones still moving
    reach = saturated + torch.nan_to_num(k * rest, nan=0.0, posinf=0.0)  # decrease at each key
    n = p.shape[1]
    first = torch.searchsorted(reach.contiguous(), need[:, None].contiguous()).squeeze(1)
    feasible = first < n
    idx = first.clamp(max=n - 1)
    before = (idx - 1).clamp_min(0)
    sat_before = torch.where(idx > 0, saturated.gather(1, before[:, None]).squeeze(1), 0.0)
    slope_before = torch.where(
        idx > 0, rest.gather(1, before[:, None]).squeeze(1), s.sum(1)
    ).clamp_min(1e-30)
    lam = ((need - sat_before) / slope_before).clamp_min(0.0)
    lam = torch.where(feasible, lam, torch.full_like(lam, torch.inf))
    step = aw if norm == "l2" else torch.ones_like(aw)
    move = torch.minimum(lam[:, None] * step, room)
    move = torch.where(active, move, torch.zeros_like(move))
    return -torch.sign(w) * move


def _dist(d: torch.Tensor, norm: Norm) -> torch.Tensor:
    return d.abs().amax(1) if norm == "linf" else d.norm(dim=1)


@dataclass(frozen=True, kw_only=True)
class FabSettings:
    steps: int = 100
    restarts: int = 1
    targets: int = 9
    alpha_max: float = 0.1
    eta: float = 1.05
    beta: float = 0.9


def fab_targeted(
    fwd: Forward,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    norm: Norm,
    eps: float,
    bounds: tuple[float, float],
    seeds: torch.Tensor,
    settings: FabSettings,
    ranking: torch.Tensor | None = None,
) -> torch.Tensor:
    """FAB-T on a batch: the candidate per sample (a misclassified point within eps, else x).

    `ranking` (B, classes) orders each sample's target classes (column 0: its own top class);
    by default the clean logits' descending order, as AutoAttack uses."""
    x, y = x.detach(), y.detach()
    n = len(x)
    adv = x.clone()
    found = torch.zeros(n, dtype=torch.bool, device=x.device)
    if n == 0:
        return adv
    if ranking is None:
        ranking = fwd.logits(x).argsort(dim=1, descending=True)
    width = bounds[1] - bounds[0]
    targets = min(settings.targets, fwd.num_classes - 1)
    job = 0
    for rank in range(targets):
        for restart in range(settings.restarts):
            idx = (~found).nonzero().squeeze(1)
            if len(idx) == 0:
                return adv
            run = _FabRun(fwd, x[idx], y[idx], ranking[idx, rank + 1], norm, bounds, settings)
            hit, xs = run.attack(eps / width, seeds[idx] if restart > 0 else None, job)
            found[idx[hit]] = True
            adv[idx[hit]] = xs
            job += 1
    return adv


class _FabRun:
    """One FAB-T run (one target class, one restart) over a batch, in the unit box."""

    def __init__(
        self,
        fwd: Forward,
        x: torch.Tensor,
        y: torch.Tensor,
        target: torch.Tensor,
        norm: Norm,
        bounds: tuple[float, float],
        settings: FabSettings,
    ) -> None:
        self.fwd, self.y, self.target, self.norm = fwd, y, target, norm
        self.lo, self.width = bounds[0], bounds[1] - bounds[0]
        self.shape = tuple(x.shape[1:])
        self.u0 = ((x - self.lo) / self.width).flatten(1).clamp(0.0, 1.0)
        self.s = settings

    def _grad(self, u: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(logits, z_t - z_y, its gradient in the unit box) at unit-box points `u` of `rows`."""
        y, t = self.y[rows], self.target[rows]

        def loss(z: torch.Tensor) -> torch.Tensor:
            return z.gather(1, t[:, None]).squeeze(1) - z.gather(1, y[:, None]).squeeze(1)

        xs = (self.lo + self.width * u).reshape(-1, *self.shape)
        logits, value, grad = self.fwd.loss_grad(xs, loss)
        return logits, value, grad.flatten(1) * self.width

    def attack(
        self, eps: float, seeds: torch.Tensor | None, stream: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(found (B,), the found samples' points within eps, in input units and batch order)."""
        u0, s, norm = self.u0, self.s, self.norm
        n, dev = len(u0), u0.device
        u = u0.clone()
        if seeds is not None:  # a restart: a random start at half the radius
            if norm == "linf":
                t = counter_rng.uniform(seeds, (u0.shape[1],), stream) * 2 - 1
            else:
                t = counter_rng.normal(seeds, (u0.shape[1],), stream)
            u = (u0 + 0.5 * eps * t / _dist(t, norm).clamp_min(1e-12)[:, None]).clamp(0.0, 1.0)
        rows = torch.arange(n, device=dev)
        best = torch.full((n,), torch.inf, device=dev)
        found = torch.zeros(n, dtype=torch.bool, device=dev)
        out = u0.clone()
        _, df, dg = self._grad(u, rows)
        for i in range(s.steps):
            u = self._step(u, u0[rows], df, dg)
            hit = self._logits(u).argmax(1) != self.y[rows]  # misclassified at the new point
            if self.fwd.eot:
                if hit.any():
                    self._noisy_hit(u, rows, hit, eps, found, out)
                    u = torch.where(hit[:, None], u0[rows] + (u - u0[rows]) * s.beta, u)
            elif hit.any():
                dist = _dist(u - u0[rows], norm)
                closer = hit & (dist < best[rows])
                best[rows[closer]] = dist[closer]
                out[rows[closer]] = u[closer]
                done = closer & (dist <= eps)
                found[rows[done]] = True
                keep = ~done
                back = (hit & keep)[keep]
                rows, u, df, dg = rows[keep], u[keep], df[keep], dg[keep]
                if len(rows) == 0:
                    break
                # step back towards the clean input, to search for a closer misclassified point
                u = torch.where(back[:, None], u0[rows] + (u - u0[rows]) * s.beta, u)
            if i + 1 < s.steps:
                _, df, dg = self._grad(u, rows)
        xs = self.lo + self.width * out[found]
        return found, xs.reshape(-1, *self.shape).clamp(self.lo, self.lo + self.width)

    def _noisy_hit(
        self,
        u: torch.Tensor,
        rows: torch.Tensor,
        hit: torch.Tensor,
        eps: float,
        found: torch.Tensor,
        out: torch.Tensor,
    ) -> None:
        """A randomised model: a hit within eps does not end the sample's search (the decision
        is noisy), and its candidate becomes the latest such hit moved along its direction from
        the clean input out to the edge of the budget (within the box). FAB's points lie just
        past the boundary by design, which a fresh verification calls correct about half the
        time; further along the same direction the model is misclassified more surely."""
        d = u - self.u0[rows]
        dist = _dist(d, self.norm)
        ok = hit & (dist <= eps)
        edge = (self.u0[rows] + d * (eps / dist.clamp_min(1e-12))[:, None]).clamp(0.0, 1.0)
        found[rows[ok]] = True
        out[rows[ok]] = edge[ok]

    def _logits(self, u: torch.Tensor) -> torch.Tensor:
        return self.fwd.logits((self.lo + self.width * u).reshape(-1, *self.shape))

    def _step(
        self, u: torch.Tensor, u0: torch.Tensor, df: torch.Tensor, dg: torch.Tensor
    ) -> torch.Tensor:
        """One FAB step: project the current point and the clean input onto the linearised
        boundary, combine the two projections (overshot by eta) with weight alpha."""
        s, norm = self.s, self.norm
        b = (dg * u).sum(1) - df
        both = project_to_hyperplane(
            torch.cat([u, u0]), torch.cat([dg, dg]), torch.cat([b, b]), norm
        )
        d1, d2 = both[: len(u)], both[len(u) :]
        a1 = _dist(d1, norm).clamp_min(1e-8)
        a2 = _dist(d2, norm).clamp_min(1e-8)
        alpha = (a1 / (a1 + a2)).clamp(0.0, s.alpha_max)[:, None]
        return ((u + s.eta * d1) * (1 - alpha) + (u0 + s.eta * d2) * alpha).clamp(0.0, 1.0)


class FabT(Attack):
    """FAB-T: the targeted Fast Adaptive Boundary attack, one run per target class."""

    family = "fab_t"
    choices = {"target_order": ("logits", "malt")}
    at_least = {"alpha_max": 0.0}
    at_most = {"alpha_max": 1.0, "beta": 1.0}
    norms = ("linf", "l2")
    summary = (
        "{norm} FAB-T, targeted fast adaptive boundary attack, top-k targets (Croce & Hein 2020)"
    )

    @classmethod
    def defaults(cls, norm: str) -> dict[str, Any]:
        return {
            "steps": 100,
            "restarts": 1,
            "targets": 9,
            "alpha_max": 0.1,
            "eta": 1.05,
            "beta": 0.9,
            "target_order": "logits",
        }

    def worst_case_passes(self) -> tuple[int, int] | None:
        runs = self.params["steps"] * self.params["restarts"] * self.params["targets"]
        return runs, runs + 1

    def run(self, model: Forward, batch: AttackBatch, eps: float | None) -> Proposal:
        assert eps is not None
        p = self.params
        settings = FabSettings(
            steps=p["steps"],
            restarts=p["restarts"],
            targets=p["targets"],
            alpha_max=p["alpha_max"],
            eta=p["eta"],
            beta=p["beta"],
        )
        x, norm = tensor_inputs(batch), self.norm
        ranking = None
        if p["target_order"] != "logits":
            ranking = target_ranking(model, x, batch.y, norm=norm, order=p["target_order"])  # type: ignore[arg-type]
        cand = fab_targeted(
            model,
            x,
            batch.y,
            norm=norm,  # type: ignore[arg-type]
            eps=eps,
            bounds=batch.bounds,
            seeds=batch.seeds,
            settings=settings,
            ranking=ranking,
        )
        return Proposal(x=cand)
