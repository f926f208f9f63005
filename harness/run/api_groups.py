"""`harness groups` as a Python function, `harness.groups`: the per-group metrics of any condition
in a results folder's stored tables as one pandas DataFrame (long rows: one per model, task,
condition, group column, group and metric). Reads results only: no torch (like every reader of
results). The CLI's `harness groups` calls `breakdown` and only renders what it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.analysis.setting_words import PYTHON_WORDS, SettingWords
from harness.analysis.stored_groups import (
    GroupQuery,
    bound_notes,
    group_notes,
    positive_class_notes,
    repeated_jobs,
    select_jobs,
    stored_group_rows,
)
from harness.core.errors import ResultsError
from harness.core.suite_board import suite_configs
from harness.run.suite_boards import installed_suite_boards
from harness.stats.intervals import DEFAULT_RESAMPLES
from harness.store.completeness import Completeness, completeness
from harness.store.run_store import load_jobs


@dataclass(frozen=True)
class GroupBreakdown:
    """What a breakdown found: its rows, notes on the group columns' codings and on which
    class counts as positive (keyed by column or task), the tables left out (`skipped`: no
    group columns; `repeats`: the same condition in another suite's table; `missing`: models
    whose tables lack a `--by` column other tables of their task have), the jobs kept apart
    by run (`runs`), and `partial`: the line of an incomplete folder read with allow_partial."""

    rows: list[dict[str, Any]]
    codings: dict[str, str]
    positives: dict[str, str]
    skipped: list[str]
    repeats: list[str]
    runs: dict[str, list[str]]
    partial: str | None
    missing: list[str] = field(default_factory=list)  # models left out: a --by column lacking
    # `<model> x <task> x <suite>, <condition>` -> why its accuracies are upper bounds
    bounds: dict[str, str] = field(default_factory=dict)

    def notes(self, words: SettingWords = PYTHON_WORDS) -> list[str]:
        """Every note of the breakdown, one line each: the partial folder's line, the codings
        and positive classes, then `source_notes`."""
        lines = [self.partial] if self.partial else []
        notes = {**self.codings, **self.positives, **self.bounds}
        lines += [f"{key}: {note}" for key, note in sorted(notes.items())]
        return lines + self.source_notes(words)

    def source_notes(self, words: SettingWords) -> list[str]:
        """The notes on which tables the rows come from (runs kept apart, tables without group
        columns, repeated conditions), naming the settings that change it in `words`."""
        lines = [
            f"{label}: {len(runs)} runs in this folder ({', '.join(runs)}); their rows are kept "
            f"apart by the run column (pick one with {words('run')})"
            for label, runs in self.runs.items()
        ]
        if self.skipped:
            names = [m.split(":", 1)[0] for m in self.skipped]
            cap = words.names_shown or len(names)
            shown = "; ".join(names[:cap]) + (
                f"; and {len(names) - cap} more" if len(names) > cap else ""
            )
            lines.append(
                f"left out {len(names)} table(s) without group columns ({shown}); "
                f"{words('by', 'label')} gives a by-class view"
            )
        lines += [f"left out {line}" for line in self.missing]
        if self.repeats:
            lines.append(
                f"each condition is shown once per model and task, from the table with the most "
                f"samples of it ({len(self.repeats)} repeat(s) in other suites' tables left out; "
                f"{words('suite')} picks a table)"
            )
        return lines


def breakdown(results: Path, query: GroupQuery, *, allow_partial: bool = False) -> GroupBreakdown:
    """The group rows of `query` over a results (or run) folder. As the leaderboard, a run
    that did not finish or a job folder gone would leave groups or models out silently: refused
    (one ResultsError line) unless `allow_partial`, then named in `partial`."""
    configs = suite_configs(installed_suite_boards())
    way_out = "allow_partial=True" if query.words.python else "--allow-partial"
    skipped: list[str] = []
    repeats: list[str] = []
    missing: list[str] = []
    loaded = load_jobs(results)
    try:
        jobs = select_jobs(results, query, loaded=loaded)  # read once for the rows and the notes
    except ResultsError:
        stored = [
            (m, j)
            for m, j in loaded
            if query.task in (None, j.record.task)
            and query.run in (None, m.run_id, j.path.parent.parent.name)
        ]
        if not stored and not allow_partial:  # none stored as the run is unfinished: say that
            _scope(completeness(results, loaded), query.task, query.run).refuse(results, way_out)
        raise
    run = None if query.run is None else jobs[0][1].path.parent.parent.name  # select_jobs' run
    gaps = _scope(completeness(results, loaded), query.task, run)
    if not allow_partial:
        gaps.refuse(results, way_out)
    rows = stored_group_rows(
        results,
        query,
        on_skip=skipped.append,
        on_repeat=repeats.append,
        on_missing=missing.append,
        jobs=jobs,
        configs=configs,
        folder_jobs=loaded,  # the folder is read once (its jobs, the notes, the positive classes)
    )
    codings = group_notes(results, query, jobs=jobs)
    positives = positive_class_notes(results, query, configs, jobs=jobs, folder_jobs=loaded)
    return GroupBreakdown(
        rows=rows,
        codings=codings,
        positives=positives,
        skipped=skipped,
        repeats=repeats,
        runs=repeated_jobs(rows),
        partial=None if gaps.whole else f"PARTIAL results (allow_partial): {gaps.summary()}",
        missing=missing,
        bounds=bound_notes(jobs, rows),
    )


def _scope(gaps: Completeness, task: str | None, run: str | None) -> Completeness:
    """The gaps a breakdown filtered to `task` and `run` (a run id is its folder's name) is
    refused for."""
    gaps = gaps if task is None else gaps.for_task(task)
    return gaps if run is None else gaps.for_run(run)


def groups(
    results: str | Path,
    *,
    by: str | Sequence[str] | None = None,
    condition: str = "clean",
    task: str | None = None,
    model: str | None = None,
    suite: str | None = None,
    run: str | None = None,
    min_group_size: int = 20,
    resamples: int = DEFAULT_RESAMPLES,
    positive_label: int | None = None,
    allow_partial: bool = False,
) -> pd.DataFrame:
    """Per-group metrics (accuracy, ECE, selection rate, TPR, FPR... with intervals and n) of
    `condition` in the stored tables of `results`, as `harness groups --format json` gives
    them: one row per model, task, condition, group column, group and metric. `by`: group
    columns (`"a&b"` for an intersection; `"label"` for the per-class view; default: each group
    column). The notes (group codings, the positive class, tables left out, a partial folder)
    are in `frame.attrs["notes"]`."""
    path = Path(results)
    if not path.is_dir():
        raise ResultsError(f"results folder {path} does not exist or is not a folder")
    query = GroupQuery(
        task=task,
        model=model,
        suite=suite,
        run=run,
        condition=condition,
        by=_by_names(by),
        min_group_size=_count("min_group_size", min_group_size, least=1),
        resamples=_count("resamples", resamples, least=0),
        positive_label=(
            None if positive_label is None else _count("positive_label", positive_label, least=0)
        ),
        words=PYTHON_WORDS,
    )
    found = breakdown(path, query, allow_partial=allow_partial)
    frame = pd.DataFrame(found.rows)
    frame.attrs["notes"] = found.notes()
    return frame


def _by_names(by: object) -> list[str] | None:
    """`by` as a list of groupings, or one line naming the keyword (by=[1] raised a TypeError
    from inside the breakdown)."""
    if by is None:
        return None
    names = [by] if isinstance(by, str) else by
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise ResultsError(
            f"by: give a column name or a list of them ('a&b' for an intersection; got {by!r})"
        )
    return list(names)


def _count(key: str, value: object, *, least: int) -> int:
    """A whole number of at least `least` (bools refused), or one line naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ResultsError(f"{key}: give a whole number of at least {least} (got {value!r})")
    return value
