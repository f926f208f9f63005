"""Seeded simulation: the gate's false-alarm rate on harmless changes across 50 metrics.

A harmless change: the current model is as good as the baseline on every metric (same true
per-sample accuracies, same mean losses), but its per-sample outcomes differ, as a retrained or
recompiled model's do. Each repetition compares 50 metrics (30 accuracies by exact McNemar, 10
per-sample means by the sign-flip test, 5 ECEs by paired resampling, 5 numbers that only have
intervals) with NO tolerance (any significant drop fails), decides them together (Holm), and
counts a false alarm when any metric fails. The rate must stay at or below 0.05.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.analysis import paired_tests
from harness.analysis.check import CheckRow, _Pending, decide
from harness.analysis.check_policy import MetricRule
from harness.analysis.paired_forms import Resampled
from harness.core.metric_record import MetricRecord
from harness.stats.calibration import ece

N = 200
RULE = MetricRule(max_drop=0.0, alpha=0.05)


def _pending(result: paired_tests.PairedResult, worse: float) -> _Pending:
    row = CheckRow(
        "m", "t", "s", "metric", 0.5, 0.5 - worse, "pass", "", rule=RULE, unit="fraction"
    )
    row.test, row.p_value = result.test, result.p_value
    return _Pending(row=row, result=result, worse=worse, beyond=worse > 0, floor_broken=False)


IDS = pd.Index([f"s{i}" for i in range(N)])
"""The sample ids of every table (built once: 8,000 tables are made)."""


def _series(x: np.ndarray) -> pd.Series:
    return pd.Series(x, index=IDS)


def _ece_form(confidence: np.ndarray, correct: np.ndarray) -> Resampled:
    return Resampled(
        ids=IDS,
        strata=np.zeros(len(correct), dtype=np.int64),
        statistic=lambda idx: ece(confidence, correct, idx),
    )


def _record(value: float, half: float) -> MetricRecord:
    return MetricRecord(
        suite="s", metric="x", value=value, unit="fraction", higher_is_better=True, n=N,
        ci=(value - half, value + half),
    )  # fmt: skip


def _one_gate(gen: np.random.Generator, rep: int) -> bool:
    """One harmless comparison of 50 metrics; True when the gate would fail."""
    pending = []
    for _ in range(30):  # accuracies: same per-sample difficulty, independent outcomes
        difficulty = gen.beta(4, 1, N)
        base, cur = gen.random(N) < difficulty, gen.random(N) < difficulty
        res = paired_tests.mcnemar(_series(cur), _series(base))
        pending.append(_pending(res, -res.diff))
    for i in range(10):  # per-sample means (NLL-like): same distribution, new noise
        level = gen.gamma(2.0, 0.3, N)
        base, cur = level + gen.normal(0, 0.2, N), level + gen.normal(0, 0.2, N)
        res = paired_tests.paired_sign_flip(
            _series(cur), _series(base), seed=rep, name=f"m{i}", resamples=200
        )
        pending.append(_pending(res, res.diff))  # lower is better
    for i in range(5):  # ECE of two equally calibrated models
        conf = gen.uniform(0.5, 1.0, N)
        base_ok, cur_ok = gen.random(N) < conf, gen.random(N) < conf
        res = paired_tests.paired_resample(
            _ece_form(conf, cur_ok), _ece_form(conf, base_ok), seed=rep, name=f"e{i}", resamples=200
        )
        pending.append(_pending(res, res.diff))
    for _ in range(5):  # numbers with intervals only: two independent estimates of one truth
        half = 0.05
        a, b = 0.7 + gen.normal(0, half / 1.96), 0.7 + gen.normal(0, half / 1.96)
        res = paired_tests.interval_z(_record(a, half), _record(b, half))
        pending.append(_pending(res, b - a))
    assert len(pending) == 50
    decide(pending)
    return any(p.row.status == "fail" for p in pending)


@pytest.mark.slow  # a seeded simulation of 1,000s of gate runs (make test-slow; CI runs it)
def test_false_alarm_rate_on_harmless_changes_is_at_most_five_percent() -> None:
    gen = np.random.default_rng(2024)
    reps = 200
    alarms = sum(_one_gate(gen, rep) for rep in range(reps))
    assert alarms / reps <= 0.05


def test_untested_changes_never_fail_and_floors_still_do() -> None:
    untested = paired_tests.PairedResult(
        test="none", n=N, diff=-0.3, p_value=None, detail="no per-sample data and no interval"
    )
    big_drop = _pending(untested, 0.3)
    floored = _pending(untested, 0.3)
    floored.row.rule = MetricRule(max_drop=0.0, alpha=0.05, floor=0.4)
    floored.floor_broken = True
    decide([big_drop, floored])
    assert big_drop.row.status == "pass" and "not tested" in big_drop.row.reason
    assert floored.row.status == "fail" and "floor" in floored.row.reason
