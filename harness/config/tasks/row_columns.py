"""The per-row columns every task has beside its inputs: sample ids, labels and group values.

Read from a loaded split and checked once (ids unique, labels integer class ids in range, group
values present), then kept as small in-memory Arrow columns next to the input column. Reading
them never touches the inputs, so it costs the same for a 50,000-image split as for a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import datasets
import numpy as np

from harness.config.spec import TaskSpec
from harness.core.errors import DatasetError
from harness.core.task import SAMPLE_ID, UNLABELED


@dataclass(frozen=True)
class RowColumns:
    """Sample ids, int64 labels and group columns (values and Arrow features) of a split."""

    ids: list[str]
    labels: np.ndarray
    groups: dict[str, Any] = field(default_factory=dict)
    group_features: dict[str, datasets.Value] = field(default_factory=dict)

    def columns(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(columns, features) for `datasets.Dataset.from_dict`, inputs not included."""
        columns: dict[str, Any] = {SAMPLE_ID: self.ids, "label": self.labels, **self.groups}
        features: dict[str, Any] = {
            SAMPLE_ID: datasets.Value("string"),
            "label": datasets.Value("int64"),
            **self.group_features,
        }
        return columns, features


def check_columns(ds: datasets.Dataset, spec: TaskSpec, needed: list[str], where: str) -> None:
    for col in needed:
        if col not in ds.column_names:
            raise DatasetError(
                f"task {spec.name!r}: column {col!r} not found in {where}; "
                f"available columns: {', '.join(ds.column_names)}"
            )


def read_row_columns(ds: datasets.Dataset, spec: TaskSpec, where: str) -> RowColumns:
    """Ids, labels and groups of a loaded split (inputs are read elsewhere)."""
    needed = [c for c in (spec.label_column, spec.id_column) if c] + list(spec.group_columns)
    check_columns(ds, spec, needed, where)
    if len(ds) == 0:
        raise DatasetError(f"task {spec.name!r}: {where} is empty (0 rows)")
    ids = (
        [str(v) for v in ds[spec.id_column]]
        if spec.id_column
        else [f"{spec.name}-{i:06d}" for i in range(len(ds))]
    )
    if len(set(ids)) != len(ids):
        raise DatasetError(
            f"task {spec.name!r}: id column {spec.id_column!r} has duplicate ids in {where}"
        )
    if spec.label_column is None:
        labels = np.full(len(ds), UNLABELED, dtype=np.int64)
    else:
        labels = np.asarray(ds[spec.label_column])
        if labels.dtype.kind not in "iu":
            raise DatasetError(
                f"task {spec.name!r}: label column {spec.label_column!r} must hold integer class "
                f"ids, got {labels.dtype}"
            )
    out = RowColumns(ids=ids, labels=labels.astype(np.int64))
    for col in spec.group_columns:
        _read_group(ds, spec, col, where, out)
    return out


def _read_group(
    ds: datasets.Dataset, spec: TaskSpec, col: str, where: str, out: RowColumns
) -> None:
    values = ds[col]
    missing = sum(v is None or (isinstance(v, float) and np.isnan(v)) for v in values)
    if missing:
        raise DatasetError(
            f"task {spec.name!r}: group column {col!r} has {missing} missing value(s) in "
            f"{where}; fill or drop them before evaluating fairness"
        )
    feature = ds.features.get(col)
    if isinstance(feature, datasets.Value) and feature.dtype.startswith("float"):
        # continuous attribute (e.g. age): kept numeric so the fairness suite can bin it
        out.groups[col] = np.asarray(values, dtype=np.float64)
        out.group_features[col] = datasets.Value("float64")
    else:
        out.groups[col] = [str(v) for v in values]
        out.group_features[col] = datasets.Value("string")


def label_space(
    ds: datasets.Dataset | None,
    spec: TaskSpec,
    labels: np.ndarray,
    folder_names: tuple[str, ...] = (),
) -> tuple[int, tuple[str, ...]]:
    """(num_classes, class names) from a ClassLabel feature, the spec, class folders or the
    labels, and a check that every label lies in range."""
    if spec.label_column is None:
        k = spec.num_classes or 0
        return k, tuple(spec.class_names or (str(i) for i in range(k)))
    feature = ds.features.get(spec.label_column) if ds is not None else None
    if isinstance(feature, datasets.ClassLabel):
        names = tuple(feature.names)
    elif spec.class_names:
        names = tuple(spec.class_names)
    elif folder_names:
        names = folder_names
    else:
        k = spec.num_classes or int(labels.max()) + 1
        names = tuple(str(i) for i in range(k))
    k = spec.num_classes or len(names)
    if len(names) != k:
        raise DatasetError(f"task {spec.name!r}: num_classes {k} but {len(names)} class names")
    bad = labels[(labels < 0) | (labels >= k)]
    if len(bad):
        raise DatasetError(
            f"task {spec.name!r}: label column {spec.label_column!r} has value {int(bad[0])} "
            f"outside the class range 0..{k - 1}"
        )
    return k, names
