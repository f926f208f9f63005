"""An OOD set of one sample (or a test set of one) has no interval: resampling it draws the same
row every time, so a paired resampling test would see only the other side's variance and call
two detectors' values on that one sample significantly different. Its records get no paired
form; the rankings compare them through their (absent) intervals, a tie."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.analysis import paired_tests
from harness.analysis.paired_forms import per_sample
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import CLEAN, SampleTable
from harness.stats import detection


def _frame(n_in: int, n_out: int, energy: np.ndarray) -> pd.DataFrame:
    conditions = [CLEAN] * n_in + ["ood=one"] * n_out
    return pd.DataFrame({
        "sample_id": [f"s{i}" for i in range(n_in + n_out)],
        "condition": conditions,
        "energy": energy,
        "label": [0] * n_in + [-1] * n_out, "prediction": 0,
        "correct": [True] * n_in + [False] * n_out, "confidence": 1.0,
    })  # fmt: skip


def _record(frame: pd.DataFrame) -> MetricRecord:
    clean = frame[frame["condition"] == CLEAN]["energy"].to_numpy()
    ood = frame[frame["condition"] == "ood=one"]["energy"].to_numpy()
    return MetricRecord(
        suite="shift", metric="ood_auroc", value=detection.auroc(clean, ood), unit="fraction",
        higher_is_better=True, n=len(frame), condition="ood=one", context={"score": "energy"},
    )  # fmt: skip


def test_a_one_sample_set_gets_no_paired_form() -> None:
    gen = np.random.default_rng(0)
    ids = gen.normal(0.0, 1.0, 100)
    a = _frame(100, 1, np.append(ids, 2.0))  # the one OOD sample above most test samples
    b = _frame(100, 1, np.append(ids, -2.0))  # below them
    ra, rb = _record(a), _record(b)
    assert ra.value is not None and rb.value is not None and ra.value < 0.1 < 0.9 < rb.value
    assert per_sample(ra, SampleTable(a)) is None
    assert per_sample(rb, SampleTable(b)) is None
    # through the intervals: none, so no test and no difference claimed
    assert paired_tests.p_or_one(paired_tests.interval_z(ra, rb)) == 1.0


def test_a_one_sample_test_set_gets_no_paired_form() -> None:
    gen = np.random.default_rng(1)
    frame = _frame(1, 50, np.append(0.0, gen.normal(0.0, 1.0, 50)))
    assert per_sample(_record(frame), SampleTable(frame)) is None
    two = _frame(2, 50, np.append([0.0, 0.5], gen.normal(0.0, 1.0, 50)))
    assert per_sample(_record(two), SampleTable(two)) is not None
