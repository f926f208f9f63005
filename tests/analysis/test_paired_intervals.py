"""Every paired test and its interval come from one procedure: the interval excludes 0 exactly
when p < 0.05, and the intervals cover the true difference (seeded simulation).

The issue this guards: a comparison page showed Newcombe's interval [+0.005, +0.208] beside an
exact McNemar p of 0.0625 (5 against 0 discordant samples). The exact McNemar test now comes with
the interval that inverts it (`intervals.mcnemar_difference`); the other tests read their p-value
off their own interval. Coverage of the McNemar interval over n in {30, 50, 200, 1000}, accuracy
0.5-0.99, no to a clear difference: default run a few cells, `-m slow` the grid
(`benchmarks/interval_coverage.py --paired` prints it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchmarks.coverage_cases import paired_outcomes
from harness.analysis import paired_tests
from harness.analysis.rank_shift import mann_whitney
from harness.core.metric_record import MetricRecord
from harness.stats.intervals import (
    cell_mean,
    cell_mean_difference,
    cell_mean_difference_p,
    mcnemar_difference,
    mcnemar_exact,
)


def _excludes(ci: tuple[float, float] | None) -> bool:
    return ci is not None and (ci[0] > 0 or ci[1] < 0)


def test_the_issue_case_agrees() -> None:
    """5 against 0 discordant: p = 0.0625 and the interval holds 0; 6 against 0: both reject."""
    assert mcnemar_exact(5, 0) == pytest.approx(0.0625)
    assert not _excludes(mcnemar_difference(5, 0, 50))
    assert mcnemar_exact(6, 0) < 0.05 and _excludes(mcnemar_difference(6, 0, 50))


def test_mcnemar_interval_inverts_the_exact_test_everywhere() -> None:
    for n in (20, 200):
        for only_a in range(0, 21):
            for only_b in range(0, 21 - only_a):
                ci = mcnemar_difference(only_a, only_b, n)
                assert ci is not None
                assert _excludes(ci) == (mcnemar_exact(only_a, only_b) < 0.05), (n, only_a, only_b)
                d = (only_a - only_b) / n
                assert ci[0] <= d <= ci[1] and ci[1] > ci[0]  # never zero-width
                flipped = mcnemar_difference(only_b, only_a, n)
                assert flipped == pytest.approx((-ci[1], -ci[0]))


def _mcnemar_coverage(n: int, accuracy: float, diff: float, reps: int) -> float:
    gen = np.random.default_rng([n, int(accuracy * 1000), int(diff * 1000)])
    churn = max(min(accuracy, 1 - accuracy), diff)  # a retrained model of equal quality
    hits = 0
    for _ in range(reps):
        a, b = paired_outcomes(gen, n, accuracy, accuracy - diff, churn)
        ci = mcnemar_difference(int((a & ~b).sum()), int((~a & b).sum()), n)
        assert ci is not None
        hits += ci[0] <= diff <= ci[1]
    return hits / reps


@pytest.mark.parametrize(
    ("n", "accuracy", "diff"),
    [(200, 0.98, 0.01), (50, 0.5, 0.03), (1000, 0.9, 0.0), (1000, 0.99, 0.01), (30, 0.9, 0.03)],
)
def test_mcnemar_interval_coverage_cells(n: int, accuracy: float, diff: float) -> None:
    """(200, 0.98, 0.01) is where the interval first built (psi at its estimate where theta's
    interval crosses 0) covered 0.905: a few discordant samples say little about psi."""
    assert _mcnemar_coverage(n, accuracy, diff, 1500) >= 0.93


@pytest.mark.slow
@pytest.mark.parametrize("n", [30, 50, 200, 1000])
@pytest.mark.parametrize("accuracy", [0.5, 0.9, 0.98, 0.99])
def test_mcnemar_interval_coverage_grid(n: int, accuracy: float) -> None:
    for diff in (0.0, 0.01, 0.03):
        assert _mcnemar_coverage(n, accuracy, diff, 2000) >= 0.93, diff


def _series(x: np.ndarray) -> pd.Series:
    return pd.Series(x, index=[f"s{i}" for i in range(len(x))])


def test_sign_flip_p_agrees_with_its_interval() -> None:
    gen = np.random.default_rng(4)
    for shift in np.linspace(0.0, 0.25, 30):
        base = gen.normal(0, 1, 80)
        res = paired_tests.paired_sign_flip(
            _series(base + shift + gen.normal(0, 0.7, 80)), _series(base), seed=1, name="t"
        )
        assert res.p_value is not None and res.ci is not None
        assert _excludes(res.ci) == (res.p_value < 0.05)
        assert res.p_value > 0  # a Monte Carlo p-value never reaches 0


def test_interval_z_agrees_with_mover() -> None:
    def rec(v: float, ci: tuple[float, float]) -> MetricRecord:
        return MetricRecord(
            suite="s", metric="x", value=v, unit="u", higher_is_better=True, n=10, ci=ci
        )

    for gap in np.linspace(0.0, 0.2, 21):
        res = paired_tests.interval_z(
            rec(0.7 + gap, (0.62 + gap, 0.75 + gap)), rec(0.7, (0.6, 0.79))
        )
        assert res.p_value is not None
        assert _excludes(res.ci) == (res.p_value < 0.05)


def test_mann_whitney_agrees_with_hodges_lehmann() -> None:
    gen = np.random.default_rng(5)
    for _ in range(300):
        m, n = gen.integers(2, 12, 2)
        found = mann_whitney(gen.normal(gen.normal(), 1, m), gen.normal(0, 1, n))
        assert found is not None
        p, ci = found
        assert _excludes(ci) == (p < 0.05)


def test_cell_mean_p_agrees_with_newcombe() -> None:
    gen = np.random.default_rng(6)
    for drop in np.linspace(0.0, 0.06, 13):
        a = gen.random((120, 5)) < 0.85
        b = a & (gen.random((120, 5)) > drop)
        ma, mb = cell_mean(list(a.T)), cell_mean(list(b.T))
        p = cell_mean_difference_p(ma, mb)
        assert _excludes(cell_mean_difference(ma, mb)) == (p < 0.05), drop


def test_random_sign_flips_hold_one_byte_per_eight_pairs() -> None:
    """2,000 flips of 100,000 pairs: the flips are kept packed (25 MB), not as int64 positions
    (200 MB), and their sizes are counted without an int64 copy of them (another 200 MB): at
    10^6 pairs the two were 4 GB."""
    import tracemalloc

    from harness.stats import sign_flip

    n, m = 100_000, 2_000
    d = np.random.default_rng(0).standard_t(3, size=n)
    tracemalloc.start()
    try:
        flips = sign_flip.random_flips(np.random.default_rng(5), n, m)
        ends, p = sign_flip.sign_flip_test(d, 0.05, flips)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert flips.packed.dtype == np.uint8 and flips.packed.shape == (m, n // 8)
    assert peak < 100 * 2**20  # packed 25 MB + its byte counts 25 MB + the byte table 25 MB
    assert ends[0] < d.mean() < ends[1] and 0 < p <= 1


def test_mann_whitney_with_tied_rounds_agrees_with_its_interval() -> None:
    """Tied rounds (CUDA events time in steps of about half a microsecond; a model timed twice
    for the gate): a tie between the two runs counts against a difference, so the p-value is
    never below scipy's exact one (which rounds the tied half towards the null) and the
    Hodges-Lehmann interval touches 0 exactly when p >= 0.05. Before: [0, 1] against [3, 1]
    gave p = 1/3 (scipy 2/3), and 60 data sets printed an interval ending at 0 beside p < 0.05."""
    gen = np.random.default_rng(7)
    found = mann_whitney([0.0, 1.0], [3.0, 1.0])
    assert found is not None and found[0] >= stats.mannwhitneyu([0, 1], [3, 1]).pvalue
    for _ in range(400):
        m, n = gen.integers(2, 9, 2)
        a = np.round(gen.normal(0, 1, m))
        b = np.round(gen.normal(gen.choice([0.0, 1.0, 2.0]), 1, n))
        found = mann_whitney(a, b)
        assert found is not None
        p, ci = found
        exact = stats.mannwhitneyu(a, b, alternative="two-sided", method="exact").pvalue
        assert p >= exact - 1e-12, (a, b)
        assert (ci is not None and _excludes(ci)) == (p < 0.05), (a, b, p, ci)


def test_cell_mean_p_where_scipys_t_quantile_loses_its_digits() -> None:
    """scipy's t quantile a hair above the median is exactly 0 at 4 and 6 degrees of freedom
    (t.ppf(0.5 + 5e-10, 4) == 0.0), and the p-value's first probe (alpha = 1 - 1e-9) divided by
    it: two models with these outcomes over two cells of 8 images (4 images carry the variance
    alike: 4 df) stopped `harness check` and the boards with a ZeroDivisionError."""
    right = np.array([1, 1, 0, 0, 1, 1, 1, 1], dtype=np.float64)
    wrong = np.array([1, 1, 0, 0, 0, 0, 0, 0], dtype=np.float64)
    a, b = cell_mean([right, wrong]), cell_mean([right.copy(), wrong.copy()])
    assert cell_mean_difference_p(a, b) == 1.0
    res = paired_tests.cell_mean_test(a, b, n=8)
    assert res.p_value == 1.0 and res.ci is not None and res.ci[0] < 0 < res.ci[1]
    six = np.array([1, 1, 1, 0, 0, 0] + [1] * 6, dtype=np.float64)
    other = np.array([1, 1, 1, 0, 0, 0] + [0] * 6, dtype=np.float64)
    shifted = np.array([1, 1, 1, 0, 0, 0] + [0] * 5 + [1], dtype=np.float64)
    p = cell_mean_difference_p(cell_mean([six, other]), cell_mean([six, shifted]))
    assert 0.0 < p <= 1.0
