"""Load inline tasks (`TaskSpec`) from the Hugging Face hub or local files through one code path.

`sources.resolve_source` says what the spec's `source` is (a hub id, table files, an image folder,
a CIFAR-10-C or ImageNet-C folder) without reading it; this module reads it and hands the split to
the loader of its modality (`tabular_tasks`, `image_tasks`; text is read here). Tables and hub
datasets go through `datasets.load_dataset` (the packaged `parquet`, `csv` and `json` builders for
local files), so a hub id and a local file give the same task. The evaluation split is checked
against the spec (columns exist, labels in range, ids unique, no empty split); image inputs stay
as the source holds them and are decoded batch by batch (docs/tasks.md).
"""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np

from harness.config.spec import TaskSpec
from harness.config.tasks.image_tasks import load_image_task
from harness.config.tasks.row_columns import check_columns, label_space, read_row_columns
from harness.config.tasks.sources import Source, resolve_source
from harness.config.tasks.splits import read_split, read_train_split
from harness.config.tasks.tabular_tasks import load_tabular_task
from harness.core.errors import DatasetError
from harness.core.task import Task


def load_task(spec: TaskSpec, *, base_dir: Path) -> Task:
    """Load, check and convert an inline task."""
    source = resolve_source(spec, base_dir, split=spec.split)
    if spec.modality == "image":
        return load_image_task(spec, source, base_dir)
    if spec.modality == "tabular":
        return load_tabular_task(spec, source, base_dir)
    return _load_text_task(spec, source, base_dir)


def _text_split(raw: datasets.Dataset, spec: TaskSpec, where: str) -> datasets.Dataset:
    assert spec.input_column is not None
    check_columns(raw, spec, [spec.input_column], where)
    columns, features = read_row_columns(raw, spec, where).columns()
    columns["input"] = [str(t) for t in raw[spec.input_column]]
    features["input"] = datasets.Value("string")
    return datasets.Dataset.from_dict(columns, features=datasets.Features(features))


def _load_text_task(spec: TaskSpec, source: Source, base_dir: Path) -> Task:
    if spec.input_column is None:
        raise DatasetError(
            f"task {spec.name!r}: input_column is required for text tasks (the column of texts)"
        )
    raw = read_split(spec, source, spec.split)
    data = _text_split(raw, spec, f"split {spec.split!r}")
    k, names = label_space(raw, spec, np.asarray(data["label"], dtype=np.int64))
    train_raw = read_train_split(spec, base_dir)
    return Task(
        name=spec.name,
        modality="text",
        num_classes=k,
        class_names=names,
        input_shape=(),
        bounds=None,
        data=data,
        train=None if train_raw is None else _text_split(train_raw, spec, "the training split"),
        group_columns=tuple(spec.group_columns),
        group_bins={k_: tuple(v) for k_, v in spec.group_bins.items()},
        group_labels={k_: dict(v) for k_, v in spec.group_labels.items()},
        source=spec.source,
        description=f"{spec.source} split {spec.split}",
        labeled=spec.label_column is not None,
    )
