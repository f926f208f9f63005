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
    other = selection.same_rows(whole, task.sample_ids)
    paired = other is not None
    if other is None:
        other = whole.subset(max_samples, seed=ctx.seed, purpose="shift/rows")
    parts.plan(ctx, len(other))
    out = task_rows(adapter, task, other, f"shifted={other.name}", ctx, temperature=temperature)
    parts.tables.append(SampleTable.build(out))
    parts.metrics += shift_metrics(other.name, clean_correct, out["correct"], ctx, paired=paired)
