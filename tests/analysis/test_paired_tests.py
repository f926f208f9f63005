"""Paired tests and rank tie groups against hand-computed references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from harness.analysis import paired_tests
from harness.core.errors import ResultsError
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable


def _series(values: list[bool] | np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values), index=[f"s{i}" for i in range(len(values))])


def _rec(
    value: float, metric: str = "top1_acc", ci: tuple[float, float] | None = None
) -> MetricRecord:
    return MetricRecord(
        suite="accuracy",
        metric=metric,
        value=value,
        unit="fraction",
        higher_is_better=True,
        n=100,
        ci=ci,
    )


def test_mcnemar_matches_binomial_reference() -> None:
    a = _series([True] * 30 + [False] * 10 + [True] * 5 + [False] * 55)
    b = _series([True] * 30 + [True] * 10 + [False] * 5 + [False] * 55)
    res = paired_tests.mcnemar(a, b)
    # discordant: 5 right only in A, 10 right only in B
    assert res.detail.startswith("discordant: 5 right only in A, 10")
    assert res.p_value == pytest.approx(stats.binomtest(5, 15, 0.5).pvalue)
    assert res.diff == pytest.approx(-0.05)


def test_join_is_on_sample_id_not_position() -> None:
    a = _series([True, False, True, False])
    b = a.iloc[::-1]  # same values, reversed order
    assert paired_tests.mcnemar(a, b).p_value == 1.0
    with pytest.raises(ResultsError, match="different sample ids"):
        paired_tests.mcnemar(a, b.rename(index=lambda s: s + "x"))


def test_paired_bootstrap_detects_shift_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=300)
    shifted = paired_tests.paired_bootstrap(_series(base + 0.3), _series(base), seed=1, name="t")
    assert shifted.p_value < 0.01 and shifted.diff == pytest.approx(0.3)
    noise = paired_tests.paired_bootstrap(
        _series(base + rng.normal(scale=0.01, size=300)), _series(base), seed=1, name="t"
    )
    assert noise.p_value > 0.05
    again = paired_tests.paired_bootstrap(_series(base + 0.3), _series(base), seed=1, name="t")
    assert again == shifted  # seeded


def test_rank_tie_groups() -> None:
    rng = np.random.default_rng(3)
    truth = rng.random(400)
    a = truth < 0.80
    b = a.copy()
    b[:4] = ~b[:4]  # almost the same as a
    c = truth < 0.50
    entries = {
        name: (_rec(float(x.mean())), paired_tests.PerSample(values=_series(x), binary=True))
        for name, x in {"a": a, "b": b, "c": c}.items()
    }
    ranking = paired_tests.rank_with_ties(entries, seed=0)
    assert ranking.ranks["a"] == ranking.ranks["b"] == 1
    assert ranking.ranks["c"] == 3
    assert "McNemar" in ranking.method and "Holm" in ranking.method


def test_interval_fallback_without_tables() -> None:
    entries = {
        "x": (_rec(0.9, "worst_group_acc", (0.85, 0.95)), None),
        "y": (_rec(0.88, "worst_group_acc", (0.83, 0.93)), None),
        "z": (_rec(0.5, "worst_group_acc", (0.45, 0.55)), None),
    }
    ranking = paired_tests.rank_with_ties(entries, seed=0)
    assert ranking.ranks == {"x": 1, "y": 1, "z": 3}
    assert "interval" in ranking.method


def test_per_sample_forms() -> None:
    table = SampleTable.build(
        {
            "sample_id": ["a", "b", "a", "b"],
            "condition": [
                "clean",
                "clean",
                "corruption=fog/severity=1",
                "corruption=fog/severity=1",
            ],
            "label": [0, 1, 0, 1],
            "prediction": [0, 0, 0, 1],
            "correct": [True, False, True, True],
            "confidence": [0.9, 0.8, 0.7, 0.6],
            "brier": [0.1, 0.9, 0.2, 0.3],
        }
    )
    acc = paired_tests.per_sample(_rec(0.5), table)
    assert acc is not None and acc.binary and acc.values.tolist() == [True, False]
    brier = paired_tests.per_sample(_rec(0.5, "brier"), table)
    assert brier is not None and not brier.binary and brier.values.mean() == pytest.approx(0.5)
    mca = paired_tests.per_sample(_rec(1.0, "mean_corruption_acc"), table)
    assert mca is not None and mca.values.mean() == 1.0
    assert paired_tests.per_sample(_rec(0.5, "ece"), table) is None


def test_top5_and_class_acc_are_not_taken_as_top1() -> None:
    """top5_acc pairs on top5_correct; a per-class accuracy has no all-sample paired form."""
    from harness.analysis.paired_tests import per_sample
    from harness.core.metric_record import MetricRecord
    from harness.core.sample_table import SampleTable

    table = SampleTable.build(
        {
            "sample_id": ["a", "b", "c"],
            "condition": "clean",
            "label": [0, 1, 2],
            "prediction": [1, 1, 0],
            "correct": [False, True, False],
            "confidence": [0.5, 0.6, 0.7],
            "top5_correct": [True, True, True],
        }
    )

    def rec(metric: str, **context: object) -> MetricRecord:
        return MetricRecord(
            suite="accuracy",
            metric=metric,
            value=1.0,
            unit="fraction",
            higher_is_better=True,
            n=3,
            context=context,
        )

    top5 = per_sample(rec("top5_acc"), table)
    assert top5 is not None and top5.values.tolist() == [True, True, True]
    assert per_sample(rec("class_acc", **{"class": "0"}), table) is None
    top1 = per_sample(rec("top1_acc"), table)
    assert top1 is not None and top1.values.tolist() == [False, True, False]
