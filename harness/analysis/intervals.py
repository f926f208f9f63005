"""Statistics on per-sample results: seeded bootstrap intervals and paired tests.

Intervals are percentile bootstrap intervals over samples, with resample indices drawn from a
generator seeded by the run seed and the metric name, so they are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy import stats as scipy_stats

from harness.core.seeding import rng

DEFAULT_RESAMPLES = 1000
CI_METHOD = "percentile bootstrap over samples, 95%"


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
