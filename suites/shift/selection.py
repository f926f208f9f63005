"""Which rows of a task the shift suite evaluates, and how a published corrupted set's rows name
their cells.

- Evaluating only N samples (`max_samples`) uses `Task.subset`: a seeded, label-stratified
  sample (by label and cell on a task with cell columns, by source image where it has
  `source_id`), never the first N rows.
- `same_rows`: a shifted task holding the evaluated task's sample ids is cut to exactly those ids,
  so its accuracy gap is paired sample by sample.
- `published_cells`: a task whose `cell_columns` include `corruption` and `severity` (a published
  corrupted set such as CIFAR-10-C or ImageNet-C, as the data loader yields it) names one cell
  per row; the suite reports those rows as conditions `corruption=<name>/severity=<s>`, under the
  row's `source_id` (the clean image it was made from) when the task has one, so they pair with
  the clean task's rows and with on-the-fly corruptions of the same images.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from harness.core.errors import DatasetError
from harness.core.task import SOURCE_ID, Task

CELL_COLUMNS = ("corruption", "severity")


def same_rows(other: Task, ids: list[str]) -> Task | None:
    """`other` cut to the rows of `ids` in that order, or None when it lacks any of them."""
    position = {sid: i for i, sid in enumerate(other.sample_ids)}
    if len(position) != len(other.sample_ids) or any(sid not in position for sid in ids):
        return None
    rows = np.array([position[sid] for sid in ids], dtype=np.int64)
    if len(rows) == len(other) and bool((rows == np.arange(len(rows))).all()):
        return other
    return replace(other, data=other.data.select(rows.tolist()), limit=len(rows))


def is_published(task: Task) -> bool:
    """Whether the task is a published corrupted set: its cell columns name corruption and
    severity."""
    return task.modality == "image" and all(c in task.cell_columns for c in CELL_COLUMNS)


@dataclass(frozen=True)
class PublishedRows:
    """Per row of a published corrupted set: its condition and the id it is reported under."""

    conditions: np.ndarray  # "corruption=<name>/severity=<s>", one per row
    table_ids: np.ndarray  # the row's source_id when the task has one, else its sample id
    cells: dict[tuple[str, int], np.ndarray]  # row indices per (corruption, severity)


def published_cells(task: Task) -> PublishedRows:
    """The cells of a published corrupted set's rows, in first-seen order (`Task.cells()`)."""
    frame = task.cells()
    names = [str(v) for v in frame["corruption"]]
    cells: dict[tuple[str, int], list[int]] = {}
    for row, (name, severity) in enumerate(zip(names, frame["severity"], strict=True)):
        if isinstance(severity, bool) or int(severity) != severity or not 1 <= severity <= 5:
            raise DatasetError(
                f"task {task.name!r}: row {frame.index[row]!r} has severity {severity!r}; a "
                "published corrupted set's `severity` column holds 1..5"
            )
        cells.setdefault((name, int(severity)), []).append(row)
    conditions = np.empty(len(frame), dtype=object)
    for (name, severity), rows in cells.items():
        conditions[rows] = f"corruption={name}/severity={severity}"
    ids = frame[SOURCE_ID] if SOURCE_ID in frame.columns else frame.index
    return PublishedRows(
        conditions=conditions,
        table_ids=np.asarray([str(v) for v in ids], dtype=object),
        cells={cell: np.asarray(rows, dtype=np.int64) for cell, rows in cells.items()},
    )


def count_cells(task: Task) -> int:
    """How many distinct (corruption, severity) cells a published corrupted set holds."""
    frame = task.data.select_columns(list(CELL_COLUMNS)).to_pandas()
    return len(frame.drop_duplicates())
