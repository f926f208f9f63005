"""Synthetic stored runs covering every suite's result shape (written with RunStore.write_job).

Used to test leaderboards, reports and the gate without running models: accuracy (reliability
bins, group columns), adversarial (robust_acc per eps with a reliability flag), shift (corruption
x severity conditions), fairness (group-context metrics) and throughput (no table).

With `extras=True` (the report's tests) the run also has what the report draws: a corruption
gallery and adversarial examples as array artifacts (the convention in docs/architecture.md),
per-group accuracies with readable (and hostile) group labels declared on the task, a model whose
robust accuracy is an upper bound, unstable timing, and a failed job with its reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.core.manifest import JobEntry, JobRecord, JobStatus
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.core.threat_model import Headline
from harness.store.run_store import RunStore
from tests.store.records import job_entry, job_record, run_manifest, task_summary

HOSTILE = "<script>alert(1)</script>|x\ny"
FORMULA = '=HYPERLINK("http://evil")'
FINGERPRINT = "f" * 64


def _rec(
    suite: str,
    metric: str,
    value: float | None,
    *,
    n: int = 200,
    hib: bool = True,
    unit: str = "fraction",
    headline: bool = True,
    **kw: Any,
) -> MetricRecord:
    ci = kw.pop("ci", None)
    if ci is None and value is not None:
        ci = (
            (max(0.0, value - 0.05), min(1.0, value + 0.05))
            if unit == "fraction"
            else (value * 0.95, value * 1.05)
        )
    return MetricRecord(
        suite=suite,
        metric=metric,
        value=value,
        unit=unit,
        higher_is_better=hib,
        n=n,
        ci=ci,
        ci_method="percentile bootstrap",
        headline=headline,
        **kw,
    )


GROUP_LABELS = {"sex": {HOSTILE: "hostile <i>label</i> & more", "1": "group one"}}
FAILED_MESSAGE = (
    "RuntimeError: synthetic failure <b>bold</b>\nTraceback (most recent call last): ..."
)
UPPER_BOUND_NOTE = (
    "decision-based attack (the model exposes no gradients): an upper bound on robust accuracy"
)
CORRUPTIONS = ("fog", "gaussian_noise")


def _record(
    model: str,
    suite: str,
    run_id: str,
    *,
    extras: bool = False,
    parent: str | None = None,
    headline: Headline | None = None,
    notes: tuple[str, ...] = (),
) -> JobRecord:
    summary = task_summary("digits", fingerprint=FINGERPRINT)
    if headline is not None:
        summary = summary.replace(headline=headline)
    if extras:
        summary = summary.replace(
            group_labels=GROUP_LABELS, class_names=tuple(str(i) for i in range(10))
        )
    description: dict[str, Any] = {"weights_sha256": "a" * 64}
    if parent is not None:
        description.update(parent=parent, variant=model.rpartition("@")[2], gradients=True)
    return job_record(
        model, suite, run_id=run_id, summary=summary, description=description, notes=notes
    )


def gallery_arrays(rng: np.random.Generator, k: int = 3) -> dict[str, np.ndarray]:
    """`gallery_images` (corruptions, 1 + severities, k, 1, 8, 8): clean at severity 0."""
    clean = rng.random((k, 1, 8, 8)).astype(np.float32)
    images = np.empty((len(CORRUPTIONS), 4, k, 1, 8, 8), dtype=np.float32)
    for c in range(len(CORRUPTIONS)):
        for s in range(4):
            noise = rng.normal(0.0, 0.1 * s, clean.shape)
            images[c, s] = np.clip(clean + noise, 0.0, 1.0)
    return {"gallery_images": images}


def adversarial_arrays(rng: np.random.Generator, k: int = 4) -> dict[str, np.ndarray]:
    """`adv_*` arrays of k examples in [0, 1] (linf eps 0.1)."""
    clean = rng.random((k, 1, 8, 8)).astype(np.float32)
    delta = rng.choice([-0.1, 0.1], size=clean.shape).astype(np.float32)
    labels = rng.integers(0, 10, k)
    return {
        "adv_clean": clean,
        "adv_perturbed": np.clip(clean + delta, 0.0, 1.0).astype(np.float32),
        "adv_label": labels.astype(np.int64),
        "adv_clean_pred": labels.astype(np.int64),
        "adv_perturbed_pred": ((labels + 1) % 10).astype(np.int64),
    }


def _table(
    rng: np.random.Generator,
    p_correct: dict[str, float],
    n: int = 200,
    confidence: float | None = None,
) -> SampleTable:
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "sample_id",
            "condition",
            "label",
            "prediction",
            "correct",
            "confidence",
            "group:sex",
        )
    }
    for condition, p in p_correct.items():
        correct = rng.random(n) < p
        labels = rng.integers(0, 10, n)
        cols["sample_id"] += [f"s{i:04d}" for i in range(n)]
        cols["condition"] += [condition] * n
        cols["label"] += labels.tolist()
        cols["prediction"] += np.where(correct, labels, (labels + 1) % 10).tolist()
        cols["correct"] += correct.tolist()
        drawn = rng.uniform(0.3, 1.0, n)
        cols["confidence"] += (drawn if confidence is None else np.full(n, confidence)).tolist()
        cols["group:sex"] += [("1" if i % 2 else HOSTILE) for i in range(n)]
    return SampleTable.build(cols)


def write_synthetic_run(
    out: Path,
    *,
    run_id: str = "synthetic-1",
    models: dict[str, float] | None = None,
    flag_model: str | None = None,
    seed: int = 0,
    extras: bool = False,
    variants: dict[str, str] | None = None,
    headline: Headline | None = None,
    confidence: dict[str, float] | None = None,
    notes: dict[tuple[str, str], tuple[str, ...]] | None = None,
    more: dict[tuple[str, str], list[MetricRecord]] | None = None,
) -> Path:
    """A run with two or more models x five suites; returns the run folder. `variants` maps a
    model to its parent (a compressed variant, docs/variants.md); `headline` is stored with the
    task summary (none stored when None, as by an older harness); `confidence`: models whose
    clean confidence is this constant (their ECE, one bin, is |confidence - accuracy|);
    `notes`: the job notes of (model, suite); `more`: further metrics of (model, suite)."""
    more = more or {}
    confidence = confidence or {}
    notes = notes or {}
    variants = variants or {}
    models = models or {"good-model": 0.9, HOSTILE: 0.6, FORMULA: 0.88}
    store = RunStore.open_for_writing(out, run_id)
    rng = np.random.default_rng(seed)
    entries: list[JobEntry] = []
    bound_model = list(models)[-1] if extras else None
    failed_model = list(models)[0] if extras else None
    for model, acc in models.items():
        jobs: list[
            tuple[str, SampleTable | None, list[MetricRecord], dict[str, Any], dict[str, Any]]
        ] = []
        table = _table(rng, {"clean": acc}, confidence=confidence.get(model))
        bins = [
            {
                "bin_lower": b / 5,
                "bin_upper": (b + 1) / 5,
                "count": 40,
                "mean_confidence": b / 5 + 0.1,
                "accuracy": min(1.0, b / 5 + 0.05),
            }
            for b in range(5)
        ]
        clean_acc = float(table.frame["correct"].mean())
        ece = abs(confidence[model] - clean_acc) if model in confidence else 0.05
        jobs.append(
            (
                "accuracy",
                table,
                [
                    _rec("accuracy", "top1_acc", clean_acc),
                    _rec("accuracy", "ece", ece, hib=False),
                ],
                {"reliability_diagram": bins},
                {},
            )
        )
        eps_acc = {0.05: acc * 0.6, 0.1: acc * 0.3}
        adv = _table(rng, {f"attack=linf_pgd/eps={e}": p for e, p in eps_acc.items()})
        adv_recs = [
            _rec(
                "adversarial",
                "robust_acc",
                float(adv.condition(f"attack=linf_pgd/eps={e}")["correct"].mean()),
                condition=f"attack=linf_pgd/eps={e}",
                context={"attack": "linf_pgd", "norm": "linf", "eps": e},
                flags=("gradient_masking_suspected",) if model == flag_model and e == 0.1 else (),
                note=UPPER_BOUND_NOTE if model == bound_model else None,
            )
            for e in eps_acc
        ]
        adv_artifacts: dict[str, Any] = {}
        adv_arrays: dict[str, Any] = {}
        if extras:
            adv_arrays = adversarial_arrays(rng)
            adv_artifacts["adversarial_examples"] = {
                "sample_ids": [f"s{i:04d}" for i in range(4)],
                "attack": "linf_pgd",
                "norm": "linf",
                "eps": 0.1,
                "condition": "attack=linf_pgd/eps=0.1",
            }
        jobs.append(("adversarial", adv, adv_recs, adv_artifacts, adv_arrays))
        conditions = {
            f"corruption={c}/severity={s}": acc - 0.1 * s for c in CORRUPTIONS for s in (1, 2, 3)
        }
        shift = _table(rng, {**({"clean": acc} if extras else {}), **conditions})
        corrupted = shift.frame[shift.frame["condition"] != "clean"]
        mca = float(corrupted["correct"].mean())
        shift_artifacts: dict[str, Any] = {}
        shift_arrays: dict[str, Any] = {}
        if extras:
            shift_arrays = gallery_arrays(rng)
            shift_artifacts["corruption_gallery"] = {
                "corruptions": list(CORRUPTIONS),
                "severities": [0, 1, 2, 3],
                "sample_ids": ["s0000", "s0001", "s0002"],
            }
        jobs.append(
            (
                "shift",
                shift,
                [
                    _rec("shift", "mean_corruption_acc", mca),
                    _rec("shift", "mce", 1.0 - mca, hib=False, unit="ratio", ci=None),
                ],
                shift_artifacts,
                shift_arrays,
            )
        )
        fair = [
            _rec("fairness", "worst_group_acc", acc - 0.1, context={"group": "sex"}),
            _rec(
                "fairness",
                "demographic_parity_difference",
                0.05,
                hib=False,
                context={"group": "sex"},
            ),
        ]
        if extras:
            fair += [
                _rec(
                    "fairness",
                    "group_acc",
                    acc - 0.05 * i,
                    n=100,
                    headline=False,
                    context={"group_by": "sex", "group": value},
                )
                for i, value in enumerate(("1", HOSTILE))
            ]
        if model != failed_model:
            jobs.append(("fairness", None, fair, {}, {}))
        thr = [
            _rec(
                "throughput",
                "throughput_samples_per_s",
                1000.0 * bs**0.5 * acc,
                unit="samples/s",
                headline=bs == 64,
                context={"device": "cpu", "batch_size": bs, "precision": "fp32"},
                **({"ci": (100.0, 5000.0)} if extras and bs == 1 else {}),
            )
            for bs in (1, 8, 64)
        ]
        jobs.append(("throughput", None, thr, {}, {}))
        for suite, tab, metrics, artifacts, arrays in jobs:
            metrics = [*metrics, *more.get((model, suite), [])]
            rec = _record(
                model,
                suite,
                run_id,
                extras=extras,
                parent=variants.get(model),
                headline=headline,
                notes=notes.get((model, suite), ()),
            )
            path = store.write_job(
                record=rec, table=tab, metrics=metrics, artifacts=artifacts, arrays=arrays
            )
            entries.append(job_entry(rec, path.name))
        if model == failed_model:
            rec = _record(model, "fairness", run_id, extras=extras)
            entries.append(
                job_entry(
                    rec, "", status=JobStatus.FAILED, message=FAILED_MESSAGE, key=None, dir=None
                )
            )
    store.write_manifest(
        run_manifest(run_id, entries, device={"type": "cpu", "name": "test <b>cpu</b>"})
    )
    return store.run_dir
