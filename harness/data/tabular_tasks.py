"""Tabular tasks: a float feature matrix per split, and the valid range of every feature.

Features are `feature_columns` in order, or one `input_column` of fixed-length vectors, or by
default every column except the label, id and group columns. Every column is converted whole
through Arrow (`table_columns`): numbers as they are (a text column parsed, its missing-value
markers missing), `one_hot` columns as one 0/1 feature per category (`<column>=<category>`; a
missing cell is all zeros), `ordinal` columns as their value's position in the declared order. A
row with a missing feature is refused, naming the column, the count and the first row, or
dropped with `missing_rows: drop`; the missing cells of each split are reported in one line.

Each feature gets bounds: declared in `feature_bounds`, else [0, 1] for a one-hot feature and
[0, k-1] for an ordinal one, else the global `bounds` when declared, else the range the feature
takes over the training and evaluation splits together (so every clean input lies within its
bounds). The task's `bounds` stay the global box (declared, or the hull of the feature bounds);
suites that perturb inputs read the per-feature box from `Task.feature_box()` (docs/tasks.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from harness.core.board_notes import caveat_note
from harness.core.errors import DatasetError
from harness.core.task import Task
from harness.data.matrix_fill import Filled, MatrixFill
from harness.data.row_columns import (
    RowColumns,
    check_columns,
    label_space,
    read_row_columns,
)
from harness.data.sources import PANDAS_INDEX, Source, check_feature_order
from harness.data.splits import Split, read_split_rows, read_train_rows
from harness.data.table_columns import (
    Coded,
    Rows,
    Tally,
    Where,
    arrow_column,
    arrow_dataset,
    coded,
    distinct,
    is_number_type,
    numbers,
    one_hot_index,
    ordinal,
)
from harness.data.task_spec import TaskSpec

log = logging.getLogger(__name__)


def feature_names(ds: Rows, spec: TaskSpec) -> list[str]:
    """The feature columns: declared, or every column but the label, id and group columns."""
    if spec.feature_columns:
        return list(spec.feature_columns)
    if spec.input_column:
        return [spec.input_column]
    skip = {spec.label_column, spec.id_column, *spec.group_columns}
    names = [c for c in ds.column_names if c not in skip and not c.startswith(PANDAS_INDEX)]
    if not names:
        raise DatasetError(
            f"task {spec.name!r}: no feature columns left beside the label, id and group "
            f"columns (columns: {', '.join(ds.column_names)}); set feature_columns"
        )
    return names


@dataclass(frozen=True)
class Encoding:
    """How each feature column becomes matrix columns: its one-hot categories or ordinal order
    (the same for every split), the matrix column names and the bounds the encoding fixes."""

    spec: TaskSpec
    columns: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]
    # the codes `of` computed, per split (keyed by id, the split held so the id stays its own)
    codes: dict[int, tuple[Rows, dict[str, Coded]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, spec: TaskSpec, columns: list[str], splits: list[Rows]) -> Encoding:
        """One-hot categories: declared, else the sorted values found in every split (each
        split's codes kept for `matrix`, which then encodes those columns no second time)."""
        unknown = sorted((set(spec.one_hot) | set(spec.ordinal)) - set(columns))
        if unknown:
            raise DatasetError(
                f"task {spec.name!r}: one_hot/ordinal name {', '.join(map(repr, unknown))}, not a "
                f"feature column (features: {', '.join(columns)})"
            )
        found: dict[str, tuple[str, ...]] = {}
        codes: dict[int, tuple[Rows, dict[str, Coded]]] = {}
        for name, declared in spec.one_hot.items():
            if declared is not None:
                found[name] = tuple(declared)
                continue
            for ds in splits:
                check_columns(ds, spec, [name], "the data")
            split_codes = []
            for ds in splits:
                cells = coded(arrow_column(ds, name), spec.missing_values)
                codes.setdefault(id(ds), (ds, {}))[1][name] = cells
                split_codes.append(cells)
            found[name] = tuple(distinct(split_codes))
        return cls(spec, tuple(columns), found, codes)

    def labels(self) -> list[str]:
        """One name per matrix column."""
        out: list[str] = []
        for name in self.columns:
            if name in self.categories:
                out.extend(f"{name}={c}" for c in self.categories[name])
            else:
                out.append(name)
        return out

    def fixed_bounds(self) -> dict[str, tuple[float, float]]:
        """The box an encoding fixes: [0, 1] per one-hot feature, [0, k-1] per ordinal one."""
        boxes: dict[str, tuple[float, float]] = {}
        for name, cats in self.categories.items():
            boxes.update({f"{name}={c}": (0.0, 1.0) for c in cats})
        for name, order in self.spec.ordinal.items():
            boxes[name] = (0.0, float(max(len(order) - 1, 1)))
        return boxes

    def matrix(self, ds: Rows, at: Where, tally: Tally) -> Filled:
        """(n, features) float32 and each feature's range, written in row blocks
        (`MatrixFill`): a numeric Arrow column converted block by block, a text, ordinal or
        one-hot column converted whole first; a missing cell is NaN, a number beyond float32's
        range inf. One-hot columns' missing cells (all zeros) are counted in `tally` here; NaN
        cells by the caller."""
        markers = self.spec.missing_values
        fill = MatrixFill(len(ds), len(self.labels()))
        for name in self.columns:
            column = arrow_column(ds, name)
            if name in self.categories:
                cells = self.codes.get(id(ds), (ds, {}))[1].get(name) or coded(column, markers)
                index, missing = one_hot_index(cells, name, self.categories[name], at)
                fill.add_one_hot(index, len(self.categories[name]))
                tally.add(name, missing)
            elif name in self.spec.ordinal:
                fill.add_values(ordinal(column, name, self.spec.ordinal[name], markers, at))
            elif is_number_type(column.type):
                fill.add_arrow(column)
            else:
                fill.add_values(numbers(column, name, markers, at, tally))
        return fill.finish()


def _vectors(ds: Rows, spec: TaskSpec, where: str) -> tuple[np.ndarray, list[str]]:
    """An `input_column` of fixed-length numeric vectors as a matrix."""
    assert spec.input_column is not None
    column = arrow_column(ds, spec.input_column).combine_chunks()
    kind = column.type
    lists = pa.types.is_list(kind) or pa.types.is_large_list(kind)
    if not (lists or pa.types.is_fixed_size_list(kind)) or not (
        pa.types.is_integer(kind.value_type) or pa.types.is_floating(kind.value_type)
    ):
        raise DatasetError(
            f"task {spec.name!r}: column {spec.input_column!r} in {where} is not a "
            f"fixed-length numeric vector per row (it holds {kind})"
        )
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths != lengths[0]).any():
        row = int(np.flatnonzero(lengths != lengths[0])[0])
        raise DatasetError(
            f"task {spec.name!r}: column {spec.input_column!r} in {where} is not a "
            f"fixed-length numeric vector per row (row {row + 1} has {lengths[row]} values, row 1 "
            f"{lengths[0]})"
        )
    width = int(lengths[0]) if len(lengths) else 0
    flat = column.flatten().cast(pa.float64()).to_numpy(zero_copy_only=False)
    labels = [f"{spec.input_column}[{j}]" for j in range(width)]
    return flat.reshape(len(column), width), labels


@dataclass(frozen=True)
class TabularSplit:
    """One split ready for the task: its row columns and its float32 feature matrix."""

    rows: RowColumns
    matrix: np.ndarray
    ranges: tuple[np.ndarray, np.ndarray] | None = None  # per feature (min, max), float32
    dropped: int = 0  # rows dropped for a missing feature (missing_rows: drop)


def read_tabular_split(
    spec: TaskSpec,
    split: Split,
    encoding: Encoding,
    where: str,
    file_where: str,
    *,
    train: bool = False,
) -> TabularSplit:
    """Rows and features of one split: missing rows refused or dropped, every value finite."""
    check_columns(split.data, spec, list(encoding.columns), where)
    at = Where(spec.name, where, split.locate)
    tally = Tally(spec.name, file_where)
    if spec.input_column:
        vectors, labels = _vectors(split.data, spec, where)
        with np.errstate(over="ignore"):  # beyond float32 becomes inf: refused below
            matrix = vectors.astype(np.float32)
        low, high = matrix.min(axis=0), matrix.max(axis=0)
    else:
        filled, labels = encoding.matrix(split.data, at, tally), encoding.labels()
        matrix, low, high = filled.matrix, filled.low, filled.high
    rows = read_row_columns(split.data, spec, where, split.locate, train=train)
    consequence = "one-hot features encode a missing cell as all zeros"
    # a NaN or inf anywhere makes its column's min or max so
    clean = bool(np.isfinite(low).all() and np.isfinite(high).all())
    missing = np.zeros((0, 0), dtype=bool) if clean else np.isnan(matrix)
    if not clean:
        for j in np.flatnonzero(missing.any(axis=0)):
            tally.add(labels[j], int(missing[:, j].sum()))
    if missing.any():
        per_row: np.ndarray = np.asarray(missing.any(axis=1))
        if spec.missing_rows == "drop":
            keep = ~per_row
            log.warning(
                "task %r: %s: dropped %d of %d rows with a missing feature (missing_rows: drop)",
                spec.name,
                file_where,
                int(per_row.sum()),
                len(per_row),
            )
            rows, matrix = rows.select(keep), matrix[keep]
            consequence = "rows with a missing feature were dropped"
        else:
            tally.report(spec.missing_values, consequence)
            raise _missing_error(spec, matrix, labels, at, tally)
    tally.report(spec.missing_values, consequence)
    if len(matrix) == 0:
        raise DatasetError(f"task {spec.name!r}: {where} has no rows left without missing features")
    if not clean:
        _all_finite(spec, matrix, labels, at)
        # rows dropped: ranges taken again
        return TabularSplit(rows, matrix, dropped=len(missing) - len(matrix))
    return TabularSplit(rows, matrix, (low, high))


def _missing_error(
    spec: TaskSpec, matrix: np.ndarray, labels: list[str], at: Where, tally: Tally
) -> DatasetError:
    missing = np.isnan(matrix)
    counts = missing.sum(axis=0)
    j = int(np.argmax(counts))
    row = int(np.flatnonzero(missing[:, j])[0])
    others = int((counts > 0).sum()) - 1
    more = f" (and {others} other column(s))" if others > 0 else ""
    return DatasetError(
        f"task {spec.name!r}: feature column {labels[j]!r} has {int(counts[j]):,} missing cell(s) "
        f"(empty, a missing_values marker or NaN{tally.not_numbers(labels[j])}) in {at.split}{more}, "
        f"first at "
        f"{at.locate(row)}; fill them, set missing_rows: drop to "
        "drop those rows, or encode the column with one_hot (a missing cell is all zeros)"
    )


def _all_finite(spec: TaskSpec, matrix: np.ndarray, labels: list[str], at: Where) -> None:
    finite = np.isfinite(matrix)
    if finite.all():
        return
    j = int(np.flatnonzero(~finite.all(axis=0))[0])
    row = int(np.flatnonzero(~finite[:, j])[0])
    raise DatasetError(
        f"task {spec.name!r}: feature column {labels[j]!r} in {at.split} holds an infinite value "
        f"or one beyond float32's range at {at.locate(row)}; fix the data or drop those rows"
    )


def _dataset(rows: RowColumns, matrix: np.ndarray) -> datasets.Dataset:
    """sample_id, label, groups and `input`: a fixed-length float32 vector per row."""
    table = rows.table()
    flat = pa.array(np.ascontiguousarray(matrix, dtype=np.float32).ravel())  # no copy
    vectors = pa.FixedSizeListArray.from_arrays(flat, matrix.shape[1])
    features = rows.features()
    features["input"] = datasets.Sequence(datasets.Value("float32"), length=matrix.shape[1])
    return arrow_dataset(table.append_column("input", vectors), features)


def _ranges(splits: list[TabularSplit]) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (low, high) over every split, as float64 (each split's own, kept from its
    fill, or taken from its matrix)."""
    pairs = [s.ranges or (s.matrix.min(axis=0), s.matrix.max(axis=0)) for s in splits]
    low = np.min([p[0] for p in pairs], axis=0).astype(np.float64)
    high = np.max([p[1] for p in pairs], axis=0).astype(np.float64)
    return low, high


def feature_bounds(
    spec: TaskSpec,
    names: list[str],
    splits: list[TabularSplit],
    fixed: dict[str, tuple[float, float]] | None = None,
) -> tuple[tuple[float, float], tuple[tuple[float, float], ...]]:
    """(global bounds, per-feature bounds) from the declarations, the encodings' boxes
    (`fixed`) and the data's range over `splits`."""
    unknown = sorted(set(spec.feature_bounds) - set(names))
    if unknown:
        raise DatasetError(
            f"task {spec.name!r}: feature_bounds names {', '.join(map(repr, unknown))}, not a "
            f"feature (features: {', '.join(names)})"
        )
    fixed = fixed or {}
    low, high = _ranges(splits)
    _warn_constant(spec, names, low, high)
    pairs: list[tuple[float, float]] = []
    for j, name in enumerate(names):
        box = spec.feature_bounds.get(name) or fixed.get(name) or spec.bounds
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


def _warn_constant(spec: TaskSpec, names: list[str], low: np.ndarray, high: np.ndarray) -> None:
    """A feature with one value in every row of every split carries nothing and cannot move.
    Not said of an unlabelled table: an OOD set, which models only score (never learn from,
    never attack), so its constant columns cost nothing."""
    if spec.label_column is None:
        return
    same = np.flatnonzero(low == high)
    if len(same):
        shown = ", ".join(f"{names[j]!r} ({low[j]:g})" for j in same[:5])
        more = f" and {len(same) - 5} more" if len(same) > 5 else ""
        log.warning(
            "task %r (%s): feature(s) %s%s hold one value in every row of every split: a model "
            "learns nothing from them and no attack can move them (zero-width bounds)",
            spec.name,
            spec.source,
            shown,
            more,
        )


def load_tabular_task(spec: TaskSpec, source: Source, base_dir: Path) -> Task:
    """A tabular task: the evaluation split, the training split when given, feature bounds."""
    raw = read_split_rows(spec, source, spec.split)
    return tabular_task(spec, raw, read_train_rows(spec, base_dir))


def tabular_task(spec: TaskSpec, raw: Split, train_raw: Split | None) -> Task:
    """The task of a read evaluation split (and training split): every check and conversion of
    `load_tabular_task`, for rows already in memory too (a catalogue recipe's prepared
    tables)."""
    where = f"split {spec.split!r}"
    names = feature_names(raw.data, spec)
    if train_raw is not None:
        check_feature_order(spec, names, feature_names(train_raw.data, spec))
    splits = [raw.data] + ([train_raw.data] if train_raw is not None else [])
    encoding = Encoding.of(spec, names, splits)
    test = read_tabular_split(spec, raw, encoding, where, f"{where} of {spec.source}")
    k, class_names = label_space(raw.data, spec, test.rows.labels)
    parts = [test]
    train = None
    labels = encoding.labels() if not spec.input_column else None
    if train_raw is not None:
        train_where = f"the training split ({spec.train_source or spec.train_split})"
        part = read_tabular_split(spec, train_raw, encoding, train_where, train_where, train=True)
        train = _dataset(part.rows, part.matrix)
        parts.insert(0, part)
    if labels is None:
        labels = [f"{spec.input_column}[{j}]" for j in range(test.matrix.shape[1])]
    bounds, per_feature = feature_bounds(spec, labels, parts, encoding.fixed_bounds())
    fixed = encoding.fixed_bounds()
    observed = tuple(
        spec.bounds is None and n not in spec.feature_bounds and n not in fixed for n in labels
    )
    log.info("task %s: bounds %s over %d features", spec.name, bounds, len(labels))
    load_notes: tuple[str, ...] = ()
    if test.dropped:
        total = test.dropped + len(test.matrix)
        load_notes = (
            caveat_note(
                f"task {spec.name!r}: {test.dropped:,} of {total:,} rows of {where} "
                f"({100 * test.dropped / total:.1f}%) have a missing feature and were dropped "
                f"(missing_rows: drop): no number counts them, and they may differ from the "
                f"{len(test.matrix):,} rows kept"
            ),
        )
    return Task(
        name=spec.name,
        modality="tabular",
        num_classes=k,
        class_names=class_names,
        input_shape=(test.matrix.shape[1],),
        bounds=bounds,
        data=_dataset(test.rows, test.matrix),
        train=train,
        group_columns=tuple(spec.group_columns),
        group_labels={k_: dict(v) for k_, v in spec.group_labels.items()},
        group_bins={k_: tuple(v) for k_, v in spec.group_bins.items()},
        group_problems=dict(test.rows.group_problems),
        source=spec.source,
        description=f"{spec.source} split {spec.split}",
        feature_names=tuple(labels),
        feature_bounds=per_feature,
        observed_bounds=observed if any(observed) else (),
        categorical_features=tuple(n for n in labels if n in encoding.fixed_bounds()),
        labeled=spec.label_column is not None,
        load_notes=load_notes,
    )
