"""`EvaluationResult.save`: a Python evaluation written as a run folder, like `harness run`'s.

Each suite becomes a job folder with the same job record a run writes (its key from
`harness.config.plan.job_key` over the same inputs: model identity, task fingerprint, suite
version and config, seed, device, bootstrap resamples, batch size), and the manifest lists them
as planned and finished. Jobs are written first and the manifest last, so a save that fails half
way never leaves a run that looks complete. The run id hashes the evaluation's spec (model and
task names, suites and settings) with the model's identity, the task's fingerprint and the prints
of the training split its jobs read: saving the same evaluation again rewrites its folder, another
model, other data or another training split gets its own.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.config.plan import job_key
from harness.core.manifest import (
    SCHEMA_VERSION,
    Attempt,
    JobEntry,
    JobHeader,
    JobStatus,
    ModelDescription,
    PlannedJob,
    RunManifest,
    RunStatus,
    TaskSummary,
)
from harness.core.task import TRAIN_SPLIT
from harness.core.version import __version__
from harness.run.environment import device_info, git_sha, package_versions, resolve_device
from harness.run.evaluation import Evaluation, Provenance
from harness.run.lock import RunLock
from harness.store.run_store import RunStore

if TYPE_CHECKING:
    from harness.core.task import Task


def write_run(result: Evaluation, facts: Provenance, out: Path) -> Path:
    """Write `result` under `out/runs/<run_id>/` and return the run folder."""
    task = facts.task
    summary = task.summary()  # computes the content fingerprint once
    spec = _spec(result, facts, task)
    spec_hash = _sha256(spec)
    inputs = facts.input_fingerprints
    if inputs is None:
        inputs = {name: dict(s.input_fingerprints(task)) for name, s in facts.suites.items()}
    # one folder per distinct evaluation: the spec names the model and the task as a spec file
    # would (so `harness check` compares a retrained model's runs), the folder their content
    content = {"spec": spec, "model": facts.model_identity, "task": summary.fingerprint}
    trains = {n: p[TRAIN_SPLIT] for n, p in inputs.items() if TRAIN_SPLIT in p}
    if trains:  # the task's fingerprint leaves its training split out: another one is its own run
        content["train"] = trains
    run_id = f"{spec['name']}-{_sha256(content)[:12]}"
    store = RunStore.open_for_writing(out, run_id)
    try:
        with RunLock(store.run_dir):
            store.remove_leftovers()
            entries = [
                _write_job(result, facts, store, run_id, name, summary, inputs[name])
                for name in facts.suites
            ]
            store.write_file("spec.yaml", yaml.safe_dump(spec, sort_keys=False))
            store.write_manifest(_manifest(facts, run_id, spec, spec_hash, entries))
    except BaseException:
        if store.created:  # a new folder that never got its manifest: no half run is left
            shutil.rmtree(store.run_dir, ignore_errors=True)
        raise
    return store.run_dir


def _sha256(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _spec(result: Evaluation, facts: Provenance, task: Task) -> dict[str, Any]:
    """What the manifest records as the run's spec: the evaluation as data, with the model and
    the task by name and origin (their content is in each job record)."""
    return {
        "name": f"python-{result.model}-{task.name}",
        "source": "harness.evaluate",
        "models": [{"name": result.model, "origin": facts.model_origin}],
        "tasks": [{"name": task.name, "source": task.source}],
        "suites": {
            name: suite.config.model_dump(mode="json") for name, suite in facts.suites.items()
        },
        "seed": facts.seed,
        "device": facts.device,
        "batch_size": facts.batch_size,
        "bootstrap_resamples": facts.bootstrap_resamples,
        "limit": task.limit,
    }


def _write_job(
    result: Evaluation,
    facts: Provenance,
    store: RunStore,
    run_id: str,
    name: str,
    summary: TaskSummary,
    inputs: dict[str, str],  # shifted tasks, OOD sets, the training split: in the key
) -> JobEntry:
    suite = facts.suites[name]
    key = job_key(
        model_identity=facts.model_identity,
        task_fingerprint=summary.fingerprint,
        suite=suite,
        seed=facts.seed,
        device_type=facts.device,
        bootstrap_resamples=facts.bootstrap_resamples,
        harness_version=__version__,
        batch_size=facts.batch_size,
        input_fingerprints=inputs,
        headline=summary.headline,
        group_labels=summary.group_labels,
        group_notes=summary.group_notes,
        class_names=summary.class_names,
    )
    header = JobHeader(
        key=key,
        run_id=run_id,
        model=result.model,
        task=result.task,
        suite=name,
        suite_version=suite.version,
        suite_config=suite.config.model_dump(mode="json"),
        suite_config_hash=suite.config_hash,
        task_summary=summary,
        model_description=ModelDescription.model_validate(facts.model_description),
        model_origin=facts.model_origin,
        seed=facts.seed,
        device=facts.device,
        harness_version=__version__,
        started=facts.started,
    )
    if inputs:  # absent when the suite read no other task, as the runner writes it
        header = header.replace(input_fingerprints=inputs)
    seconds = facts.seconds.get(name, 0.0)
    if name in result.skipped:
        reason = result.skipped[name]
        record = header.finish(JobStatus.SKIPPED, reason=reason, seconds=seconds)
        path = store.write_job(record=record, table=None, metrics=[], artifacts={})
        message = reason
    else:
        done = result.results[name]
        notes = [*done.notes, *facts.task.group_problems.values()]
        record = header.finish(
            JobStatus.COMPLETED, seconds=seconds, finished=facts.finished, notes=notes
        )
        path = store.write_job(
            record=record,
            table=done.table,
            metrics=done.metrics,
            artifacts=done.artifacts,
            arrays=done.arrays,
        )
        message = "; ".join(done.notes)
    return JobEntry(
        model=result.model,
        task=result.task,
        suite=name,
        status=record.status,
        seconds=seconds,
        message=message,
        key=key,
        dir=path.name,
    )


def _manifest(
    facts: Provenance,
    run_id: str,
    spec: dict[str, Any],
    spec_hash: str,
    entries: list[JobEntry],
) -> RunManifest:
    return RunManifest(
        schema_version=SCHEMA_VERSION,
        run_id=run_id,
        spec_name=spec["name"],
        spec_hash=spec_hash,
        spec=spec,
        created=facts.started,
        updated=facts.finished,
        harness_version=__version__,
        versions=package_versions(),
        device=device_info(resolve_device(facts.device)),
        seed=facts.seed,
        git_sha=git_sha(),
        execution={"executor": "python"},
        status=RunStatus.COMPLETED,
        attempts=(
            Attempt(
                started=facts.started,
                executor="python",
                finished=facts.finished,
                status=RunStatus.COMPLETED,
            ),
        ),
        jobs=tuple(entries),
        planned=tuple(PlannedJob(model=e.model, task=e.task, suite=e.suite) for e in entries),
    )
