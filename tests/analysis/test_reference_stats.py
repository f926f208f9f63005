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
    newcombe_paired,
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


def test_wilson_and_mcnemar_at_the_edges_match_the_references() -> None:
    """n = 1, 2, 10^6, 10^9; k at 0 and n; levels other than 95%; discordant counts of 10^6."""
    for alpha in (0.5, 0.2, 0.001):
        for n in (1, 2, 10**6, 10**9):
            k = np.array([0, 1, n - 1, n])
            lo, hi = wilson_bounds(k, n, alpha=alpha)
            ref_lo, ref_hi = proportion_confint(k, n, alpha=alpha, method="wilson")
            assert np.allclose(lo, ref_lo, rtol=0, atol=1e-12)
            assert np.allclose(hi, ref_hi, rtol=0, atol=1e-12)
            assert (hi > lo).all() and (lo <= k / n).all() and (k / n <= hi).all()
    for b, c in ((0, 10**6), (10**6, 10**6 + 3000), (500_000, 501_000)):
        ref = sm_mcnemar([[0, b], [c, 0]], exact=True).pvalue
        assert mcnemar_exact(b, c) == pytest.approx(ref, rel=1e-12, abs=1e-300)


def test_newcombe_paired_reproduces_the_published_example() -> None:
    """Newcombe (1998, Stat Med 17:2635), method 10 on 36 / 12 / 2 / 0: 0.0569 to 0.3404."""
    lo, hi = newcombe_paired(36, 12, 2, 0) or (0.0, 0.0)
    assert (round(lo, 4), round(hi, 4)) == (0.0569, 0.3404)


def test_class_means_and_ece_match_sklearn_and_guo_with_absent_classes() -> None:
    """Balanced accuracy, macro-F1 (classes absent from the labels, predicted-only classes)
    and the binned ECE (Guo et al. 2017: 15 equal-width bins, confidences on the bin edges)."""
    from sklearn.metrics import balanced_accuracy_score, f1_score

    from harness.stats import calibration

    gen = np.random.default_rng(4)
    for _ in range(50):
        n, k = int(gen.integers(1, 300)), int(gen.integers(2, 12))
        labels = gen.integers(0, k, n)
        predictions = np.where(gen.random(n) < 0.6, labels, gen.integers(0, k, n))
        confidence = np.round(gen.random(n) * 15) / 15  # many on the bin edges
        correct = labels == predictions
        got = calibration.classification_stats(
            labels, predictions, confidence, {}, np.arange(n)[None, :], k
        )
        assert got["balanced_acc"][0] == pytest.approx(balanced_accuracy_score(labels, predictions))
        assert got["macro_f1"][0] == pytest.approx(
            f1_score(labels, predictions, average="macro", zero_division=0)
        )
        edges = np.linspace(0.0, 1.0, 16)
        ref = 0.0
        for low, high in zip(edges[:-1], edges[1:], strict=True):
            inside = ((confidence > low) | ((low == 0) & (confidence == 0))) & (confidence <= high)
            if inside.any():
                ref += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
        assert got["ece"][0] == pytest.approx(ref, abs=1e-12)


def test_detection_metrics_match_sklearn_on_extreme_scores() -> None:
    """All tied, one sample per set, two-valued, and scores near float64's ends."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    from harness.stats import detection

    gen = np.random.default_rng(5)
    cases = [
        (np.zeros(5), np.zeros(7)),
        (np.array([1.0]), np.array([0.0])),
        (gen.integers(0, 2, 40).astype(float), gen.integers(0, 2, 30).astype(float)),
        (gen.normal(1, 1, 50) * 1e300, gen.normal(0, 1, 60) * 1e300),
        (gen.normal(1, 1, 50) * 1e-300, gen.normal(0, 1, 60) * 1e-300),
    ]
    for s_in, s_out in cases:
        y = np.r_[np.ones(len(s_in)), np.zeros(len(s_out))]
        s = np.r_[s_in, s_out]
        assert detection.auroc(s_in, s_out) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert detection.aupr(s_in, s_out) == pytest.approx(
            average_precision_score(y, s), abs=1e-12
        )
        assert detection.aupr_out(s_in, s_out) == pytest.approx(
            average_precision_score(1 - y, -s), abs=1e-12
        )
