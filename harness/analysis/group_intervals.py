"""Intervals of per-group metrics and of the between-group disparities built from them.

Per group: rates (accuracy, selection rate, TPR, FPR) get the Wilson score interval of their own
count and denominator; ECE and the accuracy drop get a percentile bootstrap within the group.

Disparities summarise several groups (largest minus smallest, smallest, largest, ratio), so their
intervals come from simultaneous intervals (Bonferroni) of the pieces, which hold together with
probability at least 95%; whenever all of them hold, the disparity lies in the stated interval:

- a gap `max_g r_g - min_g r_g` (demographic parity and equal opportunity differences, accuracy
  gap): Newcombe intervals [L_ij, U_ij] of every pairwise difference r_i - r_j at level
  alpha / (number of pairs); the gap lies in [max_ij dist(0, [L_ij, U_ij]), max_ij max(|L_ij|,
  |U_ij|)]. The lower end is 0 unless some pair differs significantly, so with no true disparity
  the interval contains 0 (about 95% of the time with two groups, more with several);
- equalized odds (the larger of the TPR and FPR gaps): the same over the pairs of both rates at
  alpha / (2 x pairs); the interval of the larger gap is [max of lower ends, max of upper ends];
- worst (smallest) or largest group value: per-group intervals at alpha / groups;
  [min lo, min hi] or [max lo, max hi];
- ratios min / max: per-group intervals at alpha / groups; [min lo / max hi, min hi / max lo];
- gaps of bootstrap metrics (ECE, accuracy drop): pairwise percentile intervals of the
  resampled differences, at the same Bonferroni level.

tests/analysis/test_interval_coverage.py checks the coverage by seeded simulation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from harness.analysis.intervals import ALPHA, newcombe_difference, wilson_bounds

Interval = tuple[float, float]
WILSON_GROUP_METHOD = "Wilson score interval, 95%"
BOOTSTRAP_GROUP_METHOD = "percentile bootstrap within the group, 95%"
GAP_METHOD = "simultaneous Newcombe intervals of every pair of groups (Bonferroni), 95%"
EXTREME_METHOD = "simultaneous Wilson intervals of the groups (Bonferroni), 95%"
BOOTSTRAP_GAP_METHOD = (
    "simultaneous percentile-bootstrap intervals of every pair of groups (Bonferroni), 95%"
)


@dataclass(frozen=True)
class Rate:
    """One rate per group: successes and trials (length G each)."""

    successes: np.ndarray
    trials: np.ndarray

    def bounds(self, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
        return wilson_bounds(self.successes, self.trials, alpha=alpha)


def pairs(active: np.ndarray) -> list[tuple[int, int]]:
    """Every pair (i < j) of active groups."""
    idx = np.flatnonzero(active)
    return [(int(a), int(b)) for n, a in enumerate(idx) for b in idx[n + 1 :]]


def gap_interval(pieces: Iterable[Interval]) -> Interval | None:
    """Interval of max_ij |d_ij| from intervals [L, U] of every signed difference d_ij."""
    lows, highs = [], []
    for lo, hi in pieces:
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return None
        lows.append(0.0 if lo <= 0.0 <= hi else min(abs(lo), abs(hi)))
        highs.append(max(abs(lo), abs(hi)))
    if not lows:
        return None
    return float(max(lows)), float(max(highs))


def rate_gap_pieces(rate: Rate, active: np.ndarray, alpha: float) -> list[Interval]:
    """Newcombe intervals of every pairwise difference of a rate, each at level `alpha`."""
    out = []
    for i, j in pairs(active):
        lo, hi = newcombe_difference(
            rate.successes[i], rate.trials[i], rate.successes[j], rate.trials[j], alpha=alpha
        )
        out.append((float(lo), float(hi)))
    return out


def bootstrap_gap_pieces(boot: np.ndarray, active: np.ndarray, alpha: float) -> list[Interval]:
    """Percentile intervals of every pairwise difference of resampled group values (R, G)."""
    out = []
    for i, j in pairs(active):
        d = boot[:, i] - boot[:, j]
        d = d[np.isfinite(d)]
        if len(d) == 0:
            out.append((float("nan"), float("nan")))
            continue
        lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2])
        out.append((float(lo), float(hi)))
    return out


def n_pairs(active: np.ndarray) -> int:
    k = int(active.sum())
    return k * (k - 1) // 2


def rate_gap_ci(rate: Rate, active: np.ndarray, alpha: float = ALPHA) -> Interval | None:
    """Interval of the largest-minus-smallest group rate."""
    m = n_pairs(active)
    return gap_interval(rate_gap_pieces(rate, active, alpha / m)) if m else None


def two_rate_gap_ci(
    first: Rate, second: Rate, active: np.ndarray, alpha: float = ALPHA
) -> Interval | None:
    """Interval of the larger of two rate gaps (equalized odds: TPR and FPR)."""
    m = n_pairs(active)
    if not m:
        return None
    a = gap_interval(rate_gap_pieces(first, active, alpha / (2 * m)))
    b = gap_interval(rate_gap_pieces(second, active, alpha / (2 * m)))
    if a is None or b is None:
        return None
    return max(a[0], b[0]), max(a[1], b[1])


def bootstrap_gap_ci(boot: np.ndarray, active: np.ndarray, alpha: float = ALPHA) -> Interval | None:
    """Interval of the largest-minus-smallest of a bootstrapped group statistic."""
    m = n_pairs(active)
    return gap_interval(bootstrap_gap_pieces(boot, active, alpha / m)) if m else None


def _group_bounds(rate: Rate, active: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    k = max(1, int(active.sum()))
    lo, hi = rate.bounds(alpha / k)
    return lo[active], hi[active]


def extreme_rate_ci(
    rate: Rate, active: np.ndarray, *, largest: bool, alpha: float = ALPHA
) -> Interval | None:
    """Interval of the smallest (or largest) group rate from simultaneous group intervals."""
    if not active.any():
        return None
    lo, hi = _group_bounds(rate, active, alpha)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return None
    pick = np.max if largest else np.min
    return float(pick(lo)), float(pick(hi))


def extreme_bootstrap_ci(
    boot: np.ndarray, active: np.ndarray, *, largest: bool, alpha: float = ALPHA
) -> Interval | None:
    """Interval of the smallest (or largest) of a bootstrapped group statistic."""
    k = int(active.sum())
    if not k:
        return None
    values = boot[:, active]
    lo = np.nanquantile(values, alpha / (2 * k), axis=0)
    hi = np.nanquantile(values, 1 - alpha / (2 * k), axis=0)
    pick = np.max if largest else np.min
    return float(pick(lo)), float(pick(hi))


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
