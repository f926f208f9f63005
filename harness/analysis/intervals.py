"""Statistics on per-sample results: intervals for proportions, medians and bootstrap statistics,
and the exact McNemar test and Holm's correction.

- Proportions (accuracies, rates, top-5...): the Wilson score interval (`wilson_ci`). It never
  collapses to [0, 0] or [1, 1] (0/9 gives [0, 0.299], 1/1 gives [0.207, 1]) and its coverage
  stays near the nominal 95% down to small n and p near 0 or 1, where the percentile bootstrap
  gives [1, 1] for an all-correct resample (docs/ci-gate.md, "Intervals").
- Differences of two independent proportions: Newcombe's hybrid score interval
  (`newcombe_difference`, Newcombe 1998, method 10), built from the two Wilson intervals.
- Medians of a few repeated measurements (timing rounds): the distribution-free order-statistic
  interval with Hettmansperger-Sheather interpolation (`median_ci`).
- Other statistics (NLL, Brier, ECE, macro-F1...): percentile bootstrap over samples, with
  resample indices drawn from a generator seeded by the run seed and the metric name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as scipy_stats

from harness.core.seeding import rng

DEFAULT_RESAMPLES = 1000
ALPHA = 0.05
CI_METHOD = "percentile bootstrap over samples, 95%"
BOOTSTRAP_METHOD = CI_METHOD
WILSON_METHOD = "Wilson score interval, 95%"
MEDIAN_METHOD = "order-statistic interval of the median (Hettmansperger-Sheather), 95%"
MIN_DENOMINATOR = 20
"""Below this many trials a rate's interval is wide and its record carries a reliability note."""


def z_value(alpha: float = ALPHA) -> float:
    """The two-sided standard normal quantile for level `alpha` (1.96 at 0.05)."""
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


def wilson_bounds(
    successes: ArrayLike, n: ArrayLike, *, alpha: float = ALPHA
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Wilson score bounds; NaN where n == 0. `n` may be fractional (effective n)."""
    k = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    z = z_value(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / m
        denom = 1.0 + z * z / m
        centre = (p + z * z / (2.0 * m)) / denom
        half = z * np.sqrt(np.clip(p * (1.0 - p), 0.0, None) / m + z * z / (4.0 * m * m)) / denom
    lo = np.where(k <= 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    hi = np.where(k >= m, 1.0, np.clip(centre + half, 0.0, 1.0))
    empty = ~(m > 0)
    return np.where(empty, np.nan, lo), np.where(empty, np.nan, hi)


def wilson_ci(successes: float, n: float, *, alpha: float = ALPHA) -> tuple[float, float] | None:
    """The Wilson score interval of `successes / n` (None when n == 0)."""
    if not n > 0:
        return None
    lo, hi = wilson_bounds(successes, n, alpha=alpha)
    return float(lo), float(hi)


def newcombe_difference(
    k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike, *, alpha: float = ALPHA
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval of p1 - p2 for independent proportions (vectorised).

    L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2), U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2), with
    (l_i, u_i) the Wilson bounds of each proportion at the same level. NaN where a side is empty.
    """
    a1, b1 = wilson_bounds(k1, n1, alpha=alpha)
    a2, b2 = wilson_bounds(k2, n2, alpha=alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = np.asarray(k1, dtype=np.float64) / np.asarray(n1, dtype=np.float64)
        p2 = np.asarray(k2, dtype=np.float64) / np.asarray(n2, dtype=np.float64)
    d = p1 - p2
    lo = d - np.sqrt((p1 - a1) ** 2 + (b2 - p2) ** 2)
    hi = d + np.sqrt((b1 - p1) ** 2 + (p2 - a2) ** 2)
    return lo, hi


@dataclass(frozen=True, kw_only=True)
class Proportion:
    """A rate with its Wilson interval, n, and a reliability note for small denominators."""

    value: float | None
    ci: tuple[float, float] | None
    n: int
    note: str | None = None

    @property
    def small(self) -> bool:
        """Fewer than MIN_DENOMINATOR trials (and at least one)."""
        return 0 < self.n < MIN_DENOMINATOR


def proportion(
    successes: int, n: int, *, what: str = "samples", minimum: int = MIN_DENOMINATOR
) -> Proportion:
    """`successes / n` with its Wilson interval; a note when n is below `minimum`."""
    if n <= 0:
        return Proportion(value=None, ci=None, n=0, note=f"undefined: no {what}")
    note = None
    if n < minimum:
        note = (
            f"only {n} {what} (fewer than {minimum}): the estimate is unreliable and its "
            "interval wide"
        )
    return Proportion(value=successes / n, ci=wilson_ci(successes, n), n=n, note=note)


@functools.cache
def _median_cover(n: int) -> list[float]:
    """Coverage of (x(k), x(n-k+1)) for the median of n values, k = 1, 2, ..."""
    return [1.0 - 2.0 * float(scipy_stats.binom.cdf(k - 1, n, 0.5)) for k in range(1, n // 2 + 2)]


def median_ci(values: ArrayLike, *, alpha: float = ALPHA) -> tuple[float, float] | None:
    """Distribution-free interval of the median of independent values (None below 6 values).

    The order statistics (x(k), x(n-k+1)) cover the median with probability
    1 - 2 P(Binomial(n, 1/2) <= k - 1); the Hettmansperger-Sheather interpolation between the
    two neighbouring pairs brings that to the nominal level (needs n >= 6 at 95%).
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    if n == 0 or not np.isfinite(x).all():
        return None
    level = 1.0 - alpha
    cover = _median_cover(n)
    if cover[0] < level:
        return None
    k = max(
        i + 1 for i, c in enumerate(cover) if c >= level
    )  # 1-based, widest index still >= level
    if k >= n - k + 1:
        return float(x[k - 1]), float(x[n - k])
    g_k, g_next = cover[k - 1], cover[k]
    share = (g_k - level) / (g_k - g_next) if g_k > g_next else 0.0
    lam = (n - k) * share / (k + (n - 2 * k) * share)
    lo = (1.0 - lam) * x[k - 1] + lam * x[k]
    hi = (1.0 - lam) * x[n - k] + lam * x[n - k - 1]
    return float(lo), float(hi)


def bootstrap_indices(n: int, *, resamples: int, seed: int, name: str) -> np.ndarray:
    """(resamples, n) indices of bootstrap samples, reproducible from (seed, name)."""
    return rng(seed, "bootstrap", name, n).integers(0, n, size=(resamples, n))


def bootstrap_joint(
    statistics: Callable[[np.ndarray], Mapping[str, np.ndarray]],
    n: int,
    *,
    seed: int,
    name: str,
    resamples: int = DEFAULT_RESAMPLES,
    alpha: float = 0.05,
) -> dict[str, tuple[float, float] | None]:
    """Percentile intervals of several statistics computed together over the SAME resamples.

    `statistics(idx)` maps an index matrix (r, n) to {name: r values}. Resample indices are drawn
    in chunks of at most ~4M indices (bounded memory for large n) from a generator seeded by
    (seed, name, n). Returns {} when n < 2 or no resamples are asked for.
    """
    if n < 2 or resamples < 1:
        return {}
    gen = rng(seed, "bootstrap", name, n)
    chunk = max(1, min(resamples, 4_000_000 // n))
    values: dict[str, list[np.ndarray]] = {}
    done = 0
    while done < resamples:
        size = min(chunk, resamples - done)
        idx = gen.integers(0, n, size=(size, n), dtype=np.int64)
        for key, v in statistics(idx).items():
            values.setdefault(key, []).append(np.asarray(v, dtype=np.float64))
        done += size
    out: dict[str, tuple[float, float] | None] = {}
    for key, parts in values.items():
        v = np.concatenate(parts)
        v = v[np.isfinite(v)]
        if len(v) == 0:
            out[key] = None
            continue
        lo, hi = np.quantile(v, [alpha / 2, 1 - alpha / 2])
        out[key] = (float(lo), float(hi))
    return out


def bootstrap_cis(
    statistics: Mapping[str, Callable[[np.ndarray], np.ndarray]],
    n: int,
    *,
    seed: int,
    name: str,
    resamples: int = DEFAULT_RESAMPLES,
    alpha: float = 0.05,
) -> dict[str, tuple[float, float] | None]:
    """Percentile intervals of several separately computed statistics over the same resamples."""
    cis = bootstrap_joint(
        lambda idx: {key: fn(idx) for key, fn in statistics.items()},
        n,
        seed=seed,
        name=name,
        resamples=resamples,
        alpha=alpha,
    )
    return {key: cis.get(key) for key in statistics}


def bootstrap_ci(
    statistic: Callable[[np.ndarray], np.ndarray],
    n: int,
    *,
    seed: int,
    name: str,
    resamples: int = DEFAULT_RESAMPLES,
    alpha: float = 0.05,
) -> tuple[float, float] | None:
    """Percentile interval of `statistic(indices) -> (resamples,)` values; None when n < 2."""
    return bootstrap_cis(
        {"_": statistic}, n, seed=seed, name=name, resamples=resamples, alpha=alpha
    )["_"]


def mean_ci(
    values: np.ndarray, *, seed: int, name: str, resamples: int = DEFAULT_RESAMPLES
) -> tuple[float, float] | None:
    """Bootstrap interval of the mean of a per-sample column."""
    values = np.asarray(values, dtype=np.float64)
    return bootstrap_ci(
        lambda idx: values[idx].mean(axis=1), len(values), seed=seed, name=name, resamples=resamples
    )


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts b (A right, B wrong) and c."""
    n = b + c
    if n == 0:
        return 1.0
    return float(min(1.0, 2.0 * scipy_stats.binom.cdf(min(b, c), n, 0.5)))


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given)."""
    m = len(pvalues)
    order = np.argsort(pvalues)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted.tolist()
