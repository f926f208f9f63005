"""Square Attack (Andriushchenko et al. 2020): a score-based attack that needs logits only.

Follows the reference implementation (fra31/auto-attack, `square.py`) for L-inf and L2: margin
loss (true logit minus best other), a random vertical-stripe (L-inf) or tiled (L2) start on the
budget's boundary, then one random square window per query whose size follows the p schedule
(p_init halved at queries 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000; with `rescale` the
schedule is stretched to the query budget as if it were 10,000). A proposal is kept when it
lowers the margin loss; a sample is done once misclassified. On a randomised model (EOT) a
sample is not done at its first misclassified point, whose margin may be a lucky draw: it keeps
querying, each proposal compared with the current best point under the same draws of the
model's noise, until its best point was misclassified at SETTLED queries in a row (or the budget
is spent), and returns the latest best point that was misclassified (as APGD and PGD do).

Because it never looks at a gradient, Square is the harness's detector of gradient masking: what it
breaks after every gradient attack failed is counted by the `gradient_obfuscation` check.

Differences from the reference: window positions, signs and orientations are drawn per sample from
`suites.counter_rng` (the reference draws one window position per query for the whole batch from
torch's global generator), so a sample's queries do not depend on its batch or device; inputs of
any shape are viewed as (channels, height, width) with 1-D inputs as a single row, where windows
are 1 x s runs of features; bounds are the task's, not [0, 1].
"""

from __future__ import annotations

import math
from typing import Any

import torch

from harness.suites import counter_rng
from harness.suites.adversarial.apgd import AttackResult
from harness.suites.adversarial.attack import Attack, AttackBatch, Proposal, tensor_inputs
from harness.suites.adversarial.budgets import Norm
from harness.suites.adversarial.forward import Forward
from harness.suites.adversarial.projection import Box, clamp_into, linf_box

_SCHEDULE = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)
_CHUNK = 64  # queries whose random numbers are drawn in one call
SETTLED = 10  # randomised model: misclassified scores in a row after which a sample is done


def p_selection(p_init: float, it: int, queries: int, rescale: bool) -> float:
    """The fraction of the input a window covers at query `it` (the reference's schedule)."""
    if rescale:
        it = int(it / queries * 10000)
    halvings = sum(it > b for b in _SCHEDULE)
    return p_init / 2**halvings


def square(
    fwd: Forward,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    norm: Norm,
    eps: float,
    bounds: Box,
    seeds: torch.Tensor,
    queries: int,
    p_init: float = 0.8,
    rescale: bool = False,
) -> AttackResult:
    """Square attack on a batch: `queries` proposals per sample at most (plus the start)."""
    x, y = x.detach(), y.detach()
    n = len(x)
    found = torch.zeros(n, dtype=torch.bool, device=x.device)
    adv = x.clone()
    if n == 0:
        return AttackResult(adv=adv, found=found)
    run = _Square(fwd, norm=norm, eps=eps, bounds=bounds, shape=tuple(x.shape[1:]))
    xv = x.reshape(n, run.c, run.h, run.w)
    # L-inf: each coordinate's two values (low and high end of the budget, within the bounds)
    ends = linf_box(xv, eps, bounds) if norm == "linf" else (xv, xv)
    low, high = ends
    rows = torch.arange(n, device=x.device)
    x_best = run.start(xv, seeds, low, high)
    hot = run.true_class(y)  # (B, classes) bool, the rows' true classes
    margin = run.margin(x_best, hot)
    loss = margin.clone()
    draws: torch.Tensor | None = None
    noisy = fwd.eot  # a randomised model: every margin is a noisy estimate
    streak = torch.zeros(n, dtype=torch.long, device=x.device)
    for i in range(queries):
        done = margin <= 0
        if done.any():
            found[rows[done]] = True
            adv[rows[done]] = x_best[done].reshape(-1, *x.shape[1:])
        # a sample leaves once misclassified; a randomised model's once its best point was
        # misclassified under SETTLED fresh draws in a row (one may be a lucky draw)
        streak = torch.where(done, streak + 1, 0)
        leave = streak >= SETTLED if noisy else done
        if leave.any():
            keep = ~leave
            rows, xv, x_best, margin, loss, low, high, hot, streak = (
                t[keep] for t in (rows, xv, x_best, margin, loss, low, high, hot, streak)
            )
            if draws is not None:
                draws = draws[keep]
        if len(rows) == 0:
            break
        if i % _CHUNK == 0:
            draws = counter_rng.uniform(seeds[rows], (_CHUNK, run.per_query), 1 + i // _CHUNK)
        assert draws is not None
        p = p_selection(p_init, i, queries, rescale)
        x_new = run.propose(xv, x_best, p, draws[:, i % _CHUNK], low, high)
        if noisy:
            x_best, margin = run.noisy_step(x_new, x_best, hot)
            continue
        m_new = run.margins(x_new, x_best, margin, hot)
        better = m_new < loss
        loss = torch.where(better, m_new, loss)
        take = better | (m_new <= 0)
        margin = torch.where(take, m_new, margin)
        x_best = torch.where(take.view(-1, 1, 1, 1), x_new, x_best)
    done = margin <= 0
    found[rows[done]] = True
    adv[rows[done]] = x_best[done].reshape(-1, *x.shape[1:])
    return AttackResult(adv=adv, found=found)


def _chw(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """The per-sample shape as (channels, height, width); 1-D inputs are one row."""
    if len(shape) == 1:
        return (1, 1, shape[0])
    if len(shape) == 2:
        return (1, shape[0], shape[1])
    return (math.prod(shape[:-2]), shape[-2], shape[-1])


class _Square:
    """Proposals for one norm and input shape (windows are placed per sample)."""

    def __init__(
        self,
        fwd: Forward,
        *,
        norm: Norm,
        eps: float,
        bounds: Box,
        shape: tuple[int, ...],
    ) -> None:
        self.fwd, self.norm, self.eps, self.shape = fwd, norm, eps, shape
        self.bounds = bounds
        self.c, self.h, self.w = _chw(shape)
        # per query: two window corners (4 numbers), an orientation and one sign per channel
        self.per_query = 5 + self.c
        self._etas: dict[tuple[int, int], torch.Tensor] = {}

    def margins(
        self, x_new: torch.Tensor, x_best: torch.Tensor, margin: torch.Tensor, hot: torch.Tensor
    ) -> torch.Tensor:
        """The margins of the proposals; a proposal equal to its current best point (nothing in
        the budget left to change in its window) keeps its margin without a forward pass."""
        changed = (x_new != x_best).flatten(1).any(1)
        if bool(changed.all()):
            return self.margin(x_new, hot)
        out = margin.clone()
        if bool(changed.any()):
            out[changed] = self.margin(x_new[changed], hot[changed])
        return out

    def noisy_step(
        self, x_new: torch.Tensor, x_best: torch.Tensor, hot: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A randomised model's query: the proposal and the current best point get fresh
        margins under the same draws of the model's randomness (`Forward.paired_logits`), and
        the proposal is kept when its margin is the lower. Comparing against the best point's
        margin from when it was kept would compare against the luckiest draw so far, which no
        later proposal beats; two independent draws would compare mostly noise. Returns the new
        best points and their margins."""
        new_logits, best_logits = self.fwd.paired_logits(
            x_new.reshape(len(x_new), *self.shape), x_best.reshape(len(x_best), *self.shape)
        )
        m_new, m_best = self.margin_of(new_logits, hot), self.margin_of(best_logits, hot)
        take = m_new < m_best
        return torch.where(take.view(-1, 1, 1, 1), x_new, x_best), torch.where(take, m_new, m_best)

    def true_class(self, y: torch.Tensor) -> torch.Tensor:
        """(B, classes) bool: each row's true class."""
        return torch.nn.functional.one_hot(y, self.fwd.num_classes).bool()

    def margin(self, xv: torch.Tensor, hot: torch.Tensor) -> torch.Tensor:
        """True logit minus the best other (<= 0: misclassified); NaN counts as +inf (`hot`:
        the rows' true classes, `true_class`)."""
        return self.margin_of(self.fwd.logits(xv.reshape(len(xv), *self.shape)), hot)

    @staticmethod
    def margin_of(logits: torch.Tensor, hot: torch.Tensor) -> torch.Tensor:
        true = logits.masked_fill(~hot, -torch.inf).amax(1)
        other = logits.masked_fill(hot, -torch.inf).amax(1)
        return torch.nan_to_num(true - other, nan=torch.inf)

    def start(
        self, xv: torch.Tensor, seeds: torch.Tensor, low: torch.Tensor, high: torch.Tensor
    ) -> torch.Tensor:
        """The starting point on the budget's boundary (stream 0 of each sample's seed)."""
        if self.norm == "linf":
            u = counter_rng.uniform(seeds, (self.c, 1, self.w), 0)
            return torch.where(u < 0.5, low, high)
        sh, sw = self._tile()
        th, tw = -(-self.h // sh), -(-self.w // sw)
        u = counter_rng.uniform(seeds, (self.c, th, tw), 0)
        sign = torch.where(u < 0.5, -1.0, 1.0).to(xv.dtype)
        pattern = self.eta(sh, sw).to(xv.device, xv.dtype)
        tiled = pattern.repeat(th, tw)[: self.h, : self.w]
        signs = sign.repeat_interleave(sh, 2).repeat_interleave(sw, 3)[:, :, : self.h, : self.w]
        delta = tiled.view(1, 1, self.h, self.w) * signs
        return clamp_into(xv + self.eps * _unit_l2(delta), self.bounds)

    def _tile(self) -> tuple[int, int]:
        if self.h == 1:
            return 1, max(self.w // 5, 1)
        return max(self.h // 5, 1), max(self.h // 5, 1)

    def window(self, p: float) -> tuple[int, int]:
        """Window height and width for fraction p (odd and at least 3 for L2, as the reference)."""
        area = p * self.h * self.w
        if self.h == 1:
            s = max(int(round(area)), 1)
            if self.norm == "l2":
                s = max(s, 3) + (1 - max(s, 3) % 2)
            return 1, min(s, self.w)
        s = max(int(round(math.sqrt(area))), 1)
        if self.norm == "l2":
            s = max(s, 3) + (1 - max(s, 3) % 2)
        s = min(s, self.h, self.w)
        return s, s

    def mask(self, top: torch.Tensor, left: torch.Tensor, sh: int, sw: int) -> torch.Tensor:
        """(A, 1, h, w) bool: the window of size (sh, sw) at each sample's (top, left)."""
        r = torch.arange(self.h, device=top.device).view(1, self.h)
        c = torch.arange(self.w, device=top.device).view(1, self.w)
        rows = (r - top.view(-1, 1)).view(-1, 1, self.h, 1)  # offset from the window's top
        cols = (c - left.view(-1, 1)).view(-1, 1, 1, self.w)
        return ((rows >= 0) & (rows < sh)) & ((cols >= 0) & (cols < sw))

    def corners(self, u: torch.Tensor, sh: int, sw: int) -> tuple[torch.Tensor, torch.Tensor]:
        top = (u[:, 0] * (self.h - sh + 1)).long().clamp_(max=self.h - sh)
        left = (u[:, 1] * (self.w - sw + 1)).long().clamp_(max=self.w - sw)
        return top, left

    def propose(
        self,
        xv: torch.Tensor,
        x_best: torch.Tensor,
        p: float,
        u: torch.Tensor,
        low: torch.Tensor,
        high: torch.Tensor,
    ) -> torch.Tensor:
        """One proposal per sample from its current best point and its random numbers `u`."""
        sh, sw = self.window(p)
        sign = torch.where(u[:, 5:] < 0.5, -1.0, 1.0).to(xv.dtype).view(-1, self.c, 1, 1)
        top, left = self.corners(u[:, 0:2], sh, sw)
        inside = self.mask(top, left, sh, sw)
        if self.norm == "linf":
            new = torch.where(inside, torch.where(sign > 0, high, low), x_best)
            # A window already at the drawn ends would repeat the current point: take the other
            # ends there (the reference draws again until the window changes).
            same = (new == x_best).flatten(1).all(1).view(-1, 1, 1, 1)
            return torch.where(inside & same, torch.where(sign > 0, low, high), new)
        return self._propose_l2(xv, x_best, sh, sw, sign, top, left, inside, u)

    def _propose_l2(
        self,
        xv: torch.Tensor,
        x_best: torch.Tensor,
        sh: int,
        sw: int,
        sign: torch.Tensor,
        top: torch.Tensor,
        left: torch.Tensor,
        inside: torch.Tensor,
        u: torch.Tensor,
    ) -> torch.Tensor:
        """The reference's L2 proposal: move the mass of a second window into the first, add a
        fresh eta pattern there, and rescale so the whole perturbation has norm eps."""
        a = len(xv)
        delta = x_best - xv
        top2, left2 = self.corners(u[:, 2:4], sh, sw)
        inside2 = self.mask(top2, left2, sh, sw)
        idx = self._flat_index(top, left, sh, sw)  # (A, c, sh*sw)
        flat = delta.reshape(a, self.c, -1)
        win = flat.gather(2, idx)
        norm_win1 = win.norm(dim=2, keepdim=True)
        norm_img = delta.flatten(1).norm(dim=1).view(a, 1, 1)
        norm_both = (delta * (inside | inside2)).flatten(1).norm(dim=1).view(a, 1, 1)
        eta = self.eta(sh, sw).to(xv.device, xv.dtype)
        if sh == sw and sh > 1:  # random orientation per sample
            turn = (u[:, 4] < 0.5).view(a, 1, 1, 1)
            pattern = torch.where(turn, eta.T.unsqueeze(0).unsqueeze(0), eta.view(1, 1, sh, sw))
        else:
            pattern = eta.view(1, 1, sh, sw).expand(a, 1, sh, sw)
        new = pattern.reshape(a, 1, -1) * sign.view(a, self.c, 1) + win / (1e-12 + norm_win1)
        room = (self.eps**2 - norm_img**2).clamp_min(0.0) / self.c + norm_both**2
        new = new / (1e-12 + new.norm(dim=2, keepdim=True)) * room.sqrt()
        flat = (delta * ~inside2).reshape(a, self.c, -1).scatter(2, idx, new)
        out = xv + self.eps * _unit_l2(flat.view_as(delta))
        return clamp_into(out, self.bounds)

    def _flat_index(self, top: torch.Tensor, left: torch.Tensor, sh: int, sw: int) -> torch.Tensor:
        r = torch.arange(sh, device=top.device).view(sh, 1)
        c = torch.arange(sw, device=top.device).view(1, sw)
        offsets = (r * self.w + c).view(1, -1)
        base = (top * self.w + left).view(-1, 1)
        return (base + offsets).unsqueeze(1).expand(-1, self.c, -1)

    def eta(self, sh: int, sw: int) -> torch.Tensor:
        """The reference's window pattern: two halves of opposite sign, each a sum of nested
        rectangles weighted 1/(k+1)^2, unit L2 norm (split along the window's longer side)."""
        key = (sh, sw)
        if key not in self._etas:
            if sh >= sw:
                half = sh // 2
                pattern = torch.cat([_rects(half, sw), -_rects(sh - half, sw)], dim=0)
            else:
                half = sw // 2
                pattern = torch.cat([_rects(sh, half), -_rects(sh, sw - half)], dim=1)
            self._etas[key] = pattern / pattern.norm().clamp_min(1e-12)
        return self._etas[key]


def _rects(a: int, b: int) -> torch.Tensor:
    """Nested rectangles around the centre of an a x b window, weight 1/(k+1)^2 (normalised)."""
    delta = torch.zeros(a, b)
    if a == 0 or b == 0:
        return delta
    r0, c0 = a // 2, b // 2
    for k in range(max(a // 2 + 1, b // 2 + 1)):
        delta[
            max(r0 - k, 0) : min(r0 - k + 2 * k + 1, a), max(c0 - k, 0) : min(c0 - k + 2 * k + 1, b)
        ] += 1.0 / (k + 1) ** 2
    return delta / delta.norm().clamp_min(1e-12)


def _unit_l2(delta: torch.Tensor) -> torch.Tensor:
    norms = delta.flatten(1).norm(dim=1).view(-1, *([1] * (delta.ndim - 1)))
    return delta / (norms + 1e-12)


class Square(Attack):
    """The Square attack: score-based, logits only (no gradients)."""

    family = "square"
    at_most = {"p_init": 1.0}  # the share of the input the first window covers
    norms = ("linf", "l2")
    gradients = False
    score_based = True
    summary = "{norm} Square attack, score-based (logits only; Andriushchenko et al. 2020)"

    @classmethod
    def defaults(cls, norm: str) -> dict[str, Any]:
        return {"queries": 5000, "p_init": 0.8, "rescale": False}

    def worst_case_passes(self) -> tuple[int, int] | None:
        return 0, int(self.params["queries"]) + 1

    def run(self, model: Forward, batch: AttackBatch, eps: float | None) -> Proposal:
        assert eps is not None
        p = self.params
        res = square(
            model,
            tensor_inputs(batch),
            batch.y,
            norm=self.norm,  # type: ignore[arg-type]
            eps=eps,
            bounds=batch.box,
            seeds=batch.seeds,
            queries=p["queries"],
            p_init=p["p_init"],
            rescale=p["rescale"],
        )
        return Proposal(x=res.adv)
