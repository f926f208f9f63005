"""Minimum detectable effects: the smallest change a test would catch, at its alpha and power.

For each compared metric the gate states how large a change its test detects with probability
`power` (default 0.8) at two-sided level `alpha` (the gate uses Holm's first-step level,
alpha / number of tests, the level any single regression must reach when all others are null):

- exact McNemar (accuracies): with a share psi of discordant samples, a drop d is detected when
  d >= (z_a + z_b) sqrt(psi / n); with fewer discordant samples than that the best case is every
  discordant sample moving the same way, d >= (z_a + z_b)^2 / n. So MDE = max of the two;
- bootstrap tests, the interval z-test and the timing test: MDE = (z_a + z_b) x the standard
  error of the difference the test measured; when the two runs agree sample for sample (a
  standard error of 0), the standard error of the baseline's own statistic stands in (as if the
  per-sample values of the two runs correlated at 0.5);
- no test: no MDE (such a metric can only fail on a floor).
"""

from __future__ import annotations

import math
from statistics import NormalDist

from harness.analysis.paired_tests import PairedResult

POWER = 0.8


def multiplier(alpha: float, power: float = POWER) -> float:
    """z_(1 - alpha/2) + z_power."""
    nd = NormalDist()
    return nd.inv_cdf(1.0 - alpha / 2.0) + nd.inv_cdf(power)


def minimum_detectable(result: PairedResult, alpha: float, power: float = POWER) -> float | None:
    """The smallest absolute change `result`'s test detects with `power` at `alpha`."""
    if not result.tested or result.n <= 0:
        return None
    c = multiplier(alpha, power)
    if result.test == "mcnemar_exact":
        psi = result.spread or 0.0
        return max(c * math.sqrt(psi / result.n), c * c / result.n)
    se = result.se if result.se else result.spread
    if not se:
        return None
    return c * se
