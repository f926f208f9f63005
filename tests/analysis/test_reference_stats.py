"""The harness's statistics against reference implementations: statsmodels, scipy, sklearn."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from harness.stats.intervals import (
    holm,
    mcnemar_exact,
    median_ci,
    newcombe_difference,
    wilson_bounds,
    wilson_ci,
)


def test_wilson_matches_statsmodels() -> None:
    gen = np.random.default_rng(0)
    for _ in range(500):
        n = int(gen.integers(1, 400))
        k = int(gen.integers(0, n + 1))
        ref = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert wilson_ci(k, n) == pytest.approx(ref, abs=1e-12)
    k = gen.integers(0, 50, 100)
    lo, hi = wilson_bounds(k, 50, alpha=0.01)
    ref_lo, ref_hi = proportion_confint(k, 50, alpha=0.01, method="wilson")
    assert np.allclose(lo, ref_lo, atol=1e-12) and np.allclose(hi, ref_hi, atol=1e-12)


def test_newcombe_matches_statsmodels() -> None:
    gen = np.random.default_rng(1)
    for _ in range(300):
        n1, n2 = (int(x) for x in gen.integers(1, 200, 2))
        k1, k2 = int(gen.integers(0, n1 + 1)), int(gen.integers(0, n2 + 1))
        lo, hi = newcombe_difference(k1, n1, k2, n2)
        ref = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
        assert (float(lo), float(hi)) == pytest.approx(ref, abs=1e-9)


def test_mcnemar_matches_statsmodels() -> None:
    gen = np.random.default_rng(2)
    for _ in range(300):
        b, c = (int(x) for x in gen.integers(0, 60, 2))
        ref = sm_mcnemar([[10, b], [c, 10]], exact=True).pvalue
        assert mcnemar_exact(b, c) == pytest.approx(ref, rel=1e-12, abs=1e-15)


def test_holm_matches_statsmodels_on_20_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    # statsmodels' multipletests runs a full gc.collect() on every Holm call (multitest.py), which
    # in a pytest-xdist worker holding the whole suite's objects took 1-2 s a call (33 s for the
    # 20); collecting garbage cannot change a p-value, so it is skipped here
    monkeypatch.setattr(gc, "collect", lambda *args: 0)
    gen = np.random.default_rng(3)
    for _ in range(20):
        p = gen.random(int(gen.integers(1, 12))) ** 3
        ref = multipletests(p, method="holm")[1]
        assert np.allclose(holm(list(p)), ref, atol=1e-12)


def test_median_interval_is_an_order_statistic_interval_with_exact_coverage() -> None:
    """Without interpolation (coverage exactly at an order statistic) it is (x(k), x(n-k+1))."""
    x = np.arange(1.0, 12.0)  # n = 11
    lo, hi = median_ci(x, alpha=1 - (1 - 2 * stats.binom.cdf(1, 11, 0.5))) or (0.0, 0.0)
    assert (lo, hi) == pytest.approx((2.0, 10.0))
