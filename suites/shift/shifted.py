"""Dataset shift: accuracy on a shifted task with the same inputs and labels, and the gap to the
clean accuracy (paired when the shifted task holds the evaluated sample ids)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.core.adapter import ModelAdapter
from harness.core.errors import DatasetError
from harness.core.sample_table import SampleTable
from harness.core.suite import RunContext
from harness.core.task import Task
from harness.data.task_spec import TaskSpec
from harness.stats import tie_breaks
from harness.suites.shift import selection
from harness.suites.shift.config import TaskEntry, entry_shape_advice
from harness.suites.shift.metrics import shift_metrics
from harness.suites.shift.parts import Parts
from harness.suites.shift.rows import task_rows


def shifted_task(
    adapter: ModelAdapter,
    task: Task,
    entry: TaskEntry,
    clean_correct: np.ndarray,
    ctx: RunContext,
    parts: Parts,
    *,
    temperature: float,
    max_samples: int | None,
    load: Callable[[TaskEntry, str], Task],
) -> None:
    """Accuracy on a shifted task with the same inputs and labels (a note when it does not
    apply to this task's modality). When it holds the evaluated sample ids, the very same
    ids are evaluated and the gap is paired."""
    whole = load(entry, "suites.shift.shifted_tasks")
    if whole.name == task.name:
        # a list applies to every task, the shifted one too: scored against itself its gap is
        # 0 by construction (the same rows twice), which reads as a model unmoved by the shift
        parts.notes.append(
            f"shifted task {whole.name!r} is the evaluated task itself: no shift to measure, "
            "left out (give shifted_tasks per task to list it for the other tasks only)"
        )
        return
    parts.notes.extend(whole.load_notes)  # how the task was read (files of a folder left out)
    if whole.modality != task.modality:
        parts.notes.append(
            f"shifted task {whole.name!r} ({whole.modality}) does not apply to {task.modality} task {task.name!r}"
        )
        return
    if tuple(whole.input_shape) != tuple(task.input_shape) or whole.num_classes != task.num_classes:
        raise DatasetError(
            f"suites.shift.shifted_tasks: task {whole.name!r} has input shape {tuple(whole.input_shape)} "
            f"and {whole.num_classes} classes, but task {task.name!r} has {tuple(task.input_shape)} and "
            f"{task.num_classes}; a shifted task needs the same input shape and label space"
            + (
                entry_shape_advice(entry, whole, task, "shifted task")
                + feature_advice(entry, whole, task)
                if tuple(whole.input_shape) != tuple(task.input_shape)
                else class_advice(entry, task)
            )
        )
    note = class_name_check(whole, task, entry)
    if note:
        parts.notes.append(note)
    note = feature_name_check(whole, task, entry)
    if note:
        parts.notes.append(note)
    other = selection.same_rows(whole, task.sample_ids)
    paired = other is not None
    if other is None:
        other = whole.subset(max_samples, seed=ctx.seed, purpose="shift/rows")
    parts.plan(ctx, len(other))
    out = task_rows(adapter, task, other, f"shifted={other.name}", ctx, temperature=temperature)
    parts.tables.append(SampleTable.build(out))
    parts.metrics += shift_metrics(
        other.name,
        clean_correct,
        out["correct"],
        ctx,
        paired=paired,
        clean_tied=parts.clean_tied,
        shifted_tied=out[tie_breaks.COLUMN],
    )


def feature_advice(entry: TaskEntry, whole: Task, task: Task, *, what: str = "task") -> str:
    """Which features a shifted table lacks or adds beside the task's (a `one_hot: {column:
    null}` column whose shifted file lacks a category has one feature fewer), and for a one-hot
    column the categories to declare on its entry. "" when either names no features."""
    mine, theirs = tuple(task.feature_names), tuple(whole.feature_names)
    if task.modality != "tabular" or not mine or not theirs:
        return ""
    lacks = [n for n in mine if n not in theirs]
    adds = [n for n in theirs if n not in mine]
    if not lacks and not adds:
        return ""
    said = []
    if lacks:
        said.append(f"lacks {', '.join(map(repr, lacks[:5]))}" + (" ..." if len(lacks) > 5 else ""))
    if adds:
        said.append(f"adds {', '.join(map(repr, adds[:5]))}" + (" ..." if len(adds) > 5 else ""))
    out = f"; {what} {whole.name!r} {' and '.join(said)} beside task {task.name!r}'s features"
    columns = sorted({n.split("=", 1)[0] for n in (*lacks, *adds) if "=" in n})
    onehot = {
        c: [n.split("=", 1)[1] for n in mine if n.startswith(f"{c}=")]
        for c in columns
        if any(n.startswith(f"{c}=") for n in mine)
    }
    if onehot and isinstance(entry, TaskSpec):
        listed = ", ".join(f"{c}: [{', '.join(v)}]" for c, v in onehot.items())
        out += f"; declare the task's categories on its entry (one_hot: {{{listed}}})"
    return out


def class_advice(entry: TaskEntry, task: Task) -> str:
    """What to declare on a shifted task's entry (a task spec) whose label space differs from
    the task's (a folder holding some of its classes): the task's classes, in its order."""
    if not isinstance(entry, TaskSpec):
        return ""  # a catalogue task's classes are fixed; nothing to declare on a name
    names = "" if _generic(tuple(task.class_names)) else f"class_names: {list(task.class_names)}, "
    return (
        f"; declare the task's classes on the shifted task's entry ({names}in task "
        f"{task.name!r}'s order, or num_classes: {task.num_classes})"
    )


def feature_name_check(
    whole: Task, task: Task, entry: TaskEntry, *, key: str = "shifted_tasks", what: str = "task"
) -> str:
    """A shifted table's features are fed to the model by position. A table holding the task's
    features in another order (a file written with its columns reordered) fed every sample's
    values to the wrong inputs: shift_acc 0.535 for the task's own rows, reported as a shift
    gap of 0.465. Refused when a feature both name sits at another position; other names get a
    note (returned; "" when the names agree or either task names none)."""
    mine, theirs = tuple(task.feature_names), tuple(whole.feature_names)
    if not mine or not theirs or mine == theirs or len(mine) != len(theirs):
        return ""
    here = {name: i for i, name in enumerate(mine)}
    moved = next(((i, n) for i, n in enumerate(theirs) if here.get(n, i) != i), None)
    if moved is not None:
        at, name = moved
        declare = (
            f"; list feature_columns on its entry in task {task.name!r}'s column order"
            if isinstance(entry, TaskSpec)
            else ""
        )
        raise DatasetError(
            f"suites.shift.{key}: {what} {whole.name!r} holds feature {name!r} at position "
            f"{at}, task {task.name!r} at position {here[name]}; features are fed to the model by "
            f"position, so every sample would be read with its values in the wrong inputs{declare}"
        )
    first = next(i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b)
    return (
        f"{'shifted task' if what == 'task' else what} {whole.name!r} names its features "
        f"differently from task {task.name!r} "
        f"(feature {first}: {theirs[first]!r} there, {mine[first]!r} here); its features are fed "
        "to the model by position"
    )


def _generic(names: tuple[str, ...]) -> bool:
    """Names that are only the class indices ("0", "1", ...: what a task without names gets)."""
    return names == tuple(str(i) for i in range(len(names)))


def class_name_check(whole: Task, task: Task, entry: TaskEntry) -> str:
    """A shifted task's labels are read as the evaluated task's class indices. The same class
    names in another order (a folder sorted by name beside a hub dataset's own order) would
    score every sample against another class: refused, with what to declare; so is a name both
    hold at different indices (a sorted folder spelling `car` for `automobile` moves `bird`).
    Other names at the same indices (`car` beside `automobile`) may still be aligned by index: a
    note says so (returned; "" when the names agree, or either task has only index names)."""
    mine, theirs = tuple(task.class_names), tuple(whole.class_names)
    if mine == theirs or _generic(mine) or _generic(theirs):
        return ""
    first = next(i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b)
    declare = (
        f"; declare class_names on its entry in task {task.name!r}'s order (a ClassLabel label "
        "column keeps its own order: save the data with its labels moved to that order, "
        "ds.align_labels_with_mapping({name: index, ...}, column); a cast to the names in that "
        "order keeps each integer label, so it renames the samples' classes)"
        if isinstance(entry, TaskSpec)
        else ""
    )
    # compared in any case: a folder capitalising its class folders (`Bee`, `ant`: sorted,
    # capitals first) moves them as much as one spelling them otherwise; exactly where case
    # tells classes apart (EMNIST's `a` and `A`)
    mine_key, theirs_key = [n.casefold() for n in mine], [n.casefold() for n in theirs]
    if len(set(mine_key)) < len(mine) or len(set(theirs_key)) < len(theirs):
        mine_key, theirs_key = list(mine), list(theirs)
    if sorted(mine_key) == sorted(theirs_key) and mine_key != theirs_key:
        at = next(i for i, (a, b) in enumerate(zip(mine_key, theirs_key, strict=True)) if a != b)
        raise DatasetError(
            f"suites.shift.shifted_tasks: task {whole.name!r} has task {task.name!r}'s class "
            f"names in another order (class {at} is {theirs[at]!r} there, {mine[at]!r} "
            f"here), and labels are compared by index: every sample of those classes would be "
            f"scored against another class{declare}"
        )
    here = {name: i for i, name in enumerate(mine_key)}
    moved = next(((i, n) for i, n in enumerate(theirs_key) if here.get(n, i) != i), None)
    if moved is not None:
        # A name both hold at other indices (a sorted folder spelling one class differently
        # moves the classes between): those samples would be scored against another class.
        at, key = moved
        raise DatasetError(
            f"suites.shift.shifted_tasks: task {whole.name!r} holds class {theirs[at]!r} at index "
            f"{at}, task {task.name!r} at index {here[key]}; labels are compared by index, so every "
            f"sample of that class would be scored against another class{declare}"
        )
    return (
        f"shifted task {whole.name!r} names its classes differently from task {task.name!r} "
        f"(class {first}: {theirs[first]!r} there, {mine[first]!r} here); its labels are "
        "compared with the model's outputs by index"
    )
