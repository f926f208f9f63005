"""Intervals of per-group metrics and of the between-group disparities built from them.

Per group: rates (accuracy, selection rate, TPR, FPR) get the Wilson score interval of their own
count and denominator; ECE and the accuracy drop get a percentile bootstrap within the group.

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
- gaps of bootstrap metrics (ECE, accuracy drop): the percentile interval of the resampled
  signed difference between the extreme pair, at the same Bonferroni level.

tests/analysis/test_interval_coverage.py checks the coverage by seeded simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.stats.intervals import ALPHA, newcombe_difference, wilson_bounds

Interval = tuple[float, float]
WILSON_GROUP_METHOD = "Wilson score interval, 95%"
BOOTSTRAP_GROUP_METHOD = "percentile bootstrap within the group, 95%"
GAP_METHOD = (
    "Newcombe interval of the signed gap between the extreme groups (Bonferroni over pairs), 95%"
)
EXTREME_METHOD = "simultaneous Wilson intervals of the groups (Bonferroni), 95%"
BOOTSTRAP_GAP_METHOD = (
    "percentile bootstrap of the signed gap between the extreme groups (Bonferroni over pairs), 95%"
)


@dataclass(frozen=True)
class Rate:
    """One rate per group: successes and trials (length G each)."""

    successes: np.ndarray
    trials: np.ndarray

    def bounds(self, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
        return wilson_bounds(self.successes, self.trials, alpha=alpha)


def extreme_pair(values: np.ndarray, active: np.ndarray) -> tuple[int, int]:
    """(highest, lowest) active group by point value (first one on ties)."""
    idx = np.flatnonzero(active)
    v = values[idx]
    return int(idx[int(np.argmax(v))]), int(idx[int(np.argmin(v))])


def n_pairs(active: np.ndarray) -> int:
    k = int(active.sum())
    return k * (k - 1) // 2


def _point(rate: Rate) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(rate.successes, dtype=np.float64) / np.asarray(
            rate.trials, dtype=np.float64
        )


def _newcombe_pair(rate: Rate, hi: int, lo: int, alpha: float) -> Interval | None:
    a, b = newcombe_difference(
        rate.successes[hi], rate.trials[hi], rate.successes[lo], rate.trials[lo], alpha=alpha
    )
    if not (np.isfinite(a) and np.isfinite(b)):
        return None
    return float(a), float(b)


def rate_gap_ci(rate: Rate, active: np.ndarray, alpha: float = ALPHA) -> Interval | None:
    """Interval of the signed gap between the highest and the lowest group (Newcombe,
    Bonferroni over the pairs of groups)."""
    m = n_pairs(active)
    if not m:
        return None
    hi, lo = extreme_pair(_point(rate), active)
    return _newcombe_pair(rate, hi, lo, alpha / m)


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
        hi, lo = extreme_pair(_point(rate), active)
        gaps.append((float(_point(rate)[hi] - _point(rate)[lo]), rate, hi, lo))
    _gap, rate, hi, lo = max(gaps, key=lambda g: g[0])
    return _newcombe_pair(rate, hi, lo, alpha / (2 * m))


def bootstrap_gap_ci(
    boot: np.ndarray, point: np.ndarray, active: np.ndarray, alpha: float = ALPHA
) -> Interval | None:
    """Interval of the signed gap between the highest and the lowest group of a bootstrapped
    statistic: percentile interval of the resampled differences, Bonferroni over pairs."""
    m = n_pairs(active)
    if not m:
        return None
    hi, lo = extreme_pair(point, active)
    d = boot[:, hi] - boot[:, lo]
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return None
    a, b = np.quantile(d, [alpha / (2 * m), 1 - alpha / (2 * m)])
    return float(a), float(b)


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
