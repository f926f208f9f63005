"""The CI regression gate: compare a current run with a baseline run of the same spec.

Exit codes: 0 pass; 1 when a regression is statistically significant AND beyond the policy's
tolerance (or a floor is crossed), and whenever the gate cannot vouch for the current run (a job
or metric missing, a failed job, a newly raised reliability flag: it fails closed); 2 for
unusable input (different specs or task data, damaged or partial results, a bad policy).

Per-sample metrics are tested pairwise on the same sample ids (exact McNemar for accuracies,
paired bootstrap otherwise), Holm-corrected across all paired tests of the gate; other metrics
use their 95% intervals (a change is significant when the intervals do not overlap; a metric
without an interval is treated as exact). No torch here.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.analysis import paired_tests
from harness.analysis.check_policy import MetricRule, Policy
from harness.core.errors import ResultsError
from harness.core.manifest import JobStatus, RunManifest
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.store.run_store import RunStore, StoredJob, find_run_dirs, read_job

Status = Literal["pass", "fail"]
JobKey = tuple[str, str, str]  # model, task, suite
# Context keys that name the hardware a number was measured on (throughput: the CPU or GPU model
# and the threads). Such a metric is gated only when both runs measured it on the same hardware.
HARDWARE_CONTEXT = ("device_name", "threads")


@dataclass
class LoadedRun:
    """One run folder read for the gate: manifest, finished jobs and failed job entries."""

    path: Path
    manifest: RunManifest
    jobs: dict[JobKey, StoredJob]
    failed: dict[JobKey, str]  # job -> failure message from the manifest

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
    return LoadedRun(path=run_dir, manifest=manifest, jobs=jobs, failed=failed)


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


def ensure_comparable(base: LoadedRun, cur: LoadedRun) -> None:
    """Refuse runs of different specs, task data or suite configs, naming the difference."""
    if base.manifest.spec_hash != cur.manifest.spec_hash:
        diffs = _diff_paths(base.manifest.spec, cur.manifest.spec)
        raise ResultsError(
            "baseline and current ran different specs: "
            + ("; ".join(diffs[:5]) if diffs else "spec hashes differ")
            + (f" (+{len(diffs) - 5} more)" if len(diffs) > 5 else "")
        )
    base_fp = {k[1]: j.record.task_summary.fingerprint for k, j in base.jobs.items()}
    for key, job in cur.jobs.items():
        fp = job.record.task_summary.fingerprint
        if key[1] in base_fp and base_fp[key[1]] != fp:
            raise ResultsError(
                f"task {key[1]!r} has different data in baseline and current (fingerprint "
                f"{base_fp[key[1]][:12]} vs {fp[:12]}); results are not comparable"
            )
        if key in base.jobs:
            b = base.jobs[key].record
            for what, was, now in (
                ("suite version", b.suite_version, job.record.suite_version),
                ("suite config hash", b.suite_config_hash, job.record.suite_config_hash),
            ):
                if was != now:
                    raise ResultsError(
                        f"suite {key[2]!r} {what} differs for {key[0]} on "
                        f"{key[1]}: baseline {was} vs current {now}"
                    )


@dataclass
class CheckRow:
    """One checked item (a metric of a job, or a job-level finding)."""

    model: str
    task: str
    suite: str
    metric: str
    baseline: float | None
    current: float | None
    status: Status
    reason: str
    test: str = ""
    p_value: float | None = None
    p_adjusted: float | None = None
    higher_is_better: bool = True
    rule: MetricRule | None = None

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline


@dataclass
class CheckReport:
    """Everything the gate decided; `exit_code` is 0 or 1 (unusable input raises instead)."""

    rows: list[CheckRow]
    method: str
    baseline: Path
    current: Path
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[CheckRow]:
        return [r for r in self.rows if r.status == "fail"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


@dataclass
class _Pending:
    row: CheckRow
    worse: float
    beyond: bool
    floor_broken: bool
    paired: bool


def _beyond(rule: MetricRule, worse: float, base: float) -> bool:
    limits = []
    if rule.max_drop is not None:
        limits.append(worse > rule.max_drop + 1e-12)
    if rule.max_drop_relative is not None:
        limits.append(worse > rule.max_drop_relative * abs(base) + 1e-12)
    return all(limits) if limits else worse > 0


def _tolerance_text(rule: MetricRule) -> str:
    parts = []
    if rule.max_drop is not None:
        parts.append(f"drop ≤ {rule.max_drop:g}")
    if rule.max_drop_relative is not None:
        parts.append(f"drop ≤ {rule.max_drop_relative:.0%}")
    if rule.floor is not None:
        parts.append(f"floor {rule.floor:g}")
    return ", ".join(parts)


def run_check(
    baseline: Path, current: Path, policy: Policy, *, policy_source: str = "(defaults)"
) -> CheckReport:
    """Compare `current` with `baseline` under `policy`."""
    base = load_run(baseline, "baseline")
    cur = load_run(current, "current")
    ensure_comparable(base, cur)
    metric_names = {m.metric for j in base.jobs.values() for m in j.metrics}
    keys = {m.key for j in base.jobs.values() for m in j.metrics}
    policy.verify_names(metric_names, keys, policy_source)
    rows = _job_rows(base, cur)
    pending: list[_Pending] = []
    for key in sorted(base.jobs):
        if key not in cur.failed:
            rows += _check_job(key, base, cur, policy, pending)
    _decide(pending)
    method = (
        "a metric fails when it is worse by more than the tolerance AND the change is significant: "
        "per-sample metrics paired on the same sample ids (exact McNemar for accuracies, paired "
        f"bootstrap otherwise), Holm-corrected over {sum(p.paired for p in pending)} paired tests; "
        "other metrics by 95%-interval overlap (no interval: exact). A floor fails on the value alone. "
        "Missing jobs/metrics, failed jobs and newly raised reliability flags fail."
    )
    return CheckReport(
        rows=rows,
        method=method,
        baseline=base.path,
        current=cur.path,
        notes=[f"policy: {policy_source}"],
    )


def _job_row(key: JobKey, status: Status, reason: str) -> CheckRow:
    """A job-level finding (failed, missing, new, skipped) rather than a metric."""
    return CheckRow(*key, metric="(job)", baseline=None, current=None, status=status, reason=reason)


def _job_rows(base: LoadedRun, cur: LoadedRun) -> list[CheckRow]:
    """Jobs that failed in either run, and jobs new in the current run."""
    rows = [
        _job_row(key, "fail", f"job failed in the current run: {message}")
        for key, message in sorted(cur.failed.items())
    ]
    rows += [
        _job_row(key, "pass", "job failed in the baseline; not compared")
        for key in sorted(base.failed)
        if key not in cur.failed
    ]
    rows += [
        _job_row(key, "pass", "new job (not in the baseline); not compared")
        for key in sorted(cur.jobs)
        if key not in base.jobs and key not in base.failed
    ]
    return rows


def _check_job(
    key: JobKey, base: LoadedRun, cur: LoadedRun, policy: Policy, pending: list[_Pending]
) -> list[CheckRow]:
    """The rows of one baseline job; metric comparisons still to decide go to `pending`."""
    bjob = base.jobs[key]
    if key not in cur.jobs:
        return [_job_row(key, "fail", "job missing from the current run")]
    cjob = cur.jobs[key]
    rows: list[CheckRow] = []
    if bjob.status != cjob.status:
        fail = cjob.status != JobStatus.COMPLETED
        reason = f"job {bjob.status} in the baseline, {cjob.status} now" + (
            f": {cjob.record.reason}" if cjob.record.reason else ""
        )
        rows.append(_job_row(key, "fail" if fail else "pass", reason))
        if fail:
            return rows
    current_records = {m.key: m for m in cjob.metrics}
    tables = functools.cache(lambda: (base.table(key), cur.table(key)))  # read once, if needed
    for bm in bjob.metrics:
        rule = policy.rule_for(bm.metric, bm.key, bm.unit)
        named = bm.key in policy.metrics or bm.metric in policy.metrics
        if rule.ignore or not (bm.headline or named or policy.include == "all"):
            continue
        row = CheckRow(
            *key,
            metric=bm.key,
            baseline=bm.value,
            current=None,
            status="pass",
            reason="",
            higher_is_better=bm.higher_is_better,
            rule=rule,
        )
        rows.append(row)
        ready = _comparable(row, bm, current_records.get(bm.key), cjob.metrics)
        if ready is not None:
            btable, ctable = tables()
            pending.append(_compare(row, bm, ready, btable, ctable, rule, base.manifest.seed))
    return rows


def _hardware(m: MetricRecord) -> str:
    name, threads = m.context.get("device_name"), m.context.get("threads")
    return f"{name}" + (f", {threads} thread(s)" if threads is not None else "")


def _hardware_twin(row: CheckRow, bm: MetricRecord, current: list[MetricRecord]) -> bool:
    """A hardware-dependent baseline metric measured on other hardware now: the row says so and
    passes (True); False when `bm` is not hardware-dependent or has no such twin."""
    if not any(k in bm.context for k in HARDWARE_CONTEXT):
        return False

    def rest(m: MetricRecord) -> tuple[str, str, list[tuple[str, str]]]:
        ctx = sorted((k, str(v)) for k, v in m.context.items() if k not in HARDWARE_CONTEXT)
        return m.metric, m.condition, ctx

    twin = next((m for m in current if rest(m) == rest(bm)), None)
    if twin is None:
        return False
    row.current = twin.value
    row.reason = (
        f"not gated: measured on different hardware ({_hardware(bm)} in the baseline, "
        f"{_hardware(twin)} now)"
    )
    return True


def _comparable(
    row: CheckRow, bm: MetricRecord, cm: MetricRecord | None, current: list[MetricRecord]
) -> MetricRecord | None:
    """The current record when it can be compared; else None with the row's verdict set."""
    if cm is None:
        if not _hardware_twin(row, bm, current):
            row.status, row.reason = "fail", "metric missing from the current run"
        return None
    row.current = cm.value
    new_flags = sorted(set(cm.flags) - set(bm.flags))
    if new_flags:
        row.status, row.reason = "fail", f"reliability flag newly raised: {', '.join(new_flags)}"
        return None
    if bm.value is None or cm.value is None:
        if bm.value is not None:
            row.status, row.reason = "fail", f"undefined now ({cm.note or 'no value'})"
        else:
            row.reason = "undefined in the baseline; not compared"
        return None
    return cm


def _compare(
    row: CheckRow,
    bm: MetricRecord,
    cm: MetricRecord,
    btable: SampleTable | None,
    ctable: SampleTable | None,
    rule: MetricRule,
    seed: int,
) -> _Pending:
    assert bm.value is not None and cm.value is not None
    ps_b, ps_c = paired_tests.per_sample(bm, btable), paired_tests.per_sample(cm, ctable)
    if ps_b is not None and ps_c is not None:
        res = paired_tests.compare(
            ps_c, ps_b, seed=seed, name=f"check/{row.model}/{row.task}/{bm.key}"
        )
        paired = True
    else:
        res = paired_tests.interval_test(cm, bm)
        paired = False
    row.test, row.p_value = res.test, res.p_value
    delta = cm.value - bm.value
    worse = -delta if bm.higher_is_better else delta
    floor_broken = rule.floor is not None and (
        cm.value < rule.floor if bm.higher_is_better else cm.value > rule.floor
    )
    return _Pending(
        row=row,
        worse=worse,
        beyond=worse > 0 and _beyond(rule, worse, bm.value),
        floor_broken=floor_broken,
        paired=paired,
    )


def _decide(pending: list[_Pending]) -> None:
    """Holm-adjust the paired tests' p-values, then settle each pending row."""
    from harness.analysis.intervals import holm

    paired = [p for p in pending if p.paired]
    for p, adj in zip(
        paired, holm([p.row.p_value or 1.0 for p in paired]) if paired else [], strict=True
    ):
        p.row.p_adjusted = adj
    for p in pending:
        _settle(p)


def _settle(p: _Pending) -> None:
    """A compared metric's verdict: floor, significant regression beyond tolerance, or pass."""
    row, rule = p.row, p.row.rule
    assert rule is not None and rule.alpha is not None
    p_eff = row.p_adjusted if p.paired else row.p_value
    significant = p_eff is not None and p_eff < rule.alpha
    if p.floor_broken:
        row.status, row.reason = (
            "fail",
            f"below the floor {rule.floor:g}"
            if row.higher_is_better
            else f"above the ceiling {rule.floor:g}",
        )
    elif p.worse > 0 and significant and p.beyond:
        row.status = "fail"
        row.reason = f"significant regression beyond tolerance ({_tolerance_text(rule)})"
    elif p.worse > 0 and p.beyond:
        row.reason = (
            f"worse beyond tolerance but not significant (p={p_eff:.3g}, alpha={rule.alpha:g})"
        )
    elif p.worse > 0:
        row.reason = f"within tolerance ({_tolerance_text(rule)})" + (
            " though significant" if significant else ""
        )
    elif p.worse < 0:
        row.reason = "improved" + (" (significant)" if significant else "")
    else:
        row.reason = "unchanged"
