"""Minimum detectable effects: the smallest change a test would catch, at its alpha and power.

For each compared metric the gate states how large a change its test detects with probability
`power` (default 0.8) at two-sided level `alpha` (the gate uses Holm's first-step level,
alpha / number of tests, the level any single regression must reach when all others are null):

- exact McNemar (accuracies): the power depends on how many samples the two runs disagree on.
  Two identical reruns disagree on none, and a gate that took that at face value claimed that a
  drop of (z_a + z_b)^2 / n would be caught (0.04 at n=300), which holds only when every changed
  prediction moves the same way. A retrained or recompiled model of equal quality disagrees with
  its predecessor on a share of samples (its churn) before any real change. The gate assumes
  churn psi0 = the larger of the observed discordance and a stated prior: the policy's `churn`
  (measure it on the model against its own earlier versions), else the baseline's error rate
  min(e, 1 - e) (published retraining churn runs at 0.5-1x the error rate: CIFAR-10 ResNets 2-5%
  at 6% error, ImageNet ResNet-50 10-13% at 24%; Bhojanapalli et al. 2021). A drop d adds d to
  the samples only the baseline gets right, and the MDE is the smallest d whose EXACT power
  (binomial discordant count, exact conditional test) reaches `power` (`mcnemar_power`);
- bootstrap tests, the interval tests and the timing test: MDE = (z_a + z_b) x the standard
  error of the difference the test measured, at least the standard error of the baseline's own
  statistic (as if the per-sample values of the two runs correlated at 0.5 at most): two runs
  that agree sample for sample measure a standard error of about 0 (a cell-mean difference:
  +-z/n_eff), which says nothing about the noise of a retrained model;
- no test: no MDE (such a metric can only fail on a floor).

Detection rates at the printed MDE, by simulation through the gate's own decision:
`benchmarks/interval_coverage.py --gate-power` and tests/analysis/test_gate_power.py.
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np
from scipy import stats as scipy_stats

from harness.analysis.paired_tests import PairedResult

POWER = 0.8


def multiplier(alpha: float, power: float = POWER) -> float:
    """z_(1 - alpha/2) + z_power."""
    nd = NormalDist()
    return nd.inv_cdf(1.0 - alpha / 2.0) + nd.inv_cdf(power)


def churn_prior(baseline: float | None) -> float | None:
    """The default assumed churn of an accuracy: its error rate, min(e, 1 - e) (None: unknown)."""
    if baseline is None or not 0.0 <= baseline <= 1.0:
        return None
    return min(baseline, 1.0 - baseline)


def mcnemar_power(n: int, churn: float, drop: float, alpha: float) -> float:
    """Exact power of the two-sided exact McNemar test at `alpha` on n paired samples when the
    runs disagree on a share `churn` without a change and the current run loses `drop` more
    (P(only baseline right) = churn/2 + drop, P(only current right) = churn/2)."""
    share = churn + drop
    if n <= 0 or share <= 0:
        return 0.0
    share = min(share, 1.0)
    d = np.arange(n + 1)
    weight = scipy_stats.binom.pmf(d, n, share)
    keep = weight > 1e-12 * weight.max()
    d, weight = d[keep], weight[keep]
    # the smallest count b with P(Bin(D, 1/2) >= b) < alpha / 2: the exact test rejects there
    k = scipy_stats.binom.isf(alpha / 2.0, d, 0.5)
    crit = np.where(scipy_stats.binom.sf(k, d, 0.5) < alpha / 2.0, k + 1, k + 2)
    q = (churn / 2.0 + drop) / share
    upper = scipy_stats.binom.sf(crit - 1, d, q)
    lower = scipy_stats.binom.cdf(d - crit, d, q)
    reject = np.where(crit <= d, upper + lower, 0.0)
    return float(np.sum(weight * reject))


@functools.lru_cache(maxsize=4096)
def mcnemar_mde(n: int, churn: float, alpha: float, power: float = POWER) -> float | None:
    """The smallest drop whose exact McNemar power reaches `power` (None: none at this n).
    Cached: a gate asks for the same n and churn in many columns."""
    top = 1.0 - churn
    if n <= 0 or top <= 0 or mcnemar_power(n, churn, top, alpha) < power:
        return None
    lo, hi = 0.0, top
    for _ in range(40):
        mid = (lo + hi) / 2.0
        if mcnemar_power(n, churn, mid, alpha) >= power:
            hi = mid
        else:
            lo = mid
    return hi


def assumed_churn(result: PairedResult, stated: float | None) -> float:
    """The churn a McNemar MDE assumes: the observed discordance, or the stated prior where
    that is larger."""
    return max(result.spread or 0.0, stated or 0.0)


def minimum_detectable(
    result: PairedResult, alpha: float, power: float = POWER, *, churn: float | None = None
) -> float | None:
    """The smallest absolute change `result`'s test detects with `power` at `alpha`; `churn` is
    the stated prior of a McNemar test's discordance (module docstring)."""
    if not result.tested or result.n <= 0:
        return None
    if result.test == "mcnemar_exact":
        return mcnemar_mde(result.n, assumed_churn(result, churn), alpha, power)
    se = max(result.se or 0.0, result.spread or 0.0)
    if not se or not math.isfinite(se):
        return None
    return multiplier(alpha, power) * se
