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
- Means over cells of binary outcomes clustered by source image (the shift suite's mean
  corruption accuracy: every image is scored in every corruption cell): Wilson's interval with
  Kish's effective sample size from the cluster-robust variance (`cell_mean`), and ratios of such
  a mean to a proportion by MOVER (`mover_ratio`, for the relative corruption drop). Neither
  collapses to [1, 1] when every image is right in every cell, as the percentile bootstrap did.
- Differences of two such means on the same source images (two models, or a variant and its
  parent): Newcombe's square-and-add (MOVER) from the two `cell_mean` intervals with the
  correlation of their per-image influences, continuity-adjusted as Newcombe's method 10 adjusts
  phi (`cell_mean_difference`): two models that agree on every image get an interval around 0,
  not [0, 0].
- Other statistics (NLL, Brier, ECE, macro-F1...): percentile bootstrap over samples, with
  resample indices drawn from a generator seeded by the run seed and the metric name.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from harness.core.seeding import rng
from harness.stats.distributions import beta_ppf, binom_cdf

DEFAULT_RESAMPLES = 1000
ALPHA = 0.05
VALUE_TIE_ATOL = 1e-12
"""Two metric values closer than this are tied (group extremes, a leader's value shared)."""
CI_METHOD = "percentile bootstrap over samples, 95%"
WILSON_METHOD = "Wilson score interval, 95%"
MEDIAN_METHOD = "order-statistic interval of the median (Hettmansperger-Sheather), 95%"
MIN_DENOMINATOR = 20
"""Below this many trials a rate's interval is wide and its record carries a reliability note."""


def z_value(alpha: float = ALPHA) -> float:
    """The two-sided standard normal quantile for level `alpha` (1.96 at 0.05)."""
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


TAIL_DIGITS = 1e-6
"""Below this a normal tail is read from erfc: 1 - Phi(x) loses a digit per decade of the tail
(1e-10 of its value at 1e-6) and is 0 past x = 8.3, where the tail is 1e-16."""


def normal_sf(x: float) -> float:
    """P(Z > x) for a standard normal Z: 1 - Phi(x), the digits p-values were always computed
    with, while that keeps them (`TAIL_DIGITS`); from erfc beyond, where the subtraction leaves
    0 (a z of 10, p = 1.5e-23, was printed as "< 1e-300")."""
    tail = 1.0 - NormalDist().cdf(x)
    return tail if tail >= TAIL_DIGITS else 0.5 * math.erfc(x / math.sqrt(2.0))


def normal_cdf(x: float) -> float:
    """P(Z <= x) for a standard normal Z: Phi(x) as `NormalDist` computes it, from erfc below
    `TAIL_DIGITS` (where Phi(x) = (1 + erf) / 2 loses its digits, and is 0 below x = -8.3)."""
    low = NormalDist().cdf(x)
    return low if low >= TAIL_DIGITS else 0.5 * math.erfc(-x / math.sqrt(2.0))


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
        half = z * np.sqrt(np.maximum(p * (1.0 - p), 0.0) / m + z * z / (4.0 * m * m)) / denom
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
    first = wilson_bounds(k1, n1, alpha=alpha)
    second = wilson_bounds(k2, n2, alpha=alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = np.asarray(k1, dtype=np.float64) / np.asarray(n1, dtype=np.float64)
        p2 = np.asarray(k2, dtype=np.float64) / np.asarray(n2, dtype=np.float64)
    return newcombe_of_bounds(p1, first, p2, second)


def newcombe_of_bounds(
    p1: np.ndarray,
    bounds1: tuple[np.ndarray, np.ndarray],
    p2: np.ndarray,
    bounds2: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """`newcombe_difference` from each proportion and its Wilson bounds at the level wanted
    (bounds made once for many pairs: element by element, the same numbers)."""
    (a1, b1), (a2, b2) = bounds1, bounds2
    d = p1 - p2
    lo = d - np.sqrt((p1 - a1) ** 2 + (b2 - p2) ** 2)
    hi = d + np.sqrt((b1 - p1) ** 2 + (p2 - a2) ** 2)
    return lo, hi


def newcombe_paired(
    both: int, only_a: int, only_b: int, neither: int, *, alpha: float = ALPHA
) -> tuple[float, float] | None:
    """Interval of p_A - p_B for paired 0/1 outcomes (Newcombe 1998, method 10): the Wilson
    bounds of each proportion combined with the continuity-adjusted correlation phi."""
    n = both + only_a + only_b + neither
    if n == 0:
        return None
    pa, pb = (both + only_a) / n, (both + only_b) / n
    la, ua = wilson_ci(both + only_a, n, alpha=alpha) or (0.0, 1.0)
    lb, ub = wilson_ci(both + only_b, n, alpha=alpha) or (0.0, 1.0)
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    # the correlation of the paired outcomes, shrunk towards 0 by n/2 when positive (Newcombe)
    cross = float(both * neither - only_a * only_b)
    if cross > 0:
        cross = max(cross - n / 2, 0.0)
    phi = cross / math.sqrt(margins) if margins else 0.0
    d = pa - pb
    lower = math.sqrt(max(0.0, (pa - la) ** 2 - 2 * phi * (pa - la) * (ub - pb) + (ub - pb) ** 2))
    upper = math.sqrt(max(0.0, (ua - pa) ** 2 - 2 * phi * (ua - pa) * (pb - lb) + (pb - lb) ** 2))
    return max(-1.0, d - lower), min(1.0, d + upper)


@functools.lru_cache(maxsize=1 << 14)
def mcnemar_difference(
    only_a: int, only_b: int, n: int, *, alpha: float = ALPHA
) -> tuple[float, float] | None:
    """Interval of p_A - p_B for paired 0/1 outcomes that excludes 0 exactly when the exact
    (conditional) McNemar test rejects at `alpha` (`mcnemar_exact`); None when n == 0.

    p_A - p_B = psi * theta, with psi the share of discordant samples and theta = 2 pi - 1 for
    pi = only_a / (only_a + only_b), the split that McNemar tests (pi = 1/2). theta gets the
    Clopper-Pearson interval of pi, which inverts the exact binomial test (0 is outside it exactly
    when the two-sided p-value is below alpha), psi Wilson's interval, and the two combine by MOVER
    (Donner & Zou 2012): on the log scale where theta's interval keeps its sign (so the bound
    stays on that side of 0), and as a square-and-add of the linearised product where it crosses
    0 (the bound is then at most psi * theta's bound, so 0 stays inside). Without discordant
    samples the interval is [-u, u] with u psi's Wilson upper bound (|p_A - p_B| <= psi), not
    [0, 0]. Kept per counts (a gate's 400 unchanged accuracies ask for one interval 400 times).
    """
    if n <= 0:
        return None
    return mcnemar_differences(np.array([only_a]), np.array([only_b]), n, alpha=alpha)[0]


def mcnemar_differences(
    only_a: np.ndarray,
    only_b: np.ndarray,
    n: int,
    *,
    p_values: np.ndarray | None = None,
    alpha: float = ALPHA,
) -> list[tuple[float, float]]:
    """`mcnemar_difference` of many pairs on the same n > 0 samples (equal to it bit for bit):
    the quantiles (Wilson bounds, Clopper-Pearson's beta quantiles) in one call each; `p_values`:
    the pairs' `mcnemar_exacts`, when already computed."""
    flip = only_b > only_a
    b = np.where(flip, only_b, only_a).astype(np.int64)  # b >= c: theta >= 0
    c = np.where(flip, only_a, only_b).astype(np.int64)
    d = b + c
    psi_lo, psi_hi = wilson_bounds(d, np.full(len(d), n), alpha=alpha)
    some, not_all = b > 0, b < d
    pi_lo = np.where(some, beta_ppf(alpha / 2, np.where(some, b, 1), d - b + 1), 0.0)
    pi_hi = np.where(not_all, beta_ppf(1 - alpha / 2, b + 1, np.where(not_all, d - b, 1)), 1.0)
    p = mcnemar_exacts(b, c) if p_values is None else p_values
    return [
        _mcnemar_bounds(
            int(b[i]), int(c[i]), n, (float(psi_lo[i]), float(psi_hi[i])),
            (float(pi_lo[i]), float(pi_hi[i])), float(p[i]), bool(flip[i]), alpha,
        )
        for i in range(len(d))
    ]  # fmt: skip


def _mcnemar_bounds(
    b: int,
    c: int,
    n: int,
    psi_ci: tuple[float, float],
    pi_ci: tuple[float, float],
    p: float,
    flip: bool,
    alpha: float,
) -> tuple[float, float]:
    """`mcnemar_difference` from its quantiles (b >= c; `flip`: the pair was swapped)."""
    d = b + c
    psi, (psi_lo, psi_hi) = d / n, psi_ci
    if d == 0:
        return -psi_hi, psi_hi
    pi_lo, pi_hi = pi_ci
    theta, theta_lo, theta_hi = (b - c) / d, 2 * pi_lo - 1, 2 * pi_hi - 1
    est = psi * theta
    # where theta's interval crosses 0 the difference's spread is about sqrt(psi / n) with the
    # unknown psi: its scale is taken at sqrt(psi * psi_hi), not at the estimate (a few
    # discordant samples say little about how many there are)
    scale = math.sqrt(psi * psi_hi)
    if theta > 0:
        upper = est * math.exp(math.hypot(math.log(psi_hi / psi), math.log(theta_hi / theta)))
    else:
        upper = scale * theta_hi
    if theta_lo > 0 and p < alpha:
        lower = est * math.exp(-math.hypot(math.log(psi / psi_lo), math.log(theta / theta_lo)))
    else:
        lower = min(0.0, est - math.hypot(theta * (psi - psi_lo), scale * (theta - theta_lo)))
    lower, upper = max(-1.0, lower), min(1.0, upper)
    return (-upper, -lower) if flip else (lower, upper)


BOUNDED_MEAN_METHOD = (
    "Wilson score interval of the mean on its bounded scale at Kish's effective n "
    "(Wilson-smoothed variance), 95%"
)


def bounded_mean_ci(
    values: ArrayLike, low: float, high: float, *, alpha: float = ALPHA
) -> tuple[float, float] | None:
    """Interval of the mean of values known to lie in [low, high] (None without values).

    On the scale u = (x - low) / (high - low) in [0, 1] the mean is treated as a proportion of
    n_eff trials, n_eff = n p(1 - p) / var with p and the per-sample variance smoothed as Wilson
    smooths a proportion (z^2/2 pseudo-samples at each end): a sample whose rare large values
    did not turn up (a 99% accurate model's Brier score over 30 samples, all right) keeps the
    variance a bounded variable can have instead of the bootstrap's near-zero one (whose
    percentile interval covered 0.36 there), and a sample with spread values gets about the
    Wald width.
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0 or not high > low:
        return None
    u = np.clip((x - low) / (high - low), 0.0, 1.0)
    z = z_value(alpha)
    half = z * z / 2.0
    p = (float(u.sum()) + half) / (n + z * z)
    var = (float(np.sum((u - p) ** 2)) + half * (1.0 - p) ** 2 + half * p * p) / (n + z * z)
    n_eff = n * p * (1.0 - p) / var if var > 0 else float(n)
    found = wilson_ci(float(u.mean()) * n_eff, n_eff, alpha=alpha)
    assert found is not None
    return low + found[0] * (high - low), low + found[1] * (high - low)


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


CELL_MEAN_METHOD = (
    "Wilson score interval at Kish's effective n over source images (cluster-robust, "
    "df-adjusted), 95%"
)
RATIO_METHOD = (
    "MOVER interval of 1 - ratio (Wilson intervals with effective n, correlation over source "
    "images), 95%"
)


@dataclass(frozen=True, kw_only=True)
class CellMean:
    """A mean over cells of per-cell accuracies, with binary outcomes clustered by source image.

    `influence` holds each source image's linearised contribution to `value` (they sum to 0), in
    the order of `ids`; the cluster-robust variance is `m / (m - 1) * sum(influence ** 2)`.
    """

    value: float
    ci: tuple[float, float] | None
    n_eff: float  # Kish's effective sample size the Wilson interval is computed with
    clusters: int  # source images (m)
    observations: int  # rows over every cell (N)
    ids: np.ndarray  # the source images, in first-seen order
    influence: np.ndarray
    variance: float | None  # cluster-robust variance of `value` (None: fewer than 2 images)
    n_bounds: tuple[float, float] = (1.0, 1.0)  # n_eff's clamp: (every row of an image alike,
    # every row independent)

    def at_level(self, alpha: float) -> CellMean:
        """The same mean with its Wilson interval (and df-adjusted n_eff) at level 1 - alpha."""
        n_eff = _cell_n_eff(self.value, self.variance, self.influence, self.n_bounds, alpha)
        ci = wilson_ci(self.value * n_eff, n_eff, alpha=alpha)
        return dataclasses.replace(self, ci=ci, n_eff=n_eff)


def cell_mean(
    cells: Sequence[ArrayLike], ids: Sequence[ArrayLike] | None = None, *, alpha: float = ALPHA
) -> CellMean:
    """The mean over `cells` of each cell's accuracy, with a Wilson interval at Kish's effective n.

    `cells[c]` holds cell c's binary outcomes (1 = correct), `ids[c]` the source image of each of
    its rows; without `ids` the cells are the same images in the same order (equal sizes). The
    estimator is the metric itself: value = (1/K) sum_c mean(cell c), whatever the cells' sizes.
    Its variance is the cluster-robust (linearisation) variance over source images, the unit that
    is sampled: image i contributes u_i = (1/K) sum_{c, rows of i in c} (y - acc_c) / n_c, and
    var = m/(m-1) sum_i u_i^2 (with every image in every cell, s^2/m of the per-image means).
    The effective sample size is n_eff = p(1-p) / var (Kish's design effect; Korn & Graubard
    1998), times their degrees-of-freedom factor (z / t_df)^2 with a Welch-Satterthwaite df
    (`_df_factor`: wider where a few images hold every error), and clamped between the two
    extremes of the design: every row of an image alike
    (n_lo = 1 / sum_i w_i^2, with w_i the image's total weight in the mean; m when every image is
    in every cell) and every row independent (n_hi = 1 / sum_rows w^2; N for equal cells). When p
    is 0 or 1 (the variance is 0 there and estimates nothing) or fewer than 2 images give a
    variance, n_eff = n_lo: the images count as independent trials and their cells as one, the
    conservative end. Wilson's interval at n_eff then never collapses: 300 images right in every
    cell give [0.987, 1], where the percentile bootstrap over images said [1, 1].
    """
    ys = [np.asarray(c, dtype=np.float64).ravel() for c in cells]
    if not ys or any(len(y) == 0 for y in ys):
        raise ValueError("cell_mean needs at least one cell and no empty cell")
    k = len(ys)
    if ids is None:
        if len({len(y) for y in ys}) != 1:
            raise ValueError("cells of different sizes need the source ids of their rows")
        m = len(ys[0])
        codes = np.tile(np.arange(m), k)
        uniques: np.ndarray = np.arange(m)
    else:
        given = [np.asarray(i, dtype=object).ravel() for i in ids]
        if len(given) != k or any(len(i) != len(y) for i, y in zip(given, ys, strict=True)):
            raise ValueError("cell_mean needs one source id per row of every cell")
        codes, index = pd.factorize(np.concatenate(given))
        uniques = np.asarray(index, dtype=object)
        m = len(uniques)
    accs = np.array([y.mean() for y in ys])
    value = float(accs.mean())
    weight = np.concatenate([np.full(len(y), 1.0 / (k * len(y))) for y in ys])
    resid = np.concatenate([y - a for y, a in zip(ys, accs, strict=True)])
    influence = np.bincount(codes, weights=weight * resid, minlength=m)
    n_lo = 1.0 / float(np.sum(np.bincount(codes, weights=weight, minlength=m) ** 2))
    n_hi = 1.0 / float(np.sum(weight**2))
    variance = m / (m - 1) * float(np.sum(influence**2)) if m >= 2 else None
    n_eff = _cell_n_eff(value, variance, influence, (n_lo, n_hi), alpha)
    return CellMean(
        value=value,
        ci=wilson_ci(value * n_eff, n_eff, alpha=alpha),
        n_eff=n_eff,
        clusters=m,
        observations=len(weight),
        ids=uniques,
        influence=influence,
        variance=variance,
        n_bounds=(n_lo, n_hi),
    )


def _cell_n_eff(
    value: float,
    variance: float | None,
    influence: np.ndarray,
    bounds: tuple[float, float],
    alpha: float,
) -> float:
    """Kish's effective n of a cell mean (`cell_mean`), df-adjusted at `alpha`, clamped."""
    n_lo, n_hi = bounds
    if variance is None or not 0.0 < value < 1.0:
        return n_lo
    n_eff = n_hi
    if variance > 0:
        n_eff = value * (1.0 - value) / variance * _df_factor(influence, alpha)
    return float(np.clip(n_eff, n_lo, n_hi))


def _df_factor(influence: np.ndarray, alpha: float) -> float:
    """(z / t_df)^2: Korn & Graubard's (1998) degrees-of-freedom adjustment of an effective n, with
    the Welch-Satterthwaite df of the cluster-robust variance, (sum u^2)^2 / sum u^4 (about the
    number of images that carry the variance; at least 1). A few images holding every error give
    a few df and a wider interval, where their variance says little."""
    from scipy import stats as scipy_stats  # here, not at start-up (stats/distributions.py)

    sq = influence**2
    df = max(1.0, float(np.sum(sq) ** 2 / np.sum(sq**2)))
    t = float(scipy_stats.t.ppf(1.0 - alpha / 2.0, df))
    if not t > 0:  # a hair above the median scipy's quantile is 0 at 4 and 6 df (the p-value's
        # probes near alpha = 1): the ratio's limit there, the densities' at 0, squared
        return (float(scipy_stats.t.pdf(0.0, df)) / NormalDist().pdf(0.0)) ** 2
    return (z_value(alpha) / t) ** 2


def mover_ratio(
    theta1: float,
    ci1: tuple[float, float],
    theta2: float,
    ci2: tuple[float, float],
    rho: float = 0.0,
) -> tuple[float, float] | None:
    """MOVER interval of theta1 / theta2 for estimates in [0, 1] (None when it is unbounded).

    From each estimate's own interval and the correlation `rho` of the two estimators (Donner &
    Zou 2012, the ratio form of the method Newcombe's square-and-add interval of a difference is
    an instance of): L and U are the roots of (theta1 - R theta2)^2 = the squared MOVER margin of
    theta1 - R theta2. The lower bound is 0 when theta2's upper bound is above 2 theta2 (the
    denominator may be near 0); None when theta2's lower bound is 0 (the ratio is unbounded).
    rho = 0 is conservative for estimators correlated positively.
    """
    (l1, u1), (l2, u2) = ci1, ci2
    if not theta2 > 0 or not l2 > 0:
        return None
    a = theta1 * theta2 - rho * (theta1 - l1) * (u2 - theta2)
    lead = u2 * (2 * theta2 - u2)
    low = 0.0
    if lead > 0:
        disc = a * a - l1 * u2 * (2 * theta1 - l1) * (2 * theta2 - u2)
        low = max(0.0, (a - float(np.sqrt(max(disc, 0.0)))) / lead)
    b = theta1 * theta2 - rho * (u1 - theta1) * (theta2 - l2)
    disc = b * b - u1 * l2 * (2 * theta1 - u1) * (2 * theta2 - l2)
    high = (b + float(np.sqrt(max(disc, 0.0)))) / (l2 * (2 * theta2 - l2))
    return low, high


def relative_drop(
    mean: CellMean,
    clean: ArrayLike,
    clean_ids: ArrayLike | None = None,
    *,
    alpha: float = ALPHA,
) -> tuple[float | None, tuple[float, float] | None]:
    """1 - mean / clean accuracy, with a MOVER interval (`mover_ratio`); (None, None) when the
    clean accuracy is 0.

    `clean` holds each source image's clean outcome (`clean_ids` its ids; None: the order of
    `mean.ids`). The mean's interval is its Wilson interval at the effective n, the clean
    accuracy's its Wilson interval, and rho the correlation of their influences over the shared
    images (0 where one of them does not vary: every image right, say), so an all-correct model
    gets an interval around 0 as wide as 300 images allow, not [0, 0]; where the two move
    together on every image (no change under any corruption: rho = 1, and an interval of no
    width), rho takes the continuity adjustment of `cell_mean_difference`.
    """
    c = np.asarray(clean, dtype=np.float64).ravel()
    if len(c) == 0 or not c.mean() > 0 or mean.ci is None:
        return None, None
    theta2 = float(c.mean())
    value = 1.0 - mean.value / theta2
    ci2 = wilson_ci(float(c.sum()), len(c), alpha=alpha)
    assert ci2 is not None
    if clean_ids is None and len(c) == mean.clusters:
        clean_ids = mean.ids  # the same images in the same order
    rho, clean_mean = 0.0, None
    if clean_ids is not None:  # the clean accuracy as a mean over one cell: its influences
        clean_mean = cell_mean([c], [clean_ids], alpha=alpha)
        rho = influence_correlation(mean, clean_mean)
    ratio = mover_ratio(mean.value, mean.ci, theta2, ci2, rho)
    if ratio is not None and clean_mean is not None and not ratio[1] - ratio[0] > 1e-9:
        # every image right under every corruption exactly where it is right when clean: rho = 1
        # and the interval [0, 0] (inverted by float noise on 2 images); as the difference of
        # two such means (`cell_mean_difference`), the cross product loses 1 / (2 n_a n_b)
        shrink = 1.0 / (2.0 * mean.n_eff * clean_mean.n_eff)
        rho = influence_correlation(mean, clean_mean, shrink=shrink)
        ratio = mover_ratio(mean.value, mean.ci, theta2, ci2, rho)
    if ratio is None:
        return value, None
    return value, (1.0 - ratio[1], 1.0 - ratio[0])


def influence_correlation(a: CellMean, b: CellMean, *, shrink: float = 0.0) -> float:
    """The correlation of two cell means' per-image influences, matched by source image id (an
    image in one of them only adds 0 to the cross product); 0 where one does not vary. A
    positive cross product first loses `shrink` (floored at 0: a continuity adjustment)."""
    at = pd.Index(b.ids).get_indexer(np.asarray(a.ids, dtype=object))
    ub = np.where(at >= 0, b.influence[np.maximum(at, 0)], 0.0) if len(b.influence) else 0.0
    cross = float(np.sum(a.influence * ub))
    sa, sb = float(np.sum(a.influence**2)), float(np.sum(b.influence**2))
    if cross > 0:
        cross = max(cross - shrink, 0.0)
    return float(np.clip(cross / np.sqrt(sa * sb), -1.0, 1.0)) if sa > 0 and sb > 0 else 0.0


def cell_mean_difference(
    a: CellMean, b: CellMean, *, continuity: bool = True
) -> tuple[float, float] | None:
    """95% interval (the level of the two intervals) of a.value - b.value for two means over cells
    of the same source images: Newcombe's square-and-add (MOVER; Newcombe 1998, method 10, with
    Zou & Donner's correlation term) from the two `cell_mean` intervals. None without both.

    L = d - sqrt(ea^2 - 2 rho ea fb + fb^2), U = d + sqrt(fa^2 - 2 rho fa eb + eb^2), with
    (ea, fa) and (eb, fb) each mean's distances to its lower and upper bound, and rho the
    correlation of the two means' per-image influences (the linearised estimators; matched by
    image id). With one cell and no clustering this is `newcombe_paired` exactly.

    Continuity: method 10 shrinks the numerator of phi, AD - BC, by n/2 when it is positive (and
    not below 0). In terms of the influences that is the cross product sum u_a u_b = (AD - BC) /
    n^3 less 1 / (2 n^2), n the number of pairs. Each mean's Wilson interval treats it as a
    proportion of n_eff independent trials (Kish's effective n, `CellMean.n_eff`), so the pair is
    treated as that many pairs: the cross product loses 1 / (2 n_a n_b), n_a and n_b the two
    effective n's, floored at 0. This adds about (z / n_eff)^2 to the squared margins: two
    models that agree on every image (rho = 1 unadjusted, when the margins cancel down to the
    Wilson intervals' asymmetry) get about +-z / n_eff, what n_eff agreeing pairs get from
    method 10, not [0, 0]. n_eff is the number of images when outcomes are alike across an
    image's cells (or p is 0 or 1) and up to the rows when they are independent. (Taking the
    images as the pairs instead, the conservative end, covered 0.98-1.00 where this covers
    0.95-0.99 in tests/analysis/test_cell_mean_difference.py's cases, at up to twice the
    width.) `continuity=False` gives the unadjusted interval (for comparison only).
    """
    if a.ci is None or b.ci is None:
        return None
    (la, ua), (lb, ub) = a.ci, b.ci
    d = a.value - b.value
    shrink = 1.0 / (2.0 * a.n_eff * b.n_eff) if continuity else 0.0
    rho = influence_correlation(a, b, shrink=shrink)
    ea, fa = a.value - la, ua - a.value
    eb, fb = b.value - lb, ub - b.value
    lower = float(np.sqrt(max(0.0, ea * ea - 2.0 * rho * ea * fb + fb * fb)))
    upper = float(np.sqrt(max(0.0, fa * fa - 2.0 * rho * fa * eb + eb * eb)))
    return max(-1.0, d - lower), min(1.0, d + upper)


def inverted_p_value(excludes_zero: Callable[[float], bool], *, floor: float = 1e-12) -> float:
    """The p-value read off a family of intervals: the largest alpha at which the (1 - alpha)
    interval still contains 0 (the smallest level at which it excludes 0), by bisection on
    log(alpha). `excludes_zero(alpha)` must be monotone (intervals narrow as alpha grows), so
    the test rejects at alpha exactly when that interval excludes 0. `floor` bounds it below."""
    if not excludes_zero(1.0 - 1e-9):
        return 1.0
    if excludes_zero(floor):
        return floor
    lo, hi = math.log(floor), math.log(1.0 - 1e-9)
    for _ in range(48):
        mid = (lo + hi) / 2.0
        if excludes_zero(math.exp(mid)):
            hi = mid
        else:
            lo = mid
    return math.exp(hi)


def cell_mean_difference_p(a: CellMean, b: CellMean) -> float:
    """Two-sided p-value of a.value = b.value read off `cell_mean_difference`: it is below alpha
    exactly when the difference's (1 - alpha) interval excludes 0."""

    def excludes(alpha: float) -> bool:
        ci = cell_mean_difference(a.at_level(alpha), b.at_level(alpha))
        return ci is not None and (ci[0] > 0.0 or ci[1] < 0.0)

    if a.ci is None or b.ci is None:
        return 1.0
    return inverted_p_value(excludes)


def mover_difference(
    a: float, a_ci: tuple[float, float], b: float, b_ci: tuple[float, float]
) -> tuple[float, float]:
    """Interval of a - b from each estimate's own interval (Zou & Donner 2008), treating the two
    as independent: conservative when they are positively correlated (the same samples)."""
    d = a - b
    lower = math.hypot(a - a_ci[0], b_ci[1] - b)
    upper = math.hypot(a_ci[1] - a, b - b_ci[0])
    return d - lower, d + upper


@functools.cache
def _median_cover(n: int) -> list[float]:
    """Coverage of (x(k), x(n-k+1)) for the median of n values, k = 1, 2, ..."""
    return [1.0 - 2.0 * float(binom_cdf(k - 1, n, 0.5)) for k in range(1, n // 2 + 2)]


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


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts b (A right, B wrong) and c."""
    n = b + c
    if n == 0:
        return 1.0
    return float(min(1.0, 2.0 * binom_cdf(min(b, c), n, 0.5)))


def mcnemar_exacts(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """`mcnemar_exact` of many pairs of discordant counts in one call (equal bit for bit)."""
    n = b + c
    p = np.minimum(1.0, 2.0 * binom_cdf(np.minimum(b, c), np.maximum(n, 1), 0.5))
    return np.where(n == 0, 1.0, p)


TINY_P = 1e-300
"""Below this a p-value has lost its digits (an exact McNemar p of 2,000 against 0 discordant
pairs is 0.0 in float64): it is written "< 1e-300", never as 0."""


def below_alpha_text(p: float, text: str, alpha: float) -> str:
    """`text` (p as rounded), or, where rounding carried a p below alpha up to alpha, p with the
    significant digits that keep it below: "0.0496", not "0.050" beside a "significant" verdict
    (the paired t-test's p sits just below alpha where its interval excludes 0 by a hair).
    A p below `TINY_P` (0 included) is "< 1e-300"."""
    if p < TINY_P:
        return f"< {TINY_P:g}"
    if not p < alpha or float(text) < alpha:
        return text
    for digits in range(3, 7):
        more = f"{p:.{digits}g}"
        if float(more) < alpha:
            return more
    return f"< {alpha:g}"


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
