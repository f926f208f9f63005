"""The two run folders the CI gate compares: reading them (fail closed) and checking that they
ran the same spec on the same data with the same suite versions and configs. No torch here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import ResultsError
from harness.core.manifest import JobStatus, RunManifest
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.store.recency import unlisted_time
from harness.store.run_store import RunStore, StoredJob, find_run_dirs, read_job

JobKey = tuple[str, str, str]  # model, task, suite


@dataclass
class LoadedRun:
    """One run folder read for the gate: manifest, finished jobs and failed job entries."""

    path: Path
    manifest: RunManifest
    jobs: dict[JobKey, StoredJob]
    failed: dict[JobKey, str]  # job -> failure message from the manifest

    @property
    def models(self) -> set[str]:
        """Every model of the run, finished or failed."""
        return {k[0] for k in self.jobs} | {k[0] for k in self.failed}

    def records(self) -> list[MetricRecord]:
        return [m for job in self.jobs.values() for m in job.metrics]

    def table(self, key: JobKey) -> SampleTable | None:
        job = self.jobs[key]
        path = job.path / "samples.parquet"
        if not path.is_file():
            return None
        try:
            return job.table()
        except (OSError, ValueError) as err:
            raise ResultsError(f"results file {path} is unreadable ({err})") from None


def load_run(root: Path, what: str) -> LoadedRun:
    """Read exactly one run folder; partial or damaged results are a ResultsError naming the file."""
    runs = find_run_dirs(root)
    if len(runs) != 1:
        raise ResultsError(
            f"{what} folder {root} holds {len(runs)} runs ({', '.join(p.name for p in runs)}); "
            "pass one run folder (results/runs/<run_id>)"
        )
    run_dir = runs[0]
    manifest = RunStore(run_dir).read_manifest()
    if manifest is None:
        raise ResultsError(f"{what} run {run_dir} has no usable manifest.json")
    if manifest.partial:
        raise ResultsError(
            f"{what} run {run_dir / 'manifest.json'} is partial (status {manifest.status}); "
            "finish it (rerun the same command to resume) before checking"
        )
    jobs: dict[JobKey, StoredJob] = {}
    failed: dict[JobKey, str] = {}
    for entry in manifest.jobs:
        key = entry.names
        if entry.status == JobStatus.FAILED:
            failed[key] = entry.message or "failed"
            continue
        folder = run_dir / "jobs" / (entry.dir or "")
        if not entry.dir or not (folder / "job.json").is_file():
            raise ResultsError(
                f"{what} run is partial: job {'/'.join(key)} is listed in {run_dir / 'manifest.json'} "
                f"but {folder / 'job.json'} is missing"
            )
        jobs[key] = read_job(folder)
    jobs.update(_earlier_invocations(run_dir, manifest))
    return LoadedRun(path=run_dir, manifest=manifest, jobs=jobs, failed=failed)


def _earlier_invocations(run_dir: Path, manifest: RunManifest) -> dict[JobKey, StoredJob]:
    """Jobs of the run folder that its manifest does not name: an earlier invocation of the same
    spec with other filters (`--models`, `--tasks`, `--suites`) wrote them, and each invocation
    rewrites the manifest's job list. They belong to the run as the leaderboard reads it
    (`load_jobs`); of several folders of one job, the latest recorded (`recency`)."""
    named = {e.names for e in manifest.jobs}
    listed = {e.dir for e in manifest.jobs if e.dir}
    jobs_dir = run_dir / "jobs"
    found: dict[JobKey, tuple[str, StoredJob]] = {}
    if not jobs_dir.is_dir():
        return {}
    for path in sorted(jobs_dir.iterdir()):
        if path.name in listed or path.name.startswith(".") or not path.is_dir():
            continue  # read above, or a temporary folder of an interrupted write
        if not (path / "job.json").exists():
            continue  # not a job's folder
        job = read_job(path)
        key = (job.record.model, job.record.task, job.record.suite)
        when = unlisted_time(job.record)
        if key not in named and (key not in found or found[key][0] <= when):
            found[key] = (when, job)
    return {key: job for key, (_, job) in found.items()}


def _diff_paths(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b), key=str):
            out += _diff_paths(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            name = (
                x.get("name")
                if isinstance(x, dict) and isinstance(y, dict) and x.get("name") == y.get("name")
                else i
            )
            out += _diff_paths(x, y, f"{prefix}[{name}]")
        return out
    return (
        []
        if a == b
        else [f"{prefix} ({json.dumps(a, default=str)} vs {json.dumps(b, default=str)})"]
    )


def _device_hint(base_spec: Any, cur_spec: Any) -> str:
    """What to do when only the devices differ: a CPU baseline does not gate a GPU run (other
    kernels move logits in the last bits, so attacks and ties can land elsewhere)."""
    if not (isinstance(base_spec, dict) and isinstance(cur_spec, dict)):
        return ""
    was, now = base_spec.get("device"), cur_spec.get("device")
    if was == now:
        return ""
    return (
        f"; numbers from different devices are not compared: make the baseline on {now!r} "
        f"(harness run SPEC --device {now} --out DIR), or run the current on {was!r} "
        f"(--device {was})"
    )


def ensure_comparable(base: LoadedRun, cur: LoadedRun) -> None:
    """Refuse runs of different specs, task data or suite versions or configs, naming the
    difference (every suite whose version or config moved, as after upgrading the harness)."""
    if base.manifest.spec_hash != cur.manifest.spec_hash:
        diffs = _diff_paths(base.manifest.spec, cur.manifest.spec)
        raise ResultsError(
            "baseline and current ran different specs: "
            + ("; ".join(diffs[:5]) if diffs else "spec hashes differ")
            + (f" (+{len(diffs) - 5} more)" if len(diffs) > 5 else "")
            + _device_hint(base.manifest.spec, cur.manifest.spec)
        )
    base_fp = {k[1]: j.record.task_summary.fingerprint for k, j in base.jobs.items()}
    moved: dict[str, None] = {}  # suite version / config changes, in words, once each
    for key, job in cur.jobs.items():
        fp = job.record.task_summary.fingerprint
        if key[1] in base_fp and base_fp[key[1]] != fp:
            raise ResultsError(
                f"task {key[1]!r} has different data in baseline and current (fingerprint "
                f"{base_fp[key[1]][:12]} vs {fp[:12]}); results are not comparable"
            )
        if key in base.jobs:
            b = base.jobs[key].record
            if b.suite_version != job.record.suite_version:
                moved.setdefault(
                    f"{key[2]} version {b.suite_version} vs {job.record.suite_version}", None
                )
            if b.suite_config_hash != job.record.suite_config_hash:
                was, now = b.suite_config_hash[:12], job.record.suite_config_hash[:12]
                moved.setdefault(f"{key[2]} config {was} vs {now}", None)
    if moved:
        raise ResultsError(
            f"baseline {base.path} was measured with other suite versions or configs than "
            f"current {cur.path}: {', '.join(sorted(moved))}; numbers of different suite "
            "versions or configs are not compared: make the baseline again with the harness "
            "that wrote the current run (harness run SPEC --out BASELINE)"
        )
