"""The gate's McNemar MDEs found for many churns at once are the plain 40-step bisection's, bit
for bit (harness.analysis.power: one call of each binomial function per step for every churn,
and a replayed bisection that evaluates only the steps near the root)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from harness.analysis import power


def _power_reference(n: int, churn: float, drop: float, alpha: float) -> float:
    """The exact McNemar power, one (churn, drop) at a time (the gate's original code)."""
    share = churn + drop
    if n <= 0 or share <= 0:
        return 0.0
    share = min(share, 1.0)
    d = np.arange(n + 1)
    weight = scipy_stats.binom.pmf(d, n, share)
    keep = weight > 1e-12 * weight.max()
    d, weight = d[keep], weight[keep]
    k = scipy_stats.binom.isf(alpha / 2.0, d, 0.5)
    crit = np.where(scipy_stats.binom.sf(k, d, 0.5) < alpha / 2.0, k + 1, k + 2)
    q = (churn / 2.0 + drop) / share
    upper = scipy_stats.binom.sf(crit - 1, d, q)
    lower = scipy_stats.binom.cdf(d - crit, d, q)
    return float(np.sum(weight * np.where(crit <= d, upper + lower, 0.0)))


def _mde_reference(n: int, churn: float, alpha: float, target: float = 0.8) -> float | None:
    """40 steps of plain bisection over [0, 1 - churn] (the gate's original search)."""
    top = 1.0 - churn
    if n <= 0 or top <= 0 or _power_reference(n, churn, top, alpha) < target:
        return None
    lo, hi = 0.0, top
    for _ in range(40):
        mid = (lo + hi) / 2.0
        if _power_reference(n, churn, mid, alpha) >= target:
            hi = mid
        else:
            lo = mid
    return hi


@pytest.mark.parametrize(
    ("n", "alpha"), [(719, 0.05 / 1200), (300, 0.05 / 6), (100, 0.05 / 36), (12, 0.05)]
)
def test_batched_mdes_are_the_bisections(n: int, alpha: float) -> None:
    churns = sorted({*np.round(np.arange(0, n + 1)[:: max(1, n // 25)] / n, 12), 0.5, 1.0})
    assert power.mcnemar_mdes(n, churns, alpha) == [_mde_reference(n, c, alpha) for c in churns]


def test_batched_power_is_the_single_power() -> None:
    churn = np.array([0.0, 0.02, 0.1, 0.3, 0.999])
    drop = np.array([0.0, 0.01, 0.05, 0.3, 0.001])
    got = power.mcnemar_powers(719, churn, drop, 0.05 / 40)
    want = [_power_reference(719, c, d, 0.05 / 40) for c, d in zip(churn, drop, strict=True)]
    assert got.tolist() == want


@pytest.mark.parametrize(
    ("n", "alpha", "target"), [(5, 0.05, 0.95), (12, 1e-3, 0.5), (30, 0.05, 0.95), (719, 0.05, 0.5)]
)
def test_mdes_far_from_the_normal_guess_are_the_bisections(
    n: int, alpha: float, target: float
) -> None:
    """The search starts from a bracket around the normal approximation's MDE; where the root
    lies outside it (small n, high or low power) it reaches out to 0 or 1 - churn and still
    ends on the plain bisection's value."""
    churns = sorted({*np.round(np.arange(0, n + 1)[:: max(1, n // 12)] / n, 12), 0.5, 1.0})
    power._MDES.clear()
    want = [_mde_reference(n, c, alpha, target) for c in churns]
    assert power.mcnemar_mdes(n, churns, alpha, target) == want
