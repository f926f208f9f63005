"""Columns of a split as Arrow arrays, converted whole: numbers, categories, class ids, a dataset.

Every conversion is one vectorised pass (`pyarrow.compute`, numpy), never a Python loop over
rows; the datasets 5.x `Column` that `ds[name]` returns is never iterated (numpy would walk it
one row at a time: Adult's feature matrix took 38.9 s that way, 0.02 s through Arrow).

- `numbers`: a numeric column as float64 (nulls and NaN are missing); a text column is trimmed,
  its missing-value markers become missing, the rest parsed as numbers. A column where more than
  1% of the present cells are not numbers is refused (a text column, a decimal comma...), naming
  the column, the count and the first such cell; fewer are reported and counted as missing.
- `categories`: a column as trimmed text, markers and empty cells missing (group, one-hot and
  ordinal columns; text labels).
- `one_hot_index`, `ordinal`, `class_ids`: the encodings, each refusing a value it does not
  know, with its first row.
Refusals are `DatasetError` lines; `Tally` keeps the missing cells per column for the one line
that reports them.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets.table import InMemoryTable

from harness.core.errors import DatasetError
from harness.core.value_text import quoted
from harness.data.task_spec import INT64, MAX_CLASSES

log = logging.getLogger(__name__)
UNPARSABLE_LIMIT = 0.01  # above this share of present cells, a "numeric" column is refused
NUMBER_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
NOT_A_NUMBER = ("nan", "NaN", "NAN")


Rows: TypeAlias = (
    datasets.Dataset | pa.Table
)  # a split's rows: a hub dataset, or a table read from files


def arrow_column(ds: Rows, name: str) -> pa.ChunkedArray:
    """Column `name` of a dataset or table as Arrow (a dataset's row selection applied), no copy
    when the dataset holds its rows in order."""
    if isinstance(ds, pa.Table):
        return ds.column(name)
    if ds._indices is None:  # rows in order: the table's own column (with_format copies)
        return ds.data.column(name)
    column = ds.with_format("arrow")[name]
    return column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])


def arrow_dataset(table: pa.Table, features: datasets.Features | None = None) -> datasets.Dataset:
    """An in-memory `datasets.Dataset` over `table` (no copy; features from the schema unless
    given). Its datasets fingerprint is random, as datasets gives a dataset it cannot hash: the
    default hashes the whole table with dill (20 ms for Adult, every time), and the harness
    fingerprints tasks itself (`Task.fingerprint`)."""
    if features is not None:
        table = table.cast(features.arrow_schema)
    info = datasets.DatasetInfo(features=features) if features is not None else None
    return datasets.Dataset(InMemoryTable(table), info=info, fingerprint=uuid.uuid4().hex)


@dataclass
class Tally:
    """Missing cells per column of one split, reported in one line (`report`)."""

    task: str
    where: str
    missing: dict[str, int] = field(default_factory=dict)
    unparsable: dict[str, int] = field(default_factory=dict)
    # each column's first cell that is not a number (for the error that refuses the column)
    first_unparsable: dict[str, str] = field(default_factory=dict)

    def add(self, column: str, missing: int, unparsable: int = 0, first: str | None = None) -> None:
        if missing:
            self.missing[column] = self.missing.get(column, 0) + missing
        if unparsable:
            self.unparsable[column] = self.unparsable.get(column, 0) + unparsable
        if first is not None:
            self.first_unparsable.setdefault(column, first)

    def not_numbers(self, column: str) -> str:
        """'; N of them not a number, e.g. 'x'' for a column with cells that are not numbers
        (counted as missing), else ''."""
        count = self.unparsable.get(column, 0)
        if not count:
            return ""
        first = self.first_unparsable.get(column)
        example = f", e.g. {quoted(first)}" if first is not None else ""
        return f"; {count:,} of them not a number{example}"

    def report(self, markers: Sequence[str], consequence: str) -> None:
        """One warning line: how many cells are missing, in which columns, and what follows."""
        if not self.missing:
            return
        total = sum(self.missing.values())
        columns = ", ".join(
            f"{c} {n:,}"
            + (f" ({self.unparsable[c]:,} not numbers)" if c in self.unparsable else "")
            for c, n in sorted(self.missing.items(), key=lambda kv: -kv[1])
        )
        shown = ", ".join(repr(m) for m in markers) or "none"
        log.warning(
            "task %r: %s: %s missing cell(s) (markers %s, NaN, unparsable numbers): %s; %s",
            self.task,
            self.where,
            f"{total:,}",
            shown,
            columns,
            consequence,
        )


@dataclass(frozen=True)
class Where:
    """How messages name a column's place: the task, the split and a row locator."""

    task: str
    split: str
    locate: Callable[[int], str]

    def cell(self, column: str, row: int) -> str:
        return f"column {column!r}, {self.locate(row)}"


def is_number_type(kind: pa.DataType) -> bool:
    """Booleans, integers, floats and decimals: cast to float64 as they are."""
    return (
        pa.types.is_boolean(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
    )


def numbers(
    column: pa.ChunkedArray, name: str, markers: Sequence[str], where: Where, tally: Tally
) -> np.ndarray:
    """`column` as float64, missing cells NaN (see the module docstring; the caller counts
    them, `Tally.add`, once it knows there are any)."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if is_number_type(kind):
        values = column.cast(pa.float64()).to_numpy()
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        values = _parsed(column, name, markers, where, tally)
    else:
        raise DatasetError(
            f"task {where.task!r}: column {name!r} in {where.split} is not numeric (it holds "
            f"{kind}); encode it (one_hot, ordinal), name it in group_columns, or list "
            "feature_columns without it"
        )
    return values


def _parsed(
    column: pa.ChunkedArray, name: str, markers: Sequence[str], where: Where, tally: Tally
) -> np.ndarray:
    """A text column parsed as numbers: trimmed, markers and NaN missing, the rest numbers."""
    text = text_cells(column, markers)
    text = pc.if_else(pc.is_in(text, value_set=pa.array(NOT_A_NUMBER)), None, text)
    valid = pc.match_substring_regex(text, NUMBER_PATTERN)
    bad = pc.and_kleene(pc.is_valid(text), pc.invert(valid))
    count = int(pc.sum(bad).as_py() or 0)
    present = int(pc.sum(pc.is_valid(text)).as_py() or 0)
    if count:
        row = int(pc.index(bad, True).as_py())
        first = text[row].as_py()
        share = count / max(present, 1)
        if share > UNPARSABLE_LIMIT:
            raise DatasetError(
                f"task {where.task!r}: column {name!r} in {where.split} is not numeric ({count:,} "
                f"of its {present:,} cells, {share:.1%}, are not numbers; first at "
                f"{where.locate(row)}: {quoted(first)}); encode it (one_hot, ordinal), name it in "
                "group_columns, or list feature_columns without it (or add a marker such as "
                "'n/a' to missing_values if those cells mean missing)"
            )
        log.warning(
            "task %r: %s: %d cell(s) of column %r are not numbers (first %s: %r); counted as "
            "missing (add them to missing_values to say so)",
            where.task,
            where.split,
            count,
            name,
            where.locate(row),
            first,
        )
        tally.add(name, 0, count, first)
    numeric = pc.if_else(valid, text, None).cast(pa.float64())
    return numeric.to_numpy(zero_copy_only=False)


def text_cells(column: pa.ChunkedArray, markers: Sequence[str]) -> pa.ChunkedArray:
    """`column` as trimmed text; cells that are a missing-value marker after trimming are null."""
    text = pc.utf8_trim_whitespace(_as_text(column))
    if markers:
        text = pc.if_else(pc.is_in(text, value_set=pa.array(list(markers))), None, text)
    return text


@dataclass(frozen=True)
class Coded:
    """A category column dictionary-encoded: one code per row into `values` (-1: missing).
    Trimming and markers are applied to the few distinct values, not to every cell."""

    codes: np.ndarray
    values: list[str]

    def text(self) -> pa.Array:
        """The column as trimmed text, missing cells null."""
        return pc.take(
            pa.array(self.values, pa.string()), pa.array(self.codes, mask=self.codes < 0)
        )

    def positions(self, known: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each row's position in `known` (-1 missing), and the rows whose value it lacks."""
        where = {v: i for i, v in enumerate(known)}
        lookup = np.asarray([where.get(v, -2) for v in self.values] + [-1], dtype=np.int64)
        index = lookup[self.codes]  # code -1 picks the trailing -1
        return index, np.flatnonzero(index == -2)


def coded(column: pa.ChunkedArray, markers: Sequence[str]) -> Coded:
    """A category column: numbers written as text (`1`, not `1.0`), trimmed, markers missing. A
    text column read dictionary-encoded (`TableOptions.dictionary_text`) is used as it is."""
    kind = column.type
    if not (pa.types.is_dictionary(kind) and _is_text(kind.value_type)):
        # one hash table over every chunk: the chunks share one dictionary (no copy of the text)
        column = _as_text(_whole_numbers(column)).dictionary_encode()
    skip = set(markers)
    chunks = [c for c in column.chunks if len(c)]
    seen: dict[tuple[int, int, int], list[str]] = {}  # a dictionary shared by chunks read once
    parts: list[tuple[list[str], np.ndarray]] = []
    used: set[str] = set()
    for chunk in chunks:
        codes = chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        words = _dictionary_words(chunk.dictionary, seen)
        present = np.flatnonzero(np.bincount(codes + 1, minlength=len(words) + 1)[1:])
        used.update(words[i] for i in present)  # values no row holds left out
        parts.append((words, codes))
    values = sorted(used - skip)
    slot = {v: i for i, v in enumerate(values)}
    out = [_lookup(words, slot)[codes] for words, codes in parts]
    return Coded(np.concatenate(out) if out else np.zeros(0, dtype=np.int64), values)


def _lookup(words: list[str], slot: dict[str, int]) -> np.ndarray:
    """Each dictionary entry's position in the sorted values (-1: a marker), and -1 last (for
    a missing cell's code -1)."""
    return np.asarray([slot.get(v, -1) for v in words] + [-1], dtype=np.int64)


def _dictionary_words(
    dictionary: pa.Array, seen: dict[tuple[int, int, int], list[str]]
) -> list[str]:
    """A chunk's dictionary as trimmed text, read once when chunks share it."""
    offsets = dictionary.buffers()[1]
    key = (offsets.address if offsets is not None else 0, dictionary.offset, len(dictionary))
    if key not in seen:
        seen[key] = [(v or "").strip() for v in dictionary.to_pylist()]
    return seen[key]


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _whole_numbers(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A float column whose values are all whole as integers (so `1` reads `1`, not `1.0`); one
    with a value beyond int64 (1e20) or infinite stays floats (Arrow writes `1e+20`, `inf`)."""
    if pa.types.is_floating(column.type):
        whole = pc.and_(pc.equal(pc.round(column), column), pc.less(pc.abs(column), float(INT64)))
        if bool(pc.all(pc.or_kleene(whole, pc.is_null(column))).as_py()):
            return column.cast(pa.int64())
    return column


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    return column


def categories(column: pa.ChunkedArray, markers: Sequence[str]) -> pa.Array:
    """A category column as trimmed text in Unicode's composed form (NFC), missing-value
    markers null (see `coded`): `café` written composed and decomposed prints alike, so it is
    one value, not two groups named alike in every table."""
    cells = coded(column, markers)
    values = [unicodedata.normalize("NFC", v) for v in cells.values]
    return Coded(cells.codes, values).text()


def one_hot_index(
    cells: Coded, name: str, known: Sequence[str], where: Where
) -> tuple[np.ndarray, int]:
    """Each row's position in `known` (the column of its one-hot 1; -1 for a missing cell, all
    zeros), and the number of missing cells, from the column's codes (`coded`)."""
    index = _index_of(cells, name, known, where, "one_hot")
    return index, int((index < 0).sum())


def ordinal(
    column: pa.ChunkedArray, name: str, order: Sequence[str], markers: Sequence[str], where: Where
) -> np.ndarray:
    """Each row's position in `order` (float64; a missing cell NaN)."""
    index = _index_of(coded(column, markers), name, order, where, "ordinal")
    return np.where(index >= 0, index, np.nan).astype(np.float64)


def _index_of(cells: Coded, name: str, known: Sequence[str], where: Where, key: str) -> np.ndarray:
    """Position of each cell in `known` (-1 for a missing cell); an unknown value is refused."""
    index, unknown = cells.positions(known)
    if len(unknown):
        row = int(unknown[0])
        # class_names is one list for the label column; one_hot and ordinal list per column
        listing = key if key == "class_names" else f"{key}.{name}"
        position = (
            "entry i is the model's output i"
            if key == "class_names"
            else "its position is the model's input order"
        )
        raise DatasetError(
            f"task {where.task!r}: {where.cell(name, row)} reads "
            f"{quoted(cells.values[cells.codes[row]])}, which {listing} does not list "
            f"({len(unknown):,} such cell(s) in {where.split}; listed: "
            f"{', '.join(quoted(k, 40) for k in list(known)[:8])}"
            f"{', ...' if len(known) > 8 else ''}); add it to the list ({position})"
        )
    return index


def distinct(columns: Sequence[Coded]) -> list[str]:
    """The sorted distinct present values of a category column over several splits (their
    codes: trimmed, markers left out), the empty text left out too."""
    values: set[str] = set()
    for cells in columns:
        values.update(cells.values)
    return sorted(values - {""})


def class_ids(
    column: pa.ChunkedArray,
    name: str,
    class_names: Sequence[str] | None,
    markers: Sequence[str],
    where: Where,
) -> np.ndarray:
    """Integer class ids of a label column: integers as they are (whole floats too), text mapped
    through `class_names` (class i = position i). A missing or unknown label is refused."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        if not class_names:
            first = next((v for v in column.slice(0, 5).to_pylist() if v is not None), None)
            raise DatasetError(
                f"task {where.task!r}: label column {name!r} holds text (e.g. {quoted(first)}); "
                "list the classes in class_names (class i is the model's output i) to map it to "
                "class ids"
            )
        cells = coded(column, markers)
        missing = np.flatnonzero(cells.codes < 0)
        if len(missing):
            raise _missing_label(name, len(missing), int(missing[0]), where)
        return _index_of(cells, name, class_names, where, "class_names")
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind):
        _no_missing_label(column, name, where)
        values = column.to_numpy()
        _no_huge_label(values, name, where)
        return values.astype(np.int64)
    if pa.types.is_floating(kind):
        _no_missing_label(column, name, where)
        values = column.to_numpy()
        broken = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
        if len(broken):
            row = int(broken[0])
            raise DatasetError(
                f"task {where.task!r}: label column {name!r} must hold integer class ids; "
                f"{where.locate(row)} reads {values[row].item()!r}"
            )
        _no_huge_label(values, name, where)
        return values.astype(np.int64)
    raise DatasetError(
        f"task {where.task!r}: label column {name!r} must hold integer class ids (or text named "
        f"in class_names), got {kind}"
    )


def _no_huge_label(values: np.ndarray, name: str, where: Where) -> None:
    """Refuse a class id no task can have: the label space is sized from the largest id, so
    4294967296 (a wrong column named as the label) would build billions of class names, and
    1e300 and -1e300 do not fit int64 (they cast to -9223372036854775808, named so)."""
    huge = np.flatnonzero((values >= MAX_CLASSES) | (values <= -MAX_CLASSES))
    if len(huge):
        row = int(huge[0])
        value = values[row].item()
        beyond = (
            f"beyond the {MAX_CLASSES:,} classes a task may have"
            if value > 0
            else "while class ids run from 0"
        )
        raise DatasetError(
            f"task {where.task!r}: label column {name!r} holds class id {value!r} at "
            f"{where.locate(row)}, {beyond}; name the column of class ids 0..k-1 in label_column"
        )


def _no_missing_label(column: pa.ChunkedArray, name: str, where: Where) -> None:
    if column.null_count:
        row = int(pc.index(pc.is_null(column), True).as_py())
        raise _missing_label(name, column.null_count, row, where)


def _missing_label(name: str, count: int, row: int, where: Where) -> DatasetError:
    return DatasetError(
        f"task {where.task!r}: label column {name!r} has {count:,} missing cell(s) in "
        f"{where.split} (first: {where.locate(row)}); fill them or drop those rows"
    )
