"""Load inline tasks (`TaskSpec`) from the Hugging Face hub or local files through one code path.

`hf:<id>` goes to `datasets.load_dataset(id, ...)`; a local path goes to the matching packaged
builder (`parquet`, `csv`, `json`, `imagefolder`). The loaded split is then checked against the
spec (columns exist, labels in range, consistent input shapes, no empty split) and converted to
explicit Arrow features (`Array3D` float32 images, fixed-length float vectors for tabular rows),
so batches are read whole and fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow.parquet as pq

from harness.config.spec import TaskSpec
from harness.core.errors import DatasetError
from harness.core.task import SAMPLE_ID, Task

log = logging.getLogger(__name__)
_FILE_BUILDERS = {".parquet": "parquet", ".csv": "csv", ".json": "json", ".jsonl": "json"}


def load_split(spec: TaskSpec, split: str, base_dir: Path) -> datasets.Dataset:
    """Fetch one split of the dataset named by `spec.source`."""
    source = spec.source
    try:
        if source.startswith("hf:"):
            ds = datasets.load_dataset(source[3:], spec.subset, split=split, revision=spec.revision)
        else:
            path = Path(source)
            path = path if path.is_absolute() else base_dir / path
            if path.is_dir() and any(path.glob("*.parquet")):
                ds = datasets.load_dataset("parquet", data_dir=str(path), split=split)
            elif path.is_dir():
                ds = datasets.load_dataset("imagefolder", data_dir=str(path), split=split)
            elif (
                path.is_file()
                and path.suffix == ".parquet"
                and pq.read_metadata(path).num_rows == 0
            ):
                raise DatasetError(f"task {spec.name!r}: {path} is empty (0 rows)")
            elif path.is_file() and path.suffix in _FILE_BUILDERS:
                ds = datasets.load_dataset(
                    _FILE_BUILDERS[path.suffix], data_files={split: str(path)}, split=split
                )
            elif not path.exists():
                raise DatasetError(f"task {spec.name!r}: data source {path} does not exist")
            else:
                raise DatasetError(
                    f"task {spec.name!r}: cannot read {path}; use a .parquet, .csv, .json(l) "
                    "file, a folder of parquet files or an image folder"
                )
    except DatasetError:
        raise
    except (
        FileNotFoundError,
        ValueError,
        datasets.exceptions.DatasetNotFoundError,
        datasets.exceptions.DatasetGenerationError,
    ) as err:
        cause = f" ({type(err.__cause__).__name__}: {err.__cause__})" if err.__cause__ else ""
        raise DatasetError(
            f"task {spec.name!r}: cannot load {source!r} split {split!r}: {err}{cause}"
        ) from err
    if not isinstance(ds, datasets.Dataset):
        raise DatasetError(f"task {spec.name!r}: {source!r} did not give a single split")
    return ds


def _check_columns(ds: datasets.Dataset, spec: TaskSpec, needed: list[str], where: str) -> None:
    for col in needed:
        if col not in ds.column_names:
            raise DatasetError(
                f"task {spec.name!r}: column {col!r} not found in {where}; "
                f"available columns: {', '.join(ds.column_names)}"
            )


def _to_image_array(value: Any) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    arr = arr.astype(np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim == 3 and arr.shape[-1] in (1, 3, 4) and arr.shape[0] not in (1, 3):
        arr = np.transpose(arr, (2, 0, 1))  # HWC (PIL, numpy) -> CHW
    return arr


def _convert(
    ds: datasets.Dataset, spec: TaskSpec, where: str
) -> tuple[datasets.Dataset, tuple[int, ...]]:
    """Standardise to columns sample_id, input, label (+groups) with explicit features."""
    label_col = spec.label_column
    groups = list(spec.group_columns)
    if spec.modality == "tabular" and spec.feature_columns:
        needed = [*spec.feature_columns, label_col, *groups]
    else:
        if spec.input_column is None:
            raise DatasetError(
                f"task {spec.name!r}: input_column is required for {spec.modality} tasks"
            )
        needed = [spec.input_column, label_col, *groups]
    if spec.id_column:
        needed.append(spec.id_column)
    _check_columns(ds, spec, needed, where)
    if len(ds) == 0:
        raise DatasetError(f"task {spec.name!r}: {where} is empty (0 rows)")

    for col in groups:
        missing = sum(v is None or (isinstance(v, float) and np.isnan(v)) for v in ds[col])
        if missing:
            raise DatasetError(
                f"task {spec.name!r}: group column {col!r} has {missing} missing value(s) in "
                f"{where}; fill or drop them before evaluating fairness"
            )

    ids = (
        [str(v) for v in ds[spec.id_column]]
        if spec.id_column
        else [f"{spec.name}-{i:06d}" for i in range(len(ds))]
    )
    if len(set(ids)) != len(ids):
        raise DatasetError(
            f"task {spec.name!r}: id column {spec.id_column!r} has duplicate ids in {where}"
        )

    labels = np.asarray(ds[label_col])
    if labels.dtype.kind not in "iu":
        raise DatasetError(
            f"task {spec.name!r}: label column {label_col!r} must hold integer class ids, "
            f"got {labels.dtype}"
        )
    columns: dict[str, Any] = {SAMPLE_ID: ids, "label": labels.astype(np.int64)}
    feats: dict[str, Any] = {SAMPLE_ID: datasets.Value("string"), "label": datasets.Value("int64")}
    if spec.modality == "text":
        columns["input"] = [str(t) for t in ds[spec.input_column]]
        feats["input"] = datasets.Value("string")
        shape: tuple[int, ...] = ()
    elif spec.modality == "tabular":
        try:
            if spec.feature_columns:
                names = list(spec.feature_columns)
                matrix = np.stack([_numeric(ds, c, spec.name, where) for c in names], axis=1)
            else:
                assert spec.input_column is not None  # checked at the top of _convert
                names = [spec.input_column]
                matrix = _numeric(ds, spec.input_column, spec.name, where)
        except ValueError as err:  # ragged vectors in an input column
            raise DatasetError(
                f"task {spec.name!r}: column {spec.input_column!r} in {where} is not a fixed-length numeric vector ({err})"
            ) from None
        if not np.isfinite(matrix).all():
            bad = (
                [names[j] for j in np.flatnonzero(~np.isfinite(matrix).all(axis=0))]
                if spec.feature_columns
                else names
            )
            raise DatasetError(
                f"task {spec.name!r}: features contain NaN or inf in {where} (columns {', '.join(map(repr, bad))})"
            )
        columns["input"] = matrix
        feats["input"] = datasets.Sequence(datasets.Value("float32"), length=matrix.shape[1])
        shape = (matrix.shape[1],)
    else:
        arrays = [_to_image_array(v) for v in ds[spec.input_column]]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise DatasetError(
                f"task {spec.name!r}: images in {where} have different shapes "
                f"{sorted(shapes)[:3]}; resize them to one shape first"
            )
        shape = arrays[0].shape
        if spec.input_shape and tuple(spec.input_shape) != shape:
            raise DatasetError(
                f"task {spec.name!r}: images have shape {list(shape)} but input_shape says "
                f"{spec.input_shape}"
            )
        stacked = np.stack(arrays)
        if not np.isfinite(stacked).all():
            raise DatasetError(f"task {spec.name!r}: images contain NaN or inf in {where}")
        columns["input"] = stacked
        feats["input"] = datasets.Array3D(shape=shape, dtype="float32")
    for col in groups:
        feature = ds.features.get(col)
        if isinstance(feature, datasets.Value) and feature.dtype.startswith("float"):
            # continuous attribute (e.g. age): kept numeric so the fairness suite can bin it
            columns[col] = np.asarray(ds[col], dtype=np.float64)
            feats[col] = datasets.Value("float64")
        else:
            columns[col] = [str(v) for v in ds[col]]
            feats[col] = datasets.Value("string")
    return datasets.Dataset.from_dict(columns, features=datasets.Features(feats)), shape


def _label_space(
    ds: datasets.Dataset, spec: TaskSpec, labels: np.ndarray
) -> tuple[int, tuple[str, ...]]:
    feature = ds.features.get(spec.label_column)
    if isinstance(feature, datasets.ClassLabel):
        names = tuple(feature.names)
    elif spec.class_names:
        names = tuple(spec.class_names)
    else:
        k = spec.num_classes or int(labels.max()) + 1
        names = tuple(str(i) for i in range(k))
    k = spec.num_classes or len(names)
    if len(names) != k:
        raise DatasetError(f"task {spec.name!r}: num_classes {k} but {len(names)} class names")
    return k, names


def load_task(spec: TaskSpec, *, base_dir: Path) -> Task:
    """Load, check and convert an inline task."""
    raw = load_split(spec, spec.split, base_dir)
    data, shape = _convert(raw, spec, f"split {spec.split!r}")
    k, names = _label_space(raw, spec, np.asarray(data["label"]))
    labels = np.asarray(data["label"])
    bad = labels[(labels < 0) | (labels >= k)]
    if len(bad):
        raise DatasetError(
            f"task {spec.name!r}: label column {spec.label_column!r} has value {int(bad[0])} "
            f"outside the class range 0..{k - 1}"
        )
    train = None
    if spec.train_split:
        train, _ = _convert(
            load_split(spec, spec.train_split, base_dir), spec, f"split {spec.train_split!r}"
        )
    bounds = spec.bounds
    if bounds is None and spec.modality == "image":
        bounds = (0.0, 1.0)
    if bounds is None and spec.modality == "tabular":
        ref = np.asarray((train or data)["input"], dtype=np.float32)
        bounds = (float(ref.min()), float(ref.max()))
        log.info(
            "task %s: bounds %s taken from the %s data range",
            spec.name,
            bounds,
            "training" if train else "evaluation",
        )
    return Task(
        name=spec.name,
        modality=spec.modality,
        num_classes=k,
        class_names=names,
        input_shape=shape,
        bounds=bounds,
        data=data,
        train=train,
        group_columns=tuple(spec.group_columns),
        group_bins={k_: tuple(v) for k_, v in spec.group_bins.items()},
        group_labels={k_: dict(v) for k_, v in spec.group_labels.items()},
        source=spec.source,
        description=f"{spec.source} split {spec.split}",
    )


def _numeric(ds: datasets.Dataset, column: str, task: str, where: str) -> np.ndarray:
    """A column as float32, or a DatasetError naming it (text in a numeric feature, say)."""
    try:
        return np.asarray(ds[column], dtype=np.float32)
    except (ValueError, TypeError) as err:
        raise DatasetError(
            f"task {task!r}: column {column!r} in {where} is not numeric ({err})"
        ) from None
