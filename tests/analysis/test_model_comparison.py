"""Two models on one task (harness.analysis.model_comparison): the paired interval's coverage
(seeded simulation), MOVER, and the comparison of stored synthetic runs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from harness.analysis.model_comparison import (
    METRICS_FAMILY,
    SLICES_FAMILY,
    PairedDiff,
    compare_models,
)
from harness.analysis.paired_tests import interval_z
from harness.core.errors import ResultsError
from harness.core.hashing import file_sha256
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.core.suite_board import suite_configs
from harness.run.suite_boards import installed_suite_boards
from harness.stats.intervals import newcombe_paired
from harness.store.run_store import StoredJob, load_jobs
from harness.suites.accuracy import AccuracySuite
from tests.present.synthetic import FORMULA, HOSTILE, write_synthetic_run
from tests.store.records import job_record, run_manifest, task_summary

CONFIGS = suite_configs(installed_suite_boards())

# (n, P(both right), P(only A right), P(only B right), P(both wrong))
CASES = [
    (200, (0.80, 0.08, 0.04, 0.08)),
    (100, (0.95, 0.02, 0.01, 0.02)),  # accuracies near 1
    (50, (0.40, 0.10, 0.10, 0.40)),  # no true difference
    (500, (0.60, 0.20, 0.05, 0.15)),
    (30, (0.70, 0.10, 0.05, 0.15)),
]


def test_newcombe_paired_interval_covers() -> None:
    """Seeded simulation, 2,000 repetitions per case: the 95% interval of p_A - p_B covers the
    true difference in at least 94% of runs in every case (it is conservative near 0 and 1,
    as Newcombe reports) and in 95-98.5% on average."""
    rng = np.random.default_rng(20240518)
    coverages = []
    for n, probs in CASES:
        truth = probs[1] - probs[2]
        counts = rng.multinomial(n, probs, size=2000)
        hits = 0
        for both, only_a, only_b, neither in counts:
            ci = newcombe_paired(int(both), int(only_a), int(only_b), int(neither))
            assert ci is not None
            hits += ci[0] <= truth <= ci[1]
        coverages.append(hits / len(counts))
    assert all(0.94 <= c <= 0.999 for c in coverages), coverages
    assert 0.95 <= float(np.mean(coverages)) <= 0.985, coverages


def test_newcombe_paired_interval_shape() -> None:
    lo, hi = newcombe_paired(90, 0, 0, 10) or (0.0, 0.0)
    assert lo < 0.0 < hi  # no discordant pair: still an interval, not [0, 0]
    a = newcombe_paired(50, 12, 3, 35)
    b = newcombe_paired(50, 3, 12, 35)
    assert a is not None and b is not None
    assert a[0] <= 9 / 100 <= a[1] and a == pytest.approx((-b[1], -b[0]))
    assert -1.0 <= newcombe_paired(0, 10, 0, 0)[0] <= newcombe_paired(0, 10, 0, 0)[1] <= 1.0  # type: ignore[index]
    assert newcombe_paired(0, 0, 0, 0) is None


def test_mover_from_two_intervals() -> None:
    """MOVER's interval of a - b, as the comparison takes it for numbers without per-sample
    data (`paired_tests.interval_z`); none without both intervals."""

    def rec(value: float, ci: tuple[float, float]) -> MetricRecord:
        return MetricRecord(
            suite="t", metric="x", value=value, unit="samples/s", higher_is_better=True, n=10, ci=ci
        )

    lo, hi = interval_z(rec(10.0, (8.0, 11.0)), rec(6.0, (5.0, 9.0))).ci or (0.0, 0.0)
    assert lo == pytest.approx(4.0 - (2.0**2 + 3.0**2) ** 0.5)
    assert hi == pytest.approx(4.0 + (1.0**2 + 1.0**2) ** 0.5)
    assert interval_z(rec(1.0, (0.5, 2.0)), MetricRecord(suite="t", metric="x", value=1.0, unit="u", higher_is_better=True, n=1)).ci is None  # fmt: skip


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> list:
    root = tmp_path_factory.mktemp("compare") / "res"
    models = {"good-model": 0.9, HOSTILE: 0.6, FORMULA: 0.88, "bound-model": 0.85}
    write_synthetic_run(root, models=models, flag_model="good-model", extras=True)
    return load_jobs(root)


def test_compare_stored_models(loaded: list) -> None:
    comp = compare_models(loaded, task="digits", a=FORMULA, b=HOSTILE, configs=CONFIGS)
    by_key = {d.key: d for d in comp.diffs}
    top1 = by_key["top1_acc"]
    assert top1.method == "exact McNemar" and top1.n == 200 and top1.ci is not None
    assert top1.ci[0] <= top1.diff <= top1.ci[1] and top1.p_holm is not None  # type: ignore[operator]
    assert top1.better == "a"  # 0.88 against 0.6 on the same 200 samples
    thr = by_key["throughput_samples_per_s[batch_size=64,device=cpu,precision=fp32]"]
    assert thr.method.startswith("MOVER") and thr.p_value is not None  # the test read off it
    assert by_key["mce"].ci is not None  # the synthetic mce has an interval: MOVER
    for d in comp.diffs:  # one procedure: the interval excludes 0 exactly when p < 0.05
        if d.p_value is not None and d.ci is not None:
            assert d.excludes_zero == (d.p_value < 0.05), d.key
        if d.better:
            assert d.excludes_zero and d.p_holm is not None and d.p_holm < 0.05, d.key
    assert comp.slices and comp.slices_tested >= len(comp.slices)
    diffs = [abs(s.diff) for s in comp.slices]
    assert diffs == sorted(diffs, reverse=True)
    kinds = {s.kind for s in comp.slices}
    assert {"class", "group", "condition"} <= kinds
    labels = {s.slice for s in comp.slices if s.kind == "group"}
    assert "sex: group one" in labels and "sex: hostile <i>label</i> & more" in labels


def test_caveats_are_not_compared(loaded: list) -> None:
    comp = compare_models(loaded, task="digits", a="bound-model", b="good-model", configs=CONFIGS)
    robust = [d for d in comp.diffs if d.key.startswith("robust_acc")]
    assert robust and all(d.method == "not compared" and d.ci is None for d in robust)
    assert any("upper bound" in d.reason for d in robust)
    assert not any(s.condition.startswith("attack=") for s in comp.slices)
    assert "fairness" in " ".join(comp.notes)  # good-model's fairness job failed


def test_unknown_model_is_a_results_error(loaded: list) -> None:
    with pytest.raises(ResultsError, match="no completed results of model 'nope' on task"):
        compare_models(loaded, task="digits", a="good-model", b="nope", configs=CONFIGS)


def _accuracy_job(path: Path, model: str, labels: np.ndarray, correct: np.ndarray) -> StoredJob:
    """An accuracy-suite job (its real records) over a synthetic 4-class table."""
    gen = np.random.default_rng(len(model))
    prediction = np.where(correct, labels, (labels + 1) % 4)
    confidence = np.clip(gen.uniform(0.5, 1.0, len(labels)), 0.26, 1.0)
    table = SampleTable.build(
        {
            "sample_id": [f"s{i:03d}" for i in range(len(labels))],
            "condition": "clean",
            "label": labels,
            "prediction": prediction,
            "correct": correct,
            "confidence": confidence,
            "nll": -np.log(np.where(correct, confidence, 1 - confidence)),
            "brier": (1 - confidence) ** 2 * 2,
        }
    )
    suite = AccuracySuite()
    names = ("a", "b", "c", "d")
    records = suite.metrics_from_table(
        table, num_classes=4, class_names=names, seed=0, resamples=200
    )
    path.mkdir()
    table.write_parquet(path / "samples.parquet")
    record = job_record(
        model,
        "accuracy",
        task="t",
        summary=task_summary("t", fingerprint="fp", num_classes=4, class_names=names),
        suite_version=suite.version,
        suite_config_hash="c",
        finished="x",
        files={"samples.parquet": file_sha256(path / "samples.parquet")},
    )
    return StoredJob(path=path, record=record, metrics=records)


def test_one_family_per_verdict(tmp_path: Path) -> None:
    """Per-class accuracies are the class slices' tests: counted once, in the slices' family,
    so top-1's p-value is adjusted over the other metrics only (7, not 7 + 4 classes)."""
    gen = np.random.default_rng(3)
    labels = np.repeat(np.arange(4), 50)
    right_a = gen.random(200) < 0.9
    right_b = right_a & (gen.random(200) < 0.8)
    manifest = run_manifest("r1", [])
    jobs = [
        (manifest, _accuracy_job(tmp_path / "a", "a", labels, right_a)),
        (manifest, _accuracy_job(tmp_path / "b", "b", labels, right_b)),
    ]
    comp = compare_models(jobs, task="t", a="a", b="b", configs=CONFIGS)
    classes = [d for d in comp.diffs if d.key.startswith("class_acc") and d.p_value is not None]
    assert classes and all(d.family == SLICES_FAMILY for d in classes)
    assert all(d.family_size == comp.slices_tested for d in classes)
    by_slice = {(s.kind, s.slice, s.condition): s for s in comp.slices}
    for d in classes:
        assert d.slice_key is not None
        assert d.p_holm == by_slice[d.slice_key].p_holm  # the same adjusted p-value
    metrics = [d for d in comp.diffs if d.family == METRICS_FAMILY]
    assert len(metrics) == comp.metrics_tested == 6  # top-1, balanced, macro-F1, NLL, ECE, Brier
    assert not any(d.key.startswith("class_acc") for d in metrics)
    top1 = next(d for d in comp.diffs if d.key == "top1_acc")
    assert top1.p_value is not None and top1.p_holm is not None
    assert top1.p_holm <= 6 * top1.p_value + 1e-12


def test_a_suite_measured_by_another_version_for_one_model_is_named(tmp_path: Path) -> None:
    """After an upgrade, `harness run --models b --suites accuracy` into an older harness's
    results folder: a's accuracy job is version 3, b's is the installed one. The comparison page
    left accuracy out without a word (its note named only suites run for one model)."""
    gen = np.random.default_rng(3)
    labels = np.repeat(np.arange(4), 50)
    right = gen.random(200) < 0.9
    manifest = run_manifest("r1", [])
    old = _accuracy_job(tmp_path / "a", "a", labels, right)
    old = StoredJob(
        path=old.path,
        record=old.record.model_copy(update={"suite_version": "3"}),
        metrics=old.metrics,
    )
    jobs = [(manifest, old), (manifest, _accuracy_job(tmp_path / "b", "b", labels, right))]
    comp = compare_models(jobs, task="t", a="a", b="b", configs=CONFIGS)
    assert not comp.diffs
    version = AccuracySuite().version
    assert comp.notes == [
        f"not compared (measured differently): accuracy (a: version 3, b: version {version}); "
        "run both models with one harness and spec"
    ], comp.notes


def test_why_an_excluding_interval_is_not_a_verdict() -> None:
    d = PairedDiff(
        "accuracy", "ece", "fraction", False, 0.03, 0.047, -0.017, (-0.028, -0.005), "x", 100,
        p_value=0.004, p_holm=0.068, family=METRICS_FAMILY, family_size=17,
    )  # fmt: skip
    assert d.excludes_zero and d.better == ""
    assert "not after Holm's correction over the 17 tests" in d.why
    assert replace(d, p_holm=0.01).better == "a" and replace(d, p_holm=0.01).why == ""


def test_ood_rows_have_no_accuracy_slice() -> None:
    """An OOD set's rows (label -1) made a condition slice `ood=noise` with accuracy 0 against 0,
    "no significant difference", one more test in the slices' Holm family; neither a model
    comparison nor a variant's deltas slice them now."""
    from types import SimpleNamespace

    import pandas as pd

    from harness.analysis import model_comparison, variant_deltas

    rng = np.random.default_rng(0)
    n = 60
    frames = []
    for seed in (1, 2):
        right = np.random.default_rng(seed).random(n) < 0.8
        frames.append(
            pd.DataFrame(
                {
                    "sample_id": [f"t{i}" for i in range(n)] + [f"o{i}" for i in range(n)],
                    "condition": ["clean"] * n + ["ood=noise"] * n,
                    "label": list(rng.integers(0, 2, n)) + [-1] * n,
                    "correct": list(right) + [False] * n,
                }
            )
        )
    frames[1]["label"] = frames[0]["label"]
    summary = SimpleNamespace(class_names=["a", "b"], group_labels={})
    job = SimpleNamespace(record=SimpleNamespace(task_summary=summary, suite="shift"))
    slices = model_comparison._slices(job, frames[0], frames[1])  # type: ignore[arg-type]
    assert {s.kind for s in slices} == {"class"} and slices
    assert not any("ood=" in s.condition for s in slices)
    harms = variant_deltas._slices("shift", frames[0], frames[1])
    assert harms and not any("ood=" in h.condition for h in harms)
