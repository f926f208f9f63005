"""The CI regression gate: compare a current run with a baseline run of the same spec.

Exit codes: 0 pass; 1 when a regression is statistically significant AND beyond the policy's
tolerance (or a floor is crossed), and whenever the gate cannot vouch for the current run (a job
missing, a checked metric that one run has and the other lacks, a failed job, a reliability flag
on a checked metric that the policy does not accept for that model: it fails closed); 2 for
unusable input (different specs or task data, damaged or partial results, a bad policy). A flag
that the baseline had on the same model and metric is shown as still flagged and does not fail
the gate without a policy file (a policy's `baseline_flags` decides); the metric is compared as
usual.

Each metric gets the best test its stored results allow (harness.analysis.paired_tests): paired
on the same sample ids where the per-sample tables allow it (exact McNemar, paired sign-flip,
paired resampling of whole-table statistics such as ECE, fairness disparities and OOD AUROC),
Mann-Whitney on timing rounds, an interval z-test for other numbers with intervals. A number
without any of these gets NO test and is never called significant. All p-values of one gate are
Holm-corrected together. Every tested metric states its minimum detectable effect
(harness.analysis.power), and the report summarises them per family. No torch here.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from harness.analysis import paired_tests, power
from harness.analysis.check_policy import MetricRule, Policy
from harness.analysis.flags import KNOWN_FLAGS
from harness.analysis.gate_runs import JobKey, LoadedRun, ensure_comparable, load_run
from harness.analysis.paired_tests import p_or_one
from harness.core.board_notes import (
    BATCH_DEPENDENT_MARK,
    ONE_CLASS_DISPARITIES,
    ONE_CLASS_MARK,
    RANDOMISED_MARK,
    board_note_text,
)
from harness.core.errors import ConfigError, ResultsError
from harness.core.manifest import JobStatus
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.core.suite_board import SuiteConfigs, read_config
from harness.core.timing_context import TimingContext
from harness.stats import timing
from harness.stats.intervals import holm
from harness.stats.shared_draws import SharedDraws
from harness.store.run_store import TABLE_FILE, StoredJob, find_run_dirs

__all__ = [
    "JOB_ROW",
    "P_HOLM",
    "CheckReport",
    "CheckRow",
    "LoadedRun",
    "ensure_comparable",
    "load_run",
    "run_check",
]

Status = Literal["pass", "fail"]
# Context keys that name the hardware a number was measured on (throughput: the CPU or GPU model
# and the threads). Such a metric is gated only when both runs measured it on the same hardware.
HARDWARE_CONTEXT = ("device_name", "threads")
JOB_ROW = "(job)"  # the metric of a job-level row (a failed, missing, new or skipped job)
P_HOLM = "p_holm"
"""What every output of the gate calls the p-value it shows: Holm-adjusted over all the gate's
tests, never the test's own (a bare `p=` read as the unadjusted p-value)."""


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
    mde: float | None = None  # minimum detectable change (metric units) at Holm's first step
    churn: float | None = None  # the discordance McNemar's MDE assumes (harness.analysis.power)
    unit: str = ""
    n: int = 0
    # flags the current metric carries that the baseline had on it too (tolerated, still shown)
    still_flagged: tuple[str, ...] = ()
    # the test's 95% interval of the change (current - baseline) and what it is a change of
    # when that is not the number shown (paired resampling tests the debiased ECE)
    ci: tuple[float, float] | None = None
    statistic: str = ""
    # a hardware-dependent metric measured on other hardware now: (the baseline's, the current
    # run's), not compared (passes, counted apart)
    other_hardware: tuple[str, str] | None = None
    # undefined in the baseline and held to no floor (or undefined now too): nothing was judged
    undefined_before: bool = False

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
    power: list[str] = field(default_factory=list)  # per test family: what a pass can miss
    # the runs as the gate read them (the headline's rows are picked from the current one; the
    # baseline names the headline's key where every current job of it failed)
    current_run: LoadedRun | None = field(default=None, repr=False, compare=False)
    baseline_run: LoadedRun | None = field(default=None, repr=False, compare=False)

    @property
    def failures(self) -> list[CheckRow]:
        return [r for r in self.rows if r.status == "fail"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    @property
    def still_flagged(self) -> list[CheckRow]:
        """Rows whose reliability flags the baseline had too (tolerated, not failed for them)."""
        return [r for r in self.rows if r.still_flagged]

    @property
    def not_gated(self) -> list[CheckRow]:
        """Rows measured on other hardware than the baseline's: passed without a comparison."""
        return [r for r in self.rows if r.other_hardware is not None]

    @property
    def not_compared(self) -> list[CheckRow]:
        """Rows passed with nothing to compare them with: a job new in the current run or
        failed (or skipped) in the baseline, a metric undefined in the baseline and held to no
        floor (the rows measured on other hardware are `not_gated`)."""
        return [
            r
            for r in self.rows
            if r.status == "pass" and (r.metric == JOB_ROW or r.undefined_before)
        ]


@dataclass
class _Pending:
    row: CheckRow
    result: paired_tests.PairedResult
    worse: float
    beyond: bool
    floor_broken: bool


def _beyond(rule: MetricRule, worse: float, base: float) -> bool:
    limits = []
    if rule.max_drop is not None:
        limits.append(worse > rule.max_drop + 1e-12)
    if rule.max_drop_relative is not None:
        limits.append(worse > rule.max_drop_relative * abs(base) + 1e-12)
    return all(limits) if limits else worse > 0


def _tolerance_text(rule: MetricRule, higher_is_better: bool) -> str:
    """The rule's tolerances in the metric's worse direction: `drop ≤ 0.01, floor 0.9` where
    higher is better, `rise ≤ 10%, ceiling 0.05` where lower is better (ECE, Brier)."""
    worse = "drop" if higher_is_better else "rise"
    parts = []
    if rule.max_drop is not None:
        parts.append(f"{worse} ≤ {rule.max_drop:g}")
    if rule.max_drop_relative is not None:
        parts.append(f"{worse} ≤ {rule.max_drop_relative:.0%}")
    if rule.floor is not None:
        parts.append(f"{'floor' if higher_is_better else 'ceiling'} {rule.floor:g}")
    return ", ".join(parts)


def run_check(
    baseline: Path,
    current: Path,
    policy: Policy,
    *,
    policy_source: str = "(defaults)",
    configs: SuiteConfigs,
) -> CheckReport:
    """Compare `current` with `baseline` under `policy` (`configs`: the installed suites' config
    models, which stored configs are read back through; `harness.core.suite_board`)."""
    base = load_run(baseline, "baseline")
    # a run checked against itself is read once
    same = base.path.resolve() == _run_folder(current)
    cur = base if same else load_run(current, "current")
    ensure_comparable(base, cur)
    metric_names = {m.metric for j in base.jobs.values() for m in j.metrics}
    keys = {k for j in base.jobs.values() for m in j.metrics for k in (m.key, suite_column(m))}
    policy.verify_names(metric_names, keys, policy_source)
    seen_flags = {f for run in (base, cur) for m in run.records() for f in m.flags}
    policy.verify_flags(base.models | cur.models, set(KNOWN_FLAGS) | seen_flags, policy_source)
    for m in base.records():
        if (rule := _checked(policy, m)) is not None:
            policy.verify_range(m, rule, policy_source, suite_column(m))
    rows = _job_rows(base, cur)
    pending: list[_Pending] = []
    shared = SharedDraws()  # every model's resamples of a column are the same draws
    for key in sorted(base.jobs):
        if key not in cur.failed:
            rows += _check_job(key, base, cur, policy, pending, shared, configs)
        for run in (base, cur):  # its tables are done with: what is kept is in the forms
            if key in run.jobs:
                run.jobs[key].forget_table()
        shared.forget_values()  # and the job's forms: no other job compares them
    rows += _new_metric_rows(base, cur, policy)
    renames = _rename_hints(rows)
    _refuse_an_empty_gate(rows, base, policy, policy_source)
    tests = decide(pending)
    _say_one_class(rows, base, cur, policy)
    _say_still_flagged(rows)
    method = (
        "a metric fails when it is worse by more than the tolerance AND the change is significant "
        f"after Holm's correction over the {tests} tests of this gate ({P_HOLM}: the p-value so "
        "adjusted, compared with alpha; where the test compares another statistic than the "
        "number shown, the debiased ECE, the tolerance is judged on that statistic's change); "
        "each metric gets the best "
        "test its stored results allow: paired on the same sample ids (exact McNemar for "
        "accuracies, the sign-flip test for per-sample means, paired resampling for ECE, fairness "
        "disparities and OOD detection), Mann-Whitney on timing rounds, a z-test from the 95% "
        "intervals otherwise; a number with none of these gets no test and is never significant. "
        "A floor fails on the value alone. Missing jobs, metrics missing from either run, failed "
        "jobs and reliability flags on checked metrics that the policy does not accept "
        "(accept_flags) fail"
        + (
            "; a flag the baseline had on the same model and metric is shown as still flagged "
            "and does not fail (the metric is compared as usual)."
            if policy.baseline_flags == "still_flagged"
            else ", also when the baseline had the same flag."
        )
    )
    return CheckReport(
        rows=rows,
        method=method,
        baseline=base.path,
        current=cur.path,
        notes=[
            f"policy: {policy_source}",
            *_version_notes(base, cur),
            *renames,
            *_unstable_model_notes(cur),
            *_floors_without_values(base, cur, policy),
        ],
        power=power_summary(pending, tests),
        current_run=cur,
        baseline_run=base,
    )


def _unstable_model_notes(cur: LoadedRun) -> list[str]:
    """One note per model and task whose current jobs carry the caveat that its outputs are not a
    function of its input (harness.core.forward_repeats): its rows compare one draw, or one
    batching, with another, and a row's "improved" or "worse" can be no more than that."""
    randomised: set[tuple[str, str]] = set()
    batched: set[tuple[str, str]] = set()
    for (model, task, _), job in cur.jobs.items():
        notes = " ".join(job.record.notes)
        if RANDOMISED_MARK in notes:
            randomised.add((model, task))
        elif BATCH_DEPENDENT_MARK in notes:
            batched.add((model, task))
    return [
        f"{model} · {task}: the current run's jobs say model {model!r} is randomised: each run's "
        "numbers of it are one draw (torch's, numpy's and Python's global generators are seeded "
        "per job: the same seed, batch size and shards draw alike there; a generator of the "
        "model's own need not), so a change in its rows can be the model's own variation, not a "
        "regression or an improvement"
        for model, task in sorted(randomised)
    ] + [
        f"{model} · {task}: the current run's jobs say the outputs of model {model!r} change with "
        "the other inputs of their batch: its numbers move with batch_size and with which samples "
        "share a batch"
        for model, task in sorted(batched - randomised)
    ]


def _one_class_words(run: LoadedRun, key: JobKey) -> str | None:
    """What the job's caveat says its model predicts on every sample ("the model predicts class
    0 on every one of the 300 samples"), when it carries the fairness suite's one-class caveat."""
    job = run.jobs.get(key)
    for note in job.record.notes if job is not None else ():
        if ONE_CLASS_MARK in note:
            return board_note_text(note).split(ONE_CLASS_MARK, 1)[0]
    return None


def _say_one_class(rows: list[CheckRow], base: LoadedRun, cur: LoadedRun, policy: Policy) -> None:
    """Fail the disparities of a current fairness job whose model predicts one class on every
    sample: they read 0 (ratios 1) by construction and say nothing about fairness, so a model
    that collapsed to one class passed a fairness gate as "improved (significant)" (probe95).
    Where the baseline's model did the same, the row is treated as a flag the baseline had
    (`baseline_flags`: shown, not failed, without a policy); where only the baseline's did, the
    row says its baseline number was by construction (compared as usual)."""
    for row in rows:
        if row.current is None or row.metric.split("[", 1)[0] not in ONE_CLASS_DISPARITIES:
            continue
        key = (row.model, row.task, row.suite)
        words = _one_class_words(cur, key)
        if words is None:
            was = _one_class_words(base, key)
            if was is not None and row.baseline is not None:  # a model fixed since: say so
                was = was.replace("the model ", "the baseline's model ", 1)
                row.reason = (
                    f"{was}, so its {row.baseline:g} was by construction and says nothing "
                    f"about fairness; {row.reason}"
                )
            continue
        if row.status == "fail":
            continue
        said = f"{words}, so it reads {row.current:g} by construction"
        if _one_class_words(base, key) is not None and policy.baseline_flags == "still_flagged":
            row.reason = f"as in the baseline, {said}; {row.reason}"
        else:
            row.status = "fail"
            row.reason = f"{said} and says nothing about fairness (the fairness job's caveat)"


def _floors_without_values(base: LoadedRun, cur: LoadedRun, policy: Policy) -> list[str]:
    """A floor the policy sets that a finished job of the current run is not held to because
    neither run has the metric for its model, while other models' jobs of that task and suite
    have it (a detector left out for a model whose outputs give it nothing to read). Nothing was
    lost between the runs, so it does not fail; said, so that a floor read as holding every
    model does not pass in silence for some."""
    floors = {name: r for name, r in policy.metrics.items() if r.floor is not None and not r.ignore}
    if not floors:
        return []
    held: dict[JobKey, set[str]] = {}
    lower: set[str] = set()  # the names of lower-is-better metrics: their `floor` is a ceiling
    for key, job in cur.jobs.items():
        if job.status != JobStatus.COMPLETED:
            continue
        found = [*job.metrics, *(base.jobs[key].metrics if key in base.jobs else [])]
        held[key] = {name for m in found for name in (m.key, m.metric, suite_column(m))}
        lower |= {n for m in found if not m.higher_is_better for n in (m.key, m.metric)}
        lower |= {suite_column(m) for m in found if not m.higher_is_better}
    notes = []
    for name, rule in sorted(floors.items()):
        somewhere = {key[1:] for key, names in held.items() if name in names}
        word = "ceiling" if name in lower else "floor"
        for key in sorted(
            k for k, names in held.items() if k[1:] in somewhere and name not in names
        ):
            notes.append(
                f"{word} {rule.floor:g} on {name} checked no value of model {key[0]!r} (task "
                f"{key[1]}, suite {key[2]}): neither run has that metric for it"
            )
    return notes


def _version_notes(base: LoadedRun, cur: LoadedRun) -> list[str]:
    """Which harness wrote each run, when they differ: the runs are compared (ensure_comparable
    held: same spec, data, suite versions and configs), but a baseline from an older harness
    should not pass without a word."""
    was, now = base.manifest.harness_version, cur.manifest.harness_version
    if was == now:
        return []
    return [
        f"baseline written by harness {was}, current by {now}: compared, since the spec, the "
        "task data and every suite's version and config agree"
    ]


def _refuse_an_empty_gate(
    rows: list[CheckRow], base: LoadedRun, policy: Policy, policy_source: str
) -> None:
    """A gate that checked no metric and found nothing wrong cannot vouch for the current run:
    refuse it (exit 2) rather than print `PASS: 0 checks`; so is one whose every metric was
    measured on other hardware than the baseline's (not gated: it compared nothing)."""
    if any(r.status == "fail" for r in rows):
        return
    metrics = [r for r in rows if r.metric != JOB_ROW]
    if any(r.other_hardware is None and not r.undefined_before for r in metrics):
        return
    undefined = [r for r in metrics if r.undefined_before]
    if undefined:
        raise ResultsError(
            f"baseline run {base.path}: every metric the gate would check ({len(metrics)}, e.g. "
            f"{undefined[0].model} × {undefined[0].metric}) is undefined in the baseline"
            f"{' or was measured on other hardware' if len(undefined) < len(metrics) else ''}, "
            "so the gate would pass without comparing anything; make a new baseline"
        )
    if metrics:
        was, now = metrics[0].other_hardware or ("", "")
        raise ResultsError(
            f"every metric the gate would check ({len(metrics)}, e.g. {metrics[0].model} × "
            f"{metrics[0].metric}) was measured on other hardware in the baseline ({was}) than "
            f"now ({now}), so the gate would pass without comparing anything; make the baseline "
            "on this hardware (harness run SPEC --out BASELINE) or check metrics that do not "
            "depend on it"
        )
    candidates = [m for job in base.jobs.values() for m in job.metrics if _in_scope(policy, m)]
    if candidates:
        raise ConfigError(
            f"policy {policy_source}: ignores every metric the gate would check "
            f"({len(candidates)} in the baseline, e.g. {candidates[0].key}), so the gate would "
            "pass without checking anything; leave at least one metric checked"
        )
    raise ResultsError(
        f"baseline run {base.path} holds no metric the gate can check (its jobs failed or were "
        "skipped), so the gate would pass without checking anything; make a new baseline"
    )


def _run_folder(root: Path) -> Path | None:
    """The run folder `load_run` would read under `root` (None: not exactly one)."""
    runs = find_run_dirs(root)
    return runs[0].resolve() if len(runs) == 1 else None


def _job_row(key: JobKey, status: Status, reason: str) -> CheckRow:
    """A job-level finding (failed, missing, new, skipped) rather than a metric."""
    return CheckRow(*key, metric=JOB_ROW, baseline=None, current=None, status=status, reason=reason)


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


def _in_scope(policy: Policy, m: MetricRecord) -> bool:
    """Whether the policy's selection takes the record: a headline metric, one it names, or
    every metric with `include: all` (its rule may still ignore it)."""
    if m.headline or policy.include == "all":
        return True
    return bool(policy.metrics) and any(
        name in policy.metrics for name in (m.key, m.metric, suite_column(m))
    )


def suite_column(m: MetricRecord) -> str:
    """The record's board column qualified by its suite, as a leaderboard names a metric that
    two suites report on one board (`clean_acc[suite=adversarial]`, `clean_acc[suite=shift]`):
    a policy may name it to reach that suite's number alone."""
    return m.key_with({**m.context, "suite": m.suite})


def _checked(policy: Policy, m: MetricRecord) -> MetricRule | None:
    """The rule of a record the gate checks (None: the policy leaves it out). The scope is
    asked first: most records of a job are no headline metric, and their rule is not needed."""
    if not _in_scope(policy, m):
        return None
    rule = _rule_for(policy, m.metric, m.key, m.unit, suite_column(m))
    return None if rule.ignore else rule


_RULES: list[tuple[Policy, dict[tuple[str, str, str, str], MetricRule]]] = []


def _rule_for(policy: Policy, metric: str, key: str, unit: str, column: str) -> MetricRule:
    """`policy.rule_for(...)`, made once per policy and column: every job of a gate asks for
    the same columns' rules (two pydantic copies a call, 0.1 s at 400 models). The rules are
    frozen, so rows may share one; only the latest policy's are kept (and the policy with them,
    so that its identity stands)."""
    if not _RULES or _RULES[0][0] is not policy:
        _RULES[:] = [(policy, {})]
    made = _RULES[0][1]
    slot = (metric, key, unit, column)
    rule = made.get(slot)
    if rule is None:
        rule = made[slot] = policy.rule_for(metric, key, unit, column)
    return rule


def _status_rows(key: JobKey, bjob: StoredJob, cjob: StoredJob) -> tuple[list[CheckRow], bool]:
    """A row when the job's status changed; True when the job cannot be compared."""
    if bjob.status == cjob.status:
        return [], False
    fail = cjob.status != JobStatus.COMPLETED
    reason = f"job {bjob.status} in the baseline, {cjob.status} now" + (
        f": {cjob.record.reason}" if cjob.record.reason else ""
    )
    return [_job_row(key, "fail" if fail else "pass", reason)], fail


def _check_job(
    key: JobKey,
    base: LoadedRun,
    cur: LoadedRun,
    policy: Policy,
    pending: list[_Pending],
    shared: SharedDraws,
    configs: SuiteConfigs,
) -> list[CheckRow]:
    """The rows of one baseline job; metric comparisons still to decide go to `pending`."""
    bjob = base.jobs[key]
    if key not in cur.jobs:
        return [_job_row(key, "fail", "job missing from the current run")]
    cjob = cur.jobs[key]
    rows, stop = _status_rows(key, bjob, cjob)
    if stop:
        return rows
    current_records = {m.key: m for m in cjob.metrics}
    vector = _vector_instructions(base, cur)
    evidence = _EvidenceSource(base, cur, key, configs)
    for bm in bjob.metrics:
        rule = _checked(policy, bm)
        if rule is None:
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
            unit=bm.unit,
            n=bm.n,
        )
        rows.append(row)
        cm = current_records.get(bm.key)
        if cm is not None and vector is not None and _on_the_cpu(bm):
            # one CPU name, other vector instructions: not gated (nor its flags), as a speed
            # measured on a CPU of another name
            was, now = (f"{_hardware(m)}, {v}" for m, v in zip((bm, cm), vector, strict=True))
            _not_gated(row, cm, was, now)
            continue
        cm = _comparable(row, bm, cm, policy, cjob.metrics)
        if cm is not None:
            pending.append(_compare(row, bm, cm, evidence, rule, base.manifest.seed, shared))
    return rows


class _EvidenceSource:
    """Tables and artifacts of one job in both runs, read once and only when needed."""

    def __init__(self, base: LoadedRun, cur: LoadedRun, key: JobKey, configs: SuiteConfigs) -> None:
        self.base, self.cur, self.key, self.configs = base, cur, key, configs

    @functools.cached_property
    def tables(self) -> tuple[SampleTable | None, SampleTable | None]:
        """Both runs' tables; a file whose checksum is the baseline's (a run checked against
        itself, a cached job) is read once."""
        base = self.base.table(self.key)
        digests = [run.jobs[self.key].record.files.get(TABLE_FILE) for run in (self.base, self.cur)]
        if base is not None and digests[0] is not None and digests[0] == digests[1]:
            return base, base
        return base, self.cur.table(self.key)

    @functools.cached_property
    def artifacts(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return self.base.jobs[self.key].artifacts(), self.cur.jobs[self.key].artifacts()

    @functools.cached_property
    def same_tables(self) -> bool:
        """Whether both runs hold this job's very same per-sample table (a run checked against
        itself, or a job the current run took from the cache)."""
        base, cur = self.tables
        return base is not None and cur is not None and _same_frame(base.frame, cur.frame)

    def _same_inputs(self, bm: MetricRecord, cm: MetricRecord) -> bool:
        configs = [run.jobs[self.key].record.suite_config for run in (self.base, self.cur)]
        return bm == cm and configs[0] == configs[1] and self.same_tables

    def pair(self, bm: MetricRecord, cm: MetricRecord) -> tuple[paired_tests.Evidence, ...]:
        """(current, baseline) evidence for one metric. Equal inputs give the baseline the
        current's form object: a paired test then computes each resampled statistic once (its
        values are memoised per form), the same numbers as from two equal forms."""
        out: list[paired_tests.Evidence] = []
        for i, (run, record) in enumerate(((self.cur, cm), (self.base, bm))):
            table = self.tables[1 - i]
            job = run.jobs[self.key].record
            config = read_config(self.configs, job.suite, job.suite_config)
            if i == 1 and self._same_inputs(bm, cm):
                form = out[0].form
            else:
                form = paired_tests.per_sample(record, table, config)
            rounds = None
            if record.metric in timing.ROUND_METRICS:
                rounds = timing.rounds_for(record.metric, record.context, self.artifacts[1 - i])
            out.append(paired_tests.Evidence(record=record, form=form, rounds=rounds))
        return tuple(out)


def _same_frame(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Same columns, dtypes, index and values, floats compared bit for bit."""
    if a is b:
        return True
    if list(a.columns) != list(b.columns) or not a.dtypes.equals(b.dtypes):
        return False
    if not a.index.equals(b.index):
        return False
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind in "fc" and y.dtype.kind in "fc":
            if x.tobytes() != y.tobytes():
                return False
        elif not a[col].equals(b[col]):
            return False
    return True


def _unaccepted(policy: Policy, model: str, m: MetricRecord) -> list[str]:
    return [f for f in m.flags if not policy.accepts(model, f)]


def _hardware(m: MetricRecord) -> str:
    timing = TimingContext.of(m.context)
    threads = f", {timing.threads} thread(s)" if timing.threads is not None else ""
    return f"{timing.device_name}{threads}"


def _hardware_bound(m: MetricRecord) -> bool:
    return any(k in m.context for k in HARDWARE_CONTEXT)


def _without_hardware(m: MetricRecord) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """A metric's identity without the hardware it was measured on."""
    ctx = sorted((k, str(v)) for k, v in m.context.items() if k not in HARDWARE_CONTEXT)
    return m.metric, m.condition, tuple(ctx)


def _vector_instructions(base: LoadedRun, cur: LoadedRun) -> tuple[str, str] | None:
    """The CPU's vector instructions in each run's device record (`cpu_capability`: AVX2,
    AVX512) when both name them and they differ: one CPU name covers machines with and without
    AVX512 (`AMD EPYC`), so a speed measured on each is not the same hardware's. None when they
    agree or a record predates them."""
    was, now = (run.manifest.device.get("cpu_capability") for run in (base, cur))
    if isinstance(was, str) and isinstance(now, str) and was != now:
        return was, now
    return None


def _on_the_cpu(m: MetricRecord) -> bool:
    """A hardware-dependent metric measured on the CPU (a GPU's speed is its own)."""
    return _hardware_bound(m) and m.context.get("device") == "cpu"


def _not_gated(row: CheckRow, current: MetricRecord, was: str, now: str) -> None:
    """`row` passes without a comparison: its metric was measured on hardware `was` in the
    baseline and `now` in the current run."""
    row.current, row.other_hardware = current.value, (was, now)
    row.reason = f"not gated: measured on different hardware ({was} in the baseline, {now} now)"


def _hardware_twin(row: CheckRow, bm: MetricRecord, current: list[MetricRecord]) -> bool:
    """A hardware-dependent baseline metric measured on other hardware now: the row says so and
    passes (True); False when `bm` is not hardware-dependent or has no such twin."""
    if not _hardware_bound(bm):
        return False
    twin = next((m for m in current if _without_hardware(m) == _without_hardware(bm)), None)
    if twin is None:
        return False
    _not_gated(row, twin, _hardware(bm), _hardware(twin))
    return True


def _comparable(
    row: CheckRow,
    bm: MetricRecord,
    cm: MetricRecord | None,
    policy: Policy,
    current: list[MetricRecord],
) -> MetricRecord | None:
    """The current record when it can be compared; else None with the row's verdict set."""
    if cm is None:
        if not _hardware_twin(row, bm, current):
            row.status, row.reason = "fail", VANISHED
        return None
    row.current = cm.value
    flags = _unaccepted(policy, row.model, cm)
    had = [f for f in flags if f in bm.flags]
    if len(had) < len(flags) or (flags and policy.baseline_flags == "fail"):
        row.status, row.reason = "fail", _flag_reason(flags, had)
        return None
    row.still_flagged = tuple(had)  # every flag was on this metric in the baseline: tolerated
    if bm.value is None or cm.value is None:
        if bm.value is not None:
            row.status, row.reason = "fail", f"undefined now ({cm.note or 'no value'})"
        elif row.rule is not None and _floor_broken(row.rule, cm.value, cm.higher_is_better):
            # a floor fails on the current value alone, with or without a baseline value
            reason = _floor_reason(row.rule, cm.higher_is_better)
            row.status, row.reason = "fail", f"{reason} (undefined in the baseline)"
        else:
            row.reason = "undefined in the baseline; not compared"
            # a floor judges the current value: none there either, and nothing was judged
            floor = row.rule is not None and row.rule.floor is not None
            row.undefined_before = not floor or cm.value is None
        return None
    return cm


def _floor_broken(rule: MetricRule, value: float | None, higher_is_better: bool) -> bool:
    """Whether `value` is on the wrong side of the rule's floor (a ceiling when lower is
    better); an undefined value or a rule without a floor breaks none."""
    if rule.floor is None or value is None:
        return False
    return value < rule.floor if higher_is_better else value > rule.floor


def _floor_reason(rule: MetricRule, higher_is_better: bool) -> str:
    return (
        f"below the floor {rule.floor:g}"
        if higher_is_better
        else f"above the ceiling {rule.floor:g}"
    )


def _flag_reason(flags: list[str], had: list[str]) -> str:
    """Why a flagged metric fails: its flags, which are new and which the baseline had too."""
    new = [f for f in flags if f not in had]
    if not had:
        detail = "newly raised"
    elif not new:
        detail = f"the baseline had {', '.join(had)} too"
    else:
        detail = f"newly raised: {', '.join(new)}; the baseline had {', '.join(had)} too"
    return f"reliability flag present: {', '.join(flags)} ({detail})"


def _say_still_flagged(rows: list[CheckRow]) -> None:
    """Prefix the reason of each tolerated flagged row, so the table shows it is still flagged."""
    for row in rows:
        if row.still_flagged:
            flags = ", ".join(row.still_flagged)
            row.reason = f"still flagged: {flags} (as in the baseline); {row.reason}"


VANISHED = "metric missing from the current run"
NEW = "metric missing from the baseline"


def _rename_hints(rows: list[CheckRow]) -> list[str]:
    """A metric of a job that vanished and a new one of the same job with a close name (difflib,
    as the policy's "did you mean"): probably one metric renamed between the runs. Both rows
    still fail (the gate cannot vouch for a number it has nothing to compare with); each reason
    names the other, and the gate's notes get one hint line per pair."""
    vanished: dict[tuple[str, str, str], list[CheckRow]] = defaultdict(list)
    new: dict[tuple[str, str, str], list[CheckRow]] = defaultdict(list)
    for row in rows:
        job = (row.model, row.task, row.suite)
        if row.status == "fail" and row.reason == VANISHED:
            vanished[job].append(row)
        elif row.status == "fail" and row.reason.startswith(NEW):
            new[job].append(row)
    hints = []
    for job, gone in sorted(vanished.items()):
        fresh = {r.metric: r for r in new.get(job, [])}
        for old in gone:
            close = difflib.get_close_matches(old.metric, sorted(fresh), n=1)
            if not close:
                continue
            now = fresh.pop(close[0])
            old.reason += f"; probably renamed: {now.metric} is new in the current run"
            now.reason += f"; probably renamed: {old.metric} vanished from the current run"
            hints.append(
                f"hint: {' × '.join(job)}: {old.metric} (baseline) and {now.metric} (current) "
                "are probably one metric renamed; both fail until the baseline is made again "
                "with the new name"
            )
    return hints


def _new_metric_rows(base: LoadedRun, cur: LoadedRun, policy: Policy) -> list[CheckRow]:
    """Checked metrics of the current run that the baseline lacks.

    In a job that both runs finished alike, such a metric fails: the gate cannot vouch for a
    number it has nothing to compare with (a baseline that lost a record, or a suite that now
    reports more), unless the policy ignores it. In a job new to the current run (or failed or
    skipped in the baseline), only a flagged metric or a floor crossed fails (the job itself is
    reported as new, or as completed now): a floor fails on the current value alone.
    """
    rows = []
    for key, job in sorted(cur.jobs.items()):
        bjob = base.jobs.get(key)
        if bjob is not None and bjob.status != job.status:
            # the job-level row of _status_rows says what changed; a job completed now that the
            # baseline skipped has nothing to compare with, as a new job
            if job.status != JobStatus.COMPLETED:
                continue
            bjob = None
        base_metrics = bjob.metrics if bjob is not None else []
        known = {m.key for m in base_metrics}
        # measured on other hardware in the baseline: not gated, so its flag is not either
        elsewhere = {_without_hardware(m) for m in base_metrics if _hardware_bound(m)}
        for m in job.metrics:
            rule = _checked(policy, m)
            if m.key in known or rule is None:
                continue
            if _hardware_bound(m) and _without_hardware(m) in elsewhere:
                continue
            flags = _unaccepted(policy, key[0], m)
            floor = _floor_broken(rule, m.value, m.higher_is_better)
            if bjob is None and not flags and not floor:
                continue
            reasons = [NEW] if bjob is not None else []
            if floor:
                reasons.append(f"{_floor_reason(rule, m.higher_is_better)} (new metric)")
            if flags:
                reasons.append(f"reliability flag present: {', '.join(flags)} (new metric)")
            reason = "; ".join(reasons)
            rows.append(
                CheckRow(
                    *key,
                    metric=m.key,
                    baseline=None,
                    current=m.value,
                    status="fail",
                    reason=reason,
                    higher_is_better=m.higher_is_better,
                    unit=m.unit,
                    n=m.n,
                )
            )
    return rows


def _compare(
    row: CheckRow,
    bm: MetricRecord,
    cm: MetricRecord,
    evidence: _EvidenceSource,
    rule: MetricRule,
    seed: int,
    shared: SharedDraws,
) -> _Pending:
    assert bm.value is not None and cm.value is not None
    current, baseline = evidence.pair(bm, cm)
    # the column's name, not the model's: every model of a column is resampled on the same
    # draws, so each table's resampled statistic is computed once (harness.stats.shared_draws)
    name = f"check/{row.task}/{bm.key}"
    try:
        res = paired_tests.compare_records(current, baseline, seed=seed, name=name, shared=shared)
    except paired_tests.SampleMismatch as err:
        now, was = (r.jobs[evidence.key].path / TABLE_FILE for r in (evidence.cur, evidence.base))
        raise ResultsError(
            f"{row.model} × {row.task} × {row.suite}: {bm.key}: the per-sample tables cover "
            f"different sample ids ({err.only[0]} only in the current run's {now}, "
            f"{err.only[1]} only in the baseline's {was}); paired tests need the same samples: "
            "restore the table or rerun its job"
        ) from None
    row.test, row.p_value = res.test, res.p_value
    row.ci, row.statistic = res.ci, res.statistic
    # the tolerance is judged on the change the test compared: where that is another statistic
    # (paired resampling of the debiased ECE) the shown values' change can differ from it by
    # 0.03 at n=300, and a rise the test found significant and past the tolerance passed as
    # "within tolerance" on the raw ECE (or the reverse failed with an all-improving interval)
    judged = bool(res.statistic) and res.tested
    delta = res.diff if judged else cm.value - bm.value
    # a relative tolerance stays a share of the baseline's value as shown (`_beyond` below): the
    # debiased ECE of a calibrated model is near 0 and often below (n=1000: raw 0.018, debiased
    # -0.005), and a share of it left next to no tolerance
    worse = -delta if bm.higher_is_better else delta
    floor_broken = _floor_broken(rule, cm.value, bm.higher_is_better)
    return _Pending(
        row=row,
        result=res,
        worse=worse,
        beyond=worse > 0 and _beyond(rule, worse, bm.value),
        floor_broken=floor_broken,
    )


def decide(pending: list[_Pending]) -> int:
    """Holm-adjust every tested p-value of the gate together, settle each row; the test count."""
    tested = [p for p in pending if p.result.tested]
    adjusted = holm([p_or_one(p.result) for p in tested]) if tested else []
    for p, adj in zip(tested, adjusted, strict=True):
        p.row.p_adjusted = adj
    _churns(tested)
    for p in pending:
        if p.result.tested:
            mde = power.minimum_detectable(p.result, _level(p, len(tested)), churn=p.row.churn)
            p.row.mde = mde if mde is None or mde <= _room(p.row) else None
        _settle(p)
    return len(tested)


def _room(row: CheckRow) -> float:
    """How much worse the metric can get from the baseline: to 0 or 1 for a fraction (a class
    accuracy of 1.0 on one sample had an MDE of 1.5, a change no fraction can make), else no
    limit. An MDE beyond it is no MDE: no change is detectable."""
    if row.unit != "fraction" or row.baseline is None:
        return math.inf
    return row.baseline if row.higher_is_better else 1.0 - row.baseline


def _churns(tested: list[_Pending]) -> None:
    """Each McNemar row's assumed churn, and their minimum detectable effects found together
    (`power.mcnemar_mdes`: one bisection for every churn of the gate)."""
    wanted: dict[tuple[int, float, float], list[float]] = defaultdict(list)
    for p in tested:
        rule = p.row.rule
        assert rule is not None and rule.alpha is not None
        if p.result.test == "mcnemar_exact":
            stated = rule.churn if rule.churn is not None else power.churn_prior(p.row.baseline)
            p.row.churn = power.assumed_churn(p.result, stated)
            wanted[(p.result.n, _level(p, len(tested)), power.POWER)].append(p.row.churn)
    for (n, level, target), churns in wanted.items():
        power.mcnemar_mdes(n, churns, level, target)


def _settle(p: _Pending) -> None:
    """A compared metric's verdict: floor, significant regression beyond tolerance, or pass."""
    row, rule = p.row, p.row.rule
    assert rule is not None and rule.alpha is not None
    significant = row.p_adjusted is not None and row.p_adjusted < rule.alpha
    judged = _judged_text(p)
    if p.floor_broken:
        row.status, row.reason = "fail", _floor_reason(rule, row.higher_is_better)
    elif p.worse > 0 and significant and p.beyond:
        row.status = "fail"
        row.reason = (
            f"significant regression beyond tolerance ({_tolerance_text(rule, row.higher_is_better)})"
            + judged
            + _change_text(row)
        )
    elif not p.result.tested:
        row.reason = _untested_reason(p)
    elif p.worse > 0 and p.beyond:
        row.reason = (
            f"worse beyond tolerance but not significant ({P_HOLM}={row.p_adjusted:.3g}, "
            f"alpha={rule.alpha:g})" + judged
        )
    elif p.worse > 0:
        row.reason = (
            f"within tolerance ({_tolerance_text(rule, row.higher_is_better)})"
            + (" though significant" if significant else "")
            + judged
        )
    elif p.worse < 0:
        row.reason = "improved" + (" (significant)" if significant else "") + judged
    else:
        row.reason = "unchanged" + judged


def _judged_text(p: _Pending) -> str:
    """Which change the verdict judged, where the test compared another statistic than the
    number shown (paired resampling of the debiased ECE: `_compare` judges the tolerance on
    the test's change); empty otherwise."""
    if not (p.result.tested and p.row.statistic):
        return ""
    return f" (judged on the {p.row.statistic}, the statistic tested: {p.result.diff:+.3g})"


def _change_text(row: CheckRow) -> str:
    """The test's 95% interval of the change (current - baseline), for a failure."""
    if row.ci is None:
        return ""
    what = f" in the {row.statistic}" if row.statistic else ""
    low, high = row.ci
    return f"; 95% interval of the change{what} [{low:+.3g}, {high:+.3g}]"


def _untested_reason(p: _Pending) -> str:
    what = p.result.detail
    if p.worse > 0:
        direction = "worse beyond tolerance" if p.beyond else "worse within tolerance"
        return f"{direction}, not tested: {what} (only a floor can fail it)"
    return ("unchanged" if p.worse == 0 else "improved") + f"; not tested: {what}"


def power_summary(pending: list[_Pending], tests: int) -> list[str]:
    """Per metric family (metric name and test): the smallest change the gate would likely
    detect at this n, and which metrics no test covers."""
    by_family: dict[tuple[str, str], list[_Pending]] = defaultdict(list)
    for p in pending:
        by_family[(p.row.metric.split("[")[0], p.result.test)].append(p)
    lines = []
    for (metric, test), items in sorted(by_family.items()):
        unit = items[0].row.unit
        columns = f"{len(items)} column(s)"
        mdes = [p.row.mde for p in items if p.row.mde is not None]
        if not mdes:
            lines.append(
                f"{metric} ({paired_tests.TEST_NAMES[test]}, {columns}): a pass says nothing "
                f"about a change in it {_unreachable(items, tests) or '(only floors apply)'}"
            )
            continue
        # the span holds only for the columns that have an MDE: count the others, and give
        # n and churn of those it holds for
        measured = [p for p in items if p.row.mde is not None]
        ns = sorted({p.result.n for p in measured})
        n_text = f"n={ns[0]}" if len(ns) == 1 else f"n={ns[0]}-{ns[-1]}"
        blind = len(items) - len(measured)
        if blind:
            columns += (
                f"; {blind} of them have no MDE: a pass says nothing about a change in them"
                f" (see the mde column), the other {len(mdes)}"
            )
        lines.append(
            f"{metric} ({paired_tests.TEST_NAMES[test]}, {columns}, {n_text}): a change of "
            f"{_span(mdes)} {unit} or more is caught with {power.POWER:.0%} probability at "
            f"alpha/{max(1, tests)} (Holm's first step); smaller ones often pass"
            + _churn_text(measured)
        )
    return lines


def _unreachable(items: list[_Pending], tests: int) -> str:
    """Why tested metrics have no MDE where the test's smallest p-value is above the level
    (`PairedResult.floor`: the timing test on few rounds); empty otherwise."""
    floors = [p.result.floor for p in items if p.result.tested and p.result.floor is not None]
    if len(floors) != len(items) or any(
        floor < _level(p, tests) for floor, p in zip(floors, items, strict=True)
    ):
        return ""  # one reaches it: no MDE for another reason (rounds without spread)
    return (
        f"(its test's smallest p-value, {_num(min(floors))}, is above alpha/{max(1, tests)}, "
        "Holm's first step: only floors apply; more timing rounds, or fewer checks, make it "
        "testable)"
    )


def _level(p: _Pending, tests: int) -> float:
    """The level a row's p-value must reach at Holm's first step."""
    rule = p.row.rule
    assert rule is not None and rule.alpha is not None
    return rule.alpha / max(1, tests)


def _span(values: list[float]) -> str:
    """`low-high` as printed; one number when both print alike (0.04340 and 0.04344 read
    `0.0434-0.0434` otherwise)."""
    low, high = _num(min(values)), _num(max(values))
    return low if low == high else f"{low}-{high}"


def _churn_text(items: list[_Pending]) -> str:
    """What a McNemar family's MDEs assume about the runs' disagreement, in words."""
    churns = [p.row.churn for p in items if p.row.churn is not None]
    if not churns:
        return ""
    return (
        f", assuming the runs disagree on {_span(churns)} of the samples without a real change "
        "(the baseline's error rate, the policy's churn, or the observed discordance where larger)"
    )


def _num(v: float) -> str:
    return f"{v:.3g}"
