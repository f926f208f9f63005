"""Reading one split of a hub dataset or of local table files with `datasets.load_dataset`.

A hub id goes to `datasets.load_dataset(id, subset, split=..., revision=...)`; local table files
go to the packaged `parquet`, `csv` or `json` builder with the files `sources.resolve_source`
chose for the split, so a hub dataset and a local file give the same rows. A table file the
library cannot parse (a damaged Parquet footer, bytes that are not UTF-8 in a CSV, a ragged CSV
row, a broken JSON line) is refused in one `DatasetError` line naming the file, the format it
should hold and the library's reason, never as the library's own exception.
"""

from __future__ import annotations

import re
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from harness.config.spec import TaskSpec
from harness.config.tasks.sources import (
    TABLE_FORMATS,
    HubSource,
    Source,
    TableSource,
    train_source,
)
from harness.core.errors import DatasetError

_LOAD_ERRORS = (
    FileNotFoundError,
    ValueError,  # also ArrowInvalid, pandas' ParserError / EmptyDataError, UnicodeDecodeError
    pa.ArrowException,
    datasets.exceptions.DatasetNotFoundError,
    datasets.exceptions.DatasetGenerationError,
)
# what parsing a local table raises besides `_LOAD_ERRORS` (datasets wraps most parse errors in
# DatasetGenerationError): pyarrow's I/O errors are OSErrors, and datasets' json builder calls
# next() on the tables of an empty file
_TABLE_ERRORS = (*_LOAD_ERRORS, OSError, StopIteration)
_REASON_CHARS = 200


def read_split(spec: TaskSpec, source: Source, split: str, key: str = "source") -> datasets.Dataset:
    """One split of a hub dataset or of local table files (the spec's `key`: `source` or
    `train_source`), as a `datasets.Dataset`."""
    if isinstance(source, HubSource):
        return _load(spec, split, source.dataset, spec.subset, revision=spec.revision)
    assert isinstance(source, TableSource), source  # image layouts resolve for image tasks only
    for file in source.files:
        if file.suffix == ".parquet" and _parquet_rows(spec, key, file) == 0:
            raise DatasetError(f"task {spec.name!r}: {file} is empty (0 rows)")
    files = [str(f) for f in source.files]
    try:
        ds = datasets.load_dataset(source.builder, split=split, data_files={split: files})
    except _TABLE_ERRORS as err:
        raise _table_error(spec, key, source, err) from err
    return _single(spec, ds)


def read_train_split(spec: TaskSpec, base_dir: Path) -> datasets.Dataset | None:
    """The training split (`train_source`, or `train_split` of the same source), if any."""
    found = train_source(spec, base_dir)
    if found is None:
        return None
    source, split = found
    return read_split(spec, source, split, "train_source" if spec.train_source else "source")


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
    if isinstance(err, UnicodeDecodeError):
        return f"not UTF-8 text: byte 0x{err.object[err.start]:02x} at offset {err.start}"
    if isinstance(err, StopIteration) or "corresponds to no data" in str(err):
        return "it holds no rows"
    return _flat(str(err)) or type(err).__name__


def _flat(text: str, limit: int = _REASON_CHARS) -> str:
    """`text` on one line, at most `limit` characters."""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _load(spec: TaskSpec, split: str, *args: object, **kwargs: object) -> datasets.Dataset:
    try:
        ds = datasets.load_dataset(*args, split=split, **kwargs)
    except _LOAD_ERRORS as err:
        cause = f" ({_reason(err.__cause__)})" if err.__cause__ else ""
        raise DatasetError(
            f"task {spec.name!r}: cannot load {spec.source!r} split {split!r}: "
            f"{_flat(str(err), 2 * _REASON_CHARS)}{cause}"
        ) from err
    return _single(spec, ds)


def _single(spec: TaskSpec, ds: object) -> datasets.Dataset:
    if not isinstance(ds, datasets.Dataset):
        raise DatasetError(f"task {spec.name!r}: {spec.source!r} did not give a single split")
    return ds
