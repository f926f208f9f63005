"""The fairness settings that name a task's columns or a label value, checked against its
columns: `group_by` (columns and intersections), `bins` (columns to bin) and `positive_label`
(a class of a binary task).

The plan checks them before any job runs (`check_task_columns`, from each task's `TaskColumns`:
`harness validate` and `harness run` refuse a typo with one line), and a job checks them again
on the loaded task (`FairnessSuite.skip_reason`, `run`; the same lines). The rules are the
job's: a task without group columns that `group_by` does not name is skipped, not refused.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

from harness.core.errors import ConfigError
from harness.core.task import SOURCE_ID
from harness.core.task_columns import TaskColumns
from harness.suites.fairness.config import FairnessConfig

GROUP_BY = "suites.fairness.group_by"
BINS = "suites.fairness.bins"
POSITIVE_LABEL = "suites.fairness.positive_label"


def named_columns(config: FairnessConfig) -> list[str]:
    """Every column `group_by` names, once each, in order (none when it is not set)."""
    named = (c for g in config.group_by or () for c in ([g] if isinstance(g, str) else g))
    return list(dict.fromkeys(named))


def wanted_columns(config: FairnessConfig, columns: TaskColumns) -> set[str]:
    """The columns the suite groups by on the task: `group_by`'s, else its group columns."""
    if config.group_by is not None:
        return set(named_columns(config))
    return set(columns.attributes()) & set(columns.group_columns)


def _close(name: str, candidates: Iterable[str]) -> list[str]:
    return difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6)


def _listed(names: Sequence[str]) -> str:
    return ", ".join(names) or "(none)"


def non_attribute_error(bad: Sequence[str], columns: TaskColumns) -> ConfigError:
    """`group_by` naming a corruption cell column or `source_id` (not sensitive attributes)."""
    return ConfigError(
        f"{GROUP_BY} names {', '.join(map(repr, bad))}, which on task {columns.task!r} says "
        "which corruption cell (or clean image) a row comes from, not a sensitive attribute; "
        "per-cell accuracy is the shift suite's job (docs/shift.md); group columns to use: "
        f"{_listed(columns.attributes())}"
    )


def missing_error(missing: Sequence[str], columns: TaskColumns) -> ConfigError:
    """`group_by` naming columns the task does not have: each with its close matches among the
    task's group columns and its source's columns, and a column the source has that is not a
    group column said so (only group columns are kept on the task)."""
    groups = columns.attributes()
    hints: list[str] = []
    for name in missing:
        if name in columns.source_columns:
            hints.append(
                f"{name!r} is a column of {columns.source} but not one of the task's "
                "group_columns: add it there to group by it"
            )
            continue
        close = _close(name, [*groups, *columns.source_columns])
        if close:
            hints.append(f"for {name!r} did you mean {', '.join(map(repr, close))}?")
    return ConfigError(
        f"{GROUP_BY} names {', '.join(map(repr, missing))}, which task {columns.task!r} does "
        f"not have; its columns to group by: {_listed(groups)}" + "".join(f"; {h}" for h in hints)
    )


def binary_label_error(positive_label: int, task: str) -> ConfigError:
    return ConfigError(
        f"{POSITIVE_LABEL} is {positive_label} but task {task!r} is binary (labels 0 and 1)"
    )


def grouping_refusal(config: FairnessConfig, columns: TaskColumns) -> ConfigError | str | None:
    """On a task with known columns: the refusal of a `group_by` column it lacks (or that is
    not an attribute), the reason the job is skipped (no group columns), or None: it runs."""
    named = set(named_columns(config))
    bad = sorted(named & (set(columns.cell_columns) | {SOURCE_ID}))
    if bad:
        return non_attribute_error(bad, columns)
    have = set(columns.columns or ())
    wanted = wanted_columns(config, columns)
    if not columns.group_columns and not (wanted & have):
        # a task without sensitive attributes (e.g. digits beside diabetes in one spec)
        return (
            f"task {columns.task!r} has no group columns (sensitive attributes); "
            f"{_declare(columns)} to evaluate fairness on it"
        )
    missing = sorted(wanted - have)
    if config.group_by is not None and missing:  # a typo must not pass as a skip
        return missing_error(missing, columns)
    if not wanted or not (wanted & have):
        return (
            f"task {columns.task!r} has no group columns (sensitive attributes); "
            f"{_declare(columns)} or set {GROUP_BY} to its columns"
        )
    return None


def _declare(columns: TaskColumns) -> str:
    """How to give a task its sensitive attributes: a task spec's key, or for data passed to
    `harness.evaluate` (no task spec) its `groups=` argument."""
    if columns.in_memory:
        return "pass groups= to harness.evaluate (one value per sample, e.g. groups={'sex': sex})"
    return "declare group_columns on the task"


def check_task_columns(config: FairnessConfig, tasks: Mapping[str, TaskColumns]) -> list[str]:
    """`group_by`, `bins` and `positive_label` against each task the suite runs on, before any
    job: raises the ConfigError a job would fail with; returns a line for each setting that
    could not be checked on a task whose columns or classes only loading it tells."""
    unchecked: list[str] = []
    runs_on: list[TaskColumns] = []
    for columns in tasks.values():
        if columns.columns is None:
            set_keys: list[str] = [k for k in ("group_by", "bins") if k in config.model_fields_set]
            if config.positive_label > 1:
                set_keys.append("positive_label")
            unchecked.extend(
                f"suites.fairness.{key}: not checked on task {columns.task!r} ({columns.unknown})"
                for key in set_keys
            )
            continue
        outcome = grouping_refusal(config, columns)
        if isinstance(outcome, ConfigError):
            raise outcome
        if outcome is not None:
            continue  # the job is skipped: nothing of the suite's settings is read there
        runs_on.append(columns)
        if config.positive_label <= 1:
            continue  # a class of every task that has two or more
        if columns.num_classes == 2:
            raise binary_label_error(config.positive_label, columns.task)
        if columns.num_classes is None:
            unchecked.append(
                f"{POSITIVE_LABEL}: not checked on task {columns.task!r}: {columns.classes_unknown}"
            )
    _check_bins(config, runs_on, complete=len(runs_on) == len(tasks))
    return unchecked


def _check_bins(config: FairnessConfig, runs_on: list[TaskColumns], *, complete: bool) -> None:
    """Every `bins` column is one the suite groups by on some task it runs on (a bin edge list
    under another name is never read). With some tasks' columns unknown, only a `bins` column
    outside an explicit `group_by` is refused."""
    if config.group_by is not None:
        grouped, where = named_columns(config), f"{GROUP_BY} names"
    else:
        if not complete or not runs_on:
            return
        grouped = list(dict.fromkeys(c for t in runs_on for c in sorted(wanted_columns(config, t))))
        where = "the tasks' group columns are"
    for column in config.bins:
        if column not in grouped:
            close = _close(column, grouped)
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            raise ConfigError(
                f"{BINS}.{column}: {column!r} is not a column the suite groups by{hint}, so its "
                f"edges would never be read; {where}: {_listed(grouped)}"
            )


def named_label_error(name: str, tasks: Mapping[str, TaskColumns]) -> ConfigError:
    """`positive_label` given as a class name: it is a class index (results store the index);
    the line says which index the name has on the tasks whose class names the plan knows, or
    their close matches, else how to find it."""
    said: list[str] = []
    indices: list[int] = []
    for task, columns in tasks.items():
        names = list(columns.class_names or ())
        if not names:
            continue
        found = _class_index(name, names)
        if found is not None:
            indices.append(found)
            said.append(f"{names[found]!r} is class {found} of task {task!r}")
            continue
        classes = ", ".join(f"{i} {c!r}" for i, c in enumerate(names[:20]))
        close = _close(name, names)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        said.append(f"task {task!r} has no class {name!r} (its classes: {classes}){hint}")
    if not said:
        return ConfigError(
            f"{POSITIVE_LABEL} is a class index (0 for a task's first class, in the order of its "
            f"class_names or sorted class folders), not a class name ({name!r}); give the index "
            "of the positive class"
        )
    fix = f"; give positive_label: {indices[0]}" if len(set(indices)) == 1 else ""
    return ConfigError(
        f"{POSITIVE_LABEL} is a class index, not a class name ({name!r}): {'; '.join(said)}{fix}"
    )


def _class_index(name: str, names: Sequence[str]) -> int | None:
    """The index of the class called `name`: exactly, else the one equal up to case and
    surrounding spaces; None when absent or ambiguous."""
    if name in names:
        return names.index(name)
    near = [i for i, c in enumerate(names) if c.strip().lower() == name.strip().lower()]
    return near[0] if len(near) == 1 else None
