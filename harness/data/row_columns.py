"""The per-row columns every task has beside its inputs: sample ids, labels and group values.

Read from a loaded split as whole Arrow columns (`table_columns`) and checked once: ids present
and unique, labels integer class ids (or text named in `class_names`) in range, then kept as small
in-memory Arrow columns next to the input column. Reading them never touches the inputs, so it
costs the same for a 50,000-image split as for a table.

A group column with a problem (an empty cell) does not stop the task: the problem is kept in
`RowColumns.group_problems` and on the task (`Task.group_problems`), so the jobs that read groups
(fairness, `harness groups`) fail with its line and the others (accuracy, attacks) run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from harness.core.errors import DatasetError
from harness.core.task import SAMPLE_ID, UNLABELED
from harness.core.value_text import quoted
from harness.data.table_columns import Rows, Where, arrow_column, categories, class_ids
from harness.data.table_reader import missing_column_hint
from harness.data.task_spec import TaskSpec

log = logging.getLogger(__name__)


def _row_number(row: int) -> str:
    return f"row {row + 1}"


@dataclass(frozen=True)
class RowColumns:
    """Sample ids, int64 labels and group columns (Arrow arrays) of a split."""

    ids: pa.Array
    labels: np.ndarray
    groups: dict[str, pa.Array] = field(default_factory=dict)
    group_problems: dict[str, str] = field(default_factory=dict)

    def table(self) -> pa.Table:
        """sample_id, label and the group columns, inputs not included."""
        columns = {SAMPLE_ID: self.ids, "label": pa.array(self.labels, pa.int64()), **self.groups}
        return pa.table(columns)

    def features(self) -> datasets.Features:
        kinds = {
            SAMPLE_ID: datasets.Value("string"),
            "label": datasets.Value("int64"),
            **{
                c: datasets.Value("float64" if pa.types.is_floating(a.type) else "string")
                for c, a in self.groups.items()
            },
        }
        return datasets.Features(kinds)

    def select(self, keep: np.ndarray) -> RowColumns:
        """The rows where `keep` is true (a boolean mask)."""
        mask = pa.array(keep)
        return replace(
            self,
            ids=self.ids.filter(mask),
            labels=self.labels[keep],
            groups={c: a.filter(mask) for c, a in self.groups.items()},
        )


def check_columns(
    ds: datasets.Dataset | pa.Table, spec: TaskSpec, needed: list[str], where: str
) -> None:
    have = set(ds.column_names)
    for col in needed:
        if col not in have:
            raise DatasetError(
                f"task {spec.name!r}: column {col!r} not found in {where}; "
                f"available columns: {', '.join(ds.column_names)}"
                f"{missing_column_hint(col, list(ds.column_names))}"
            )


def read_row_columns(
    ds: Rows,
    spec: TaskSpec,
    where: str,
    locate: Callable[[int], str] = _row_number,
    *,
    train: bool = False,
) -> RowColumns:
    """Ids, labels and groups of a loaded split (inputs are read elsewhere); `locate` names a
    row in messages (`row 17 of <file>`). A training split (`train`) is read without the group
    columns it lacks: sensitive attributes are often collected for the evaluation data alone,
    and groups are read from the evaluation split (the fairness suite compares the training
    split's groups with them only where it has them)."""
    have = set(ds.column_names)
    groups = [c for c in spec.group_columns if not train or c in have]
    needed = [c for c in (spec.label_column, spec.id_column) if c] + groups
    check_columns(ds, spec, needed, where)
    if len(ds) == 0:
        raise DatasetError(f"task {spec.name!r}: {where} is empty (0 rows)")
    at = Where(spec.name, where, locate)
    ids = _ids(ds, spec, at)
    if spec.label_column is None:
        labels = np.full(len(ds), UNLABELED, dtype=np.int64)
    else:
        column = arrow_column(ds, spec.label_column)
        labels = class_ids(column, spec.label_column, spec.class_names, spec.missing_values, at)
    out = RowColumns(ids=ids, labels=labels)
    for col in groups:
        _read_group(arrow_column(ds, col), spec, col, at, out)
    return out


def _ids(ds: Rows, spec: TaskSpec, at: Where) -> pa.Array:
    """The sample ids: the id column as text (no cell empty, none repeated), else
    `<task>-<row:06d>`."""
    if not spec.id_column:
        return numbered_ids(f"{spec.name}-", len(ds))
    column = arrow_column(ds, spec.id_column)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    ids = column.combine_chunks()
    empty = pc.or_kleene(pc.is_null(ids), pc.equal(pc.utf8_trim_whitespace(ids), ""))
    count = int(pc.sum(empty).as_py() or 0)
    if count:
        row = int(pc.index(empty, True).as_py())
        raise DatasetError(
            f"task {spec.name!r}: id column {spec.id_column!r} has {count:,} empty cell(s) in "
            f"{at.split} (first: {at.locate(row)}); every sample needs an id: fill them, or drop "
            "id_column to number the rows"
        )
    if pc.count_distinct(ids).as_py() != len(ids):
        counts = pc.value_counts(ids)
        repeated = counts.filter(pc.greater(counts.field("counts"), 1))
        value = repeated[0]["values"].as_py()
        rows = np.flatnonzero(pc.equal(ids, value).to_numpy(zero_copy_only=False))[:2]
        raise DatasetError(
            f"task {spec.name!r}: id column {spec.id_column!r} has duplicate ids in {at.split} "
            f"({len(repeated):,} repeated; {quoted(value)} at {at.locate(int(rows[0]))} and "
            f"{at.locate(int(rows[1]))}); ids must be unique"
        )
    return ids


def numbered_ids(prefix: str, n: int) -> pa.Array:
    """`<prefix><row:06d>` for rows 0..n-1, written as bytes by numpy (no Python string per
    row): every id has the same length, so the text is an (n, length) byte matrix, its digits
    written one place at a time, and the offsets a range (1,000,000 ids: 35 ms, 20 MB beside
    the ids; Arrow's string kernels took 48 ms and 40 MB)."""
    width = max(6, len(str(max(n - 1, 0))))
    head = prefix.encode()
    size = len(head) + width
    large = (n + 1) * size >= 2**31  # 32-bit offsets up to 2 GiB
    chars = np.empty((n, size), dtype=np.uint8)
    chars[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest: np.ndarray = np.arange(n, dtype=np.int64 if n >= 2**31 else np.int32)
    digit = np.empty(n, dtype=rest.dtype)
    for place in range(size - 1, len(head) - 1, -1):
        np.remainder(rest, 10, out=digit)
        chars[:, place] = digit
        np.floor_divide(rest, 10, out=rest)
    chars[:, len(head) :] += ord("0")
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int64 if large else np.int32)
    kind = pa.large_string() if large else pa.string()
    ids = pa.Array.from_buffers(kind, n, [None, pa.py_buffer(offsets), pa.py_buffer(chars)])
    return ids.cast(pa.string()) if large else ids


def _read_group(
    column: pa.ChunkedArray, spec: TaskSpec, col: str, at: Where, out: RowColumns
) -> None:
    """A group column: numbers stay numbers when continuous (floats, or integers the spec bins in
    group_bins) so the fairness suite can bin them; anything else is text. Empty cells are a
    problem of this column (see the module docstring), not of the task."""
    kind = column.type
    unreadable = (
        f"task {spec.name!r}: group column {col!r} holds {kind} values in {at.split}"
        if pa.types.is_nested(kind)  # lists, structs, maps: no one value to group a row by
        else None
    )
    numeric = pa.types.is_floating(kind) or (pa.types.is_integer(kind) and col in spec.group_bins)
    if numeric:
        values = column.cast(pa.float64()).combine_chunks()
        empty = pc.or_kleene(pc.is_null(values), pc.is_nan(values)).fill_null(True)
    elif unreadable is None:
        try:
            values = categories(column, spec.missing_values)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:  # bytes that are not UTF-8
            unreadable = (
                f"task {spec.name!r}: group column {col!r} ({kind}) in {at.split} does not read "
                f"as text ({str(err).splitlines()[0]})"
            )
        else:
            empty = pc.is_null(values)
    if unreadable is not None:
        out.groups[col] = pa.nulls(len(column), pa.string())
        out.group_problems[col] = (
            f"{unreadable}; a group column holds one value per row (text, a number, a date): "
            "name a column of those in group_columns"
        )
        return
    count = int(pc.sum(empty).as_py() or 0)
    out.groups[col] = values
    if count:
        row = int(pc.index(empty, True).as_py())
        out.group_problems[col] = (
            f"task {spec.name!r}: group column {col!r} has {count:,} empty or missing cell(s) in "
            f"{at.split} (first: {at.locate(row)}); fill or drop them before reading groups"
        )


def class_label_way_out(given: Sequence[str], declared: Sequence[str]) -> str:
    """The way out of `class_names` (`given`) that differ from a ClassLabel's names: the same
    names in another order are told to move the labels (a cast to the names in that order keeps
    each integer label, so it renames the samples' classes); other names, to cast the column."""
    if sorted(map(str, given)) == sorted(map(str, declared)):
        return (
            "or move the column's labels to that order: ds.align_labels_with_mapping({name: "
            "index, ...}, column) (a cast to the names in that order keeps each integer label, "
            "so it renames the samples' classes)"
        )
    return "or cast the column to the names you mean (in the order of the model's outputs)"


def label_space(
    ds: Rows | None,
    spec: TaskSpec,
    labels: np.ndarray,
    folder_names: tuple[str, ...] = (),
) -> tuple[int, tuple[str, ...]]:
    """(num_classes, class names) from a ClassLabel feature, the spec, class folders or the
    labels; every label must lie in range, and labels that alone say the task has a single class
    are refused (declare num_classes or class_names if the split really holds one class)."""
    if spec.label_column is None:
        k = spec.num_classes or 0
        return k, tuple(spec.class_names or (str(i) for i in range(k)))
    feature = ds.features.get(spec.label_column) if isinstance(ds, datasets.Dataset) else None
    declared = True
    if isinstance(feature, datasets.ClassLabel):
        names = tuple(feature.names)
        if spec.class_names and tuple(spec.class_names) != names:
            # the ClassLabel's names won without a word: class_names [c, b, a] ran as [a, b, c]
            raise DatasetError(
                f"task {spec.name!r}: class_names {list(spec.class_names)[:10]} differ from the "
                f"names the label column {spec.label_column!r} declares (a ClassLabel: "
                f"{list(names)[:10]}); leave class_names out to use them, "
                + class_label_way_out(spec.class_names, names)
            )
    elif spec.class_names:
        names = tuple(spec.class_names)
    elif folder_names:
        names = folder_names
    else:
        declared = spec.num_classes is not None
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
    present = np.flatnonzero(np.bincount(labels, minlength=k)) if len(labels) else labels
    if not declared and len(present) > 1 and present[0] > 0:
        # counted from 0, a 1-based column (UCI's wine 1-3, Statlog's 1/2) gets a phantom,
        # empty class 0: "model outputs 3 classes but task has 4", or a class no sample holds
        raise DatasetError(
            f"task {spec.name!r}: label column {spec.label_column!r} holds no class 0 (its "
            f"labels run {int(present[0])}..{int(present[-1])}); class ids start at 0 (class i "
            "is the model's output i): subtract 1 from a 1-based label column, or declare "
            "num_classes / class_names if this split merely lacks class 0"
        )
    if len(present) == 1 and declared:
        log.warning(
            "task %r: label column %r holds a single class (%s) in all %d rows",
            spec.name,
            spec.label_column,
            names[int(present[0])],
            len(labels),
        )
    if len(present) < 2 and not declared:
        raise DatasetError(
            f"task {spec.name!r}: label column {spec.label_column!r} holds a single class "
            f"({int(present[0])}) in all {len(labels):,} rows; a classifier cannot be scored "
            "against one class: check the label column, or declare num_classes / class_names "
            "if the split really holds one class"
        )
    return k, names
