"""Synthetic stored runs covering every suite's result shape (written with RunStore.write_job).

Used to test leaderboards, reports and the gate without running models: accuracy (reliability
bins, group columns), adversarial (robust_acc per eps with a reliability flag), shift (corruption
x severity conditions), fairness (group-context metrics) and throughput (no table).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.core.manifest import JobEntry, JobRecord
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
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


def _record(model: str, suite: str, run_id: str) -> JobRecord:
    return job_record(
        model,
        suite,
        run_id=run_id,
        summary=task_summary("digits", fingerprint=FINGERPRINT),
        description={"weights_sha256": "a" * 64},
    )


def _table(rng: np.random.Generator, p_correct: dict[str, float], n: int = 200) -> SampleTable:
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
        cols["confidence"] += rng.uniform(0.3, 1.0, n).tolist()
        cols["group:sex"] += [("1" if i % 2 else HOSTILE) for i in range(n)]
    return SampleTable.build(cols)


def write_synthetic_run(
    out: Path,
    *,
    run_id: str = "synthetic-1",
    models: dict[str, float] | None = None,
    flag_model: str | None = None,
    seed: int = 0,
) -> Path:
    """A run with two or more models x five suites; returns the run folder."""
    models = models or {"good-model": 0.9, HOSTILE: 0.6, FORMULA: 0.88}
    store = RunStore.open_for_writing(out, run_id)
    rng = np.random.default_rng(seed)
    entries: list[JobEntry] = []
    for model, acc in models.items():
        jobs: list[tuple[str, SampleTable | None, list[MetricRecord], dict[str, Any]]] = []
        table = _table(rng, {"clean": acc})
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
        jobs.append(
            (
                "accuracy",
                table,
                [_rec("accuracy", "top1_acc", clean_acc), _rec("accuracy", "ece", 0.05, hib=False)],
                {"reliability_diagram": bins},
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
            )
            for e in eps_acc
        ]
        jobs.append(("adversarial", adv, adv_recs, {}))
        shift = _table(
            rng,
            {
                f"corruption={c}/severity={s}": acc - 0.1 * s
                for c in ("fog", "gaussian_noise")
                for s in (1, 2, 3)
            },
        )
        mca = float(shift.frame["correct"].mean())
        jobs.append(
            (
                "shift",
                shift,
                [
                    _rec("shift", "mean_corruption_acc", mca),
                    _rec("shift", "mce", 1.0 - mca, hib=False, unit="ratio", ci=None),
                ],
                {},
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
        jobs.append(("fairness", None, fair, {}))
        thr = [
            _rec(
                "throughput",
                "throughput_samples_per_s",
                1000.0 * bs**0.5 * acc,
                unit="samples/s",
                headline=bs == 64,
                context={"device": "cpu", "batch_size": bs, "precision": "fp32"},
            )
            for bs in (1, 8, 64)
        ]
        jobs.append(("throughput", None, thr, {}))
        for suite, tab, metrics, artifacts in jobs:
            rec = _record(model, suite, run_id)
            path = store.write_job(record=rec, table=tab, metrics=metrics, artifacts=artifacts)
            entries.append(job_entry(rec, path.name))
    store.write_manifest(
        run_manifest(run_id, entries, device={"type": "cpu", "name": "test <b>cpu</b>"})
    )
    return store.run_dir
