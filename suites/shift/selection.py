"""Which rows of a task the shift suite evaluates, and reading inputs without labels.

- `subset`: `max_samples` draws a seeded, label-stratified subset (`harness.core.subsets`), never
  the first N rows; a task whose rows are not labelled (an unlabeled OOD folder) is subset on the
  seeded keys alone.
- `same_rows`: a shifted task holding the evaluated task's sample ids is cut to exactly those ids,
  so its accuracy gap is paired sample by sample.
- `published_cells`: a task whose rows carry `corruption` and `severity` columns (a published
  corrupted set such as CIFAR-10-C or ImageNet-C, as the data loader yields it) names one cell per
  row; the suite reports those rows as conditions `corruption=<name>/severity=<s>`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from harness.core.errors import DatasetError
from harness.core.subsets import stratified_indices
from harness.core.task import SAMPLE_ID, Task

CELL_COLUMNS = ("corruption", "severity")


def has_labels(task: Task) -> bool:
    """Whether the task's rows carry its label column (unlabeled OOD folders do not)."""
    return task.label_column in task.data.column_names


def _select(task: Task, rows: np.ndarray, n: int) -> Task:
    return replace(task, data=task.data.select(rows.tolist()), limit=n)


def subset(task: Task, n: int | None, *, seed: int, purpose: str) -> Task:
    """A seeded label-stratified subset of `n` rows (the task itself when n is None or >= len)."""
    if n is None or n >= len(task):
        return task
    labels = task.labels if has_labels(task) else np.zeros(len(task), dtype=np.int64)
    rows = stratified_indices(task.sample_ids, labels, n, seed=seed, purpose=purpose)
    return _select(task, rows, n)


def subset_ids(task: Task, n: int | None, *, seed: int, purpose: str) -> Task:
    """For tasks holding several rows per sample id (a published corrupted set: one per cell):
    a seeded label-stratified choice of `n` sample ids, with every row of each."""
    ids = task.sample_ids
    first = {sid: row for row, sid in reversed(list(enumerate(ids)))}
    if n is None or n >= len(first):
        return task
    distinct = list(first)
    labels = task.labels[[first[sid] for sid in distinct]]
    chosen = stratified_indices(distinct, labels, n, seed=seed, purpose=purpose)
    keep = {distinct[i] for i in chosen.tolist()}
    rows = np.array([row for row, sid in enumerate(ids) if sid in keep], dtype=np.int64)
    return _select(task, rows, n)


def same_rows(other: Task, ids: list[str]) -> Task | None:
    """`other` cut to the rows of `ids` in that order, or None when it lacks any of them."""
    position = {sid: i for i, sid in enumerate(other.sample_ids)}
    if len(position) != len(other.sample_ids) or any(sid not in position for sid in ids):
        return None
    rows = np.array([position[sid] for sid in ids], dtype=np.int64)
    if len(rows) == len(other) and bool((rows == np.arange(len(rows))).all()):
        return other
    return _select(other, rows, len(rows))


def unlabeled_inputs(task: Task, batch_size: int = 4096) -> torch.Tensor:
    """A task's inputs as one float32 tensor, read without its label column."""
    if task.modality == "text":
        raise TypeError("text tasks have no input tensor")
    if has_labels(task):
        return task.all_inputs()
    view = task.data.with_format("torch", columns=[task.input_column], dtype=torch.float32)
    parts = [
        view[start : start + batch_size][task.input_column]
        .to(torch.float32)
        .reshape(-1, *task.input_shape)
        for start in range(0, len(task), batch_size)
    ]
    if not parts:
        return torch.zeros(0, *task.input_shape)
    return torch.cat(parts)


def published_cells(task: Task) -> dict[tuple[str, int], np.ndarray] | None:
    """Row indices per (corruption, severity) of a published corrupted set, in first-seen order;
    None when the task has no `corruption` / `severity` columns."""
    if not all(c in task.data.column_names for c in CELL_COLUMNS):
        return None
    names = [str(v) for v in task.data["corruption"]]
    severities = task.data["severity"]
    cells: dict[tuple[str, int], list[int]] = {}
    for row, (name, severity) in enumerate(zip(names, severities, strict=True)):
        if isinstance(severity, bool) or int(severity) != severity or not 1 <= severity <= 5:
            raise DatasetError(
                f"task {task.name!r}: row {task.data[row][SAMPLE_ID]!r} has severity "
                f"{severity!r}; a published corrupted set's `severity` column holds 1..5"
            )
        cells.setdefault((name, int(severity)), []).append(row)
    return {cell: np.asarray(rows, dtype=np.int64) for cell, rows in cells.items()}
