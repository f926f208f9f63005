"""Tabular tasks: a float feature matrix per split, and the valid range of every feature.

Features are `feature_columns` in order, or one `input_column` of fixed-length vectors, or by
default every column except the label, id and group columns. Each feature gets bounds: declared
in `feature_bounds`, else the global `bounds` when declared, else the range the feature takes over
the training and evaluation splits together (so every clean input lies within its bounds). The
task's `bounds` stay the global box (declared, or the hull of the feature bounds); suites that
perturb inputs read the per-feature box from `Task.feature_box()` (docs/tasks.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

import datasets
import numpy as np

from harness.config.spec import TaskSpec
from harness.config.tasks.row_columns import (
    RowColumns,
    check_columns,
    label_space,
    read_row_columns,
)
from harness.config.tasks.sources import Source
from harness.config.tasks.splits import read_split, read_train_split
from harness.core.errors import DatasetError
from harness.core.task import Task

log = logging.getLogger(__name__)
_PANDAS_INDEX = "__index_level_"


def feature_names(ds: datasets.Dataset, spec: TaskSpec) -> list[str]:
    """The feature columns: declared, or every column but the label, id and group columns."""
    if spec.feature_columns:
        return list(spec.feature_columns)
    if spec.input_column:
        return [spec.input_column]
    skip = {spec.label_column, spec.id_column, *spec.group_columns}
    names = [c for c in ds.column_names if c not in skip and not c.startswith(_PANDAS_INDEX)]
    if not names:
        raise DatasetError(
            f"task {spec.name!r}: no feature columns left beside the label, id and group "
            f"columns (columns: {', '.join(ds.column_names)}); set feature_columns"
        )
    return names


def _numeric(ds: datasets.Dataset, column: str, spec: TaskSpec, where: str) -> np.ndarray:
    """A column as float32, or a DatasetError naming it (text in a numeric feature, say)."""
    try:
        return np.asarray(ds[column], dtype=np.float32)
    except (ValueError, TypeError) as err:
        default = (
            ""
            if spec.feature_columns or spec.input_column
            else " (by default every column but the label, id and group columns is a feature: "
            "list feature_columns, or name it in group_columns)"
        )
        raise DatasetError(
            f"task {spec.name!r}: column {column!r} in {where} is not numeric ({err}){default}"
        ) from None


def feature_matrix(
    ds: datasets.Dataset, spec: TaskSpec, names: list[str], where: str
) -> tuple[np.ndarray, list[str]]:
    """(n, features) float32 matrix and one name per matrix column."""
    check_columns(ds, spec, names, where)
    if spec.input_column:
        matrix = _numeric(ds, spec.input_column, spec, where)
        if matrix.ndim != 2:
            raise DatasetError(
                f"task {spec.name!r}: column {spec.input_column!r} in {where} is not a "
                "fixed-length numeric vector per row"
            )
        labels = [f"{spec.input_column}[{j}]" for j in range(matrix.shape[1])]
    else:
        matrix = np.stack([_numeric(ds, c, spec, where) for c in names], axis=1)
        labels = list(names)
    finite = np.isfinite(matrix).all(axis=0)
    if not finite.all():
        bad = [labels[j] for j in np.flatnonzero(~finite)]
        raise DatasetError(
            f"task {spec.name!r}: features contain NaN or inf in {where} "
            f"(columns {', '.join(map(repr, bad))}); fill or drop those rows"
        )
    return matrix, labels


def _dataset(rows: RowColumns, matrix: np.ndarray) -> datasets.Dataset:
    columns, features = rows.columns()
    columns["input"] = matrix
    features["input"] = datasets.Sequence(datasets.Value("float32"), length=matrix.shape[1])
    return datasets.Dataset.from_dict(columns, features=datasets.Features(features))


def feature_bounds(
    spec: TaskSpec, names: list[str], matrices: list[np.ndarray]
) -> tuple[tuple[float, float], tuple[tuple[float, float], ...]]:
    """(global bounds, per-feature bounds) from the declarations and the data's range."""
    unknown = sorted(set(spec.feature_bounds) - set(names))
    if unknown:
        raise DatasetError(
            f"task {spec.name!r}: feature_bounds names {', '.join(map(repr, unknown))}, not a "
            f"feature (features: {', '.join(names)})"
        )
    data = np.concatenate(matrices)
    low, high = data.min(axis=0).astype(np.float64), data.max(axis=0).astype(np.float64)
    pairs: list[tuple[float, float]] = []
    for j, name in enumerate(names):
        box = spec.feature_bounds.get(name) or spec.bounds
        if box is None:
            pairs.append((float(low[j]), float(high[j])))
            continue
        if low[j] < box[0] or high[j] > box[1]:
            key = f"feature_bounds.{name}" if name in spec.feature_bounds else "bounds"
            raise DatasetError(
                f"task {spec.name!r}: feature {name!r} takes values in [{low[j]:g}, {high[j]:g}], "
                f"outside its {key} {list(box)}; widen the bounds or fix the data"
            )
        pairs.append((float(box[0]), float(box[1])))
    hull = spec.bounds or (min(p[0] for p in pairs), max(p[1] for p in pairs))
    return (float(hull[0]), float(hull[1])), tuple(pairs)


def load_tabular_task(spec: TaskSpec, source: Source, base_dir: Path) -> Task:
    """A tabular task: the evaluation split, the training split when given, feature bounds."""
    raw = read_split(spec, source, spec.split)
    where = f"split {spec.split!r}"
    names = feature_names(raw, spec)
    rows = read_row_columns(raw, spec, where)
    k, class_names = label_space(raw, spec, rows.labels)
    matrix, labels = feature_matrix(raw, spec, names, where)
    matrices = [matrix]
    train = None
    train_raw = read_train_split(spec, base_dir)
    if train_raw is not None:
        train_where = f"the training split ({spec.train_source or spec.train_split})"
        train_matrix, _ = feature_matrix(train_raw, spec, names, train_where)
        train = _dataset(read_row_columns(train_raw, spec, train_where), train_matrix)
        matrices.insert(0, train_matrix)
    bounds, per_feature = feature_bounds(spec, labels, matrices)
    log.info("task %s: bounds %s over %d features", spec.name, bounds, len(labels))
    return Task(
        name=spec.name,
        modality="tabular",
        num_classes=k,
        class_names=class_names,
        input_shape=(matrix.shape[1],),
        bounds=bounds,
        data=_dataset(rows, matrix),
        train=train,
        group_columns=tuple(spec.group_columns),
        group_labels={k_: dict(v) for k_, v in spec.group_labels.items()},
        group_bins={k_: tuple(v) for k_, v in spec.group_bins.items()},
        source=spec.source,
        description=f"{spec.source} split {spec.split}",
        feature_names=tuple(labels),
        feature_bounds=per_feature,
        labeled=spec.label_column is not None,
    )
