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
- the sign-flip test, paired resampling, the interval tests and the timing test: MDE =
  (z_a + z_b) x the standard error of the difference the test measured, at least the standard
  error of the baseline's own statistic (as if the per-sample values of the two runs correlated
  at 0.5 at most): two runs that agree sample for sample measure a standard error of about 0
  (a cell-mean difference: +-z/n_eff), which says nothing about the noise of a retrained model.
  The sign-flip test and paired resampling take Student t's quantiles on n - 1 df instead of
  z (the paired t-test's power, which theirs follows) and standard errors on the same scale as
  their tests: s / sqrt(n) with s the sample sd (n - 1 in its denominator), the resamples' sd
  x sqrt(n / (n - 1)). With the plug-in sd and z the gate printed 0.85 sd at 10 pairs, a
  change the paired bootstrap caught 0.66 of the time; now 0.99 sd, caught 0.80;
- the sign-flip test on more than 16 pairs (2,000 random flips, `PairedResult.draws`): the
  shift whose power under the test's own rule is 80% (`sign_flip_power`: the sample t is
  noncentral t; at a level of 1 / 2001 or more at most k flips may be as extreme, below it
  only Hoeffding's bound rejects, at |t| >= 4.34 for n=177 at 0.05/129 where Student's t
  asks 3.62, and only when no flip is as extreme). The t quantiles' MDE was caught 0.53 of
  the time at n=177 over 129 tests, 0.73 at n=300 over 98; this one 0.79 and 0.80. No MDE
  where the bound cannot reach the level (n <= 2 ln(2 / level): 17 pairs at 0.05/129);
- no test: no MDE (such a metric can only fail on a floor), and none for a resampling test on
  too few pairs to reach alpha at all (`paired_tests.exchangeable_floor`: 2^(1 - n)), nor for
  the timing test on too few rounds (its smallest p-value 2 / C(m + n, m), `PairedResult.floor`:
  0.0022 for 6 vs 6 rounds, so a gate of more than 23 tests cannot fail a timing on a change).

Detection rates at the printed MDE, by simulation through the gate's own decision:
`benchmarks/interval_coverage.py --gate-power` and tests/analysis/test_gate_power.py.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from statistics import NormalDist

import numpy as np

from harness.analysis.paired_tests import PairedResult, exchangeable_floor
from harness.stats import distributions  # scipy.stats's binomial, without its import

POWER = 0.8
RESAMPLING_TESTS = ("paired_sign_flip", "paired_resample")


def multiplier(alpha: float, power: float = POWER, df: int | None = None) -> float:
    """z_(1 - alpha/2) + z_power, or Student t's quantiles on `df` degrees of freedom (a test
    that reads its interval and p-value as t: `PairedResult.df`)."""
    if df is not None and df >= 1:
        from scipy import special  # the t distribution's ufuncs (not scipy.stats: start-up)

        return float(special.stdtrit(df, 1.0 - alpha / 2.0) + special.stdtrit(df, power))
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
    return float(mcnemar_powers(n, np.array([churn]), np.array([drop]), alpha)[0])


@functools.lru_cache(maxsize=64)
def _critical(n: int, alpha: float) -> np.ndarray:
    """For each discordant count d in 0..n, the smallest count b with P(Bin(d, 1/2) >= b) <
    alpha / 2: the exact test rejects there."""
    d = np.arange(n + 1)
    k = distributions.binom_isf(alpha / 2.0, d, 0.5)
    return np.asarray(np.where(distributions.binom_sf(k, d, 0.5) < alpha / 2.0, k + 1, k + 2))


def _windows(n: int, share: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each share, the discordant counts whose probability is above 1e-12 of the most
    likely one's (the counts that carry the power): (row of each count, the counts, their
    probabilities), rows in order. Computed on a window around each mean (one call for all
    rows), widened to every count where the window's ends still carry weight."""
    sd = np.sqrt(n * share * (1.0 - share))
    low = np.maximum(0, (n * share - 12.0 * sd).astype(np.int64) - 8)
    high = np.minimum(n, (n * share + 12.0 * sd).astype(np.int64) + 8)
    for attempt in range(2):
        sizes = high - low + 1
        row = np.repeat(np.arange(len(share)), sizes)
        starts = np.cumsum(sizes) - sizes
        d = low[row] + np.arange(len(row)) - starts[row]
        weight = distributions.binom_pmf(d, n, share[row])
        top = np.maximum.reduceat(weight, starts)  # the mode is inside every window
        ends = np.r_[starts[1:], len(row)] - 1
        wide = ((low > 0) & (weight[starts] > 1e-13 * top)) | (
            (high < n) & (weight[ends] > 1e-13 * top)
        )
        if attempt == 1 or not wide.any():
            break
        low, high = np.where(wide, 0, low), np.where(wide, n, high)
    keep = weight > 1e-12 * top[row]
    return row[keep], d[keep], weight[keep]


def mcnemar_powers(n: int, churn: np.ndarray, drop: np.ndarray, alpha: float) -> np.ndarray:
    """`mcnemar_power` for many (churn, drop) at once: the same numbers, bit for bit (each
    power is the same sum over the same discordant counts), with one call of each binomial
    function for all of them."""
    churn, drop = np.asarray(churn, dtype=np.float64), np.asarray(drop, dtype=np.float64)
    out = np.zeros(len(churn))
    share = np.minimum(churn + drop, 1.0)
    live = np.flatnonzero((churn + drop > 0) & (n > 0))
    if len(live) == 0:
        return out
    at, d, weight = _windows(n, share[live])
    row = live[at]
    crit = _critical(n, alpha)[d]
    q = (churn[row] / 2.0 + drop[row]) / share[row]
    upper = distributions.binom_sf(crit - 1, d, q)
    lower = distributions.binom_cdf(d - crit, d, q)
    terms = weight * np.where(crit <= d, upper + lower, 0.0)
    bounds = np.searchsorted(at, np.arange(len(live) + 1))
    for j, i in enumerate(live):
        out[i] = np.sum(terms[bounds[j] : bounds[j + 1]])
    return out


_MDES: dict[tuple[int, float, float, float], float | None] = {}


def mcnemar_mde(n: int, churn: float, alpha: float, power: float = POWER) -> float | None:
    """The smallest drop whose exact McNemar power reaches `power` (None: none at this n).
    Remembered: a gate asks for the same n and churn in many columns (`mcnemar_mdes` finds
    many at once)."""
    return mcnemar_mdes(n, [churn], alpha, power)[0]


def mcnemar_mdes(
    n: int, churns: list[float], alpha: float, power: float = POWER
) -> list[float | None]:
    """`mcnemar_mde` for each churn: the upper end of 40 steps of bisection over
    [0, 1 - churn] (`_bisect`), all churns at once."""
    todo = sorted({c for c in churns if (n, c, alpha, power) not in _MDES})
    if todo:
        churn = np.asarray(todo, dtype=np.float64)
        top = 1.0 - churn
        found = (top > 0) & (n > 0)
        found[found] = mcnemar_powers(n, churn[found], top[found], alpha) >= power
        hi = top.copy()
        rows = np.flatnonzero(found)
        if len(rows):
            hi[rows] = _bisect(n, churn[rows], top[rows], alpha, power)
        for i, c in enumerate(todo):
            _MDES[(n, c, alpha, power)] = float(hi[i]) if found[i] else None
    return [_MDES[(n, c, alpha, power)] for c in churns]


_STEPS = 40
_MARGIN = 1e-13  # of the interval: a step this close to the root is evaluated exactly


def _bisect(n: int, churn: np.ndarray, top: np.ndarray, alpha: float, power: float) -> np.ndarray:
    """The upper end of `_STEPS` steps of bisection of [0, top] for the drop whose power
    reaches `power` (power(0) is below it, power(top) reaches it), without evaluating every step.

    The power rises with the drop, so a step's midpoint well below a drop known to fall short
    falls short too, and one well above a drop known to reach reaches: the root is first
    bracketed closely (false position, Illinois variant) and the bisection is then replayed,
    evaluating exactly only the midpoints within `_MARGIN` of that bracket. The result is the
    plain bisection's, bit for bit, in a third of the power evaluations."""

    def reached(rows: np.ndarray, drop: np.ndarray) -> np.ndarray:
        return np.asarray(mcnemar_powers(n, churn[rows], drop, alpha) - power)

    m = len(churn)
    # false position: low falls short (f < 0), high reaches (f >= 0)
    low, high, f_low, f_high = _bracket(n, churn, top, alpha, power, reached)
    side = np.zeros(m, dtype=np.int64)  # which end moved last (-1 low, +1 high)
    for _ in range(60):
        live = np.flatnonzero(high - low > _MARGIN * top)
        if len(live) == 0:
            break
        a, b, fa, fb = low[live], high[live], f_low[live], f_high[live]
        x = b - fb * (b - a) / (fb - fa)
        x = np.where((x > a) & (x < b), x, (a + b) / 2.0)
        fx = reached(live, x)
        up = fx >= 0
        high[live] = np.where(up, x, b)
        f_high[live] = np.where(up, fx, fb)
        low[live] = np.where(up, a, x)
        f_low[live] = np.where(up, fa, fx)
        # Illinois: halve the value of an end that stayed twice, so both ends move
        again_high = ~up & (side[live] < 0)
        again_low = up & (side[live] > 0)
        f_high[live[again_high]] /= 2.0
        f_low[live[again_low]] /= 2.0
        side[live] = np.where(up, 1, -1)
    margin = _MARGIN * top
    lo, hi = np.zeros(m), top.copy()
    for _ in range(_STEPS):
        mid = (lo + hi) / 2.0
        short = mid <= low - margin
        reach = mid >= high + margin
        unsure = np.flatnonzero(~short & ~reach)
        if len(unsure):
            reach[unsure] = reached(unsure, mid[unsure]) >= 0
        hi = np.where(reach, mid, hi)
        lo = np.where(reach, lo, mid)
    return hi


_GUESS_SPAN = 0.04  # the first bracket: the normal approximation's MDE -+ this share


def _bracket(
    n: int,
    churn: np.ndarray,
    top: np.ndarray,
    alpha: float,
    power: float,
    reached: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(low, high, f(low), f(high)) with f(low) < 0 <= f(high) for each churn (f: the power less
    its target): two drops around the normal approximation of the MDE (a drop d is found when
    d = m sqrt((churn + d) / n), m the z multiplier), which bracket the root closely for most
    churns; where they do not, the bracket reaches out to 0 (power below the target) or `top`
    (power at or above it, which the caller checked)."""
    m = len(churn)
    z = multiplier(alpha, power)
    guess = (z * z / n + np.sqrt((z * z / n) ** 2 + 4.0 * z * z * churn / n)) / 2.0
    a = np.minimum(guess * (1.0 - _GUESS_SPAN), top)
    b = np.minimum(guess * (1.0 + _GUESS_SPAN), top)
    rows = np.arange(m)
    fa, fb = np.split(reached(np.r_[rows, rows], np.r_[a, b]), 2)
    low, f_low = np.where(fb < 0, b, np.where(fa < 0, a, 0.0)), np.where(fb < 0, fb, fa)
    high, f_high = np.where(fa >= 0, a, np.where(fb >= 0, b, top)), np.where(fa >= 0, fa, fb)
    at_zero = np.flatnonzero(fa >= 0)  # the root is below a: bracket from 0
    if len(at_zero):
        f_low[at_zero] = reached(at_zero, low[at_zero])
    at_top = np.flatnonzero(fb < 0)  # above b: bracket up to top
    if len(at_top):
        f_high[at_top] = reached(at_top, high[at_top])
    return low, high, f_low, f_high


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
    if result.test in RESAMPLING_TESTS and exchangeable_floor(result.n) >= alpha:
        return None  # too few pairs: no change can reach alpha (`exchangeable_floor`)
    if result.floor is not None and result.floor >= alpha:
        return None  # too few timing rounds: no change can reach alpha
    se = max(result.se or 0.0, result.spread or 0.0)
    if not se or not math.isfinite(se):
        return None
    if result.test == "paired_sign_flip" and result.draws:
        found = sign_flip_multiplier(result.n, result.draws, alpha, power)
        return None if found is None else found * se
    return multiplier(alpha, power, result.df) * se


def _flips_needed(draws: int, alpha: float) -> int:
    """The most random flips b as extreme as the data with which (b + 1) / (draws + 1) is
    still below `alpha` (the gate rejects at p < alpha): -1 where not even b = 0 is."""
    k = max(-1, math.ceil(alpha * (draws + 1)) - 2)
    while k >= 0 and (k + 1) / (draws + 1) >= alpha:
        k -= 1
    while (k + 2) / (draws + 1) < alpha:
        k += 1
    return k


def _t_tail(df: int, p: float) -> float:
    """The t whose two-sided Student-t p-value on `df` degrees of freedom is p."""
    from scipy import special

    return float(-special.stdtrit(df, p / 2.0))


_GRID = 400  # points of the rejection probability's rise, in t, that the power sums over
_WIDTH = 1e-12  # the rejection probability counted as 0 or 1 beyond the grid


def sign_flip_power(n: int, draws: int, alpha: float, shift: float) -> float | None:
    """The power at `alpha` of the sign-flip test with `draws` random flips on n pairs, for
    a true mean shift of `shift` standard errors: the sample t (sqrt(n) mean / s) has the
    noncentral t distribution on n - 1 df, and the test rejects at t with probability g(t):

    - where `alpha` >= 1 / (draws + 1), when at most k flips (`_flips_needed`) are as extreme
      as the data: g = P(Binomial(draws, pi(t)) <= k), pi(t) the exact p-value, taken as the
      t-test's (the sign-flip distribution of the t statistic is close to Student's);
    - below, only Hoeffding's bound 2 exp(-S^2 / (2 Q)) can reach alpha (S, Q: the sum of the
      differences and of their squares; S^2 / Q = n t^2 / (n - 1 + t^2)), and only when no
      flip is as extreme: g = [t > t_c] (1 - pi(t))^draws, where n t_c^2 / (n - 1 + t_c^2) =
      2 ln(2 / alpha). At 0.05 / 129 that is |t| >= 4.34 at n=177, where Student's t asks
      3.62: the t quantiles' MDE was caught 0.53 of the time there, not 0.80.

    None where no change can reach `alpha` (n <= 2 ln(2 / alpha): the bound never gets below)."""
    from scipy import special

    df = n - 1
    k = _flips_needed(draws, alpha)
    top = _t_tail(df, _WIDTH / draws)
    if k >= 0:
        spread = k + 1.0
        share = min(1.0, (spread + 10.0 * math.sqrt(spread) + 30.0) / draws)
        low = 0.0 if share >= 1.0 else _t_tail(df, share)
    else:
        c2 = 2.0 * math.log(2.0 / alpha)
        if n <= c2:
            return None
        low = math.sqrt(c2 * df / (n - c2))
    top = max(top, low + 1.0)
    edges = np.linspace(low, top, _GRID + 1)
    mid = (edges[:-1] + edges[1:]) / 2.0
    pi = np.minimum(1.0, 2.0 * special.stdtr(df, -mid))
    # at most k of the random flips as extreme; below 1 / (draws + 1) none (and the bound)
    g = distributions.binom_cdf(k, draws, pi) if k >= 0 else np.exp(draws * np.log1p(-pi))
    # scipy's noncentral t gives NaN now and then deep in a tail (1e-20 below -10 at 176 df):
    # there the lower tail is bounded by the central t's (shift >= 0), the upper is 1
    up = special.nctdtr(df, shift, edges)
    up = np.where(np.isnan(up) & (edges > shift), 1.0, up)
    down = np.fmin(special.nctdtr(df, shift, -edges), special.stdtr(df, -edges))
    caught = np.sum(g * np.diff(up)) + (1.0 - up[-1])
    caught += np.sum(g * -np.diff(down)) + down[-1]  # a significant change the other way
    return float(caught)


@functools.lru_cache(maxsize=256)
def sign_flip_multiplier(n: int, draws: int, alpha: float, power: float = POWER) -> float | None:
    """The shift, in standard errors, that the sign-flip test with `draws` random flips on n
    pairs detects with `power` at `alpha` (`sign_flip_power`, bisected to 1e-5): its MDE is
    this x the standard error. None where no shift is detectable."""
    if sign_flip_power(n, draws, alpha, 0.0) is None:
        return None
    low, high = 0.0, max(1.0, multiplier(alpha, power, n - 1))
    while (sign_flip_power(n, draws, alpha, high) or 0.0) < power:
        low, high = high, 2.0 * high
        if high > 1e4:
            return None
    while high - low > 1e-5 * high:
        mid = (low + high) / 2.0
        if (sign_flip_power(n, draws, alpha, mid) or 0.0) >= power:
            high = mid
        else:
            low = mid
    return high
