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
            + entry_shape_advice(entry, whole, task, "shifted task")
        )
    note = class_name_check(whole, task, entry)
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


def _generic(names: tuple[str, ...]) -> bool:
    """Names that are only the class indices ("0", "1", ...: what a task without names gets)."""
    return names == tuple(str(i) for i in range(len(names)))


def class_name_check(whole: Task, task: Task, entry: TaskEntry) -> str:
    """A shifted task's labels are read as the evaluated task's class indices. The same class
    names in another order (a folder sorted by name beside a hub dataset's own order) would
    score every sample against another class: refused, with what to declare. Other names
    (`car` beside `automobile`) may still be aligned by index: a note says so (returned; ""
    when the names agree, or either task has only index names)."""
    mine, theirs = tuple(task.class_names), tuple(whole.class_names)
    if mine == theirs or _generic(mine) or _generic(theirs):
        return ""
    first = next(i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b)
    if sorted(mine) == sorted(theirs):
        declare = (
            f"; declare class_names on its entry in task {task.name!r}'s order"
            if isinstance(entry, TaskSpec)
            else ""
        )
        raise DatasetError(
            f"suites.shift.shifted_tasks: task {whole.name!r} has task {task.name!r}'s class "
            f"names in another order (class {first} is {theirs[first]!r} there, {mine[first]!r} "
            f"here), and labels are compared by index: every sample of those classes would be "
            f"scored against another class{declare}"
        )
    return (
        f"shifted task {whole.name!r} names its classes differently from task {task.name!r} "
        f"(class {first}: {theirs[first]!r} there, {mine[first]!r} here); its labels are "
        "compared with the model's outputs by index"
    )
