"""An OOD set whose inputs repeat gets detection intervals built over its distinct inputs (each
input with its copies one cluster), not as if every copy were an independent sample: 20 copies
of one image got a confident "below chance" AUROC 0.188 [0.106, 0.318]. Sets without copies
that matter keep their numbers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from harness.analysis.caveats import caveats
from harness.core.suite import RunContext
from harness.stats import detection
from harness.suites.shift.ood.metrics import ScoredSet, set_metrics
from tests.suites.shift.ood.tabular_ood import run_with_ood_set


def test_copies_of_one_input_get_no_interval_and_no_chance_verdict() -> None:
    gen = np.random.default_rng(0)
    clean = {"sample_id": [f"t{i}" for i in range(50)], "msp": gen.uniform(0.5, 0.7, 50)}
    rows = {"sample_id": [f"o{i}" for i in range(20)], "msp": np.full(20, 0.66)}
    twenty = ScoredSet("one-image", "far", rows, clusters=("k",) * 20)
    records = set_metrics(twenty, clean, ["msp"], RunContext(seed=0), "msp")
    auroc = next(r for r in records if r.metric == "ood_auroc")
    assert auroc.value is not None and auroc.value < 0.5
    assert all(r.ci is None for r in records)
    assert "copies of 1 distinct input(s)" in (auroc.note or "")
    assert "below chance" not in (auroc.note or "")
    assert [c.kind for c in caveats(auroc)] == ["no_interval"]
    # as a set of that one input alone
    alone = ScoredSet("one-image", "far", {"sample_id": ["o0"], "msp": np.array([0.66])})
    single = next(
        r for r in set_metrics(alone, clean, ["msp"], RunContext(seed=0), "msp")
        if r.metric == "ood_auroc"
    )  # fmt: skip
    assert single.value == auroc.value and single.ci is None
    assert [c.kind for c in caveats(single)] == ["no_interval"]


def _coverage(reps: int, seed: int, *, m: int = 60, k: int = 20, copies: int = 6) -> tuple:
    """Coverage of the true AUROC (binormal, unit shift: 0.760) by the interval over clusters
    and by the one that counts every copy, for an OOD set of k inputs each `copies` times."""
    gen = np.random.default_rng(seed)
    true = float(stats.norm.cdf(1.0 / math.sqrt(2.0)))
    keys = [i // copies for i in range(k * copies)]
    clustered = independent = 0
    for _ in range(reps):
        s_in = gen.normal(1.0, 1.0, m)
        s_out = np.repeat(gen.normal(0.0, 1.0, k), copies)
        a = detection.detection_cis(s_in, s_out, seed=0, name="x", clusters=keys)["ood_auroc"]
        b = detection.detection_cis(s_in, s_out, seed=0, name="x")["ood_auroc"]
        assert a is not None and b is not None
        clustered += a[0] <= true <= a[1]
        independent += b[0] <= true <= b[1]
    return clustered / reps, independent / reps


def test_intervals_over_distinct_inputs_cover_with_six_copies_of_each() -> None:
    """Seeded: 300 data sets of 60 ID samples and 20 OOD inputs each present 6 times. Over
    clusters 0.950; counting every copy 0.747 (intervals about 2.4x too narrow)."""
    clustered, independent = _coverage(300, seed=0)
    assert clustered >= 0.92
    assert independent <= 0.85


@pytest.mark.slow
def test_intervals_over_distinct_inputs_cover_at_larger_sizes() -> None:
    for k, m, seed in ((20, 60, 1), (50, 200, 2)):
        clustered, independent = _coverage(2000, seed=seed, m=m, k=k)
        assert 0.93 <= clustered <= 0.985, (k, m, clustered)
        assert independent <= 0.82, (k, m, independent)


def test_the_order_of_the_copies_does_not_move_the_intervals() -> None:
    """20 OOD inputs 6 times each, stored copy after copy or as the whole set 6 times over: the
    same data, so the same intervals. The AUPR's clustered jackknife paired leave-one-out values
    in score order with clusters in row order: the set repeated 6 times over got AUPR-Out
    intervals as narrow as counting every copy (over 400 seeded data sets with shuffled rows,
    AUPR-Out coverage 0.83, AUPR 0.68; with the values in row order 0.955 and 0.88)."""
    gen = np.random.default_rng(4)
    s_in, inputs = gen.normal(1.0, 1.0, 60), gen.normal(0.0, 1.0, 20)
    blocks = detection.detection_cis(
        s_in, np.repeat(inputs, 6), seed=0, name="x", clusters=[i // 6 for i in range(120)]
    )
    over = detection.detection_cis(
        s_in, np.tile(inputs, 6), seed=0, name="x", clusters=[i % 20 for i in range(120)]
    )
    for metric, ci in blocks.items():
        assert ci is not None and over[metric] == pytest.approx(ci, abs=1e-12), metric


def test_clusters_of_single_samples_give_the_independent_intervals() -> None:
    gen = np.random.default_rng(3)
    s_in, s_out = gen.normal(1.0, 1.0, 80), gen.normal(0.0, 1.0, 40)
    plain = detection.detection_cis(s_in, s_out, seed=0, name="x")
    singles = detection.detection_cis(s_in, s_out, seed=0, name="x", clusters=list(range(40)))
    for metric, ci in plain.items():
        assert ci is not None and singles[metric] == pytest.approx(ci, abs=1e-9), metric


def _run(tmp_path: Path, ood: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The clusters each detection_cis call of a shift run got."""
    seen: list[Any] = []
    original = detection.detection_cis

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("clusters"))
        return original(*args, **kwargs)

    monkeypatch.setattr(detection, "detection_cis", spy)
    run_with_ood_set(tmp_path, ood)
    return seen


def test_only_copies_that_matter_change_the_intervals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One input twice among 60 (1.6% narrower, under the note's 5%): the intervals count
    every sample, as before; every input 6 times: over the 10 distinct inputs."""
    gen = np.random.default_rng(1)
    rows = pd.DataFrame(gen.uniform(0, 1, (59, 4)), columns=["a", "b", "c", "d"])
    once = pd.concat([rows, rows.iloc[:1]], ignore_index=True)
    assert _run(tmp_path, once, monkeypatch) == [None]
    six = pd.concat([rows.iloc[:10]] * 6, ignore_index=True)
    [clusters] = _run(tmp_path, six, monkeypatch)
    assert clusters is not None and len(clusters) == 60 and len(set(clusters)) == 10


def test_paired_delong_over_copies_is_the_test_of_the_distinct_inputs() -> None:
    """Two detectors compared on a set of 20 inputs each present 6 times: over the clusters,
    DeLong's paired test gives the difference, interval and p-value of the 20 inputs alone
    (each copy adds nothing); counting every copy, an interval about 2.4x too narrow."""
    gen = np.random.default_rng(5)
    a_in, b_in = gen.normal(1.0, 1.0, 80), gen.normal(0.8, 1.0, 80)
    a_out, b_out = gen.normal(0.0, 1.0, 20), gen.normal(0.1, 1.0, 20)
    codes = np.repeat(np.arange(20), 6)
    copies = ((a_in, np.repeat(a_out, 6)), (b_in, np.repeat(b_out, 6)))
    alone = detection.delong_paired((a_in, a_out), (b_in, b_out))
    clustered = detection.delong_paired(*copies, clusters=codes)
    naive = detection.delong_paired(*copies)
    assert clustered[0] == pytest.approx(alone[0], abs=1e-12)
    assert clustered[1] == pytest.approx(alone[1], abs=1e-9)
    assert clustered[2] == pytest.approx(alone[2], abs=1e-9)
    assert naive[1] is not None and alone[1] is not None
    assert naive[1][1] - naive[1][0] < 0.8 * (alone[1][1] - alone[1][0])
    singles = detection.delong_paired((a_in, a_out), (b_in, b_out), clusters=np.arange(20))
    assert singles[1] == pytest.approx(alone[1], abs=1e-12)
    assert singles[2] == pytest.approx(alone[2], abs=1e-12)
    one = detection.delong_paired(*copies, clusters=np.zeros(120, dtype=np.int64))
    assert one[1] is None and one[2] is None


def test_paired_delong_over_copies_holds_its_level() -> None:
    """Seeded: 400 data sets where two equally good detectors (independent noise around one
    signal) score 60 ID samples and 20 OOD inputs each present 6 times. Over clusters the
    paired test rejects at about its 5% level; counting every copy, far more often."""
    gen = np.random.default_rng(11)
    codes = np.repeat(np.arange(20), 6)
    clustered = naive = 0
    for _ in range(400):
        base_in, base_out = gen.normal(1.0, 1.0, 60), gen.normal(0.0, 1.0, 20)
        a = (base_in + gen.normal(0, 0.7, 60), np.repeat(base_out + gen.normal(0, 0.7, 20), 6))
        b = (base_in + gen.normal(0, 0.7, 60), np.repeat(base_out + gen.normal(0, 0.7, 20), 6))
        p = detection.delong_paired(a, b, clusters=codes)[2]
        q = detection.delong_paired(a, b)[2]
        assert p is not None and q is not None
        clustered += p < 0.05
        naive += q < 0.05
    assert clustered / 400 <= 0.085
    assert naive / 400 >= 0.12


def test_the_near_far_mean_over_a_set_of_copies_is_the_mean_over_its_distinct_inputs() -> None:
    """The mean AUROC over a set without copies and a set of 15 inputs each present 4 times:
    over the clusters its interval is the mean's over the 15 inputs alone."""
    gen = np.random.default_rng(7)
    s_in, first, second = gen.normal(1.0, 1.0, 70), gen.normal(0.0, 1.0, 40), gen.normal(0.3, 1, 15)
    alone = detection.mean_auroc_ci(s_in, [first, second])
    codes = [None, np.repeat(np.arange(15), 4)]
    clustered = detection.mean_auroc_ci(s_in, [first, np.repeat(second, 4)], clusters=codes)
    naive = detection.mean_auroc_ci(s_in, [first, np.repeat(second, 4)])
    assert alone is not None and clustered is not None and naive is not None
    assert clustered == pytest.approx(alone, abs=1e-9)
    assert naive[1] - naive[0] < 0.95 * (alone[1] - alone[0])
