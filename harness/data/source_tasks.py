"""A task entry's data read from its source, a hub dataset or local files, by modality.

`sources.resolve_source` says what the spec's `source` is (a hub id, table files, an image folder,
a CIFAR-10-C or ImageNet-C folder) without reading it; this module reads it and hands the split to
the loader of its modality (`tabular_tasks`, `image_tasks`; text is read here). Hub datasets go
through `datasets.load_dataset`, local table files through Arrow (`table_reader`), both into a
`datasets.Dataset`, so a hub id and a local file give the same task. The evaluation split is checked
against the spec (columns exist, labels in range, ids unique, no empty split); image inputs stay
as the source holds them and are decoded batch by batch (docs/tasks.md). A hub task's prepared
split (`hub.HubTask`) is read back through here; an entry with a catalogue `recipe` goes through
`loader.load_task`, which prepares it first.
"""

from __future__ import annotations

from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.compute as pc

from harness.core.errors import DatasetError
from harness.core.task import Task
from harness.data.image_tasks import load_image_task
from harness.data.row_columns import (
    RowColumns,
    check_columns,
    label_space,
    read_row_columns,
)
from harness.data.sources import Source, resolve_source
from harness.data.splits import Split, read_split_rows, read_train_rows
from harness.data.table_columns import arrow_column, arrow_dataset
from harness.data.tabular_tasks import load_tabular_task
from harness.data.task_spec import TaskSpec


def load_source_task(spec: TaskSpec, *, base_dir: Path) -> Task:
    """Load, check and convert a task entry without a recipe from its source."""
    assert spec.recipe is None, "a recipe task is loaded by loader.load_task"
    source = resolve_source(spec, base_dir, split=spec.split)
    if spec.modality == "image":
        return load_image_task(spec, source, base_dir)
    if spec.modality == "tabular":
        return load_tabular_task(spec, source, base_dir)
    return _load_text_task(spec, source, base_dir)


def _text_split(
    split: Split, spec: TaskSpec, where: str, *, train: bool = False
) -> tuple[datasets.Dataset, RowColumns]:
    """The rows of a text split and its texts, read as whole Arrow columns; a missing text is
    refused with its row. A training split may lack group columns (`read_row_columns`)."""
    assert spec.input_column is not None
    raw = split.dataset()
    check_columns(raw, spec, [spec.input_column], where)
    rows = read_row_columns(raw, spec, where, split.locate, train=train)
    texts = arrow_column(raw, spec.input_column)
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        texts = texts.cast(pa.string())
    if texts.null_count:
        row = int(pc.index(pc.is_null(texts), True).as_py())
        raise DatasetError(
            f"task {spec.name!r}: text column {spec.input_column!r} in {where} has "
            f"{texts.null_count:,} missing text(s) (first: {split.locate(row)}); fill or drop them"
        )
    features = rows.features()
    features["input"] = datasets.Value("string")
    table = rows.table().append_column("input", texts.combine_chunks())
    return arrow_dataset(table, features), rows


def _load_text_task(spec: TaskSpec, source: Source, base_dir: Path) -> Task:
    if spec.input_column is None:
        raise DatasetError(
            f"task {spec.name!r}: input_column is required for text tasks (the column of texts)"
        )
    raw = read_split_rows(spec, source, spec.split)
    data, rows = _text_split(raw, spec, f"split {spec.split!r}")
    k, names = label_space(raw.data, spec, rows.labels)
    train_raw = read_train_rows(spec, base_dir)
    train = (
        None
        if train_raw is None
        else _text_split(train_raw, spec, "the training split", train=True)[0]
    )
    return Task(
        name=spec.name,
        modality="text",
        num_classes=k,
        class_names=names,
        input_shape=(),
        bounds=None,
        data=data,
        train=train,
        group_columns=tuple(spec.group_columns),
        group_bins={k_: tuple(v) for k_, v in spec.group_bins.items()},
        group_labels={k_: dict(v) for k_, v in spec.group_labels.items()},
        group_problems=dict(rows.group_problems),
        source=spec.source,
        description=f"{spec.source} split {spec.split}",
        labeled=spec.label_column is not None,
    )
