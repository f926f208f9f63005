"""A stored run of `shift` jobs from per-sample outcomes, with the job's config and notes (for
boards, their CSV / JSON and the report, without running models)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.core.manifest import JobEntry
from harness.store.run_store import RunStore
from tests.store.records import job_entry, job_record, run_manifest, task_summary
from tests.suites.shift.test_cross_model import _records_and_table

TASK = "colours"


def write_shift_run(
    out: Path,
    outcomes: dict[str, dict[str, np.ndarray]],
    *,
    config: dict[str, Any] | None = None,
    notes: dict[str, list[str]] | None = None,
    resamples: int = 100,
) -> Path:
    """One run: a `shift` job per model on task `colours`, its records and table from
    `outcomes` (condition -> correctness per sample), `config` as the stored suite config."""
    store = RunStore.open_for_writing(out, "shift-run")
    entries: list[JobEntry] = []
    for model, by_condition in outcomes.items():
        records, table = _records_and_table(by_condition)
        record = job_record(
            model,
            "shift",
            run_id="shift-run",
            task=TASK,
            summary=task_summary(TASK, n=len(next(iter(by_condition.values())))),
            suite_config=config or {},
            notes=tuple((notes or {}).get(model, [])),
        )
        path = store.write_job(record=record, table=table, metrics=records, artifacts={})
        entries.append(job_entry(record, path.name))
    spec = {"name": "shift-run", "bootstrap_resamples": resamples}
    store.write_manifest(run_manifest("shift-run", entries, spec=spec))
    return store.run_dir
