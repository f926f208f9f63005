"""Reading one split of a hub dataset or of local table files with `datasets.load_dataset`.

A hub id goes to `datasets.load_dataset(id, subset, split=..., revision=...)`; local table files
go to the packaged `parquet`, `csv` or `json` builder with the files `sources.resolve_source`
chose for the split, so a hub dataset and a local file give the same rows.
"""

from __future__ import annotations

from pathlib import Path

import datasets
import pyarrow.parquet as pq

from harness.config.spec import TaskSpec
from harness.config.tasks.sources import HubSource, Source, TableSource, train_source
from harness.core.errors import DatasetError

_LOAD_ERRORS = (
    FileNotFoundError,
    ValueError,
    datasets.exceptions.DatasetNotFoundError,
    datasets.exceptions.DatasetGenerationError,
)


def read_split(spec: TaskSpec, source: Source, split: str) -> datasets.Dataset:
    """One split of a hub dataset or of local table files, as a `datasets.Dataset`."""
    if isinstance(source, HubSource):
        return _load(spec, split, source.dataset, spec.subset, revision=spec.revision)
    assert isinstance(source, TableSource), source  # image layouts resolve for image tasks only
    for file in source.files:
        if file.suffix == ".parquet" and pq.read_metadata(file).num_rows == 0:
            raise DatasetError(f"task {spec.name!r}: {file} is empty (0 rows)")
    files = [str(f) for f in source.files]
    return _load(spec, split, source.builder, data_files={split: files})


def read_train_split(spec: TaskSpec, base_dir: Path) -> datasets.Dataset | None:
    """The training split (`train_source`, or `train_split` of the same source), if any."""
    found = train_source(spec, base_dir)
    if found is None:
        return None
    source, split = found
    return read_split(spec, source, split)


def _load(spec: TaskSpec, split: str, *args: object, **kwargs: object) -> datasets.Dataset:
    try:
        ds = datasets.load_dataset(*args, split=split, **kwargs)
    except _LOAD_ERRORS as err:
        cause = f" ({type(err.__cause__).__name__}: {err.__cause__})" if err.__cause__ else ""
        raise DatasetError(
            f"task {spec.name!r}: cannot load {spec.source!r} split {split!r}: {err}{cause}"
        ) from err
    if not isinstance(ds, datasets.Dataset):
        raise DatasetError(f"task {spec.name!r}: {spec.source!r} did not give a single split")
    return ds
