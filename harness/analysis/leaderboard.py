"""Leaderboards from the store: comparable headline metrics per task, with intervals and n.

Only numbers with the same task fingerprint, the same protocol preset (or none) and the same
suite version + config hash share a board. When one suite ran with several configs on a task, each
config gets a board of its own and the split is stated; nothing is silently mixed. A job that
failed (in the run manifest) and has no completed result shows its one-line reason in its suite's
cells. Rows are ordered, and ranked, trustworthy numbers first: a flagged number or a
decision-based upper bound never stands above an unflagged white-box one
(harness.analysis.paired_tests.tier_of). No torch import here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.analysis import paired_tests
from harness.core.board_notes import is_board_note, is_truncation_note
from harness.core.errors import ResultsError
from harness.core.group_context import is_worst_group, worst_group_records
from harness.core.group_order import group_names
from harness.core.manifest import JobStatus, RunManifest
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.core.suite_board import (
    CrossModelColumns,
    CrossModelInputs,
    SuiteBoard,
    SuiteConfigs,
    SuiteHeadline,
    TradeOff,
    cross_model_columns,
    headline_columns,
    suite_configs,
    trade_offs,
)
from harness.core.threat_model import Headline, headline_text
from harness.stats.intervals import DEFAULT_RESAMPLES
from harness.store.completeness import Completeness, completeness
from harness.store.recency import invocation_time, oldest_first, recorded_times
from harness.store.record_file import read_record
from harness.store.run_store import LoadedJob, StoredJob, find_run_dirs, load_jobs

FAILURE_TEXT = 1000  # characters of a failure's first line kept (its advice comes last)
FAILURE_CELL = 160  # characters of it a table cell shows; a longer one is a board note too


@dataclass(frozen=True)
class BoardRow:
    """One model's row on a board: its metric records by column key, position and rank.

    `cells` are the metrics of the model's own jobs (in job order); `cross_model` the columns
    computed across the board's models (mCE, effective robustness), which win on a shared key.
    """

    model: str
    task: str
    task_fingerprint: str
    parent: str | None = None  # a compressed variant (docs/variants.md): its parent model
    variant: str | None = None
    cells: dict[str, MetricRecord] = field(default_factory=dict)
    cross_model: dict[str, MetricRecord] = field(default_factory=dict)
    position: int = 0  # 1-based place in the board's order
    rank: int | None = None  # rank with tie groups on the board's rank metric
    failed: dict[str, str] = field(default_factory=dict)  # suite -> one-line failure reason

    def cell(self, key: str) -> MetricRecord | None:
        """The record in column `key` (None: the model has no such metric)."""
        return self.cross_model.get(key) or self.cells.get(key)

    def value(self, key: str) -> float | None:
        """The value in column `key` (None: no such metric, or undefined)."""
        m = self.cell(key)
        return m.value if m is not None else None

    def keys(self) -> list[str]:
        """The row's column keys: its own metrics, then cross-model ones."""
        return [*self.cells, *(k for k in self.cross_model if k not in self.cells)]

    def failure(self, key: str, column_suites: dict[str, str]) -> str | None:
        """Why the cell in column `key` is empty: its suite's job failed (None otherwise)."""
        if key in self.cells or key in self.cross_model:
            return None
        return self.failed.get(column_suites.get(key, ""))

    def to_dict(
        self,
        *,
        ranked: bool,
        column_suites: dict[str, str] | None = None,
        worst: Mapping[str, list[WorstGroup]] | None = None,
    ) -> dict[str, Any]:
        """The machine-readable row: metric columns flat (`key`, `key_ci`, `key_n`, `key_flags`,
        `key_note`); a column whose job failed has `key` None and `key_failed` (the reason).
        A worst-group column (`worst`: its worst groups, `Board.worst_groups`) has `key_n` the
        worst group's n (the count its value is of), `key_worst_groups` ([{group, n}]) and
        `key_n_all_groups` (the record's n: every group's samples)."""
        out: dict[str, Any] = {
            "model": self.model,
            "task": self.task,
            "task_fingerprint": self.task_fingerprint,
        }
        if self.parent is not None and self.variant is not None:
            out.update(parent=self.parent, variant=self.variant)
        worst = worst or {}
        for key in self.cells:
            _flatten(out, key, self.cell(key), worst.get(key))
        out["position"] = self.position
        for key in self.cross_model:
            if key not in self.cells:
                _flatten(out, key, self.cross_model[key], None)
        for key in column_suites or {}:
            reason = self.failure(key, column_suites or {})
            if reason is not None:
                out[key] = None
                out[f"{key}_failed"] = reason
        if self.failed:
            out["failed_suites"] = dict(self.failed)
        if ranked:
            out["rank"] = self.rank
        return out


def _flatten(
    out: dict[str, Any], key: str, m: MetricRecord | None, worst: list[WorstGroup] | None
) -> None:
    assert m is not None
    out[key] = m.value
    out[f"{key}_ci"] = list(m.ci) if m.ci else None
    out[f"{key}_n"] = m.n
    if is_worst_group(m):
        # the value is one group's: its n is that group's (the smallest of tied worst groups;
        # None when the per-group records do not say), every group's samples under their name
        out[f"{key}_n"] = min(g.n for g in worst) if worst else None
        out[f"{key}_n_all_groups"] = m.n
        out[f"{key}_worst_groups"] = [{"group": g.group, "n": g.n} for g in worst or []]
    if m.note:
        out[f"{key}_note"] = m.note
    out[f"{key}_flags"] = list(m.flags)


@dataclass(frozen=True)
class WorstGroup:
    """A group a worst-group number is of: its declared label (else its value) and its n."""

    group: str
    n: int


def worst_groups(job: StoredJob, rec: MetricRecord) -> list[WorstGroup]:
    """The group(s) a worst-group number of `job` is of, each with its n: the per-group records
    of the same grouping whose value is the number (several when groups tie). The record's n
    counts every group's samples (177 on diabetes), the value one group's (34 of 49). Empty for
    any other record, or when the job stores no matching per-group record."""
    groups = worst_group_records(rec, job.metrics)
    if not groups:
        return []
    per_group = rec.metric.removeprefix("worst_")
    labels = job.record.task_summary.group_labels.get(str(rec.context.get("group_by")), {})
    values = [
        str(m.context["group"])
        for m in job.metrics
        if m.metric == per_group
        and m.condition == rec.condition
        and {k: v for k, v in m.context.items() if k != "group"} == dict(rec.context)
    ]
    names = group_names(values, labels)
    return [WorstGroup(names[str(m.context["group"])], m.n) for m in groups]


@dataclass
class Board:
    """One comparable leaderboard: a task (fingerprint) and one config per suite."""

    title: str
    task: str
    task_fingerprint: str
    n: int | None
    suites: dict[str, str]  # suite -> "version/config-hash"
    rows: list[BoardRow]  # one per model, in board order
    columns: list[str]  # metric keys
    units: dict[str, tuple[str, bool]] = field(
        default_factory=dict
    )  # key -> (unit, higher_is_better)
    notes: list[str] = field(default_factory=list)
    protocol: str | None = None  # the protocol preset its numbers ran under ("<name> v<n>")
    rank_metric: str | None = None  # the column ranks (with tie groups) are decided on
    rank_method: str = ""
    # (model, suite) -> (run manifest, stored job): provenance for reports and paired tests
    sources: dict[tuple[str, str], LoadedJob] = field(default_factory=dict, repr=False)
    # (model, key) -> the record shown in that cell, in the order the board met them
    records: dict[tuple[str, str], MetricRecord] = field(default_factory=dict, repr=False)
    column_suites: dict[str, str] = field(default_factory=dict)  # key -> suite of the column
    # the threat model(s) the task's robust accuracy is headlined at, as its jobs stored them
    # (harness.core.threat_model; empty: none declared, or results of an older harness)
    headline: Headline = ()
    # the headline columns the installed suites declare (`SuiteBoard.headline`), in headline order
    headline_columns: tuple[SuiteHeadline, ...] = ()
    # the trade-off figures the installed suites' metrics feed (`SuiteBoard.trade_offs`), in order
    trade_offs: tuple[TradeOff, ...] = ()
    # the installed suites' config models: stored configs are read back through them
    suite_configs: SuiteConfigs = field(default_factory=dict)
    # the notes that say a cell's numbers are an earlier run's, since the latest run that ran
    # its job failed (also in `notes`): what every summary of the board must carry too
    earlier: list[str] = field(default_factory=list)
    # (model, key) -> (chance level, at or below it) of its accuracy cells, once looked up
    # (`harness.analysis.headline.chance_cells`; None: not yet)
    chance: dict[tuple[str, str], tuple[float, bool]] | None = field(default=None, repr=False)

    def worst_groups(self, row: BoardRow) -> dict[str, list[WorstGroup]]:
        """The row's worst-group cells: key -> the group(s) its number is of, with their n."""
        out = {}
        for key in row.cells:
            rec = row.cell(key)
            source = self.sources.get((row.model, rec.suite)) if rec is not None else None
            if rec is not None and source is not None and is_worst_group(rec):
                out[key] = worst_groups(source[1], rec)
        return out

    def unit_fields(self) -> dict[str, dict[str, Any]]:
        """Column key -> {unit, higher_is_better}: the `units` of the JSON and the Python frame."""
        return {c: {"unit": u, "higher_is_better": h} for c, (u, h) in self.units.items()}

    def row_dict(self, row: BoardRow) -> dict[str, Any]:
        """`row.to_dict` with this board's ranks, failed columns and worst groups."""
        return row.to_dict(
            ranked=self.rank_metric is not None,
            column_suites=self.column_suites,
            worst=self.worst_groups(row),
        )


def _protocol(job: StoredJob) -> str:
    """The job's protocol preset as `<name> v<version>`; "" for a job run without one."""
    ref = job.record.protocol
    return ref.label if ref is not None else ""


def _signature(job: StoredJob) -> str:
    return f"v{job.record.suite_version}/{job.record.suite_config_hash[:8]}"


def build_boards(
    root: Path,
    *,
    task: str | None = None,
    all_metrics: bool = False,
    ranks: bool = True,
    allow_partial: bool = False,
    loaded: list[LoadedJob] | None = None,
    keep_tables: bool = False,
    suite_boards: Sequence[SuiteBoard],
    forms: paired_tests.FormStore | None = None,
    partial_option: str = "--allow-partial",
) -> list[Board]:
    """Read every completed job under `root` and arrange comparable boards (`suite_boards`: the
    installed suites' boards, whose `cross_model` hooks add the columns that need several models
    of a board, e.g. the shift suite's mCE; `harness.run.suite_boards`; `loaded`: the
    jobs `load_jobs(root)` returns, when the caller has read them already; `keep_tables`: the
    per-sample tables the ranks read stay parsed with their jobs, for a caller that reads them
    again, e.g. the report; otherwise only what the ranks keep stays in memory; `forms`: paired
    forms kept from an earlier build, `paired_tests.stored_evidence`).

    With `ranks`, each board's first column is ranked with tie groups decided by paired tests on
    the per-sample tables (see harness.analysis.paired_tests); rows get `rank` next to `position`.
    Results with missing jobs (unfinished runs, deleted job folders: see
    harness.store.completeness) are refused unless `allow_partial`; then the boards they touch
    are marked PARTIAL in their title and say which jobs are missing (`partial_option`: the
    refusal's way out as the caller spells it, `allow_partial=True` from Python). Jobs that
    failed in a finished run are named in a note under the boards of their task.
    """
    every = load_jobs(root) if loaded is None else loaded
    gaps = completeness(root, every)
    if task is not None:
        gaps = gaps.for_task(task)
    if not allow_partial:
        gaps.refuse(root, partial_option)
    boards = _boards(every, root, task, all_metrics, ranks, keep_tables, suite_boards, forms)
    _mark_gaps(boards, gaps)
    return boards


def _mark_gaps(boards: list[Board], gaps: Completeness) -> None:
    """Title and first notes of each board that an incomplete run or a failed job touches."""
    for board in boards:
        scoped = gaps.for_task(board.task)
        failed = scoped.failed_note()
        if failed is not None:
            board.notes.insert(0, failed)
        if scoped.whole:
            continue
        board.title += " [PARTIAL]"
        board.notes.insert(
            0, f"PARTIAL results (published with --allow-partial): {scoped.summary()}"
        )
        rows = {r.model: r for r in board.rows}
        for gap in scoped.missing:
            row = rows.get(gap.model)
            if row is None or not any(rec.suite == gap.suite for rec in row.cells.values()):
                continue
            # the board shows a result of that job from an earlier run (completeness lists a
            # gap only when no run recorded the job at least as recently)
            note = (
                f"{gap.model}: suite {gap.suite} has no result in the latest run that ran it, "
                f"{gap.run} ({gap.why}); its numbers here are from an earlier run"
            )
            board.notes.append(note)
            board.earlier.append(note)


def _boards(
    every: list[LoadedJob],
    root: Path,
    task: str | None,
    all_metrics: bool,
    ranks: bool,
    keep_tables: bool,
    suite_boards: Sequence[SuiteBoard],
    forms: paired_tests.FormStore | None = None,
) -> list[Board]:
    hooks = cross_model_columns(suite_boards)
    declared = headline_columns(suite_boards), trade_offs(suite_boards)
    configs = suite_configs(suite_boards)
    failures = failed_jobs(root)
    loaded = _completed(every, root, task, failures)
    by_task = _latest_by_task(loaded)
    shadowed = _shadowed_runs(loaded)
    fingerprints_per_name: dict[str, set[str]] = defaultdict(set)
    for name, fp, _protocol_label in by_task:
        fingerprints_per_name[name].add(fp)
    latest_data = _latest_data(by_task)
    boards: list[Board] = []
    for (task_name, fp, protocol), task_jobs in sorted(by_task.items()):
        split_suites, groups = _config_groups(task_jobs)
        shared = [(m, j) for m, j in task_jobs if j.record.suite not in split_suites]
        for group_key, group_jobs in groups.items():
            title = task_name
            summary = task_jobs[0][1].record.task_summary
            if len(fingerprints_per_name[task_name]) > 1:
                title += f" (data {fp[:8]}, n={summary.n})"
            if group_key:
                title += " · " + ", ".join(f"{s} config {sig}" for s, sig in group_key)
            if protocol:
                title += f" · protocol {protocol}"
            board_jobs = [*shared, *group_jobs]
            board = _make_board(title, task_name, fp, summary.n, board_jobs, all_metrics)
            board.headline_columns, board.trade_offs = declared
            board.suite_configs = configs
            board.protocol = protocol or None
            board.headline, headline_note = board_headline(board_jobs)
            if headline_note:
                board.notes.append(headline_note)
            board.notes.extend(_coding_notes(board, summary.group_notes))
            for suite, columns in sorted(hooks.items()):
                _add_cross_model(board, board_jobs, suite, columns)
            _add_failures(board, failures.get(task_name, {}))
            _order(board)
            if ranks:
                _add_ranks(board, keep_tables, forms)
            _add_variant_notes(board, board_jobs)
            board.notes.extend(_subset_notes(board_jobs))
            board.notes.extend(_ood_notes(board_jobs))
            board.notes.extend(_truncation_notes(board_jobs))
            board.notes.extend(_shadow_notes(board_jobs, shadowed))
            if split_suites:
                board.notes.append(
                    f"suite(s) {', '.join(split_suites)} ran with different configs on {task_name}; "
                    "each config has its own board"
                )
            if len(fingerprints_per_name[task_name]) > 1:
                board.notes.append(_data_split_note(task_name, fp, by_task, latest_data))
            boards.append(board)
    return boards


def board_headline(jobs: list[LoadedJob]) -> tuple[Headline, str | None]:
    """The headline threat model(s) the board's jobs stored with their task, and a note when
    they differ (a spec changed `headline:` between runs): the latest job's is used. Jobs of
    an older harness stored none and have no say."""
    stored = [
        j.record.task_summary.headline
        for _man, j in oldest_first(jobs)
        if "headline" in j.record.task_summary.model_fields_set
    ]
    if not stored:
        return (), None
    latest = stored[-1]
    others = {headline_text(h) for h in stored} - {headline_text(latest)}
    if not others:
        return latest, None
    return latest, (
        f"the jobs of this board stored different headline threat models "
        f"({'; '.join(sorted(others))}); the latest run's is headlined: {headline_text(latest)}"
    )


def _coding_notes(board: Board, notes: dict[str, str]) -> list[str]:
    """The task's note on each group column whose coding the source does not document, once
    per board that shows numbers by that column."""
    return [
        f"group {column}: {note}"
        for column, note in sorted(notes.items())
        if any(f"group_by={column}" in key for key in board.columns)
    ]


Failures = dict[str, dict[tuple[str, str], str]]  # task -> (model, suite) -> reason


def boardless_failures(root: Path, boards: Sequence[Board], task: str | None = None) -> list[str]:
    """One line per task whose jobs all failed, so it has no board to carry the note that
    names them (a hub task that could not load beside a local one that ran): without it the
    leaderboard showed the other tasks' boards and said nothing of that task."""
    shown = {b.task for b in boards}
    lines = []
    for name, jobs in sorted(failed_jobs(root).items()):
        if name in shown or (task is not None and name != task):
            continue
        named = "; ".join(f"{m} × {name} × {s} (failed: {why})" for (m, s), why in jobs.items())
        lines.append(f"note: task {name!r} has no board: {len(jobs)} job(s) failed: {named}")
    return lines


def failed_jobs(root: Path) -> Failures:
    """Failed jobs of every run manifest under `root`, with their one-line reason, by task.

    A failure is dropped when the same (model, task, suite) completed in a run at least as
    recent, so a fixed and rerun job no longer shows its old failure.
    """
    failed: dict[tuple[str, str, str], tuple[str, str]] = {}
    completed: dict[tuple[str, str, str], str] = {}
    for run_dir in find_run_dirs(root):
        manifest = read_record(run_dir / "manifest.json", RunManifest)
        when = invocation_time(manifest)  # harness/store/recency.py: the rule of "the latest"
        for entry in manifest.jobs:
            if entry.status == JobStatus.FAILED:
                line = (
                    (entry.message or "failed").strip().splitlines()[0]
                    if entry.message
                    else "failed"
                )
                failed[entry.names] = max(failed.get(entry.names, ("", "")), (when, line))
            elif entry.status in (JobStatus.COMPLETED, JobStatus.CACHED):
                completed[entry.names] = max(completed.get(entry.names, ""), when)
    out: Failures = defaultdict(dict)
    for (model, task, suite), (when, line) in failed.items():
        if completed.get((model, task, suite), "") < when:
            text = line if len(line) <= FAILURE_TEXT else line[: FAILURE_TEXT - 1] + "…"
            out[task][(model, suite)] = text
    return out


def _completed(
    every: list[LoadedJob], root: Path, task: str | None, failures: Failures
) -> list[LoadedJob]:
    """The completed jobs under `root` (of `task` when given); none is a ResultsError."""
    loaded = [(man, j) for man, j in every if j.status == JobStatus.COMPLETED]
    if task is not None:
        names = sorted({j.record.task for _, j in loaded})
        loaded = [(man, j) for man, j in loaded if j.record.task == task]
        if not loaded:
            raise ResultsError(
                f"no completed results for task {task!r} under {root}; tasks with results: "
                f"{', '.join(names) or '(none)'}{_failure_hint(failures, task)}"
            )
    if not loaded:
        raise ResultsError(f"no completed jobs under {root}{_failure_hint(failures, task)}")
    return loaded


def _failure_hint(failures: Failures, task: str | None) -> str:
    items = [
        f"{model}/{t}/{suite}: {reason}"
        for t, jobs in sorted(failures.items())
        if task is None or t == task
        for (model, suite), reason in sorted(jobs.items())
    ]
    return (
        f" (failed jobs: {'; '.join(items[:3])}{' ...' if len(items) > 3 else ''})" if items else ""
    )


def _add_failures(board: Board, failures: dict[tuple[str, str], str]) -> None:
    """Failed jobs of the board's task: the reason in the row of the model (added if absent)."""
    rows = {r.model: r for r in board.rows}
    for (model, suite), reason in sorted(failures.items()):
        row = rows.get(model) or BoardRow(model, board.task, board.task_fingerprint)
        if any(rec.suite == suite for rec in row.cells.values()):
            # this board holds a completed result of that suite, from an earlier run than the
            # failure (failed_jobs drops a failure that a run at least as recent completed)
            note = (
                f"{model}: suite {suite} failed in the latest run that ran it ({reason}); its "
                "numbers here are from an earlier run"
            )
            board.notes.append(note)
            board.earlier.append(note)
            continue
        rows[model] = replace(row, failed={**row.failed, suite: reason})
        if suite not in board.column_suites.values() or len(reason) > FAILURE_CELL:
            board.notes.append(f"{model}: suite {suite} failed: {reason}")
    board.rows = list(rows.values())


def _latest_by_task(loaded: list[LoadedJob]) -> dict[tuple[str, str, str], list[LoadedJob]]:
    """The latest result per (task fingerprint, protocol, model, suite, signature), by (task,
    fingerprint, protocol): numbers of a protocol preset never share a board with others."""
    latest: dict[tuple[str, str, str, str, str], LoadedJob] = {}
    for man, job in oldest_first(loaded):
        fp = job.record.task_summary.fingerprint
        key = (fp, _protocol(job), job.record.model, job.record.suite, _signature(job))
        latest[key] = (man, job)
    by_task: dict[tuple[str, str, str], list[LoadedJob]] = defaultdict(list)
    for (fp, protocol, _m, _s, _sig), (man, job) in latest.items():
        by_task[(job.record.task, fp, protocol)].append((man, job))
    return by_task


def _shadowed_runs(loaded: list[LoadedJob]) -> dict[tuple[str, ...], list[str]]:
    """(fingerprint, protocol, model, suite, signature) -> run ids of older, different results
    that a board does not show (same key: a copy of the same result, not listed; a job of
    another protocol, or none, is on another board, not hidden)."""
    keys: dict[tuple[str, ...], dict[str, list[str]]] = defaultdict(dict)
    for man, job in oldest_first(loaded):
        slot = _slot(job)
        runs = keys[slot].pop(
            job.record.key, []
        )  # re-insert: the key inserted last is the one shown
        keys[slot][job.record.key] = [*runs, man.run_id]
    return {
        slot: [run for runs in list(by_key.values())[:-1] for run in runs]
        for slot, by_key in keys.items()
        if len(by_key) > 1
    }


def _subset_notes(jobs: list[LoadedJob]) -> list[str]:
    """What each suite evaluated when it took part of the task (`subsets.subset_note`; the
    board's n is the task's) or ran settings the columns do not show (`board_notes`): one line
    per suite when every model of the board's jobs of that suite says the same, else naming the
    models that do."""
    models: dict[str, set[str]] = defaultdict(set)
    saying: dict[tuple[str, str], set[str]] = defaultdict(set)
    for _man, job in jobs:
        models[job.record.suite].add(job.record.model)
        for note in job.record.notes:
            if is_board_note(note):
                saying[(job.record.suite, note)].add(job.record.model)
    return [
        f"{suite}: {note}" + ("" if who == models[suite] else f" ({', '.join(sorted(who))})")
        for (suite, note), who in sorted(saying.items())
    ]


OOD_ABSENT_PREFIX = ("OOD detector ", "OOD detectors ")
"""How the shift suite's note on detectors a model could not run begins (suites/shift/ood)."""


def _ood_notes(jobs: list[LoadedJob]) -> list[str]:
    """Which OOD detectors a model's job left out and why (each note names its model), once."""
    seen: dict[str, None] = {}
    for _man, job in jobs:
        for note in job.record.notes:
            if note.startswith(OOD_ABSENT_PREFIX):
                seen.setdefault(f"{job.record.suite}: {note}", None)
    return list(seen)


def _truncation_notes(jobs: list[LoadedJob]) -> list[str]:
    """How many texts each model truncated (`Truncation.note`, naming its model): every suite's
    job on the task says the same, so the board says it once."""
    seen: dict[str, None] = {}
    for _man, job in jobs:
        for note in job.record.notes:
            if is_truncation_note(note):
                seen.setdefault(note, None)
    return list(seen)


def _latest_data(by_task: Mapping[tuple[str, str, str], list[LoadedJob]]) -> dict[str, str]:
    """Task name -> the data fingerprint of its most recently recorded job (the recency rule
    of the boards, harness/store/recency.py): which of a task's boards split by data (a
    `--limit`, changed data) holds its latest results."""
    newest: dict[str, tuple[str, str]] = {}
    for (name, fp, _protocol), jobs in by_task.items():
        when = max(t for _item, t in recorded_times(jobs))
        if name not in newest or when > newest[name][0]:
            newest[name] = (when, fp)
    return {name: fp for name, (_when, fp) in newest.items()}


def _data_text(fp: str, jobs: list[LoadedJob]) -> str:
    """`data e0cc16e3, limit 60`: a fingerprint as the boards' titles shorten it, with the
    sample its jobs drew (`limit`) when they drew one."""
    summary = jobs[0][1].record.task_summary
    limit = f", limit {summary.limit}" if summary.limit is not None else ""
    return f"data {fp[:8]}{limit}"


def _data_split_note(
    task: str,
    fp: str,
    by_task: Mapping[tuple[str, str, str], list[LoadedJob]],
    latest: Mapping[str, str],
) -> str:
    """The note of a board whose task has results on other data too: each data fingerprint
    (with its limit), and whether this board or which other one holds the latest results."""
    data = {
        f: _data_text(f, jobs) for (name, f, _p), jobs in sorted(by_task.items()) if name == task
    }
    newest = latest.get(task)
    where = (
        "this board holds its latest results"
        if newest == fp
        else f"an earlier board: the latest results are on the board of {data[newest]}"
        if newest is not None
        else ""
    )
    return (
        f"task {task} appears with {len(data)} different data fingerprints "
        f"({'; '.join(data.values())}); they are not compared" + (f"; {where}" if where else "")
    )


def _slot(job: StoredJob) -> tuple[str, ...]:
    """Where a job's result shows on the boards: one cell per these, the latest job's."""
    r = job.record
    return (r.task_summary.fingerprint, _protocol(job), r.model, r.suite, _signature(job))


def _shadow_notes(jobs: list[LoadedJob], shadowed: dict[tuple[str, ...], list[str]]) -> list[str]:
    """One note per model whose board cell hides results of other runs: which run is shown."""
    hidden: dict[tuple[str, str], set[str]] = defaultdict(set)
    for man, job in jobs:
        others = shadowed.get(_slot(job))
        if others:
            hidden[(job.record.model, man.run_id)].update(others)
    return [
        f"{model}: shown from run {shown} (the latest); other results of the same model and "
        f"task in run(s) {', '.join(sorted(runs))} are not shown; pass one run folder "
        "(results/runs/<run_id>) to see them"
        for (model, shown), runs in sorted(hidden.items())
    ]


def _config_groups(
    task_jobs: list[LoadedJob],
) -> tuple[list[str], dict[tuple[tuple[str, str], ...], list[LoadedJob]]]:
    """Suites that ran with several configs on a task, and each config board's own jobs.

    A job of a split suite goes to the board of its config; the other jobs go to every board.
    """
    sigs: dict[str, set[str]] = defaultdict(set)
    for _, j in task_jobs:
        sigs[j.record.suite].add(_signature(j))
    split_suites = sorted(s for s, v in sigs.items() if len(v) > 1)
    groups: dict[tuple[tuple[str, str], ...], list[LoadedJob]] = defaultdict(list)
    for man, j in task_jobs:
        if j.record.suite in split_suites:
            groups[((j.record.suite, _signature(j)),)].append((man, j))
    if not groups:
        groups[()] = []
    return split_suites, groups


def _shared_keys(jobs: list[LoadedJob], all_metrics: bool) -> set[str]:
    """Keys that more than one suite reports on the board (the adversarial and shift suites'
    `clean_acc`, each on its own subset): the board qualifies them `[suite=...]`, so neither
    suite's number hides the other's under a column that seems to be one number."""
    suites_of: dict[str, set[str]] = defaultdict(set)
    for _man, job in jobs:
        for m in job.metrics:
            if m.headline or all_metrics:
                suites_of[m.key].add(m.suite)
    return {key for key, suites in suites_of.items() if len(suites) > 1}


def _make_board(
    title: str, task: str, fp: str, n: int | None, jobs: list[LoadedJob], all_metrics: bool
) -> Board:
    rows: dict[str, BoardRow] = {}
    columns: list[str] = []
    units: dict[str, tuple[str, bool]] = {}
    suites: dict[str, str] = {}
    records: dict[tuple[str, str], MetricRecord] = {}
    column_suites: dict[str, str] = {}
    shared = _shared_keys(jobs, all_metrics)
    for _man, job in jobs:
        model = job.record.model
        suites[job.record.suite] = _signature(job)
        row = rows.setdefault(model, BoardRow(model, task, fp))
        lineage = job.record.model_description.lineage
        if lineage is not None:  # a compressed variant (docs/variants.md)
            row = rows[model] = replace(row, parent=lineage[0], variant=lineage[1])
        for m in job.metrics:
            if not (m.headline or all_metrics):
                continue
            if m.key in shared:  # two suites' numbers under one key: a column each
                m = replace(m, context={**m.context, "suite": m.suite})
            if m.key not in units:
                columns.append(m.key)
                units[m.key] = (m.unit, m.higher_is_better)
            row.cells[m.key] = m
            records[(model, m.key)] = m
            column_suites.setdefault(m.key, m.suite)
    return Board(
        title=title,
        task=task,
        task_fingerprint=fp,
        n=n,
        suites=suites,
        rows=list(rows.values()),
        columns=columns,
        units=units,
        sources={(j.record.model, j.record.suite): (man, j) for man, j in jobs},
        records=records,
        column_suites=column_suites,
    )


def _order(board: Board) -> None:
    """Positions: by the first column, trustworthy numbers first, missing values last."""
    ordered = sorted(board.rows, key=lambda r: _sort_key(r, board.columns, board.units))
    board.rows = [replace(row, position=i) for i, row in enumerate(ordered, start=1)]


def _add_cross_model(
    board: Board, jobs: list[LoadedJob], suite: str, columns: CrossModelColumns
) -> None:
    """The suite's columns that need several models of the board (the shift suite's mCE,
    relative mCE and effective robustness) and its notes, from its board's hook."""
    of_suite = [(man, j) for man, j in jobs if j.record.suite == suite]
    if not of_suite:
        return
    per_model, notes = columns(_cross_model_inputs(board, of_suite))
    board.notes.extend(notes)
    for model, records in per_model.items():
        for m in records:
            if m.key not in board.units:
                board.columns.append(m.key)
                board.units[m.key] = (m.unit, m.higher_is_better)
            board.column_suites.setdefault(m.key, m.suite)
            board.records[(model, m.key)] = m
    board.rows = [
        replace(r, cross_model={**r.cross_model, **{m.key: m for m in per_model[r.model]}})
        if r.model in per_model
        else r
        for r in board.rows
    ]


def _cross_model_inputs(board: Board, loaded: list[LoadedJob]) -> CrossModelInputs:
    """One suite's jobs on the board for its cross-model hook: records, notes, configs, tables,
    the board's variants, resampled as often as the runs asked (`recorded_resamples`)."""
    jobs = [j for _, j in loaded]
    return CrossModelInputs(
        task=board.task,
        records={j.record.model: j.metrics for j in jobs},
        job_notes={j.record.model: j.record.notes for j in jobs},
        configs=[j.record.suite_config for j in jobs],
        tables={j.record.model: _table_source(j) for j in jobs},
        variants={r.model for r in board.rows if r.variant is not None},
        seed=min(j.record.seed for j in jobs),
        resamples=recorded_resamples(loaded),
    )


def recorded_resamples(jobs: list[LoadedJob]) -> int:
    """The bootstrap resamples the jobs' runs asked for (`bootstrap_resamples` of the spec each
    run manifest records); `DEFAULT_RESAMPLES` when none records one (manifests written without
    the setting).

    Runs that disagree (a board can hold jobs of several runs) get the largest: a cross-model
    interval resamples every model's table at once, so it cannot follow each job's own count,
    and the largest is the most precise any of them asked for (more resamples only shrink the
    interval's Monte Carlo error; they do not change what it estimates). 0 (every run turned the
    bootstrap off) gives no cross-model intervals, as it gives the runs' own bootstrapped metrics
    none.
    """
    counts = [
        value
        for man, _job in jobs
        if isinstance(value := man.spec.get("bootstrap_resamples"), int)
        and not isinstance(value, bool)
        and value >= 0
    ]
    return max(counts) if counts else DEFAULT_RESAMPLES


def _table_source(job: StoredJob) -> Callable[[], SampleTable | None]:
    """A loader of a job's per-sample table (None when it stored none)."""
    return lambda: job.table() if job.has_table else None


def _add_ranks(
    board: Board, keep_tables: bool = True, forms: paired_tests.FormStore | None = None
) -> None:
    """Rank rows on the board's first column with tie groups from paired tests (the tables
    parsed for it are dropped again unless `keep_tables`)."""
    if not board.columns:
        return
    key = board.columns[0]
    entries = {}
    seeds = set()
    for row in board.rows:
        record = row.cell(key)
        if record is None:
            continue
        _man, job = board.sources[(row.model, record.suite)]
        seeds.add(job.record.seed)
        entries[row.model] = paired_tests.stored_evidence(
            record, job, configs=board.suite_configs, forms=forms
        )
        if not keep_tables:  # the evidence keeps what the ranking needs
            job.forget_table()
    try:
        ranking = paired_tests.rank_with_ties(entries, seed=min(seeds) if seeds else 0)
    except ResultsError as err:
        board.notes.append(f"no rank tie groups: {err}")
        return
    board.rank_metric = key
    board.rank_method = f"rank on {key}: {ranking.method}"
    board.rows = [replace(row, rank=ranking.ranks.get(row.model)) for row in board.rows]


def _add_variant_notes(board: Board, loaded: list[LoadedJob]) -> None:
    """A note per variant on the board: its change from its parent on the first column."""
    if not board.columns or not any(r.variant is not None for r in board.rows):
        return
    from harness.analysis.variant_deltas import board_notes, compare_variants

    first = board.columns[0]
    compared = compare_variants(
        loaded, task=board.task, metrics={first}, configs=board.suite_configs
    )
    board.notes.extend(board_notes(compared, board.task, first))


def _sort_key(
    row: BoardRow, columns: list[str], units: dict[str, tuple[str, bool]]
) -> tuple[Any, ...]:
    if not columns:
        return (row.model,)
    first = columns[0]
    record = row.cell(first)
    value = row.value(first)
    higher = units[first][1]
    missing = value is None
    tier = paired_tests.tier_of(record) if record is not None else 1
    return (missing, tier, -(value or 0.0) if higher else (value or 0.0), row.model)
