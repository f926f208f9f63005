"""Reading one split of a hub dataset or of local table files.

A hub id goes to `datasets.load_dataset(id, subset, split=..., revision=...)` (through
`hub_access`, which answers at once when the hub is unreachable and the dataset is not cached).
Local table files are read through Arrow (`table_reader`: CSV, TSV, whitespace-separated text,
Parquet, JSON lines) into an in-memory dataset, so a hub dataset and a local file give the same
rows through the same checks; an image task's Parquet files alone go through the packaged
`parquet` builder, which memory-maps them (encoded images can be gigabytes). A table file the
reader cannot parse is refused in one `DatasetError` line naming the file, never as a library's
own exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from harness.core.errors import DatasetError
from harness.data.hub_access import load_hub_dataset
from harness.data.sources import (
    HubSource,
    SavedDatasetSource,
    Source,
    table_options,
    train_source,
)
from harness.data.table_columns import Rows, arrow_dataset
from harness.data.table_reader import flat, read_table
from harness.data.table_sources import TABLE_FORMATS, TableSource
from harness.data.task_spec import TaskSpec

_LOAD_ERRORS = (
    FileNotFoundError,
    ValueError,  # also ArrowInvalid, pandas' ParserError / EmptyDataError, UnicodeDecodeError
    pa.ArrowException,
    datasets.exceptions.DatasetNotFoundError,
    datasets.exceptions.DatasetGenerationError,
)
# what the packaged parquet builder raises besides `_LOAD_ERRORS`: pyarrow's I/O errors are
# OSErrors
_TABLE_ERRORS = (*_LOAD_ERRORS, OSError, StopIteration)


@dataclass(frozen=True)
class Split:
    """One split's rows and how a message names a row (`row 17 of <file>`): a dataset, or for
    a tabular task's local files the Arrow table as read (the loader reads whole columns from
    it; wrapping it in a `datasets.Dataset` would only cost time)."""

    data: Rows
    locate: Callable[[int], str]

    def dataset(self) -> datasets.Dataset:
        """The rows as a `datasets.Dataset`."""
        return self.data if isinstance(self.data, datasets.Dataset) else arrow_dataset(self.data)


def _row(row: int) -> str:
    return f"row {row + 1}"


def read_split(spec: TaskSpec, source: Source, split: str, key: str = "source") -> datasets.Dataset:
    """One split of a hub dataset or of local table files (the spec's `key`: `source` or
    `train_source`), as a `datasets.Dataset`."""
    return read_split_rows(spec, source, split, key).dataset()


def read_split_rows(spec: TaskSpec, source: Source, split: str, key: str = "source") -> Split:
    """`read_split` with the row locator of its files."""
    if isinstance(source, HubSource):
        data = load_hub_dataset(spec, source.dataset, split)
        return Split(_single(spec, data), _row)
    if isinstance(source, SavedDatasetSource):
        return Split(_saved(spec, source, split, key), _row)
    assert isinstance(source, TableSource), source  # image layouts resolve for image tasks only
    if spec.modality == "image" and source.builder == "parquet":
        return Split(_packaged_parquet(spec, source, split, key), _row)
    options = table_options(spec)
    read = read_table(source.files, options, f"task {spec.name!r}: {key}")
    if spec.modality == "tabular":  # the tabular loader reads whole columns from the table
        return Split(read.table, read.locate)
    return Split(arrow_dataset(read.table), read.locate)


def read_train_rows(spec: TaskSpec, base_dir: Path) -> Split | None:
    """The training split (`train_source`, or `train_split` of the same source), if any, with
    the row locator of its files."""
    found = train_source(spec, base_dir)
    if found is None:
        return None
    source, split = found
    return read_split_rows(spec, source, split, "train_source" if spec.train_source else "source")


def _packaged_parquet(
    spec: TaskSpec, source: TableSource, split: str, key: str
) -> datasets.Dataset:
    """Parquet files of an image task through datasets' builder (memory-mapped Arrow cache)."""
    for file in source.files:
        if _parquet_rows(spec, key, file) == 0:
            raise DatasetError(f"task {spec.name!r}: {file} is empty (0 rows)")
    files = [str(f) for f in source.files]
    try:
        ds = datasets.load_dataset("parquet", split=split, data_files={split: files})
    except _TABLE_ERRORS as err:
        raise _table_error(spec, key, source, err) from err
    return _single(spec, ds)


def _parquet_rows(spec: TaskSpec, key: str, file: Path) -> int:
    """The row count in a Parquet file's footer; a file without a readable footer is refused."""
    try:
        return int(pq.read_metadata(file).num_rows)
    except (pa.ArrowException, OSError) as err:
        raise DatasetError(
            f"task {spec.name!r}: {key} file {file} is not a readable Parquet file "
            f"({_reason(err)}); replace it with the data saved as Parquet, or give the file "
            "its real suffix (.csv, .json, .jsonl)"
        ) from err


def _table_error(spec: TaskSpec, key: str, source: TableSource, err: BaseException) -> DatasetError:
    """One line for a table the library could not parse: the file (or the folder and how many
    files, when the split has several), the format its suffix promises, the library's reason."""
    kind = TABLE_FORMATS[source.builder]
    first = source.files[0]
    what = (
        f"{key} file {first}"
        if len(source.files) == 1
        else f"{key} {first.parent} (one of its {len(source.files)} {kind} files)"
    )
    cause = err.__cause__ if isinstance(err, datasets.exceptions.DatasetGenerationError) else None
    return DatasetError(
        f"task {spec.name!r}: {what} is not a readable {kind} table ({_reason(cause or err)}); "
        f"fix the file or replace it with the data saved as {kind}"
    )


def _reason(err: BaseException) -> str:
    """The library's words, on one line and short: a file's bytes can end up in them."""
    if isinstance(err, StopIteration) or "corresponds to no data" in str(err):
        return "it holds no rows"
    return flat(str(err)) or type(err).__name__


def _saved(spec: TaskSpec, source: SavedDatasetSource, split: str, key: str) -> datasets.Dataset:
    """One split of a folder `save_to_disk` wrote (memory-mapped Arrow files)."""
    try:
        ds = datasets.load_from_disk(str(source.root))
    except (*_LOAD_ERRORS, OSError) as err:
        raise DatasetError(
            f"task {spec.name!r}: {key} {source.root} (saved by datasets' save_to_disk) cannot "
            f"be read by datasets.load_from_disk ({_reason(err)}); save the dataset again"
        ) from err
    return _single(spec, ds[split] if isinstance(ds, datasets.DatasetDict) else ds)


def _single(spec: TaskSpec, ds: object) -> datasets.Dataset:
    if not isinstance(ds, datasets.Dataset):
        raise DatasetError(f"task {spec.name!r}: {spec.source!r} did not give a single split")
    return ds
