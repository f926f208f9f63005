"""What a planned task's rows will hold, known before it is loaded (`TaskColumns`).

The plan also checks each model against it (a Hugging Face model's label names against
`class_names`, a model's `input_shape` channels against `channels`), so a pairing every job
would refuse is refused before any job runs.

A suite whose settings name a task's columns or a label value (the fairness suite's `group_by`,
`bins` and `positive_label`) checks them against this at plan time (`Suite.check_task_columns`),
so `harness validate` and `harness run` refuse a typo before any model runs. It is built from
what is cheap to know: the spec's declarations, the catalogue's, the source's schema (a
delimited file's header line, a Parquet file's footer), an image folder's class folders, or an
in-memory task's own columns; never from reading rows (`harness/data/task_columns.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.core.task import MEMORY_SOURCE, SAMPLE_ID, SOURCE_ID

if TYPE_CHECKING:
    from harness.core.task import Task


@dataclass(frozen=True, kw_only=True)
class TaskColumns:
    """A task's row columns as the loaded task will have them, known without loading it.

    `columns`: every column of the loaded evaluation split (sample id, label, input, the group
    columns, the corruption cell columns and `source_id`); None when only loading the task
    says (`unknown` says why). `source_columns`: the columns of the source's schema (`source`
    names the file), which may hold columns the task does not keep (a column that is not a
    group column); empty when not read. `num_classes`: the class count the task declares (the
    spec, the catalogue, class folders); None when only its labels say (`classes_unknown`
    says why). `class_names`: the loaded task's class names where they are known (declared, class
    folders, the catalogue; empty for a task whose classes are unnamed), else None.
    `channels`: an image task's input channels where known without decoding (declared
    `channels`, a transform that fixes them, an image folder's first image's header), with
    `channels_from` saying how. `bounds` and `input_shape`: the range and per-sample shape of
    its inputs where declared (a spec's `bounds:` / `input_shape:`, the catalogue's image
    tasks), else None: the adversarial suite refuses a budget that spans the whole range
    before any job. `in_memory`: a task of data passed to `harness.evaluate`, which has no task
    spec (advice names the function's arguments, not spec keys)."""

    task: str
    columns: tuple[str, ...] | None
    group_columns: tuple[str, ...] = ()
    cell_columns: tuple[str, ...] = ()
    unknown: str = ""
    source_columns: tuple[str, ...] = ()
    source: str = ""
    num_classes: int | None = None
    classes_unknown: str = ""
    input_column: str = "input"
    label_column: str = "label"
    class_names: tuple[str, ...] | None = None
    channels: int | None = None
    channels_from: str = ""
    bounds: tuple[float, float] | None = None
    input_shape: tuple[int, ...] | None = None
    in_memory: bool = False

    def attributes(self) -> tuple[str, ...]:
        """The columns that can be sensitive attributes: not ids, inputs, labels, corruption
        cells or `source_id` (none when the columns are unknown)."""
        skip = {SAMPLE_ID, SOURCE_ID, self.input_column, self.label_column, *self.cell_columns}
        return tuple(c for c in self.columns or () if c not in skip)

    @classmethod
    def of_rows(
        cls,
        task: str,
        *,
        group_columns: tuple[str, ...],
        cell_columns: tuple[str, ...] = (),
        other_columns: tuple[str, ...] = (),
        source_columns: tuple[str, ...] = (),
        source: str = "",
        num_classes: int | None = None,
        classes_unknown: str = "",
        class_names: tuple[str, ...] | None = None,
        channels: tuple[int, str] | None = None,
        bounds: tuple[float, float] | None = None,
        input_shape: tuple[int, ...] | None = None,
    ) -> TaskColumns:
        """The columns the loaders give a task: id, label, input, group and cell columns (and
        `source_id` beside cell columns), and any `other_columns` a catalogue task keeps."""
        extra = (*cell_columns, SOURCE_ID) if cell_columns else ()
        columns = (SAMPLE_ID, "label", "input", *group_columns, *other_columns, *extra)
        return cls(
            task=task,
            columns=tuple(dict.fromkeys(columns)),
            group_columns=group_columns,
            cell_columns=cell_columns,
            source_columns=source_columns,
            source=source,
            num_classes=num_classes,
            classes_unknown=classes_unknown,
            class_names=class_names,
            channels=channels[0] if channels is not None else None,
            channels_from=channels[1] if channels is not None else "",
            bounds=bounds,
            input_shape=input_shape,
        )

    @classmethod
    def of_task(cls, task: Task) -> TaskColumns:
        """A loaded (or in-memory) task's own columns and class count."""
        return cls(
            task=task.name,
            columns=tuple(task.data.column_names),
            group_columns=tuple(task.group_columns),
            cell_columns=tuple(task.cell_columns),
            num_classes=task.num_classes,
            input_column=task.input_column,
            label_column=task.label_column,
            class_names=tuple(task.class_names),
            channels=task.input_shape[0]
            if task.modality == "image" and len(task.input_shape) == 3
            else None,
            bounds=None if task.bounds is None else (float(task.bounds[0]), float(task.bounds[1])),
            input_shape=tuple(task.input_shape) if task.modality != "text" else None,
            in_memory=task.source == MEMORY_SOURCE,
        )
