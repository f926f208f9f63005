"""Seeded simulations: every interval family covers its true value about 95% of the time.

Each test draws >= 1000 data sets from a known truth (seeded), computes the harness's 95% interval
on each, and requires the share that contains the truth to lie in [0.93, 0.97] (binomial
simulation error at 1000-4000 repetitions is 0.003-0.007), at small and moderate n, with true
values near 0 and 1 and a true disparity of exactly 0. Exact (score) intervals of a binomial
oscillate with p, so proportions are checked at p drawn within +-50% of each target's distance
to 0 or 1 (the local average coverage of Brown, Cai & DasGupta 2001); the measured numbers are
in docs/ci-gate.md.

The simulations that loop over their data sets in Python run twice (`repetitions`): in full,
against the band as stated, in the slow set (`make test-slow`, which CI runs), and in the default
run on a quarter of the data sets (`QUICK`) against the band widened by `Z` times that count's
own simulation error (`band`). With every interval at 90% instead of 95% (ALPHA 0.10) the quick
cases failed in each family where the full ones did (6 of 25 quick, 16 of 25 full: the parity
gap, equalized odds, AUROC and AUPR; the conservative FPR and worst-group intervals passed both).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from harness.stats import detection, group_intervals
from harness.stats.groups import group_breakdown
from harness.stats.intervals import median_ci, wilson_bounds, wilson_ci

LOW, HIGH = 0.93, 0.97
CONSERVATIVE = 0.995  # the upper bound where an interval is conservative by design (documented)
QUICK = 4  # the default run's simulations draw 1 / QUICK of the full run's data sets
Z = 2.58  # a true coverage inside the full band lands inside the quick band 99% of the time


def repetitions(full: int) -> pytest.MarkDecorator:
    """`reps`: `full // QUICK` in the default run, `full` in the slow set."""
    return pytest.mark.parametrize(
        "reps",
        [
            pytest.param(full // QUICK, id="quick"),
            pytest.param(full, id="full", marks=pytest.mark.slow),
        ],
    )


def band(reps: int, full: int, low: float = LOW, high: float = HIGH) -> tuple[float, float]:
    """The full simulation's band at `full` repetitions; at fewer, each side moved out by `Z`
    simulation errors of a 0.95 coverage over `reps` data sets (500: 0.025)."""
    if reps >= full:
        return low, high
    slack = Z * float(np.sqrt(0.95 * 0.05 / reps))
    return max(low - slack, 0.0), min(high + slack, 1.0)


def covered(lo: np.ndarray, hi: np.ndarray, truth: np.ndarray | float) -> float:
    return float(np.mean((lo <= truth) & (truth <= hi)))


@pytest.mark.parametrize("n", [20, 50, 200])
@pytest.mark.parametrize("p", [0.02, 0.1, 0.5, 0.9, 0.97, 0.99])
def test_wilson_coverage_for_proportions(n: int, p: float) -> None:
    gen = np.random.default_rng(int(n * 1000 + p * 100))
    reps = 20000
    near = 1 - p if p > 0.5 else p
    truth = gen.uniform(0.5 * near, 1.5 * near, reps)
    truth = 1 - truth if p > 0.5 else truth
    k = gen.binomial(n, truth)
    lo, hi = wilson_bounds(k, n)
    assert LOW <= covered(lo, hi, truth) <= HIGH


def test_wilson_never_collapses() -> None:
    assert wilson_ci(0, 9) == pytest.approx((0.0, 0.2991), abs=1e-4)  # FPR 0/9 is not [0, 0]
    lo, hi = wilson_ci(1, 1) or (1.0, 1.0)
    assert lo < 0.25 and hi == 1.0  # a group of one is not [1, 1]
    lo, hi = wilson_ci(719, 719) or (1.0, 1.0)
    assert lo < 0.995 and hi == 1.0  # an all-correct top-5 is not [1, 1]


def _two_groups(
    gen: np.random.Generator, reps: int, sizes: tuple[int, int], rates: tuple[float, float]
) -> group_intervals.Rate:
    k = np.stack([gen.binomial(s, r, reps) for s, r in zip(sizes, rates, strict=True)], axis=1)
    return group_intervals.Rate(k, np.broadcast_to(np.asarray(sizes, dtype=float), k.shape))


def _selected_gap(rate: group_intervals.Rate, truth: np.ndarray) -> float:
    """The true signed gap between the groups that are highest and lowest in the estimate."""
    hi, lo = group_intervals.extreme_pair(rate.successes / rate.trials, np.ones(len(truth), bool))
    return float(truth[hi] - truth[lo])


@repetitions(2000)
@pytest.mark.parametrize("gap", [0.0, 0.02, 0.05, 0.1, 0.2])
def test_demographic_parity_gap_coverage_two_groups(gap: float, reps: int) -> None:
    """Groups of 93 and 84 (the case of issue 16), from no true disparity up to a gap of 0.2:
    the interval of the signed gap between the groups extreme in the estimate."""
    gen = np.random.default_rng(int(gap * 1000) + 1)
    sizes, truth = (93, 84), np.array([0.4 + gap, 0.4])
    rates = _two_groups(gen, reps, sizes, (truth[0], truth[1]))
    active = np.ones(2, dtype=bool)
    hits = zero = 0
    for r in range(reps):
        rate = group_intervals.Rate(rates.successes[r], rates.trials[r])
        ci = group_intervals.rate_gap_ci(rate, active)
        assert ci is not None
        hits += ci[0] <= _selected_gap(rate, truth) <= ci[1]
        zero += ci[0] <= 0.0
    low, high = band(reps, 2000)
    assert low <= hits / reps <= high
    if gap == 0.0:
        assert low <= zero / reps <= high  # no true disparity: the interval holds 0 ~95%


@repetitions(2000)
@pytest.mark.parametrize(("tpr_gap", "fpr_gap"), [(0.0, 0.0), (0.1, 0.0), (0.05, 0.05), (0.2, 0.1)])
def test_equalized_odds_coverage_two_groups(tpr_gap: float, fpr_gap: float, reps: int) -> None:
    """The larger of two gaps: Bonferroni over the two rates makes it conservative when one gap
    dominates (about 0.975 by construction), nominal when neither does."""
    gen = np.random.default_rng(int(tpr_gap * 1000 + fpr_gap * 100) + 7)
    positives, negatives = (37, 34), (56, 50)  # groups of 93 and 84, 40% positive
    tpr_truth, fpr_truth = np.array([0.7 + tpr_gap, 0.7]), np.array([0.2 + fpr_gap, 0.2])
    tp = _two_groups(gen, reps, positives, (tpr_truth[0], tpr_truth[1]))
    fp = _two_groups(gen, reps, negatives, (fpr_truth[0], fpr_truth[1]))
    active = np.ones(2, dtype=bool)
    hits = 0
    for r in range(reps):
        t = group_intervals.Rate(tp.successes[r], tp.trials[r])
        f = group_intervals.Rate(fp.successes[r], fp.trials[r])
        ci = group_intervals.two_rate_gap_ci(t, f, active)
        assert ci is not None
        gap_t, gap_f = _selected_gap(t, tpr_truth), _selected_gap(f, fpr_truth)
        est_t = np.ptp(t.successes / t.trials)
        est_f = np.ptp(f.successes / f.trials)
        hits += ci[0] <= (gap_t if est_t >= est_f else gap_f) <= ci[1]
    coverage = hits / reps
    if tpr_gap == fpr_gap == 0.0:
        low, high = band(reps, 2000)
    else:
        low, high = band(reps, 2000, 0.95 - 0.01, 0.985)
    assert low <= coverage <= high


@repetitions(2000)
@pytest.mark.parametrize("worst", [0.6, 0.95])
def test_worst_group_accuracy_coverage(worst: float, reps: int) -> None:
    """Smallest of the group rates from simultaneous intervals: at least 95% (conservative)."""
    gen = np.random.default_rng(int(worst * 100))
    rate = _two_groups(gen, reps, (93, 84), (worst, worst + 0.03))
    active = np.ones(2, dtype=bool)
    hits = 0
    for r in range(reps):
        ci = group_intervals.extreme_rate_ci(
            group_intervals.Rate(rate.successes[r], rate.trials[r]), active, largest=False
        )
        assert ci is not None
        hits += ci[0] <= worst <= ci[1]
    low, high = band(reps, 2000, LOW, 0.99)
    assert low <= hits / reps <= high


def test_gap_over_four_groups_holds_at_least_nominal() -> None:
    """Four groups, no disparity: Bonferroni over the six pairs keeps the coverage >= 95%."""
    gen = np.random.default_rng(11)
    reps, sizes = 1000, np.array([60.0, 45.0, 30.0, 25.0])
    k = np.stack([gen.binomial(int(s), 0.3, reps) for s in sizes], axis=1)
    active = np.ones(4, dtype=bool)
    hits = 0
    for r in range(reps):
        ci = group_intervals.rate_gap_ci(group_intervals.Rate(k[r], sizes), active)
        assert ci is not None
        hits += ci[0] <= 0.0 <= ci[1]
    assert LOW <= hits / reps <= 1.0


def test_breakdown_disparity_interval_contains_zero_without_disparity() -> None:
    """End to end through the fairness breakdown: no true disparity, the interval holds 0."""
    import pandas as pd

    gen = np.random.default_rng(5)
    reps, hits = 60, 0
    groups = np.array(["a"] * 93 + ["b"] * 84)
    for _ in range(reps):
        label = gen.random(len(groups)) < 0.4
        prediction = gen.random(len(groups)) < 0.5
        frame = pd.DataFrame(
            {
                "sample_id": [f"s{i}" for i in range(len(groups))],
                "label": label.astype(int),
                "prediction": prediction.astype(int),
                "correct": label == prediction,
                "confidence": np.full(len(groups), 0.7),
                "group:g": groups,
            }
        )
        b = group_breakdown(frame, [("g",)], num_classes=2, seed=0, condition="clean", resamples=0)
        dp = next(d for d in b.disparities if d.metric == "demographic_parity_difference")
        assert dp.estimate.ci is not None and dp.estimate.value is not None
        assert dp.estimate.ci[0] <= dp.estimate.value <= dp.estimate.ci[1]
        hits += dp.estimate.ci[0] <= 0.0
    assert hits / reps >= 0.88  # 60 repetitions (coverage itself is tested above)


def _binormal(
    gen: np.random.Generator, m: int, n: int, auc: float
) -> tuple[np.ndarray, np.ndarray]:
    shift = np.sqrt(2) * stats.norm.ppf(auc)
    return gen.normal(shift, 1.0, m), gen.normal(0.0, 1.0, n)


@pytest.mark.parametrize(
    ("m", "n", "auc"),
    [
        (30, 30, 0.5),
        (30, 30, 0.8),
        (30, 30, 0.95),
        (100, 100, 0.9),
        (100, 100, 0.97),
        (300, 300, 0.99),
    ],
)
@repetitions(2000)
def test_auroc_coverage(m: int, n: int, auc: float, reps: int) -> None:
    """At least nominal; conservative near 1 (up to ~0.99), where the interval is the hull with
    the Hanley-McNeil score interval so that few OOD samples cannot make it too narrow."""
    gen = np.random.default_rng(m + int(auc * 1000))
    hits = 0
    for _ in range(reps):
        ci = detection.auroc_ci(*_binormal(gen, m, n, auc))
        assert ci is not None
        hits += ci[0] <= auc <= ci[1]
    low, high = band(reps, 2000, LOW, HIGH if auc < 0.9 else CONSERVATIVE)
    assert low <= hits / reps <= high


@repetitions(3000)
@pytest.mark.parametrize(("m", "n", "fpr"), [(100, 100, 0.5), (100, 100, 0.05), (300, 200, 0.01)])
def test_fpr_at_95_tpr_coverage(m: int, n: int, fpr: float, reps: int) -> None:
    """At least nominal; with 100 ID samples the threshold's exact rank interval (one rank wider
    each side) makes it conservative (~0.985)."""
    gen = np.random.default_rng(m + int(fpr * 1000))
    shift = stats.norm.ppf(1 - fpr) - stats.norm.ppf(0.05)  # ID ~ N(shift, 1), OOD ~ N(0, 1)
    hits = 0  # true coverage ~0.964 at FPR 0.05 (discreteness): the full run keeps the noise low
    for _ in range(reps):
        s_in, s_out = gen.normal(shift, 1.0, m), gen.normal(0.0, 1.0, n)
        lo, hi = detection.fpr_ci(s_in, s_out)
        hits += lo <= fpr <= hi
    low, high = band(reps, 3000, LOW, HIGH if m > 100 else CONSERVATIVE)
    assert low <= hits / reps <= high


@pytest.mark.parametrize(
    ("m", "n", "auc"),
    [(30, 30, 0.6), (50, 50, 0.99), (100, 100, 0.8), (200, 50, 0.95), (300, 200, 0.99)],
)
@repetitions(1500)
def test_aupr_coverage(m: int, n: int, auc: float, reps: int) -> None:
    """Small sets, unequal sets and AUPR near 1 (where a few OOD samples ranked among the ID ones
    carry the whole variance): the bootstrap interval covered 0.85-0.91 there."""
    gen = np.random.default_rng(m + n + int(auc * 100))
    big_in, big_out = _binormal(gen, 200_000, 200_000 * n // m, auc)
    truth = detection.aupr(big_in, big_out)  # the population AUPR at this class balance
    hits = 0
    for _ in range(reps):
        ci = detection.aupr_ci(*_binormal(gen, m, n, auc))
        assert ci is not None
        hits += ci[0] <= truth <= ci[1]
    low, high = band(reps, 1500)
    assert low <= hits / reps <= high


@pytest.mark.parametrize(("m", "n", "auc"), [(30, 30, 0.01), (50, 50, 0.02), (20, 40, 0.005)])
def test_aupr_covers_detectors_worse_than_chance(m: int, n: int, auc: float) -> None:
    """A detector that scores OOD samples higher than ID ones: the sample AUPR cannot fall below
    its floor (1/m) sum k / (n + k), which lies above the population's by more than its spread,
    so the interval around it alone covered 0.05-0.31 (and was [v, v] for a perfectly reversed
    ranking, 11-31% of these samples). Spanning the bias-corrected value covers; conservative
    here is allowed, a zero-width interval is not."""
    gen = np.random.default_rng(m + n + int(auc * 1000))
    big_in, big_out = _binormal(gen, 200_000, 200_000 * n // m, auc)
    truth = detection.aupr(big_in, big_out)
    reps, hits = 600, 0
    for _ in range(reps):
        ci = detection.aupr_ci(*_binormal(gen, m, n, auc))
        assert ci is not None and ci[1] - ci[0] > 1e-4
        hits += ci[0] <= truth <= ci[1]
    assert hits / reps >= LOW


def test_aupr_interval_of_tied_or_reversed_scores_is_not_a_point() -> None:
    """Scores tied within each set, or every OOD score above every ID score: each sample's
    leave-one-out AUPR is the same, so the jackknife variance is 0 up to rounding; the interval
    is then Wilson's over the m ID samples, never [v, v]."""
    gen = np.random.default_rng(0)
    for s_in, s_out in [
        (np.full(60, -3.0), np.full(30, 5.0)),
        (gen.normal(size=60), np.full(30, 5.0)),
        (gen.normal(size=60), gen.normal(size=30) + 10.0),
    ]:
        value = detection.aupr(s_in, s_out)
        lo, hi = detection.aupr_ci(s_in, s_out) or (value, value)
        assert lo < value < hi and hi - lo > 0.1, (value, lo, hi)


def test_aupr_leave_one_out_matches_recomputation() -> None:
    """The O(N log N) leave-one-out values equal recomputing the AUPR without each sample, ties
    (rounded scores, ties across the two sets) included."""
    gen = np.random.default_rng(5)
    for _ in range(200):
        m, n = gen.integers(2, 15, size=2)
        digits = int(gen.integers(0, 3))
        s_in = np.round(gen.normal(0.7, 1.0, m), digits)
        s_out = np.round(gen.normal(0.0, 1.0, n), digits)
        without_in, without_out = detection.aupr_leave_one_out(s_in, s_out)
        want_in = [detection.aupr(np.delete(s_in, i), s_out) for i in range(m)]
        want_out = [detection.aupr(s_in, np.delete(s_out, j)) for j in range(n)]
        np.testing.assert_allclose(np.sort(without_in), np.sort(want_in), rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.sort(without_out), np.sort(want_out), rtol=0, atol=1e-12)


def test_aupr_leave_one_out_values_are_in_the_samples_order() -> None:
    """Value i is the AUPR without sample i: a clustered jackknife (`aupr_ci(clusters_in=...,
    clusters_out=...)`) adds them up by each sample's cluster. They came in descending score
    order, so the clusters summed unrelated samples."""
    gen = np.random.default_rng(6)
    for _ in range(50):
        m, n = gen.integers(2, 15, size=2)
        s_in = np.round(gen.normal(0.7, 1.0, m), 1)
        s_out = np.round(gen.normal(0.0, 1.0, n), 1)
        without_in, without_out = detection.aupr_leave_one_out(s_in, s_out)
        want_in = [detection.aupr(np.delete(s_in, i), s_out) for i in range(m)]
        want_out = [detection.aupr(s_in, np.delete(s_out, j)) for j in range(n)]
        np.testing.assert_allclose(without_in, want_in, rtol=0, atol=1e-12)
        np.testing.assert_allclose(without_out, want_out, rtol=0, atol=1e-12)


@pytest.mark.parametrize("rounds", [6, 10, 20])
def test_median_of_rounds_coverage(rounds: int) -> None:
    """Skewed (lognormal) timings: the interpolated order-statistic interval of the median."""
    gen = np.random.default_rng(rounds)
    reps, hits = 4000, 0
    values = gen.lognormal(0.0, 0.5, size=(reps, rounds))
    for r in range(reps):
        ci = median_ci(values[r])
        assert ci is not None
        hits += ci[0] <= 1.0 <= ci[1]  # the true median of lognormal(0, .) is 1
    assert LOW <= hits / reps <= HIGH
    assert median_ci(values[0][:5]) is None  # five rounds cannot give 95%
