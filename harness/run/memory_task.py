"""A `Task` over data the caller already holds in memory (`harness.evaluate(model, data=...)`).

Inputs are not copied: an image or tabular task's Arrow input column (a fixed-size list of
float32 per sample) is a view of one float32 CPU tensor's memory, the caller's own when it is
already float32, contiguous and on the CPU (one converted copy otherwise). Suites read it as they
read any task stored in Arrow, batch by batch. The task's content fingerprint hashes the input
bytes, the labels, the group values and the settings (shape, bounds), like every other task's
(`Task.fingerprint`): the same data gives the same print under any name. Texts are stored in
Arrow as they are.

A training split passed beside the data (`train=`) becomes the task's `train`, stored the same
way and checked against the data (`with_train`).

Every check names the argument at fault (`data`, `train`, `bounds`, `class_names`, `groups`) in
one line (`InMemoryDataError`).
"""

from __future__ import annotations

import numbers
import operator
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import SupportsIndex, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from harness.core.errors import DatasetError
from harness.core.task import MEMORY_SOURCE, SAMPLE_ID, Task
from harness.core.validation import RESERVED_COLUMNS, group_column_problem
from harness.data.table_columns import arrow_dataset
from harness.data.task_spec import MAX_CLASSES

_CHECK_ROWS = 1024  # rows per chunk of the finiteness and bounds checks (bounded extra memory)
_SLACK = 1e-6  # rounding slack at the bounds, as the file decoders allow
_RESERVED = RESERVED_COLUMNS  # sample_id, label, input


class InMemoryDataError(DatasetError):
    """Data passed from Python that `harness.evaluate` cannot take; the line names the argument."""


@dataclass(frozen=True)
class Labeled:
    """What every kind of in-memory data is converted to before it becomes a task.

    `inputs` is a float32 CPU tensor (N, *shape) for images and tables, a list of N strings for
    text; `labels` holds N int64 class ids; `feature_names` names a table's columns.
    """

    inputs: torch.Tensor | list[str]
    labels: np.ndarray
    feature_names: tuple[str, ...] = ()
    modality_hint: str | None = None  # "tabular" for a DataFrame, None: from the shape
    class_names: tuple[str, ...] | None = None  # as the data declares them (a ClassLabel)
    # readable names of group values the data declares (a ClassLabel group column's names by
    # their codes): shown beside the codes, as a spec task's group_labels are
    group_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    # the dtype x was passed in, when it held integers (uint8 images): a value outside the
    # bounds is then most likely a byte to scale, which the refusal says
    integer_dtype: str | None = None


def memory_task(
    data: Labeled,
    *,
    name: str,
    bounds: tuple[float, float] | None,
    class_names: Sequence[str] | None,
    num_classes: int | None,
    groups: pd.DataFrame | None,
) -> Task:
    """Check `data` and build its task (see the module docstring)."""
    n = len(data.labels)
    if n == 0:
        raise InMemoryDataError("data: holds no samples")
    k, names = _label_space(data.labels, class_names, num_classes)
    ids = _sample_ids(n)
    columns: dict[str, pa.Array] = {
        SAMPLE_ID: pa.array(ids, pa.string()),
        "label": pa.array(data.labels, pa.int64()),
    }
    group_columns = _group_columns(groups, n, columns)
    if isinstance(data.inputs, list):
        if bounds is not None:
            raise InMemoryDataError(
                "bounds: applies to images and tables; texts have no input range"
            )
        columns["input"] = pa.array(data.inputs, pa.string())
        return Task(
            name=name,
            modality="text",
            num_classes=k,
            class_names=names,
            input_shape=(),
            bounds=None,
            data=arrow_dataset(pa.table(columns)),
            group_columns=group_columns,
            group_labels=_declared_labels(data, group_columns),
            source=MEMORY_SOURCE,
            description=f"{n:,} texts passed from Python",
        )
    x = data.inputs
    tabular = data.modality_hint == "tabular" or x.dim() == 2
    box, feature_bounds = _bounds(x, bounds, tabular)
    _check_values(x, box, data.integer_dtype if bounds is None else None)
    shape = tuple(int(s) for s in x.shape[1:])
    columns["input"] = _rows_view(x)
    return Task(
        name=name,
        modality="tabular" if tabular else "image",
        num_classes=k,
        class_names=names,
        input_shape=shape,
        bounds=box,
        data=arrow_dataset(pa.table(columns)),
        group_columns=group_columns,
        group_labels=_declared_labels(data, group_columns),
        feature_names=data.feature_names,
        feature_bounds=feature_bounds,
        # a table's per-feature bounds are the data's range when no `bounds` were given
        observed_bounds=(True,) * len(feature_bounds) if feature_bounds is not None else (),
        source=MEMORY_SOURCE,
        description=f"{n:,} samples of shape {list(shape)} passed from Python",
    )


def with_train(
    task: Task,
    data: Labeled,
    train: Labeled,
    groups: pd.DataFrame | None,
    *,
    inferred: bool,
) -> Task:
    """`task` (built from `data`) with the training split passed beside the data
    (`harness.evaluate(train=...)`) as its `train`: what the shift suite's OOD detectors fit
    on and its tabular noise is scaled by, and the fairness suite's group coverage reads. It must be the same kind of data as `data`
    (texts or inputs of the same shape and features) with labels in the task's classes; its
    inputs lie in the task's bounds (images, or a table given `bounds`). Every refusal names
    `train`."""
    n = len(train.labels)
    if n == 0:
        raise InMemoryDataError("train: holds no samples")
    texts, train_texts = isinstance(data.inputs, list), isinstance(train.inputs, list)
    if texts != train_texts:
        raise InMemoryDataError(
            f"train: holds {'texts' if train_texts else 'tensors'} but data holds "
            f"{'texts' if texts else 'tensors'}; pass the training split in the same form"
        )
    outside = _label_outside(train.labels, task.num_classes)
    if outside:
        k = task.num_classes
        raise InMemoryDataError(
            f"train: {outside}, the task's classes; labels are class indices 0..{k - 1}"
            + (
                "; pass num_classes= (data's labels set the count)"
                if inferred and int(train.labels.min()) >= 0  # no count takes in a negative one
                else ""
            )
        )
    if train.class_names is not None and train.class_names != task.class_names:
        raise InMemoryDataError(
            f"train: its label column declares the classes {train.class_names[:3]!r}..., "
            f"not data's {task.class_names[:3]!r}...; pass class_names= with the names train "
            "declares (or cast train's label column to data's classes)"
        )
    columns: dict[str, pa.Array] = {
        SAMPLE_ID: pa.array(_sample_ids(n), pa.string()),
        "label": pa.array(train.labels, pa.int64()),
    }
    if isinstance(train.inputs, list):
        columns["input"] = pa.array(train.inputs, pa.string())
    else:
        _check_train_inputs(train, task, data)
        columns["input"] = _rows_view(train.inputs)
    try:
        named = _group_columns(groups, n, columns)
    except InMemoryDataError as err:
        raise InMemoryDataError(f"train: {err}") from None
    _check_train_groups(task, data, train, {c: columns[c] for c in named})
    return _spanned(replace(task, train=arrow_dataset(pa.table(columns))), train)


def _check_train_groups(
    task: Task, data: Labeled, train: Labeled, arrays: dict[str, pa.Array]
) -> None:
    """Each group column of the training split in data's form, so that a value names the same
    group in both (the fairness suite names the groups only the training split holds): the same
    declared names where either is a ClassLabel (codes of other names named one split's code as
    a group the other lacked), and not whole floats beside data's integers or texts (a frame that
    held a NaN once: the suite refused them as continuous, after the model ran, naming neither
    split). Fractional floats are a continuous attribute, which `suites.fairness.bins` bins
    alike in both splits (else the suite asks for bin edges)."""
    schema = task.data.data.schema
    for name, array in arrays.items():
        kind = array.type
        ours, theirs = train.group_labels.get(name) or None, data.group_labels.get(name) or None
        if ours != theirs:
            raise InMemoryDataError(
                f"train: group column {name!r} holds {_group_form(ours)} but data's holds "
                f"{_group_form(theirs)}; pass it in data's form (the same ClassLabel, or the "
                "same values), so that each value names the same group"
            )
        held = schema.field(name).type
        if pa.types.is_floating(kind) and not pa.types.is_floating(held) and _whole(array):
            what = "integers" if pa.types.is_integer(held) else "texts"
            raise InMemoryDataError(
                f"train: group column {name!r} holds floats but data's holds {what}; pass "
                f"train's as data's are (a frame: train[{name!r}].astype(int) for whole numbers)"
            )


def _whole(array: pa.Array) -> bool:
    """Whether every value of a float column is a whole number."""
    values = array.to_numpy(zero_copy_only=False)
    return bool(np.all(np.isfinite(values) & (values == np.round(values))))


def _group_form(labels: dict[str, str] | None) -> str:
    """How a split holds a group column: ClassLabel codes of names, or its values."""
    if not labels:
        return "its values"
    names = list(labels.values())
    shown = ", ".join(map(repr, names[:4])) + (", ..." if len(names) > 4 else "")
    return f"the codes of a ClassLabel of ({shown})"


def _spanned(task: Task, train: Labeled) -> Task:
    """A table's observed feature ranges (no `bounds` given) over both splits, as a spec task's
    span its training and evaluation splits: the shift suite clips its noise to them, and the
    training split's spread goes past the data's. `task` as it is for a declared box."""
    if not task.observed_bounds or task.feature_bounds is None:
        return task
    x = train.inputs
    assert isinstance(x, torch.Tensor)
    lows, highs = x.amin(dim=0).tolist(), x.amax(dim=0).tolist()
    pairs = tuple(
        (min(a, float(lo)), max(b, float(hi)))
        for (a, b), lo, hi in zip(task.feature_bounds, lows, highs, strict=True)
    )
    box = (min(p[0] for p in pairs), max(p[1] for p in pairs))
    return replace(task, feature_bounds=pairs, bounds=box)


def _check_train_inputs(train: Labeled, task: Task, data: Labeled) -> None:
    """The training inputs' shape and features as data's, and their values in the task's box
    where it is a declared one (images, or `bounds=`); a table's observed ranges are data's
    own, which a training split may exceed: its values need only be finite."""
    x = train.inputs
    assert isinstance(x, torch.Tensor)
    shape = tuple(int(s) for s in x.shape[1:])
    if shape != task.input_shape:
        raise InMemoryDataError(
            f"train: samples of shape {list(shape)}, but data's are {list(task.input_shape)}"
        )
    if train.feature_names and data.feature_names and train.feature_names != data.feature_names:
        differ = next(
            (a, b) for a, b in zip(train.feature_names, data.feature_names, strict=True) if a != b
        )
        raise InMemoryDataError(
            f"train: its feature columns differ from data's (column {differ[0]!r} where data "
            f"has {differ[1]!r}); pass the same columns in the same order"
        )
    box = task.bounds
    if task.observed_bounds or box is None:  # a table's range observed in data
        finite = torch.isfinite(x.reshape(len(x), -1)).all(dim=1)
        if not bool(finite.all()):
            row = int(torch.nonzero(~finite).flatten()[0])
            raise InMemoryDataError(f"train: sample {row} has NaN or inf inputs")
        return
    try:
        _check_values(x, box, train.integer_dtype)
    except InMemoryDataError as err:
        raise InMemoryDataError(f"train: {str(err).removeprefix('data: ')}") from None


def _rows_view(x: torch.Tensor) -> pa.FixedSizeListArray:
    """One fixed-size list of float32 per sample over the tensor's own memory (Arrow wraps a
    contiguous float32 numpy buffer without copying it; the array keeps the tensor alive)."""
    flat = x.numpy().reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat), int(np.prod(x.shape[1:])))


def _sample_ids(n: int) -> list[str]:
    width = len(str(n - 1))
    return [f"{i:0{width}d}" for i in range(n)]


def _label_space(
    labels: np.ndarray, class_names: Sequence[str] | None, num_classes: int | None
) -> tuple[int, tuple[str, ...]]:
    """The number of classes (num_classes, else len(class_names), else max label + 1) and the
    class names; every label must lie in [0, k)."""
    num_classes = _class_count(num_classes)
    if num_classes is not None and num_classes < 2:  # 0 would otherwise read as "not given"
        raise InMemoryDataError(
            f"num_classes: a classifier has at least 2 classes (got {num_classes})"
        )
    if num_classes is not None and num_classes > MAX_CLASSES:  # k class names are built
        raise InMemoryDataError(
            f"num_classes: {num_classes} is beyond the {MAX_CLASSES:,} classes a task may have"
        )
    names = None if class_names is None else tuple(str(c) for c in class_names)
    if names is not None and len(set(names)) != len(names):
        raise InMemoryDataError("class_names: holds a name twice")
    composed = [unicodedata.normalize("NFC", n) for n in names or ()]
    if len(set(composed)) != len(composed):  # `café` composed and decomposed print alike
        twice = next(c for c in composed if composed.count(c) > 1)
        raise InMemoryDataError(
            f"class_names: holds {twice!r} twice (written two ways that print alike: Unicode's "
            "composed and decomposed forms); give each class its own name"
        )
    if num_classes is not None and names is not None and len(names) != num_classes:
        raise InMemoryDataError(
            f"class_names: {len(names)} names for num_classes={num_classes}; give one per class"
        )
    high = int(labels.max())
    if num_classes is None and names is None and high >= MAX_CLASSES:
        # k comes from the largest label: 4294967296 built 4e9 class names (a MemoryError)
        row = int(np.flatnonzero(labels == high)[0])
        raise InMemoryDataError(
            f"data: label {high} (sample {row}) is beyond the {MAX_CLASSES:,} classes a task may "
            "have; labels are class indices 0..K-1"
        )
    k = num_classes or (len(names) if names is not None else high + 1)
    outside = _label_outside(labels, k)
    if outside:
        raise InMemoryDataError(
            f"data: {outside}; labels are class indices 0..{k - 1}"
            + (
                ""
                if num_classes or names or int(labels.min()) < 0  # no count takes in a negative
                else "; pass num_classes= or class_names="
            )
        )
    if k < 2:
        raise InMemoryDataError(
            "data: every label is 0; pass num_classes= (a classifier has at least 2 classes)"
        )
    return k, names if names is not None else tuple(str(i) for i in range(k))


def _label_outside(labels: np.ndarray, k: int) -> str | None:
    """'label L (sample i) is outside [0, k)' for the first sample of the lowest label below 0,
    else of the highest at or above k; None when every label is a class index."""
    low, high = int(labels.min()), int(labels.max())
    if low >= 0 and high < k:
        return None
    bad = low if low < 0 else high
    row = int(np.flatnonzero(labels == bad)[0])
    return f"label {bad} (sample {row}) is outside [0, {k})"


def _class_count(num_classes: object) -> int | None:
    """`num_classes` as an int: a whole number (numpy's too, or an integral float), not a bool,
    a fraction or text."""
    if num_classes is None:
        return None
    if isinstance(num_classes, float | np.floating) and float(num_classes).is_integer():
        return int(num_classes)
    if isinstance(num_classes, bool | np.bool_) or not hasattr(type(num_classes), "__index__"):
        raise InMemoryDataError(
            f"num_classes: expected a whole number of classes (got {num_classes!r})"
        )
    return operator.index(cast(SupportsIndex, num_classes))


def _declared_labels(data: Labeled, group_columns: Sequence[str]) -> dict[str, dict[str, str]]:
    """The data's declared names of the group values (`Labeled.group_labels`) of the group
    columns the task keeps."""
    return {c: dict(v) for c, v in data.group_labels.items() if c in group_columns}


def _group_columns(
    groups: pd.DataFrame | None, n: int, columns: dict[str, pa.Array]
) -> tuple[str, ...]:
    """Add the sensitive attributes to `columns` (by position, one row per sample)."""
    if groups is None:
        return ()
    if not isinstance(groups, pd.DataFrame):
        raise InMemoryDataError(
            f"groups: got a {type(groups).__name__}; pass a pandas DataFrame of sensitive "
            "attributes, one row per sample"
        )
    if len(groups) != n:
        raise InMemoryDataError(f"groups: has {len(groups):,} rows for {n:,} samples")
    names = []
    for column in groups.columns:
        label = str(column)
        if label in _RESERVED:
            raise InMemoryDataError(f"groups: column {label!r} uses a reserved name; rename it")
        if not label.strip():
            raise InMemoryDataError("groups: a column has an empty name; name each attribute")
        problem = group_column_problem(label)
        if problem:
            raise InMemoryDataError(f"groups: column {problem}")
        values = groups[column]
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise InMemoryDataError(
                f"groups: column {label!r} has a missing value (row {row}); fill or drop it"
            )
        values = _numbers_as_numbers(values, label)
        if pd.api.types.is_complex_dtype(values.dtype):  # Arrow holds no complex numbers
            raise InMemoryDataError(
                f"groups: column {label!r} holds complex numbers ({values.dtype}); give "
                "integers or text"
            )
        if pd.api.types.is_bool_dtype(values.dtype):
            # named as a CSV or Parquet file's boolean column is (Arrow's text of a boolean),
            # so the same data's groups line up between a spec run and this one
            values = values.map({True: "true", False: "false"})
        elif not pd.api.types.is_numeric_dtype(values.dtype):  # text, categories, mixed objects
            # trimmed and composed (NFC) as a CSV's group cells are: "a" and "a ", or "café"
            # composed and decomposed, would be two groups that print alike in every table
            values = values.astype(str).str.strip().str.normalize("NFC")
            blank = (values == "").to_numpy()
            if blank.any():
                row = int(np.flatnonzero(blank)[0])
                raise InMemoryDataError(
                    f"groups: column {label!r} has an empty value (row {row}); fill or drop it"
                )
        columns[label] = pa.array(values.to_numpy())
        names.append(label)
    return tuple(names)


def _numbers_as_numbers(values: pd.Series, label: str) -> pd.Series:
    """A column of Python objects that are all numbers (a list such as `[1, 1.0, 2]`) as the
    numpy array of those numbers, so it meets the rules a numeric array or a file's column
    meets: by each value's `str`, `1` and `1.0` were two groups (one to fairlearn, which groups
    equal numbers together), and fractions were categories where a float array is refused as
    continuous. Booleans mixed with numbers are refused: pandas groups `True` with `1`, a file
    reads them as two texts."""
    if values.dtype != object or len(values) == 0:
        return values
    is_bool = [isinstance(v, bool | np.bool_) for v in values]
    is_number = [
        not b and isinstance(v, numbers.Real) for b, v in zip(is_bool, values, strict=True)
    ]
    if all(is_number):
        # numpy's promotion, as the array of these numbers: ints stay ints, any float makes floats
        return pd.Series(np.asarray(values.tolist()), index=values.index, name=values.name)
    if any(is_bool) and any(is_number):
        row = is_number.index(True)
        raise InMemoryDataError(
            f"groups: column {label!r} mixes true/false values and numbers (row {row}: "
            f"{values.iloc[row]!r}); give one kind of value"
        )
    return values


def _bounds(
    x: torch.Tensor, bounds: tuple[float, float] | None, tabular: bool
) -> tuple[tuple[float, float], tuple[tuple[float, float], ...] | None]:
    """The valid input range: `bounds` when given; else [0, 1] for images, and for a table
    each feature's observed (min, max) within the box of all of them."""
    if bounds is not None:
        low, high = _checked_bounds(bounds)
        return (low, high), None
    if not tabular:
        return (0.0, 1.0), None
    lows, highs = x.amin(dim=0), x.amax(dim=0)
    if not bool(torch.isfinite(lows).all() and torch.isfinite(highs).all()):  # NaN or inf
        row = int(torch.nonzero(~torch.isfinite(x).all(dim=1)).flatten()[0])
        raise InMemoryDataError(f"data: sample {row} has NaN or inf inputs")
    pairs = tuple((float(a), float(b)) for a, b in zip(lows.tolist(), highs.tolist(), strict=True))
    return (float(lows.min()), float(highs.max())), pairs


def _checked_bounds(bounds: object) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in bounds)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise InMemoryDataError(f"bounds: expected (low, high), got {bounds!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise InMemoryDataError(f"bounds: expected finite low < high, got {bounds!r}")
    return low, high


def _check_values(x: torch.Tensor, box: tuple[float, float], integer_dtype: str | None) -> None:
    """Refuse NaN, inf and values outside `box`, naming the first sample: one pass of per-row
    minima and maxima over chunks of rows (NaN fails both comparisons, inf the finite box).
    Integer inputs (`integer_dtype`, bounds not given) outside [0, 1] are most likely bytes: the
    refusal says to scale them (`x.float() / 255`), as a task's uint8 .npy images are."""
    low, high = box
    for start in range(0, len(x), _CHECK_ROWS):
        chunk = x[start : start + _CHECK_ROWS].reshape(min(_CHECK_ROWS, len(x) - start), -1)
        lows, highs = torch.aminmax(chunk, dim=1)
        bad = torch.nonzero(~((lows >= low - _SLACK) & (highs <= high + _SLACK))).flatten()
        if len(bad):
            row = int(bad[0])
            if not bool(torch.isfinite(chunk[row]).all()):
                raise InMemoryDataError(f"data: sample {start + row} has NaN or inf inputs")
            # the advice reads every sample's minimum: int8 x / 255 is wrong for all of x
            # when any sample is negative, the first one refused in [0, 127] or not
            least = float(x.min()) if integer_dtype is not None else float(lows[row])
            raise InMemoryDataError(
                f"data: sample {start + row} has inputs in [{float(lows[row]):g}, "
                f"{float(highs[row]):g}], outside bounds [{low:g}, {high:g}]; "
                + _range_fix(integer_dtype, least, float(highs[row]))
            )


def _range_fix(integer_dtype: str | None, low: float, high: float) -> str:
    """What to do about inputs outside the bounds: scale integer images to [0, 1] (uint8 x:
    `x.float() / 255`), else pass the model's input range. Signed integers with negative values
    (`low`: the least of all of x) are not bytes: no division brings them into [0, 1] (int8
    x / 255 was advised)."""
    if integer_dtype is None:
        return "pass the model's input range as bounds=(low, high)"
    if low < 0:
        info = torch.iinfo(getattr(torch, integer_dtype)) if hasattr(torch, integer_dtype) else None
        example = f" ({integer_dtype}: bounds=({info.min}, {info.max}))" if info else ""
        return (
            f"x holds {integer_dtype} values, some negative (down to {low:g}): no division "
            f"brings them into [0, 1]; pass the model's input range as bounds=(low, high)"
            f"{example}, or shift and scale them into [0, 1] first"
        )
    scale = "255" if high <= 255 else "their maximum"
    return (
        f"x holds {integer_dtype} values: scale images to [0, 1] with x.float() / {scale} (numpy: "
        f"x.astype('float32') / {scale}), as a task's uint8 .npy images are, or pass the model's "
        "input range as bounds=(low, high)"
    )
