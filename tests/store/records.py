"""Typed records for tests that write results without running models (synthetic runs)."""

from __future__ import annotations

from typing import Any

from harness.core.manifest import (
    SCHEMA_VERSION,
    Attempt,
    JobEntry,
    JobRecord,
    JobStatus,
    ModelDescription,
    RunManifest,
    RunStatus,
    TaskSummary,
)

WHEN = "2026-01-01T00:00:00+00:00"


def task_summary(
    name: str = "digits", *, fingerprint: str = "f" * 64, **changes: Any
) -> TaskSummary:
    fields: dict[str, Any] = {
        "name": name,
        "modality": "image",
        "n": 200,
        "num_classes": 10,
        "input_shape": (1, 8, 8),
        "bounds": (0.0, 1.0),
        "group_columns": (),
        "fingerprint": fingerprint,
        "source": "test",
        "limit": None,
    }
    return TaskSummary.model_validate({**fields, **changes})


def job_record(
    model: str,
    suite: str,
    *,
    run_id: str = "r1",
    task: str = "digits",
    status: JobStatus = JobStatus.COMPLETED,
    summary: TaskSummary | None = None,
    description: dict[str, Any] | None = None,
    **changes: Any,
) -> JobRecord:
    """A completed (or skipped) job record; `changes` override any field."""
    fields: dict[str, Any] = {
        "key": f"{model}-{suite}-{run_id}-{'0' * 20}",
        "run_id": run_id,
        "model": model,
        "task": task,
        "suite": suite,
        "suite_version": "1",
        "suite_config": {},
        "suite_config_hash": "c" * 64,
        "task_summary": summary or task_summary(task),
        "model_description": ModelDescription.model_validate(description or {}),
        "model_origin": "spec",
        "seed": 0,
        "device": "cpu",
        "harness_version": "0.1.0",
        "started": WHEN,
        "status": status,
        "seconds": 1.0,
    }
    if status == JobStatus.COMPLETED:
        fields.update(finished="2026-01-01T00:00:01+00:00", notes=())
    return JobRecord.model_validate({**fields, **changes})


def job_entry(record: JobRecord, folder: str, **changes: Any) -> JobEntry:
    """The manifest line of a stored job."""
    fields: dict[str, Any] = {
        "model": record.model,
        "task": record.task,
        "suite": record.suite,
        "status": record.status,
        "seconds": record.seconds,
        "message": "",
        "key": record.key,
        "dir": folder,
    }
    return JobEntry.model_validate({**fields, **changes})


def run_manifest(run_id: str, jobs: list[JobEntry], **changes: Any) -> RunManifest:
    """A completed run's manifest over `jobs`; `changes` override any field."""
    fields: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "spec_name": "synthetic",
        "spec_hash": "9" * 64,
        "spec": {"name": "synthetic"},
        "created": WHEN,
        "updated": WHEN,
        "harness_version": "0.1.0",
        "versions": {"torch": "x", "harness": "0.1.0"},
        "device": {"type": "cpu", "name": "cpu"},
        "seed": 0,
        "git_sha": "deadbeef",
        "execution": {"executor": "local"},
        "status": RunStatus.COMPLETED,
        "attempts": (
            Attempt(started=WHEN, executor="local", finished=WHEN, status=RunStatus.COMPLETED),
        ),
        "jobs": tuple(jobs),
    }
    return RunManifest.model_validate({**fields, **changes})
