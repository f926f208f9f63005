"""Run a plan: build adapters and tasks, run each job, write results, record everything.

The runner is the one place that catches errors per job: a failing job is recorded in the manifest
with its cause, the run goes on (unless `fail_fast`), and the run's exit status says so. Jobs whose
results already exist with the same key are skipped, so an interrupted run resumes where it was.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from harness import __version__
from harness.adapter import ModelAdapter, check_fits_task
from harness.environment import device_info, git_sha, package_versions, resolve_device
from harness.errors import HarnessError
from harness.plan import Job, Plan, job_key
from harness.store import SCHEMA_VERSION, RunStore
from harness.suite import RunContext
from harness.task import Task

log = logging.getLogger(__name__)
JobStatus = Literal["completed", "skipped", "cached", "failed"]


@dataclass
class JobOutcome:
    job: Job
    status: JobStatus
    seconds: float = 0.0
    message: str = ""
    key: str | None = None
    path: str | None = None
    detail: str | None = None  # traceback of an unexpected error (a bug), for the manifest


@dataclass
class RunOutcome:
    run_id: str
    run_dir: Path
    outcomes: list[JobOutcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.failed else 0


@dataclass
class RunEvents:
    """Callbacks for whoever shows progress (the CLI); all optional."""

    job_started: Callable[[int, int, Job], None] | None = None
    job_finished: Callable[[int, int, JobOutcome], None] | None = None
    samples_done: Callable[[int], None] | None = None


def run_id_for(plan: Plan) -> str:
    return f"{plan.spec.name}-{plan.spec_hash()[:12]}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Runner:
    """Executes a plan locally, one job at a time."""

    def __init__(self, plan: Plan, *, out_dir: Path, fail_fast: bool = False, events: RunEvents | None = None) -> None:
        self.plan = plan
        self.out_dir = out_dir
        self.fail_fast = fail_fast
        self.events = events or RunEvents()
        self.device = resolve_device(plan.spec.device)
        self._adapters: dict[str, ModelAdapter | HarnessError] = {}
        self._tasks: dict[str, Task | HarnessError] = {}

    # -- building blocks (cached per run) --------------------------------------------------
    def adapter(self, name: str) -> ModelAdapter:
        if name not in self._adapters:
            mp = self.plan.models[name]
            try:
                self._adapters[name] = mp.adapter_cls.build(
                    name=name, config=mp.config, device=self.device, base_dir=self.plan.base_dir
                )
            except HarnessError as err:
                self._adapters[name] = err
        got = self._adapters[name]
        if isinstance(got, HarnessError):
            raise got
        return got

    def task(self, name: str) -> Task:
        if name not in self._tasks:
            try:
                self._tasks[name] = self.plan.tasks[name].load().head(self.plan.spec.limit)
            except HarnessError as err:
                self._tasks[name] = err
        got = self._tasks[name]
        if isinstance(got, HarnessError):
            raise got
        return got

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> RunOutcome:
        spec = self.plan.spec
        run_id = run_id_for(self.plan)
        store = RunStore.open_for_writing(self.out_dir, run_id)
        previous = store.read_manifest() or {}
        manifest: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "run_id": run_id,
            "spec_name": spec.name,
            "spec_hash": self.plan.spec_hash(),
            "spec": spec.model_dump(mode="json"),
            "created": previous.get("created", _now()),
            "updated": _now(),
            "harness_version": __version__,
            "versions": package_versions(),
            "device": device_info(self.device),
            "seed": spec.seed,
            "git_sha": git_sha(),
            "status": "running",
            "attempts": [*previous.get("attempts", []), {"started": _now()}],
            "jobs": [],
        }
        (store.run_dir / "spec.yaml").write_text(yaml.safe_dump(manifest["spec"], sort_keys=False))
        store.write_manifest(manifest)
        outcome = RunOutcome(run_id=run_id, run_dir=store.run_dir)
        total = len(self.plan.jobs)
        try:
            for i, job in enumerate(self.plan.jobs, start=1):
                if self.events.job_started:
                    self.events.job_started(i, total, job)
                result = self._run_job(job, store)
                outcome.outcomes.append(result)
                manifest["jobs"] = [_job_entry(o) for o in outcome.outcomes]
                manifest["updated"] = _now()
                store.write_manifest(manifest)
                if self.events.job_finished:
                    self.events.job_finished(i, total, result)
                if result.status == "failed" and self.fail_fast:
                    break
        except KeyboardInterrupt:
            outcome.interrupted = True
        manifest["status"] = (
            "interrupted" if outcome.interrupted else "failed" if outcome.failed else "completed"
        )
        if self.fail_fast and outcome.failed and len(outcome.outcomes) < total:
            manifest["status"] = "stopped (fail-fast)"
        manifest["attempts"][-1]["finished"] = _now()
        manifest["attempts"][-1]["status"] = manifest["status"]
        manifest["updated"] = _now()
        store.write_manifest(manifest)
        return outcome

    def _run_job(self, job: Job, store: RunStore) -> JobOutcome:
        started = time.perf_counter()
        suite = self.plan.suites[job.suite]
        key = None
        try:
            adapter = self.adapter(job.model)
            task = self.task(job.task)
            key = job_key(
                model_identity=adapter.identity(),
                task_fingerprint=task.fingerprint,
                suite=suite,
                seed=self.plan.spec.seed,
                device_type=self.device.type,
                bootstrap_resamples=self.plan.spec.bootstrap_resamples,
                harness_version=__version__,
            )
            cached = store.completed(job.model, job.task, job.suite, key)
            if cached is not None:
                return JobOutcome(job, "cached", 0.0, "results with the same key exist; skipped", key, cached.path.name)
            record: dict[str, Any] = {
                "key": key,
                "run_id": store.run_dir.name,
                "model": job.model,
                "task": job.task,
                "suite": job.suite,
                "suite_version": suite.version,
                "suite_config": suite.config.model_dump(mode="json"),
                "suite_config_hash": suite.config_hash,
                "task_summary": task.summary(),
                "model_description": adapter.describe(),
                "model_origin": self.plan.models[job.model].origin,
                "seed": self.plan.spec.seed,
                "device": self.device.type,
                "harness_version": __version__,
                "started": _now(),
            }
            check_fits_task(adapter, task)
            # a model that cannot be built as asked (e.g. an int8 variant without Linear layers)
            reason = getattr(adapter, "unavailable_reason", None) or suite.skip_reason(adapter, task)
            if reason is not None:
                record.update(status="skipped", reason=reason, seconds=time.perf_counter() - started)
                path = store.write_job(record=record, table=None, metrics=[], artifacts={})
                return JobOutcome(job, "skipped", record["seconds"], reason, key, path.name)
            ctx = RunContext(
                seed=self.plan.spec.seed,
                device=self.device,
                batch_size=self.plan.spec.batch_size,
                bootstrap_resamples=self.plan.spec.bootstrap_resamples,
                progress=self.events.samples_done,
            )
            result = suite.run(adapter, task, ctx)
            table = result.table.with_groups(task.groups()) if result.table is not None else None
            seconds = time.perf_counter() - started
            record.update(status="completed", seconds=seconds, finished=_now(), notes=result.notes)
            path = store.write_job(record=record, table=table, metrics=result.metrics, artifacts=result.artifacts)
            return JobOutcome(job, "completed", seconds, "; ".join(result.notes), key, path.name)
        except HarnessError as err:
            return JobOutcome(job, "failed", time.perf_counter() - started, str(err), key)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as err:  # the runner is the one place that records per-job failures
            log.error("job %s failed:\n%s", job.label, traceback.format_exc())
            return JobOutcome(
                job,
                "failed",
                time.perf_counter() - started,
                f"{type(err).__name__}: {err}",
                key,
                detail=traceback.format_exc(),
            )


def _job_entry(o: JobOutcome) -> dict[str, Any]:
    return {
        "model": o.job.model,
        "task": o.job.task,
        "suite": o.job.suite,
        "status": o.status,
        "seconds": round(o.seconds, 4),
        "message": o.message,
        "key": o.key,
        "dir": o.path,
        **({"traceback": o.detail} if o.detail else {}),
    }
