"""Group breakdowns of stored per-sample tables (`harness groups`: fairness x robustness).

Selects the completed jobs with a per-sample table (filtered by run, task, model and suite),
picks each table's groupings (the `--by` columns, else every categorical group column) and
conditions (one named condition, else all of them), and returns the long rows
(`long_rows`: one number per row) for every (table, condition). Every row names its run: a
results folder holding two runs of one model keeps their rows apart (`repeated_jobs` names the
jobs held by more than one run). A condition that several suites' tables of one run, model and
task hold (every suite stores `clean`) is broken down once, from the table with the most
samples of it (`--suite` picks another). Torch-free (pandas, numpy).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import is_float_dtype

from harness.analysis.caveats import is_upper_bound
from harness.analysis.setting_words import CLI_WORDS, SettingWords
from harness.core.board_notes import ONE_CLASS_DISPARITIES, one_class_words
from harness.core.errors import ConfigError, DatasetError, ResultsError
from harness.core.manifest import JobStatus, TaskSummary
from harness.core.sample_table import GROUP_PREFIX, condition_mask
from harness.core.suite_board import SuiteConfigs, read_config
from harness.stats.calibration import ECE_BINS
from harness.stats.group_statistics import CLEAN_CORRECT, CLEAN_TIED, TIED
from harness.stats.groups import (
    INTERSECTION,
    LABEL_GROUP,
    Breakdown,
    Estimate,
    Grouping,
    class_shown,
    group_breakdown,
    group_columns_of,
    positive_class_note,
)
from harness.stats.intervals import DEFAULT_RESAMPLES
from harness.stats.shared_draws import SharedDraws
from harness.store.arrow_frames import frame_of
from harness.store.run_store import LoadedJob, StoredJob, load_jobs

Loaded = LoadedJob


@runtime_checkable
class GroupOptions(Protocol):
    """What a group breakdown reads of a job's config (the fairness suite's `FairnessConfig`,
    read back through its board: `harness.core.suite_board.read_config`): the positive class of
    a binary task and the ECE's bins."""

    @property
    def positive_label(self) -> int: ...

    @property
    def ece_bins(self) -> int: ...


@dataclass(frozen=True, kw_only=True)
class GroupQuery:
    """Which stored tables to break down, and how (the options of `harness groups`)."""

    task: str | None = None
    model: str | None = None
    suite: str | None = None
    run: str | None = None  # a run id (or run folder name); None: every run of the folder
    condition: str | None = None  # None: every condition of each table
    by: list[str] | None = None  # group columns, `a&b` for an intersection; None: each column
    min_group_size: int = 20
    resamples: int = DEFAULT_RESAMPLES
    # the positive class of binary tasks; None: that of the run's fairness job on the task
    # (its config's positive_label, `positive_labels`), else 1
    positive_label: int | None = None
    words: SettingWords = CLI_WORDS  # how errors and notes name these options

    @property
    def fully_named(self) -> bool:
        """Task, model and suite all given: one table is meant, so a mismatch is an error."""
        return self.suite is not None and self.model is not None and self.task is not None


def _in_run(loaded: Loaded, run: str | None) -> bool:
    manifest, job = loaded
    return run is None or run in (manifest.run_id, job.path.parent.parent.name)


def select_jobs(
    results: Path, query: GroupQuery, *, loaded: list[Loaded] | None = None
) -> list[Loaded]:
    """Completed jobs with a per-sample table that match the query's run, task, model and suite
    (`loaded`: what `load_jobs(results)` read, when the caller has it)."""
    wanted = {"task": query.task, "model": query.model, "suite": query.suite}
    loaded = load_jobs(results) if loaded is None else loaded
    found = [
        (m, j)
        for m, j in loaded
        if j.status == JobStatus.COMPLETED and j.has_table and _in_run((m, j), query.run)
    ]
    if query.run is not None and not any(_in_run(x, query.run) for x in loaded):
        runs = sorted({m.run_id for m, _ in loaded})
        raise ResultsError(
            f"{query.words('run', query.run)}: no run of that id under {results}; its runs: "
            f"{', '.join(runs) or '(none)'}"
        )
    jobs = [
        (m, j)
        for m, j in found
        if query.task in (None, j.record.task)
        and query.model in (None, j.record.model)
        and query.suite in (None, j.record.suite)
    ]
    if not jobs:
        have = sorted({f"{j.record.model} x {j.record.task} x {j.record.suite}" for _, j in found})
        raise ResultsError(
            f"no stored per-sample tables under {results} match {', '.join(query.words(k, v) for k, v in wanted.items() if v) or 'the filters'}; available: {'; '.join(have) or '(none)'}"
        )
    return jobs


def groupings(table: pd.DataFrame, by: list[str] | None) -> list[Grouping]:
    """The `--by` groupings, else one per categorical group column of the table."""
    if by:
        return [tuple(b.split(INTERSECTION)) for b in by]
    return [
        (c,)
        for c in group_columns_of(table)  # continuous ones need bins: name them in --by
        if not is_float_dtype(table[f"group:{c}"])
    ]


@dataclass(frozen=True)
class TablePlan:
    """What the plan of a breakdown reads of a table before the table itself: its group
    columns (as the whole table parses them) and each of its conditions with its number of
    rows, in the order of first appearance."""

    groups: pd.DataFrame
    conditions: dict[str, int]


def table_plan(job: StoredJob, *, keep: bool = False) -> TablePlan:
    """The plan's columns of the job's table, read from Arrow: the condition column is counted
    there (pandas' `unique()` and `value_counts()` of it, without building a frame), the group
    columns are parsed into pandas (their dtypes decide what is continuous). `keep`: the whole
    table is read and kept with the job for its `table()` (one read of the file; the caller
    forgets it when done, `StoredJob.forget_table`)."""
    if keep:
        whole = job.read_arrow()
        arrow = whole.select(_plan_columns(list(whole.column_names)))
    else:
        arrow = job.arrow_columns(_plan_columns)
    group_names = [n for n in arrow.column_names if n.startswith(GROUP_PREFIX)]
    groups = frame_of(arrow.select(group_names)) if group_names else None
    column = arrow.column("condition")
    if column.null_count == 0 and (
        pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    ):
        counted = pc.value_counts(column)  # in the order of first appearance, as unique()
        names = counted.field("values").to_pylist()
        conditions = dict(zip(names, counted.field("counts").to_pylist(), strict=True))
    else:  # a column of other values: as pandas reads and names them
        values = arrow.select(["condition"]).to_pandas(use_threads=False)["condition"]
        per = values.value_counts()
        conditions = {str(c): int(per.get(str(c), 0)) for c in values.unique()}
    return TablePlan(groups=_no_groups() if groups is None else groups, conditions=conditions)


@functools.cache
def _no_groups() -> pd.DataFrame:
    """The plan's groups of a table without group columns: one empty frame for all of them
    (each plan's own cost 0.1-0.2 ms, 400 a folder of `--by label`); only read, never changed."""
    return pd.DataFrame()


def _conditions(
    label: str, plan: TablePlan, by: list[Grouping], query: GroupQuery
) -> list[str] | str:
    """The conditions to break down, or (a string) why this table does not take part."""
    conditions = list(plan.conditions)  # in the order of appearance
    if query.condition is None:
        return conditions
    table = plan.groups
    missing_cols = {
        c for g in by for c in g if c != LABEL_GROUP and f"group:{c}" not in table.columns
    }
    if query.condition not in conditions or (query.by and missing_cols):
        # named explicitly: an error; otherwise this table just does not take part
        if query.fully_named:
            raise ResultsError(
                f"{label} has no condition {query.condition!r}; its conditions: {', '.join(conditions)}"
            )
        available = ", ".join(group_columns_of(table)) or "(none)"
        return f"{label}: conditions {', '.join(conditions)}, available group columns: {available}"
    return [query.condition]


def with_clean_reference(table: pd.DataFrame, condition: str, clean: str = "clean") -> pd.DataFrame:
    """Rows of `condition` with a `clean_correct` column from the same samples' clean rows (and
    `clean_label_tied` from their `label_tied`, where the table has it).

    Samples without a clean row are dropped (paired comparison); the result is the input for a
    robustness breakdown (per-group accuracy drop, worst-group robustness gap).
    """
    mask = condition_mask(table, condition)
    # every row of the condition (a table of clean rows alone): the table itself, not a copy
    every = isinstance(mask, np.ndarray) and mask.dtype == bool and bool(mask.all())
    rows = table if every and len(mask) == len(table) else table[mask]
    if condition == clean or clean not in set(table["condition"].unique()):
        return rows
    kept = ["sample_id", "correct"] + ([TIED] if TIED in table.columns else [])
    ref = table.loc[table["condition"] == clean, kept]
    ref = ref.rename(columns={"correct": CLEAN_CORRECT, TIED: CLEAN_TIED})
    return rows.merge(ref, on="sample_id", how="inner")


def long_rows(meta: dict[str, Any], breakdown: Breakdown) -> list[dict[str, Any]]:
    """One row per number (group metric or disparity), tagged with `meta` (model, task, suite):
    `n` is the count the number is of (a TPR's: the group's positive labels), `group_n` the
    group's size (a disparity's: the samples across its groups)."""
    rows: list[dict[str, Any]] = []
    base = {**meta, "condition": breakdown.condition}
    for g in breakdown.groups:
        for name, est in g.metrics.items():
            rows.append(
                {**base, "group_by": g.group_by, "group": g.group, "metric": name}
                | {"n": g.count(name), "group_n": g.n}
                | _value_fields(est, ",".join(g.flags(name)))
            )
    for d in breakdown.disparities:
        rows.append(
            {**base, "group_by": d.group_by, "group": "*", "metric": d.metric}
            | {"n": d.n, "group_n": d.n}
            | _value_fields(d.estimate, ",".join(d.estimate.flags))
        )
    return rows


def _value_fields(est: Estimate, flag: str) -> dict[str, Any]:
    return {
        "value": est.value,
        "ci_lo": est.ci[0] if est.ci else None,
        "ci_hi": est.ci[1] if est.ci else None,
        "flag": flag,
        "note": est.note or "",
    }


def _job_rows(
    loaded: Loaded,
    table: pd.DataFrame,
    by: list[Grouping],
    conditions: list[str],
    query: GroupQuery,
    shared: SharedDraws,
    options: tuple[int, int],
) -> list[dict[str, Any]]:
    """Long rows of one job's table broken down for each of `conditions` (`options`: the
    positive class and the ECE's bins)."""
    manifest, job = loaded
    positive_label, ece_bins = options
    declared = job.record.task_summary.group_labels
    rows: list[dict[str, Any]] = []
    for condition in conditions:
        try:
            breakdown = group_breakdown(
                with_clean_reference(table, condition),
                by,
                num_classes=job.record.task_summary.num_classes,
                seed=manifest.seed,
                condition=condition,
                min_group_size=query.min_group_size,
                resamples=query.resamples,
                positive_label=positive_label,
                ece_bins=ece_bins,
                shared=shared,
            )
        except DatasetError as err:  # the table at fault, among the folder's many
            raise DatasetError(
                f"{job.record.model} x {job.record.task} x {job.record.suite} (run "
                f"{manifest.run_id}, {job.path / 'samples.parquet'}): {err}"
            ) from None
        meta = {
            "model": job.record.model,
            "task": job.record.task,
            "suite": job.record.suite,
            "run": manifest.run_id,
        }
        one_class = _one_class_note(table, condition, job.record.task_summary)
        for row in long_rows(meta, breakdown):
            if (
                one_class
                and row["group"] == "*"
                and row["metric"] in ONE_CLASS_DISPARITIES
                and row["value"] is not None
            ):
                row["note"] = "; ".join(n for n in (row["note"], one_class) if n)
            label = declared.get(str(row["group_by"]), {}).get(str(row["group"]))
            if label is None and row["group_by"] == LABEL_GROUP:
                label = _class_name(str(row["group"]), job.record.task_summary.class_names)
            rows.append({**row, "label": label} if label else row)
    return rows


def _one_class_note(table: pd.DataFrame, condition: str, summary: TaskSummary) -> str:
    """On a binary task, when the model predicts one class on every sample of `condition` (a
    constant model, or one an attack pushed to one class): why its disparities read 0 (ratios 1),
    as the fairness job's caveat says of its clean rows; else ""."""
    if summary.num_classes != 2:
        return ""
    mask = condition_mask(table, condition)
    predictions = table.loc[mask, "prediction"].unique()
    if len(predictions) != 1:
        return ""
    shown = class_shown(summary.class_names, int(predictions[0]))
    rows = int(np.count_nonzero(mask))
    return (
        one_class_words(shown, rows, f" of condition {condition!r}")
        + ", so this reads as perfectly fair and says nothing "
        "about fairness; compare the groups' accuracy and error rates instead"
    )


def _class_name(group: str, class_names: Sequence[str] | None) -> str | None:
    """The name of class `group` (an index) when the task names its classes otherwise than by
    their indices (the boards' `class_acc[class=setosa]`), else None."""
    if not class_names or not group.isdigit() or int(group) >= len(class_names):
        return None
    name = str(class_names[int(group)])
    return None if name == group else name


def group_options(
    results: Path, configs: SuiteConfigs, *, folder_jobs: list[Loaded] | None = None
) -> dict[tuple[str, str], GroupOptions]:
    """(run id, task) -> the config of the run's job on the task that declares group options
    (the fairness suite's): `harness groups` counts selection rates, TPR and FPR with the
    positive class that suite counted, and bins ECE as it did, whichever suite's table of the
    run it breaks down. `folder_jobs`: what `load_jobs(results)` read, when the caller has it."""
    out: dict[tuple[str, str], GroupOptions] = {}
    for manifest, job in load_jobs(results) if folder_jobs is None else folder_jobs:
        config = read_config(configs, job.record.suite, job.record.suite_config)
        if isinstance(config, GroupOptions):
            out.setdefault((manifest.run_id, job.record.task), config)
    return out


def _options(
    loaded: Loaded, query: GroupQuery, options: dict[tuple[str, str], GroupOptions]
) -> tuple[int, int, str]:
    """A job's positive class, ECE bins, and where the positive class comes from, in words."""
    manifest, job = loaded
    found = options.get((manifest.run_id, job.record.task))
    bins = found.ece_bins if found is not None else ECE_BINS
    words = query.words
    if query.positive_label is not None:
        summary = job.record.task_summary
        if summary.num_classes == 2 and query.positive_label > 1:
            # class 5 of a binary task: every selection rate 0/n, demographic parity "perfect"
            raise ConfigError(
                f"{words('positive_label', query.positive_label)} but task {summary.name!r} is "
                f"binary (labels 0 and 1): give 0 or 1, or pick a task of more classes with "
                f"{words('task')}"
            )
        return query.positive_label, bins, words("positive_label", query.positive_label)
    if found is not None:
        return found.positive_label, bins, "the fairness suite's positive_label in this run"
    return 1, bins, f"the default; {words('positive_label')} picks another"


def positive_class_notes(
    results: Path,
    query: GroupQuery,
    configs: SuiteConfigs,
    *,
    jobs: list[Loaded] | None = None,
    folder_jobs: list[Loaded] | None = None,
) -> dict[str, str]:
    """`<task>` (with its run when runs differ) -> which class the binary task's selection
    rates, TPR and FPR count as positive (`positive_class_note`). `folder_jobs`:
    what `load_jobs(results)` read, when the caller has it."""
    options = group_options(results, configs, folder_jobs=folder_jobs)
    notes: dict[tuple[str, str], str] = {}
    for loaded in select_jobs(results, query) if jobs is None else jobs:
        summary = loaded[1].record.task_summary
        if summary.num_classes != 2:
            continue
        label, _bins, setting = _options(loaded, query, options)
        notes[(summary.name, loaded[0].run_id)] = positive_class_note(
            summary.class_names, label, setting
        )
    out: dict[str, str] = {}
    for (task, run), note in notes.items():
        same = {n for (t, _), n in notes.items() if t == task} == {note}
        out[task if same else f"{task}, run {run}"] = note
    return out


def group_notes(
    results: Path, query: GroupQuery, *, jobs: list[Loaded] | None = None
) -> dict[str, str]:
    """The selected tasks' notes on group columns whose coding the source does not document
    (`TaskSummary.group_notes`), `<task>: <column>` -> note. `jobs`: `select_jobs`' answer,
    when the caller has it."""
    return {
        f"{job.record.task}: {column}": note
        for _m, job in (select_jobs(results, query) if jobs is None else jobs)
        for column, note in job.record.task_summary.group_notes.items()
    }


Planned = tuple[Loaded, TablePlan, list[Grouping], list[str]]


def once_per_condition(planned: list[Planned]) -> tuple[list[Planned], list[str]]:
    """Each (run, model, task, condition) broken down from one table: the one with the most
    samples of it (on a tie the first suite in job order); and one line per condition left out
    of other tables (suite and n). Two runs of one model stay apart (the run column)."""
    Key = tuple[str, str, str, str]

    def key(loaded: Loaded, condition: str) -> Key:
        manifest, job = loaded
        return (manifest.run_id, job.record.model, job.record.task, condition)

    best: dict[Key, tuple[int, int]] = {}
    counts: list[dict[str, int]] = []
    for i, (loaded, plan, _by, conditions) in enumerate(planned):
        counts.append({c: plan.conditions[c] for c in conditions})
        for c in conditions:
            k = key(loaded, c)
            if k not in best or counts[i][c] > best[k][0]:
                best[k] = (counts[i][c], i)
    kept: list[Planned] = []
    dropped: list[str] = []
    for i, (loaded, plan, by, conditions) in enumerate(planned):
        job = loaded[1]
        mine = [c for c in conditions if best[key(loaded, c)][1] == i]
        for c in conditions:
            if c not in mine:
                n_best, at = best[key(loaded, c)]
                shown = planned[at][0][1]
                dropped.append(
                    f"{job.record.model} x {job.record.task}: {c} of {job.record.suite} "
                    f"(n={counts[i][c]}) not repeated; shown from {shown.record.suite} "
                    f"(n={n_best})"
                )
        if mine:
            kept.append((loaded, plan, by, mine))
    return kept, dropped


def stored_group_rows(
    results: Path,
    query: GroupQuery,
    *,
    on_skip: Callable[[str], None] | None = None,
    on_repeat: Callable[[str], None] | None = None,
    on_missing: Callable[[str], None] | None = None,
    jobs: list[Loaded] | None = None,
    configs: SuiteConfigs | None = None,
    folder_jobs: list[Loaded] | None = None,
) -> list[dict[str, Any]]:
    """Long rows (one number each) of the group breakdowns of the selected stored tables.

    `on_skip` hears about each table left out because it has no group column (and no `--by`);
    `on_missing` about each model left out of a task because its table lacks a `--by` column
    that other tables of the task store (`_lacking`);
    `on_repeat` about each condition not repeated from another suite's table
    (`once_per_condition`). Raises ResultsError when nothing is left to show, naming what the
    results hold. `jobs`: `select_jobs`' answer, when the caller has it.
    """
    _check_by_form(query.by, query.words)
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    planned: list[Planned] = []
    stored: dict[str, set[bool]] = {}  # each group column of the selected tables: continuous?
    lacking: list[Lacking] = []  # tables without a --by column
    of_task: dict[str, set[str]] = {}  # each task's group columns, over the selected tables
    selected = select_jobs(results, query) if jobs is None else jobs
    held = 0  # bytes of the tables kept from the plan for the breakdown
    for manifest, job in selected:
        # what the plan needs (conditions, group columns), from the whole table read once and
        # kept in Arrow for the breakdown below, which parses the tables into pandas one by one;
        # past KEEP_BUDGET from the plan's columns alone, the table read again at its breakdown
        plan, held = _kept_plan(job, held)
        for column in group_columns_of(plan.groups):
            continuous = is_float_dtype(plan.groups[f"{GROUP_PREFIX}{column}"])
            stored.setdefault(column, set()).add(bool(continuous))
            of_task.setdefault(job.record.task, set()).add(column)
        by = groupings(plan.groups, query.by)
        label = f"{job.record.model} x {job.record.task} x {job.record.suite}"
        if not by:
            if on_skip is not None:
                on_skip(
                    f"{label}: skipped (its table has no group columns; pass "
                    f"{query.words('by', 'label')} for a by-class view)"
                )
            continue
        conditions = _conditions(label, plan, by, query)
        if isinstance(conditions, str):
            skipped.append(conditions)
            absent = sorted(
                {c for g in by for c in g if c != LABEL_GROUP} - set(group_columns_of(plan.groups))
            )
            if query.by and absent and query.condition in plan.conditions:
                lacking.append(((manifest, job), absent, group_columns_of(plan.groups)))
            continue
        planned.append(((manifest, job), plan, by, conditions))
    if query.by:
        _check_by_columns(query.by, stored, query.words)
    kept, repeated = once_per_condition(planned)
    _forget_others(selected, kept)
    for line in _lacking(lacking, kept, of_task, query) + _continuous(kept, stored, query):
        if on_missing is not None:
            on_missing(line)
    for line in repeated:
        if on_repeat is not None:
            on_repeat(line)
    shared = SharedDraws()  # tables with the same groups draw the same resamples, once
    options = group_options(results, configs, folder_jobs=folder_jobs) if configs else {}
    for loaded, _plan, by, conditions in kept:
        job = loaded[1]
        positive, bins, _ = _options(loaded, query, options)
        rows += _job_rows(
            loaded, job.table().frame, by, conditions, query, shared, (positive, bins)
        )
        job.forget_table()  # its rows are made: only they stay in memory
    if not rows and skipped:
        raise ResultsError(
            f"no stored table has condition {query.condition!r}"
            + (f" and group columns {', '.join(query.by)}" if query.by else "")
            + f"; tables, their conditions and group columns: {'; '.join(skipped)[:600]}"
        )
    if not rows:
        raise ResultsError(
            "no group breakdown to show: no selected table has group columns; pass "
            f"{query.words('by')}"
        )
    return rows


KEEP_BUDGET = 1 << 30
"""Bytes of Arrow tables `stored_group_rows` keeps from the plan for the breakdown (then at most
one table more): a folder's tables are not all held at once (200 tables of a 1M-row corruption
suite, ~73 MB each in Arrow, held 15 GB)."""


def _kept_plan(job: StoredJob, held: int) -> tuple[TablePlan, int]:
    """`table_plan` of `job`, its whole table kept while `held` (the bytes kept so far) is under
    KEEP_BUDGET, and the bytes kept after it."""
    keep = held < KEEP_BUDGET
    plan = table_plan(job, keep=keep)
    return plan, held + (job.read_arrow().nbytes if keep else 0)


def _forget_others(selected: list[Loaded], kept: list[Planned]) -> None:
    """Drop the tables read for the plan (`table_plan(keep=True)`) that are not broken down."""
    breaking = {id(loaded[1]) for loaded, *_ in kept}
    for _m, job in selected:
        if id(job) not in breaking:
            job.forget_table()


Lacking = tuple[Loaded, list[str], list[str]]  # a table, the --by columns it lacks, its own


def bound_notes(jobs: Sequence[Loaded], rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """`<model> x <task> x <suite>, <condition>` -> why the breakdown's accuracies under that
    condition are upper bounds, for each shown condition whose job stored its accuracy as one
    (robust accuracy from black-box attacks only: the model exposes no gradients). A group's
    accuracy under it is then an upper bound too, and its drop a lower bound; the job's
    board says so, the breakdown said nothing."""
    shown = {(r["run"], r["model"], r["task"], r["suite"], r["condition"]) for r in rows}
    notes: dict[str, str] = {}
    for manifest, job in jobs:
        rec = job.record
        for metric in job.metrics:
            key = (manifest.run_id, rec.model, rec.task, rec.suite, metric.condition)
            if key not in shown or not is_upper_bound(metric):
                continue
            label = f"{rec.model} x {rec.task} x {rec.suite}, {metric.condition}"
            reason = (metric.note or "").rstrip(".")
            if "upper bound" not in reason.lower():
                reason = f"{metric.metric} is an upper bound" + (f": {reason}" if reason else "")
            notes[label] = (
                f"{reason}; each group's acc is an upper bound too, its acc_drop a lower bound, "
                "and a stronger attack may change the gaps between groups"
            )
    return notes


def _lacking(
    lacking: list[Lacking],
    kept: list[Planned],
    of_task: dict[str, set[str]],
    query: GroupQuery,
) -> list[str]:
    """One line per model and task that the breakdown leaves out because its tables lack a
    `--by` column that other selected tables of the same task store (a spec that declared the
    column for some runs only, a table written without it): without it, the model was silently
    missing from a comparison of groups that its task has. A task none of whose tables store
    the column is not named (digits under `--by sex`)."""
    shown = {(m.run_id, j.record.model, j.record.task) for (m, j), *_ in kept}
    lines: list[str] = []
    for (manifest, job), absent, own in lacking:
        record = job.record
        if (manifest.run_id, record.model, record.task) in shown:
            continue  # another of its tables is shown for the condition
        elsewhere = [c for c in absent if c in of_task.get(record.task, set())]
        if not elsewhere:
            continue
        columns = ", ".join(repr(c) for c in elsewhere)
        lines.append(
            f"{record.model} x {record.task} x {record.suite} (run {manifest.run_id}): its "
            f"table has no group column {columns}, which other tables of task {record.task!r} "
            f"have (its own: {', '.join(own) or '(none)'})"
        )
    return lines


def _continuous(kept: list[Planned], stored: dict[str, set[bool]], query: GroupQuery) -> list[str]:
    """Without `--by`, one line per task and group column that the shown tables hold as
    continuous values, which no default grouping breaks down: the default is "each group
    column", and a column such as a float `x2` (or diabetes' raw `age`) was left out without a
    word, while the fairness suite's table beside it may store its bins (`x2_bin`)."""
    if query.by:
        return []
    lines: dict[tuple[str, str], str] = {}
    for (_manifest, job), plan, _by, _conditions in kept:
        for column in group_columns_of(plan.groups):
            task = job.record.task
            if (task, column) in lines or not is_float_dtype(
                plan.groups[f"{GROUP_PREFIX}{column}"]
            ):
                continue
            binned = f"{column}_bin"
            if binned in group_columns_of(plan.groups):
                continue  # its bins are a grouping of this very table: shown
            how = (
                f"{query.words('by', binned)} breaks down the bins the fairness suite stored"
                if binned in stored
                else "only a fairness suite's table stores it binned (by its bins or the "
                f"task's group_bins, as {column}_bin)"
            )
            lines[(task, column)] = (
                f"group column {column!r} of task {task!r}: it holds continuous values, not "
                f"groups; {how}"
            )
    return list(lines.values())


def _check_by_form(by: list[str] | None, words: SettingWords) -> None:
    """One line for a `--by` that names a column twice in one grouping (`sex&sex` gave empty
    groups `1&2`, `2&1` beside the real ones), a grouping twice (`label,label` was shown once,
    `sex&age_band,age_band&sex` twice), or an empty name (`sex&`), as the fairness suite's
    `group_by` refuses them."""
    if not by:
        return
    given = words("by", ",".join(by))
    seen: dict[frozenset[str], str] = {}
    for grouping in by:
        columns = grouping.split(INTERSECTION)
        if not all(columns):
            raise ResultsError(f"{given}: an empty column name in {grouping!r}")
        twice = next((c for i, c in enumerate(columns) if c in columns[:i]), None)
        if twice is not None:
            raise ResultsError(
                f"{given} names column {twice!r} twice in one grouping; name each column once"
            )
        key = frozenset(columns)
        if key in seen:
            same = "" if seen[key] == grouping else f" ({grouping!r} is the same one)"
            raise ResultsError(
                f"{given} gives grouping {seen[key]!r} twice{same}; give each grouping once"
            )
        seen[key] = grouping


def _check_by_columns(by: list[str], stored: dict[str, set[bool]], words: SettingWords) -> None:
    """One line naming a `--by` column that no selected table can group by: one none stores
    (with the stored group columns and the nearest), or one every table stores as continuous
    values (with its binned columns, e.g. the fairness suite's `age_bin` for `age`)."""
    categorical = sorted(c for c, kinds in stored.items() if False in kinds)
    for grouping in by:
        for column in grouping.split(INTERSECTION):
            if column == LABEL_GROUP or column in categorical:
                continue
            if column in stored:  # continuous in every table that has it
                binned = [c for c in categorical if c.startswith(column)]
                hint = (
                    f"; its binned form is stored: {words('by', binned[0])}"
                    if binned
                    # bin edges (the task's group_bins, the fairness suite's bins) reach the
                    # fairness suite's table alone: saying "bin it" sent a task with
                    # group_bins in a circle
                    else f"; only the fairness suite's table stores it binned (by its bins or "
                    f"the task's group_bins: {words('by', column + '_bin')}); the other "
                    "suites' tables keep the values: to break them down by it, add a banded "
                    f"copy of {column!r} to the data and the task's group_columns"
                )
                raise ResultsError(
                    f"{words('by', column)}: group column {column!r} holds continuous values in every "
                    f"selected table{hint}"
                )
            names = sorted(stored)
            near = [c for c in names if c.startswith(column) or column.startswith(c)]
            near += difflib.get_close_matches(column, names, n=1)
            hint = f"; did you mean {words('by', near[0])}?" if near else ""
            raise ResultsError(
                f"{words('by', column)}: no selected table stores group column {column!r}; its group "
                f"columns: {', '.join(names) or '(none)'}, and {LABEL_GROUP} (by true "
                f"class){hint}"
            )


def _plan_columns(names: list[str]) -> list[str]:
    """The columns a table's plan reads: its conditions and group columns."""
    return [n for n in names if n == "condition" or n.startswith(GROUP_PREFIX)]


def repeated_jobs(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """`model x task x suite` -> its runs, for every job whose rows come from more than one run
    (the rows are kept apart by their `run` field; pick one run with `GroupQuery.run`)."""
    runs: dict[str, list[str]] = {}
    for r in rows:
        label = f"{r['model']} x {r['task']} x {r['suite']}"
        if r["run"] not in runs.setdefault(label, []):
            runs[label].append(r["run"])
    return {label: sorted(ids) for label, ids in runs.items() if len(ids) > 1}
