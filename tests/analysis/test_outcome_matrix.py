"""The board's outcome matrix gives every McNemar comparison exactly (bit for bit) what the
pairwise test gives, whatever the order of each table's rows; models on other samples are left
to the pairwise test, which names the mismatch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.analysis import paired_tests
from harness.analysis.outcome_matrix import OutcomeMatrix
from harness.analysis.paired_forms import PerSample
from harness.core.errors import ResultsError
from harness.core.metric_record import MetricRecord
from harness.stats.intervals import mcnemar_difference, mcnemar_differences


def _columns(models: int, n: int, seed: int) -> dict[str, pd.Series]:
    gen = np.random.default_rng(seed)
    ids = [f"s{i}" for i in range(n)]
    out = {}
    for k in range(models):
        skill = gen.uniform(0.3, 0.95)
        order = gen.permutation(n)  # each table stores its rows in its own order
        out[f"m{k:02d}"] = pd.Series(gen.random(n)[order] < skill, index=[ids[i] for i in order])
    return out


@pytest.mark.parametrize("seed", range(4))
def test_matrix_equals_pairwise_mcnemar(seed: int) -> None:
    columns = _columns(9, 57 + 13 * seed, seed)
    matrix = OutcomeMatrix(columns)
    models = list(columns)
    for leader in models[:3]:
        rest = [m for m in models if m != leader]
        found = matrix.against(leader, rest)
        for i, m in enumerate(rest):
            want = paired_tests.mcnemar(columns[leader], columns[m])
            got = paired_tests.mcnemar_result(
                int(found.only_leader[i]),
                int(found.only_model[i]),
                found.n,
                float(found.p_values[i]),
                found.intervals[i],
            )
            assert got == want


def test_vectorised_intervals_equal_the_scalar_ones() -> None:
    grid_a, grid_b = np.meshgrid(np.arange(0, 40), np.arange(0, 40))
    a, b = grid_a.ravel(), grid_b.ravel()
    keep = a + b <= 60
    a, b = a[keep], b[keep]
    got = mcnemar_differences(a, b, 60)
    assert got == [mcnemar_difference(int(x), int(y), 60) for x, y in zip(a, b, strict=True)]


def _record(model: str, value: float) -> MetricRecord:
    return MetricRecord(
        suite="accuracy",
        metric="top1_acc",
        value=value,
        unit="fraction",
        higher_is_better=True,
        n=4,
    )


def test_a_model_on_other_samples_is_refused_by_name() -> None:
    same = pd.Series([True, False, True, True], index=["a", "b", "c", "d"])
    other = pd.Series([True, True, False, True], index=["a", "b", "c", "x"])
    assert "m2" not in OutcomeMatrix({"m1": same, "m2": other})
    entries = {
        m: paired_tests.Evidence(record=_record(m, float(s.mean())), form=PerSample(s, binary=True))
        for m, s in (("m1", same), ("m2", other))
    }
    with pytest.raises(ResultsError, match="different sample ids"):
        paired_tests.rank_with_ties(entries, seed=0)
