"""The exact Mann-Whitney test of two small samples and the Hodges-Lehmann interval that inverts it.

For timing rounds (a handful of per-round throughputs or latencies per run): the two-sided
p-value from the exact null distribution of U = #(a_i > b_j) (no ties assumed in the
distribution, as scipy's `method="exact"`), and the distribution-free interval of the location
shift a - b from the sorted pairwise differences, [D_(k), D_(mn - k + 1)] with k - 1 the largest
count whose lower tail probability is below alpha / 2. Both come from the same distribution, so
the interval excludes 0 exactly when p < alpha (Hollander & Wolfe, 4.3).

Ties between the two samples (a_i = b_j: CUDA events time in steps of about half a microsecond,
and the gate times one model twice) count against a difference on either side: the p-value's
tail counts are #(D > 0) + #(D = 0) and #(D < 0) + #(D = 0), which is what the interval's ends
see (an end at a tied 0 holds 0). Without ties this is the usual test; with them it is never
below scipy's exact p-value, which gives a tie half and rounds that towards the null (counting a
tie as half, rounded down, printed p = 1/3 for [0, 1] against [3, 1], where scipy says 2/3, and
p < 0.05 beside an interval ending at 0).
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike

from harness.stats.intervals import normal_cdf

EXACT_LIMIT = 60  # larger samples: the normal approximation of U


@functools.cache
def _null_cdf(m: int, n: int) -> np.ndarray:
    """P(U <= u) for u = 0..mn under the null, m and n sample sizes (exact, by recursion)."""
    # counts[j][u]: arrangements of j values of the first sample among the running total
    counts = np.zeros((m + 1, m * n + 1))
    counts[0, 0] = 1.0
    for total in range(1, m + n + 1):
        nxt = np.zeros_like(counts)
        for j in range(0, min(total, m) + 1):
            i = total - j  # values of the second sample so far
            if i > n:
                continue
            if j > 0:  # the newest value is of the first sample: it beats the i seconds
                nxt[j, i:] += counts[j - 1, : m * n + 1 - i]
            if i > 0:
                nxt[j] += counts[j]
        counts = nxt
    pmf = counts[m] / counts[m].sum()
    return np.asarray(np.cumsum(pmf))


def _lower_tail(u: float, m: int, n: int) -> float:
    """P(U <= u) under the null."""
    if max(m, n) <= EXACT_LIMIT:
        cdf = _null_cdf(m, n)
        k = int(np.floor(u + 1e-9))
        return float(cdf[k]) if k >= 0 else 0.0
    mean, sd = m * n / 2.0, float(np.sqrt(m * n * (m + n + 1) / 12.0))
    return normal_cdf((u + 0.5 - mean) / sd)


def mann_whitney(
    a: ArrayLike, b: ArrayLike, *, alpha: float = 0.05
) -> tuple[float, tuple[float, float] | None] | None:
    """(two-sided p-value, interval of the shift a - b); None with fewer than 2 values a side.
    The interval is None when so few rounds cannot reach the level at all (the test cannot
    reject either: its smallest p-value is above alpha)."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        return None
    diffs = np.sort((x[:, None] - y[None, :]).ravel())
    ties = int((diffs == 0).sum())
    above, below = int((diffs > 0).sum()) + ties, int((diffs < 0).sum()) + ties
    mn = m * n
    p = min(1.0, 2.0 * min(_lower_tail(above, m, n), _lower_tail(below, m, n)))
    # the largest k - 1 with P(U <= k - 1) < alpha / 2 (k >= 1: at least the extremes)
    k = 0
    while k < mn and _lower_tail(k, m, n) < alpha / 2.0:
        k += 1
    if k == 0:  # too few rounds for a bounded interval at this level
        return p, None
    return p, (float(diffs[k - 1]), float(diffs[mn - k]))
