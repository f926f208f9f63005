"""The gate's headline: its rows at each task's headline threat model, named, for the summary.

`harness check` gates every headline metric; what a reviewer reads first is robust accuracy at
the condition each task headlines (`TaskSummary.headline`, stored by the current run's jobs):
the worst case over attacks (one attack when the suite ran no ensemble) at that norm and
budget, one row per model, with clean accuracy beside it. Which metrics those are, and which
records are the worst case, the suites' boards declare (their lead headline columns,
`SuiteBoard.headline`); this module names no suite. Rows come from the gate's own report:
nothing is retested here. No torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.analysis.check import JOB_ROW, CheckReport, CheckRow
from harness.analysis.gate_runs import LoadedRun
from harness.core.headline_spec import HeadlinePick
from harness.core.suite_board import SuiteBoard, SuiteHeadline, headline_columns
from harness.core.threat_model import ThreatModel


@dataclass(frozen=True)
class HeadlineCheck:
    """The gate's rows of one task's headline: robust accuracy at `threat` and clean accuracy."""

    task: str
    threat: ThreatModel
    key: str  # the robust accuracy metric key checked
    robust: list[CheckRow]
    clean: list[CheckRow]
    # job-level rows (failed, missing, skipped, new) of the suite the robust key comes from: a
    # model without a robust row shows why there (a job that failed in either run)
    jobs: list[CheckRow] = field(default_factory=list)

    @property
    def models(self) -> list[str]:
        """Every model the headline has a row for, in order."""
        return sorted({r.model for r in (*self.robust, *self.clean, *self.jobs)})


def _lead(boards: Sequence[SuiteBoard], pick: HeadlinePick) -> list[SuiteHeadline]:
    return [c for c in headline_columns(boards) if c.spec.lead and c.spec.pick == pick]


def _headline_key(
    run: LoadedRun, task: str, threat: ThreatModel, robust: Sequence[SuiteHeadline]
) -> tuple[str, str] | None:
    """The key of the task's robust accuracy at `threat` in `run` (the preferred record's, the
    worst case over attacks, when there is one), and its suite."""
    metrics = {(c.suite, m.metric) for c in robust for m in c.spec.metrics}
    prefixes = tuple(c.spec.prefer for c in robust if c.spec.prefer)
    found = [
        m
        for (_model, t, _suite), job in run.jobs.items()
        if t == task
        for m in job.metrics
        if (m.suite, m.metric) in metrics and threat.matches_context(m.context)
    ]
    preferred = sorted(
        (m.key, m.suite) for m in found if prefixes and m.condition.startswith(prefixes)
    )
    keys = preferred or sorted((m.key, m.suite) for m in found)
    return keys[0] if keys else None


def headline_checks(
    report: CheckReport,
    current: LoadedRun,
    boards: Sequence[SuiteBoard],
    baseline: LoadedRun | None = None,
) -> list[HeadlineCheck]:
    """Per task and headline threat model of the current run, the gate's rows there. `boards`:
    the installed suites' boards; their lead headline columns name the metrics (`threat_model`
    picks: the robust column; `clean` picks: the clean column beside it). The robust key is
    the current run's, else `baseline`'s (every current job of that suite failed: the
    headline then shows why, per model)."""
    robust = _lead(boards, "threat_model")
    clean = {m.metric for c in _lead(boards, "clean") for m in c.spec.metrics}
    headlines: dict[str, tuple[ThreatModel, ...]] = {}
    for (_model, task, _suite), job in sorted(current.jobs.items()):
        headlines.setdefault(task, job.record.task_summary.headline)
    out: list[HeadlineCheck] = []
    for task, headline in sorted(headlines.items()):
        for threat in headline:
            found = _headline_key(current, task, threat, robust)
            if found is None and baseline is not None:
                found = _headline_key(baseline, task, threat, robust)
            if found is None:
                continue
            key, suite = found
            check = HeadlineCheck(
                task=task,
                threat=threat,
                key=key,
                robust=[r for r in report.rows if r.task == task and r.metric == key],
                clean=[r for r in report.rows if r.task == task and r.metric in clean],
                jobs=[
                    r
                    for r in report.rows
                    if r.task == task and r.suite == suite and r.metric == JOB_ROW
                ],
            )
            if check.models:
                out.append(check)
    return out
