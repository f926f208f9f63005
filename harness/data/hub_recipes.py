"""Preparation recipes for hub datasets whose raw columns are not yet a task.

The loader reads image, text and numeric columns with integer labels. Some standard benchmarks
on the hub store their labels as strings (`income: ">50K"`, ImageNet-R's `wnid`), their
categorical features as strings, or their sensitive attributes as one-hot columns. A recipe turns
such a raw split into plain columns the loader reads, with every choice declared in the catalogue:

- `StringLabels`: a string label column mapped to class ids, by a declared table or by the sorted
  unique values of the evaluation split (ImageNet-R/-A: the official evaluation sorts the wnids).
- `TabularRecipe`: numeric features min-max scaled by the training split's range (test values
  clipped to [0, 1], so inputs and attack budgets live in [0, 1]), categorical features one-hot
  encoded against declared categories (an unknown or missing value is the all-zero vector), group
  columns copied or decoded from one-hot columns, rows with a missing numeric feature or label
  dropped (counted in the log), and a seeded stratified holdout when the hub has one split,
  drawn after sorting the rows by their content (`canonical_order`), so the same rows in another
  order (the raw public file, `recipe_files`) give the same split.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from harness.core.errors import DatasetError
from harness.core.subsets import stratified_indices

log = logging.getLogger(__name__)
HOLDOUT_SEED = 0
RAW_MISSING = ["", "?"]  # a numeric cell written so in a raw file is missing


@dataclass(frozen=True, kw_only=True)
class StringLabels:
    """Class ids from a string column: a declared value -> id table, else sorted unique values."""

    column: str
    values: tuple[str, ...] | None = None  # class id = position in this tuple
    names_column: str | None = None  # a readable class name per row (e.g. ImageNet-R class_name)

    def classes(self, raw: pd.Series) -> tuple[str, ...]:
        return self.values if self.values is not None else tuple(sorted(set(raw.astype(str))))

    def encode(self, raw: pd.Series, classes: tuple[str, ...], task: str) -> np.ndarray:
        values = raw.astype(str)
        codes = pd.Categorical(values, categories=list(classes)).codes
        if (codes < 0).any():
            unknown = sorted(set(values[codes < 0]))
            raise DatasetError(
                f"task {task!r}: label column {self.column!r} has value(s) {unknown[:5]} outside "
                f"the declared classes {list(classes)[:10]}"
            )
        return np.asarray(codes, dtype=np.int64)


@dataclass(frozen=True, kw_only=True)
class OneHotGroup:
    """A group column decoded from one-hot columns `<prefix><value>` (the value is the group)."""

    prefix: str
    values: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class TabularRecipe:
    """How a raw tabular split (an Arrow table) becomes features in [0, 1], integer labels and
    group columns, column by column (Arrow and numpy: no Python loop over rows)."""

    label: str
    label_values: tuple[str, ...] | None = None  # raw label text per class id; None: ints already
    numeric: tuple[str, ...] = ()
    one_hot: dict[str, tuple[str, ...]] = field(default_factory=dict)
    groups: tuple[str, ...] = ()  # string columns kept as group columns
    one_hot_groups: dict[str, OneHotGroup] = field(default_factory=dict)
    age_bands: tuple[str, tuple[float, ...], tuple[str, ...]] | None = None  # column, edges, names
    holdout: float | None = None  # test fraction drawn when the hub has a single split

    def feature_names(self) -> list[str]:
        names = list(self.numeric)
        for column, categories in self.one_hot.items():
            names.extend(f"{column}={c}" for c in categories)
        return names

    def group_names(self) -> list[str]:
        names = [*self.groups, *self.one_hot_groups]
        if self.age_bands is not None:
            names.append(f"{self.age_bands[0]}_band")
        return names

    def columns_needed(self) -> list[str]:
        needed = [self.label, *self.numeric, *self.one_hot, *self.groups]
        for group in self.one_hot_groups.values():
            needed.extend(f"{group.prefix}{v}" for v in group.values)
        if self.age_bands is not None:
            needed.append(self.age_bands[0])
        return list(dict.fromkeys(needed))

    def split(self, table: pa.Table, task: str) -> tuple[pa.Table, pa.Table]:
        """(train, test) of a single hub split: seeded, label-stratified, `holdout` for test."""
        assert self.holdout is not None
        table = self.clean(table, task)
        table = table.take(canonical_order(table, self.columns_needed()))
        labels = self.labels(table, task)
        ids = [f"row-{i}" for i in range(table.num_rows)]
        n_test = int(round(self.holdout * table.num_rows))
        test_rows = stratified_indices(
            ids, labels, n_test, seed=HOLDOUT_SEED, purpose=f"holdout:{task}"
        )
        is_test = np.zeros(table.num_rows, dtype=bool)
        is_test[test_rows] = True
        return table.filter(pa.array(~is_test)), table.filter(pa.array(is_test))

    def clean(self, table: pa.Table, task: str) -> pa.Table:
        """Check the raw columns exist; read numeric features written as text (a raw file's
        `?` or empty cell: missing); drop rows with a missing label or numeric feature."""
        missing = [c for c in self.columns_needed() if c not in table.column_names]
        if missing:
            raise DatasetError(
                f"task {task!r}: column(s) {missing} not found in the hub data; "
                f"available columns: {', '.join(map(str, table.column_names))}"
            )
        for column in self.numeric:
            values = table.column(column)
            if _is_text(values.type):
                i = table.column_names.index(column)
                table = table.set_column(i, column, _text_numbers(values, column, task))
        bad = np.zeros(table.num_rows, dtype=bool)
        for column in [self.label, *self.numeric]:
            bad |= _missing(table.column(column))
        if bad.any():
            log.info("task %s: dropped %d row(s) with a missing label or feature", task, bad.sum())
            return table.filter(pa.array(~bad))
        return table

    def labels(self, table: pa.Table, task: str) -> np.ndarray:
        raw = table.column(self.label)
        if self.label_values is None:
            return np.asarray(_numpy(raw), dtype=np.int64)
        codes = _positions(raw, self.label_values)
        if (codes < 0).any():
            values = np.asarray(_text(raw).to_pylist(), dtype=object)
            unknown = sorted({str(v) for v in values[codes < 0]})
            raise DatasetError(
                f"task {task!r}: label column {self.label!r} has value(s) {unknown[:5]} outside "
                f"the declared classes {list(self.label_values)[:10]}"
            )
        return codes

    def prepare(self, train: pa.Table, test: pa.Table, task: str) -> tuple[pa.Table, pa.Table]:
        """Both splits as plain columns: features (scaled by the training range), label, groups."""
        train, test = self.clean(train, task), self.clean(test, task)
        lo, span = {}, {}
        for column in self.numeric:
            values = _floats(train.column(column), column, task)
            low = float(np.nanmin(values)) if len(values) else np.nan
            high = float(np.nanmax(values)) if len(values) else np.nan
            lo[column], span[column] = low, (high - low) or 1.0
        return self._columns(train, lo, span, task), self._columns(test, lo, span, task)

    def _columns(
        self, table: pa.Table, lo: dict[str, float], span: dict[str, float], task: str
    ) -> pa.Table:
        out: dict[str, pa.Array | np.ndarray] = {}
        for column in self.numeric:
            scaled = (_floats(table.column(column), column, task) - lo[column]) / span[column]
            out[column] = np.clip(scaled, 0.0, 1.0).astype(np.float32)
        for column, categories in self.one_hot.items():
            codes = _positions(table.column(column), categories)
            for j, category in enumerate(categories):
                out[f"{column}={category}"] = (codes == j).astype(np.float32)
        out["label"] = self.labels(table, task)
        for column in self.groups:
            out[column] = pc.fill_null(_text(table.column(column)), "missing")
        for name, group in self.one_hot_groups.items():
            out[name] = pa.array(_decode_one_hot(table, group, name, task))
        if self.age_bands is not None:
            column, edges, band_names = self.age_bands
            band = np.digitize(_floats(table.column(column), column, task), edges[1:-1])
            out[f"{column}_band"] = pa.array(np.asarray(band_names)[band])
        return pa.table(out)


def _missing(column: pa.ChunkedArray) -> np.ndarray:
    """Null cells, and NaN in a float column (pandas' `isna`)."""
    empty = pc.is_null(column, nan_is_null=pa.types.is_floating(column.type))
    return np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)


def _numpy(column: pa.ChunkedArray) -> np.ndarray:
    return column.to_numpy() if column.num_chunks != 1 else column.chunk(0).to_numpy(False)


def _text_numbers(column: pa.ChunkedArray, name: str, task: str) -> pa.ChunkedArray:
    """A numeric column written as text as float64: trimmed, `?` and empty cells missing (null),
    any other cell that is not a number refused (how many, and the first)."""
    text = pc.utf8_trim_whitespace(column)
    text = pc.if_else(pc.is_in(text, value_set=pa.array(RAW_MISSING)), None, text)
    try:
        return pc.cast(text, pa.float64())
    except pa.ArrowInvalid:
        cells = [v for v in text.to_pylist() if v is not None]
        bad = [v for v in cells if not _number(v)] or cells[:1]
        raise DatasetError(
            f"task {task!r}: numeric column {name!r} holds {len(bad):,} cell(s) that are not "
            f"numbers (the first: {bad[0]!r}); fix them, or leave them empty or '?' to drop "
            "those rows as missing"
        ) from None


def _floats(column: pa.ChunkedArray, name: str, task: str) -> np.ndarray:
    """A numeric column as float64 (null: NaN); text is read by `_text_numbers`."""
    if _is_text(column.type):
        column = _text_numbers(column, name, task)
    floats = column.cast(pa.float64(), safe=False)  # an integer beyond 2**53: rounded, as numpy
    return np.asarray(floats.to_numpy(zero_copy_only=False), dtype=np.float64)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as pandas' `astype("string").str.strip()` reads it: text trimmed, numbers as
    pandas writes them (`1`, `1.5`, `True`), nulls null."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not _is_text(column.type):
        as_pandas = column.to_pandas().astype("string")
        column = pa.chunked_array([pa.array(as_pandas.to_numpy(na_value=None), pa.string())])
    return pc.utf8_trim_whitespace(column)


def _positions(column: pa.ChunkedArray, values: tuple[str, ...]) -> np.ndarray:
    """Each cell's position in `values`, the cell read as `_text` reads it (-1: null or not
    listed). A text column is dictionary-encoded first, so only its distinct values are trimmed
    and looked up."""
    known = pa.array(list(values), pa.string())
    if not _is_text(column.type):
        index = pc.index_in(_text(column), value_set=known)
        return np.asarray(index.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    chunks = [c for c in column.dictionary_encode().chunks if len(c)]
    if not chunks:
        return np.zeros(0, dtype=np.int64)
    # the chunks share one dictionary, whole in the last one
    words = pc.utf8_trim_whitespace(chunks[-1].dictionary)
    found = pc.index_in(words, value_set=known.cast(words.type)).fill_null(-1)
    found = found.to_numpy(zero_copy_only=False)
    lookup = np.append(np.asarray(found, dtype=np.int64), -1)  # code -1 (null) picks the last
    codes = [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in chunks]
    return lookup[np.concatenate(codes)]


def canonical_order(table: pa.Table, columns: list[str]) -> np.ndarray:
    """The row order that sorts `table` by the values of `columns` (text trimmed; `?`, empty
    and missing cells alike, last), so a holdout drawn from the sorted rows does not depend on
    the order of the file: UCI's adult.data and the hub's copy of the same rows (in another
    order) give the same split. Rows equal in every one of `columns` become equal prepared
    rows, so their order among themselves does not matter (the sort is stable anyway)."""
    keys: dict[str, pd.Series] = {}
    for column in columns:
        values = table.column(column).to_pandas()
        if pd.api.types.is_numeric_dtype(values):
            keys[column] = values.astype(float)
        else:
            text = values.astype("string").str.strip()
            keys[column] = text.mask(text.isin(["?", ""]))
    order = pd.DataFrame(keys).sort_values(list(keys), kind="mergesort", na_position="last")
    return order.index.to_numpy()


def _decode_one_hot(table: pa.Table, group: OneHotGroup, name: str, task: str) -> np.ndarray:
    """The value whose one-hot column is set, per row; rows with none or several are refused."""
    block = np.stack(
        [_floats(table.column(f"{group.prefix}{v}"), name, task) for v in group.values], axis=1
    )
    hot = block > 0.5
    counts = hot.sum(axis=1)
    if (counts != 1).any():
        raise DatasetError(
            f"task {task!r}: {int((counts != 1).sum())} row(s) have no or several of the one-hot "
            f"columns {group.prefix}* set, so group {name!r} is undefined for them"
        )
    return np.array(group.values)[hot.argmax(axis=1)]
