"""Intervals of per-group metrics and of the between-group disparities built from them.

Per group: rates (accuracy, selection rate, TPR, FPR) get the Wilson score interval of their own
count and denominator; ECE gets the bias-aware interval of the group's own samples
(`calibration.ece_interval`, no resampling) and the accuracy drop a percentile bootstrap within
the group.

Disparities summarise several groups (largest minus smallest, smallest, largest, ratio):

- a gap `max_g r_g - min_g r_g` (demographic parity and equal opportunity differences, accuracy
  gap): the interval of the SIGNED gap between the two groups that are extreme in the point
  estimate (highest minus lowest), Newcombe's interval for a difference of proportions. It can
  contain 0 (no evidence of a disparity) and reach below 0 (the order of the two groups is not
  established). With more than two groups the pair is chosen by the data, so the level is
  Bonferroni-adjusted over all pairs (alpha / pairs), which keeps the coverage at least 95%;
- equalized odds (the larger of the TPR and FPR gaps): the signed gap of the rate whose gap is
  larger, at alpha / (2 x pairs): at least 95% (about 97.5% when one of the two gaps dominates);
- worst (smallest) or largest group value: simultaneous per-group intervals at alpha / groups,
  giving [min lo, min hi] or [max lo, max hi] (at least 95%);
- ratios min / max: simultaneous per-group intervals, [min lo / max hi, min hi / max lo];
- the ECE gap: the signed gap between the extreme pair, MOVER (square-and-add) from each
  group's bias-aware ECE interval (`calibration.ece_interval`) at the same Bonferroni level. A
  percentile bootstrap of the plain ECEs carries each group's upward bias, which grows as a
  group shrinks: for a calibrated model with groups of 200 and 20 it excluded the true gap 0 in
  87 of 100 seeded runs (0 of 100 now), and a group of one resamples to one value;
- gaps of the accuracy drop: the percentile interval of the resampled signed difference between
  the extreme pair, at the same Bonferroni level.

Groups that tie at an extreme of the point estimate (two groups of 10/40 and 5/20) leave the
pair undetermined: a gap's interval is then the union of the intervals of every pair of distinct
groups the tie allows, so it neither compares a group with itself nor depends on the order of
the group labels.

tests/analysis/test_interval_coverage.py checks the coverage by seeded simulation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from harness.stats.intervals import (
    ALPHA,
    VALUE_TIE_ATOL,
    mover_difference,
    newcombe_of_bounds,
    wilson_bounds,
)

Interval = tuple[float, float]
WILSON_GROUP_METHOD = "Wilson score interval, 95%"
BOOTSTRAP_GROUP_METHOD = "percentile bootstrap within the group, 95%"
GAP_METHOD = (
    "Newcombe interval of the signed gap between the extreme groups (Bonferroni over pairs), 95%"
)
EXTREME_METHOD = "simultaneous Wilson intervals of the groups (Bonferroni), 95%"
ECE_GAP_METHOD = (
    "MOVER interval of the signed ECE gap between the extreme groups from their bias-aware ECE "
    "intervals (Bonferroni over pairs), 95%"
)
BOOTSTRAP_GAP_METHOD = (
    "percentile bootstrap of the signed gap between the extreme groups (Bonferroni over pairs), 95%"
)


@dataclass(frozen=True)
class Rate:
    """One rate per group: successes and trials (length G each)."""

    successes: np.ndarray
    trials: np.ndarray
    # each level's bounds, computed once (a breakdown reads the 95% ones for the groups' rows
    # and again for the worst group's interval); read-only arrays, shared by the callers
    _bounds: dict[float, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def bounds(self, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
        """Every group's Wilson bounds at level `alpha` (NaN for a group without trials)."""
        if alpha not in self._bounds:
            lo, hi = wilson_bounds(self.successes, self.trials, alpha=alpha)
            lo.flags.writeable = hi.flags.writeable = False
            self._bounds[alpha] = (lo, hi)
        return self._bounds[alpha]


def bounds_together(rates: Sequence[Rate], alpha: float = ALPHA) -> None:
    """Compute the Wilson bounds at `alpha` of every rate of `rates` that lacks them in one
    `wilson_bounds` call over all their groups, kept in each rate's memo (`Rate.bounds`): its
    operations are element by element, so each group's bounds are the ones its own rate's call
    gives, bit for bit, for one call's fixed cost instead of one per rate (~5 a table)."""
    missing = [rate for rate in rates if alpha not in rate._bounds]
    if len(missing) < 2:
        return
    lo, hi = wilson_bounds(
        np.concatenate([np.asarray(r.successes, dtype=np.float64) for r in missing]),
        np.concatenate([np.asarray(r.trials, dtype=np.float64) for r in missing]),
        alpha=alpha,
    )
    lo.flags.writeable = hi.flags.writeable = False
    start = 0
    for rate in missing:
        end = start + len(rate.trials)
        rate._bounds[alpha] = (lo[start:end], hi[start:end])
        start = end


def extreme_pair(values: np.ndarray, active: np.ndarray) -> tuple[int, int]:
    """(highest, lowest) active group by point value (first one on ties)."""
    idx = np.flatnonzero(active)
    v = values[idx]
    return int(idx[int(np.argmax(v))]), int(idx[int(np.argmin(v))])


def extreme_pairs(values: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(highest, lowest) indices of every pair of distinct active groups that are highest and
    lowest by point value: one pair, or each pair that ties at an extreme allow (module
    docstring); empty when fewer than two active groups have a value."""
    idx = np.flatnonzero(active & ~np.isnan(values))
    if len(idx) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    v = values[idx]
    # within float rounding: an ECE summed in another order differs in its last bits
    top = idx[_near(v, v.max())]
    bottom = idx[_near(v, v.min())]
    his, los = np.repeat(top, len(bottom)), np.tile(bottom, len(top))
    distinct = his != los
    return his[distinct], los[distinct]


def _near(values: np.ndarray, x: float) -> np.ndarray:
    """`np.isclose(values, x, rtol=0.0, atol=VALUE_TIE_ATOL)` without its generality (a tenth
    of its cost): within the tolerance where both are finite, else equal (an infinity)."""
    with np.errstate(invalid="ignore"):
        return np.asarray((np.abs(values - x) <= VALUE_TIE_ATOL) | (values == x))


def n_pairs(active: np.ndarray) -> int:
    k = int(active.sum())
    return k * (k - 1) // 2


def _point(rate: Rate) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(rate.successes, dtype=np.float64) / np.asarray(
            rate.trials, dtype=np.float64
        )


def _newcombe_pairs(rate: Rate, his: np.ndarray, los: np.ndarray, alpha: float) -> Interval | None:
    """The union of the Newcombe intervals of the pairs (his[i], los[i])."""
    if not len(his):
        return None
    # each group's bounds at this level made once, as `newcombe_difference` makes the pairs'
    low, high = rate.bounds(alpha)
    p = _point(rate)
    a, b = newcombe_of_bounds(p[his], (low[his], high[his]), p[los], (low[los], high[los]))
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return None
    return float(np.min(a)), float(np.max(b))


def _union(intervals: list[Interval | None]) -> Interval | None:
    if not intervals or any(i is None for i in intervals):
        return None
    return min(i[0] for i in intervals if i), max(i[1] for i in intervals if i)


def rate_gap_ci(rate: Rate, active: np.ndarray, alpha: float = ALPHA) -> Interval | None:
    """Interval of the signed gap between the highest and the lowest group (Newcombe,
    Bonferroni over the pairs of groups)."""
    m = n_pairs(active)
    if not m:
        return None
    his, los = extreme_pairs(_point(rate), active)
    return _newcombe_pairs(rate, his, los, alpha / m)


def two_rate_gap_ci(
    first: Rate, second: Rate, active: np.ndarray, alpha: float = ALPHA
) -> Interval | None:
    """Interval of the larger of two rate gaps (equalized odds: TPR and FPR): the signed gap of
    the rate whose gap is larger, Bonferroni over the pairs of both rates."""
    m = n_pairs(active)
    if not m:
        return None
    gaps = []
    for rate in (first, second):
        point = _point(rate)
        his, los = extreme_pairs(point, active)
        if not len(his):
            return None
        gaps.append((float(point[his[0]] - point[los[0]]), rate, his, los))
    # both rates when their gaps tie, within float rounding (0.3 - 0.1 > 0.7 - 0.5 in float)
    largest = max(g[0] for g in gaps)
    return _union(
        [
            _newcombe_pairs(rate, his, los, alpha / (2 * m))
            for gap, rate, his, los in gaps
            if gap >= largest - VALUE_TIE_ATOL
        ]
    )


def bootstrap_gap_ci(
    boot: np.ndarray, point: np.ndarray, active: np.ndarray, alpha: float = ALPHA
) -> Interval | None:
    """Interval of the signed gap between the highest and the lowest group of a bootstrapped
    statistic: percentile interval of the resampled differences, Bonferroni over pairs."""
    m = n_pairs(active)
    if not m:
        return None
    intervals: list[Interval | None] = []
    for hi, lo in zip(*extreme_pairs(point, active), strict=True):
        d = boot[:, hi] - boot[:, lo]
        d = d[np.isfinite(d)]
        if len(d):
            a, b = np.quantile(d, [alpha / (2 * m), 1 - alpha / (2 * m)])
            intervals.append((float(a), float(b)))
    return _union(intervals)


def ece_gap_ci(
    values: np.ndarray,
    intervals_at: Callable[[float], Sequence[Interval | None]],
    active: np.ndarray,
    alpha: float = ALPHA,
) -> Interval | None:
    """Interval of the signed ECE gap between the highest and the lowest group: MOVER from the
    two groups' own ECE intervals (`intervals_at(level)`: every group's interval at that level;
    disjoint samples, so independent), Bonferroni over pairs."""
    m = n_pairs(active)
    if not m:
        return None
    cis = intervals_at(alpha / m)
    intervals: list[Interval | None] = []
    for hi, lo in zip(*extreme_pairs(values, active), strict=True):
        high, low = cis[hi], cis[lo]
        if high is None or low is None:
            intervals.append(None)
            continue
        intervals.append(mover_difference(float(values[hi]), high, float(values[lo]), low))
    return _union(intervals)


def _group_bounds(rate: Rate, active: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    k = max(1, int(active.sum()))
    lo, hi = rate.bounds(alpha / k)
    return lo[active], hi[active]


def _extreme(
    lo: tuple[np.ndarray, np.ndarray], hi: tuple[np.ndarray, np.ndarray], largest: bool
) -> Interval | None:
    """[min of lower ends, min of upper ends] (or max), each end from its own bound set."""
    if not all(np.isfinite(a).all() for a in (*lo, *hi)):
        return None
    pick = np.max if largest else np.min
    return float(pick(lo[0])), float(pick(hi[1]))


def extreme_rate_ci(
    rate: Rate, active: np.ndarray, *, largest: bool, alpha: float = ALPHA
) -> Interval | None:
    """Interval of the smallest (or largest) group rate.

    For the smallest: the lower end is the smallest of the groups' ordinary 95% lower bounds
    (it undershoots the true minimum whenever the worst group's own bound does, probability
    alpha/2); the upper end is the smallest of upper bounds at alpha/groups (Bonferroni: any
    group's bound may be the one that drops below the minimum). Mirrored for the largest.
    """
    if not active.any():
        return None
    lo, hi = rate.bounds(alpha)
    plain = (lo[active], hi[active])
    adjusted = _group_bounds(rate, active, alpha)
    return _extreme(adjusted, plain, True) if largest else _extreme(plain, adjusted, False)


def extreme_bootstrap_ci(
    boot: np.ndarray, active: np.ndarray, *, largest: bool, alpha: float = ALPHA
) -> Interval | None:
    """Interval of the smallest (or largest) of a bootstrapped group statistic (as above)."""
    k = int(active.sum())
    if not k:
        return None
    values = boot[:, active]

    def bounds(a: float) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.nanquantile(values, a / 2, axis=0),
            np.nanquantile(values, 1 - a / 2, axis=0),
        )

    plain, adjusted = bounds(alpha), bounds(alpha / k)
    return _extreme(adjusted, plain, True) if largest else _extreme(plain, adjusted, False)


def rate_ratio_ci(rate: Rate, active: np.ndarray, alpha: float = ALPHA) -> Interval | None:
    """Interval of min / max over the group rates from simultaneous group intervals."""
    if int(active.sum()) < 2:
        return None
    lo, hi = _group_bounds(rate, active, alpha)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return None
    top_hi, top_lo = float(np.max(hi)), float(np.max(lo))
    lower = float(np.min(lo)) / top_hi if top_hi > 0 else 0.0
    upper = min(1.0, float(np.min(hi)) / top_lo) if top_lo > 0 else 1.0
    return lower, upper


def two_rate_ratio_ci(
    first: Rate, second: Rate, active: np.ndarray, alpha: float = ALPHA
) -> Interval | None:
    """Interval of the smaller of two rate ratios (equalized odds ratio)."""
    a = rate_ratio_ci(first, active, alpha / 2)
    b = rate_ratio_ci(second, active, alpha / 2)
    if a is None or b is None:
        return None
    return min(a[0], b[0]), min(a[1], b[1])
