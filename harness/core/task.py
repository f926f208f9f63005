"""`Task`: a named, fingerprinted dataset split that suites evaluate models on.

A task is backed by a Hugging Face `datasets.Dataset` (Arrow) holding one row per sample with a
stable `sample_id`, the model input, the integer label and optional group columns (sensitive
attributes). Hub datasets, local files and the built-in scikit-learn tasks all end up here.

Inputs are either stored ready to use (float arrays, tabular vectors, text) or streamed: the input
column then holds what the source holds (encoded image bytes, file paths, rows of a `.npy` file)
and the task's `decoder` turns one batch of it into model inputs at a time, so memory is bounded
by the batch size whatever the size of the split (docs/tasks.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Protocol

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from harness.core.errors import DatasetError
from harness.core.manifest import Modality, TaskSummary
from harness.core.sample_table import UNLABELED as UNLABELED  # an unlabeled task's rows
from harness.core.subsets import stratified_indices
from harness.core.threat_model import Headline

SAMPLE_ID = "sample_id"
SOURCE_ID = "source_id"  # the id of the clean image a corrupted one was made from
MEMORY_SOURCE = "python:in-memory"  # the `source` of a task built from data passed to
# harness.evaluate (harness/run/memory_task.py): it has no task spec to declare keys in
# the name of `Task.train_fingerprint` among a job's input fingerprints (`Suite.input_fingerprints`)
TRAIN_SPLIT = "train_split"
_HASH_ROWS = 4096


class InputDecoder(Protocol):
    """Turns the stored values of a task's input column into model inputs, one batch at a time.

    `decode` gets one Arrow slice of the input column (and the slice's sample ids, to name a bad
    sample in an error) and returns a float32 tensor of shape (n, *task.input_shape).
    `source_digest` yields the source bytes of a slice (encoded files, array rows): the task
    fingerprint hashes them with `describe()`, the decoding and transform, so a fingerprint is a
    content hash that never needs the decoded arrays.
    """

    def decode(self, column: pa.ChunkedArray, sample_ids: Sequence[str]) -> torch.Tensor: ...

    def source_digest(self, column: pa.ChunkedArray) -> Iterator[bytes]: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Batch:
    """A slice of a task: sample ids, model inputs (a tensor, or strings for text) and labels."""

    sample_ids: list[str]
    inputs: torch.Tensor | list[str]
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.sample_ids)


@dataclass(frozen=True, kw_only=True, eq=False)
class Task:
    """A dataset split plus what a suite needs to know about it.

    `input_shape` is the per-sample shape (empty for text). `bounds` are the valid input range that
    perturbations must stay within (None for text): the global box, the same for every feature.
    `feature_bounds` (tabular) gives each feature its own (low, high) within that box, so a budget
    can be expressed per feature (`feature_box()`); None means every feature uses `bounds`.
    `group_columns` name sensitive attributes kept beside the data; `group_bins` says how
    continuous attributes are binned for the fairness suite; `group_labels` gives readable names of
    group values (in display order) for reports, and `group_notes` one note per group column
    whose coding the source does not document (shown once, never guessed). `headline` is the
    threat model its robust accuracy is headlined at (harness.core.threat_model; most important
    first, empty for none). `cell_columns` split the task into
    evaluation cells (a published corruption set: `corruption`, `severity`); a `source_id` column,
    when present, names the clean image each row was made from. `decoder` streams inputs that are
    not stored ready to use (see the module docstring). An unlabeled task (`labeled=False`, an OOD
    set) has label -1 on every row.
    """

    name: str
    modality: Modality
    num_classes: int
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    bounds: tuple[float, float] | None
    data: datasets.Dataset  # evaluation split: sample_id, input, label, group columns
    train: datasets.Dataset | None = None  # training split, when known (bounds, group coverage)
    input_column: str = "input"
    label_column: str = "label"
    group_columns: tuple[str, ...] = ()
    group_bins: dict[str, tuple[float, ...]] = field(default_factory=dict)
    # human-readable labels of group values, per group column, in display order (reports)
    group_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    # per group column: why its values are shown as recorded (an undocumented coding)
    group_notes: dict[str, str] = field(default_factory=dict)
    headline: Headline = ()
    source: str = ""
    description: str = ""
    limit: int | None = None
    decoder: InputDecoder | None = None
    feature_names: tuple[str, ...] = ()
    feature_bounds: tuple[tuple[float, float], ...] | None = None
    # per feature (in `feature_names` order): whether its bounds are only the range the data
    # takes (nothing declared them); () when every feature's bounds are declared. The shift
    # suite's tabular noise follows a declared range and the training std otherwise
    observed_bounds: tuple[bool, ...] = ()
    # features a task spec declares categorical (`one_hot` columns' `<column>=<category>`,
    # `ordinal` columns): perturbations leave them as they are (docs/shift.md)
    categorical_features: tuple[str, ...] = ()
    cell_columns: tuple[str, ...] = ()
    labeled: bool = True
    # group column -> why its values cannot be used (an empty cell...): the jobs that read that
    # column fail with this line, the others run (`groups()` leaves the column out)
    group_problems: dict[str, str] = field(default_factory=dict)
    # how the data was read, for every job's notes: files of an image folder left out (counted)
    load_notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Group and cell columns must be columns of the data (a plugin's task could name one
        that is not: the fingerprint would leave it out and `--limit` would fail mid-run)."""
        have = set(self.data.column_names)
        for kind, names in (("group", self.group_columns), ("cell", self.cell_columns)):
            absent = [c for c in names if c not in have]
            if absent:
                raise DatasetError(
                    f"task {self.name!r}: {kind} column {absent[0]!r} is not a column of its "
                    f"data (columns: {', '.join(sorted(have))}); fix the task's {kind}_columns"
                )

    def __len__(self) -> int:
        return len(self.data)

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over sample ids, labels, inputs and group values: same content, same print.

        A streamed task hashes its source bytes and its decoder's description (decoding and
        transform) instead of decoded inputs. The training split is not in it (two tasks with
        the same evaluation data are compared on one board): see `train_fingerprint`."""
        return self._digest(self.data)

    @cached_property
    def train_fingerprint(self) -> str | None:
        """The training split's print, hashed as `fingerprint` hashes the evaluation split
        (None: the task has no training split). Not part of `fingerprint`: a suite that reads
        `train` (the shift suite's feature spread and OOD detector fits, the fairness suite's
        group coverage) names it in its `input_fingerprints`, so that an edited training split
        reruns its jobs instead of serving numbers computed from the old one."""
        return None if self.train is None else self._digest(self.train)

    def train_columns_fingerprint(self, columns: Sequence[str]) -> str | None:
        """The print of the training split's sample ids and `columns` alone (those it has; None:
        no training split), for a suite that reads those and never its inputs (the fairness
        suite's group coverage): `train_fingerprint` hashes every input, a read of every
        training image of an image-folder task on every run."""
        if self.train is None:
            return None
        have = set(self.train.column_names)
        named = [c for c in dict.fromkeys(columns) if c in have and c != SAMPLE_ID]
        h = hashlib.sha256(f"{self.num_classes}|columns={[SAMPLE_ID, *named]}".encode())
        table = self.train.select_columns([SAMPLE_ID, *named]).with_format("arrow")
        for start in range(0, len(self.train), _HASH_ROWS):
            sink = pa.BufferOutputStream()
            chunk = table[start : start + _HASH_ROWS]
            with pa.ipc.new_stream(sink, chunk.schema) as writer:
                writer.write_table(chunk)
            h.update(memoryview(sink.getvalue()))
        return h.hexdigest()

    def train_rows_fingerprint(self, rows: Sequence[int] | np.ndarray) -> str | None:
        """The print of what a suite reads when it chooses `rows` of the training split from
        its ids and labels and reads only those rows' inputs (the shift suite's OOD detector
        fit subset): the ids and labels of the whole split (they decide the choice) and the
        chosen rows hashed as `train_fingerprint` hashes a split. None: no training split. An
        image-folder task then reads the fit subset's images to key a job, not every training
        image."""
        keys = self.train_columns_fingerprint([self.label_column])
        if keys is None or self.train is None:
            return None
        chosen = self._digest(self.train.select(list(rows)))
        return hashlib.sha256(f"rows|{keys}|{chosen}".encode()).hexdigest()

    def _digest(self, split: datasets.Dataset) -> str:
        h = hashlib.sha256()
        h.update(f"{self.modality}|{self.num_classes}|{self.input_shape}|{self.bounds}".encode())
        if self.feature_bounds is not None:
            h.update(f"|features={self.feature_names}|{self.feature_bounds}".encode())
        if self.decoder is not None:
            h.update(f"|decoder={self.decoder.describe()}".encode())
        have = split.column_names
        extra = [c for c in (*self.cell_columns, SOURCE_ID) if c in have]
        inputs = [] if self.decoder is not None else [self.input_column]
        wanted = [SAMPLE_ID, self.label_column, *inputs, *self.group_columns, *extra]
        columns = [c for c in wanted if c in have]  # a training split may lack group columns
        table = split.select_columns(columns).with_format("arrow")
        sources = split.select_columns([self.input_column]).with_format("arrow")
        for start in range(0, len(split), _HASH_ROWS):
            chunk = table[start : start + _HASH_ROWS]
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, chunk.schema) as writer:
                writer.write_table(chunk)
            h.update(memoryview(sink.getvalue()))
            if self.decoder is not None:
                column = sources[start : start + _HASH_ROWS].column(0)
                for piece in self.decoder.source_digest(column):
                    h.update(len(piece).to_bytes(8, "little"))
                    h.update(piece)
        return h.hexdigest()

    @cached_property
    def sample_ids(self) -> list[str]:
        return [str(s) for s in self._column(SAMPLE_ID).to_pylist()]

    @cached_property
    def labels(self) -> np.ndarray:
        return np.asarray(self._column(self.label_column).to_numpy(), dtype=np.int64)

    def _column(self, name: str) -> pa.ChunkedArray:
        """One column as Arrow, whole (`self.data[name]` is datasets' lazy column, which numpy
        and list() read one row at a time)."""
        if self.data._indices is None:  # rows in order: the table's own column, no copy
            return self.data.data.column(name)
        column = self.data.with_format("arrow")[name]
        return column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])

    def groups(self) -> pd.DataFrame:
        """Usable group columns indexed by sample id (empty frame when the task has none); a
        column with a problem (`group_problems`) is left out: `check_groups` names it."""
        usable = [c for c in self.group_columns if c not in self.group_problems]
        frame = self.data.select_columns([SAMPLE_ID, *usable]).to_pandas()
        return frame.set_index(SAMPLE_ID)

    def check_groups(self, columns: Sequence[str]) -> None:
        """Refuse to read group columns that have a problem (the first one's line)."""
        for column in columns:
            if column in self.group_problems:
                raise DatasetError(self.group_problems[column])

    def cells(self) -> pd.DataFrame:
        """Cell columns (and `source_id` when present) indexed by sample id."""
        extra = [SOURCE_ID] if SOURCE_ID in self.data.column_names else []
        frame = self.data.select_columns([SAMPLE_ID, *self.cell_columns, *extra]).to_pandas()
        return frame.set_index(SAMPLE_ID)

    def feature_box(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-feature (low, high) arrays of shape `input_shape`: `feature_bounds` when set,
        else the global `bounds` broadcast; None for text."""
        if self.bounds is None:
            return None
        if self.feature_bounds is None:
            low = np.full(self.input_shape, self.bounds[0], dtype=np.float64)
            return low, np.full(self.input_shape, self.bounds[1], dtype=np.float64)
        pairs = np.asarray(self.feature_bounds, dtype=np.float64)
        return pairs[:, 0].reshape(self.input_shape), pairs[:, 1].reshape(self.input_shape)

    def head(self, n: int | None) -> Task:
        """The first `n` rows (a new task). Not representative on a sorted dataset: to evaluate
        fewer samples use `subset`, which draws a seeded label-stratified sample."""
        if n is None or n >= len(self.data):
            return self
        return replace(self, data=self.data.select(range(n)), limit=n)

    def subset(
        self, n: int | None, *, seed: int, purpose: str = "limit", per_source: bool = False
    ) -> Task:
        """A seeded sample of `n` rows, stratified by label (and by cell for a task with cell
        columns), in task order: the same rows for every model (harness.core.subsets). Rows of a
        task with source ids are drawn by source id, so every cell keeps the same clean images
        where it can. With `per_source` (`--limit`: N samples per task), `n` counts source images
        on such a task, each kept in every cell. `None` or `n >= len(task)` keeps the task as it
        is."""
        if n is None or n >= len(self.data):
            return self
        keys = (
            list(self.data[SOURCE_ID]) if SOURCE_ID in self.data.column_names else self.sample_ids
        )
        rows = stratified_indices(
            keys, self._strata(), n, seed=seed, purpose=purpose, whole_keys=per_source
        )
        return replace(self, data=self.data.select(rows), limit=n)

    def _strata(self) -> np.ndarray:
        """One integer per row: its label, crossed with its cell when the task has cells."""
        if not self.cell_columns:
            return self.labels
        frame = self.data.select_columns([self.label_column, *self.cell_columns]).to_pandas()
        empty = frame[list(self.cell_columns)].isna().any(axis=1)
        if empty.any():
            row = int(np.flatnonzero(empty.to_numpy())[0])
            raise DatasetError(
                f"task {self.name!r}: sample {self.sample_ids[row]!r} has no value in cell "
                f"column(s) {', '.join(self.cell_columns)}; every row of a task with cells "
                "belongs to one cell"
            )
        return frame.groupby(list(frame.columns), sort=True).ngroup().to_numpy(dtype=np.int64)

    def batches(self, batch_size: int) -> Iterator[Batch]:
        """Whole batches read straight from Arrow (no per-item loading); a streamed task decodes
        one batch at a time."""
        if self.modality == "text":
            for start in range(0, len(self.data), batch_size):
                rows = self.data[start : start + batch_size]
                yield Batch(
                    list(rows[SAMPLE_ID]),
                    list(rows[self.input_column]),
                    torch.as_tensor(rows[self.label_column], dtype=torch.int64),
                )
            return
        if self.decoder is not None:
            yield from self._decoded_batches(self.decoder, batch_size)
            return
        torch_view = self.data.with_format(
            "torch", columns=[self.input_column, self.label_column], dtype=torch.float32
        )
        ids = self.sample_ids
        for start in range(0, len(self.data), batch_size):
            rows = torch_view[start : start + batch_size]
            yield Batch(
                ids[start : start + batch_size],
                rows[self.input_column].to(torch.float32).reshape(-1, *self.input_shape),
                rows[self.label_column].to(torch.int64),
            )

    def _decoded_batches(self, decoder: InputDecoder, batch_size: int) -> Iterator[Batch]:
        table = self.data.with_format("arrow")
        for start in range(0, len(self.data), batch_size):
            rows = table[start : start + batch_size]
            ids = [str(s) for s in rows.column(SAMPLE_ID).to_pylist()]
            labels = rows.column(self.label_column).to_numpy().astype(np.int64)
            inputs = decoder.decode(rows.column(self.input_column), ids)
            yield Batch(ids, inputs, torch.from_numpy(labels))

    def all_inputs(self) -> torch.Tensor:
        """The whole evaluation split as one tensor (small tasks, tests, reference loops): this
        materialises every input; stream with `batches()` for anything large."""
        if self.modality == "text":
            raise TypeError("text tasks have no input tensor; use batches()")
        parts = [b.inputs for b in self.batches(4096)]
        return torch.cat(parts)  # type: ignore[arg-type]

    def summary(self) -> TaskSummary:
        """What a job records about this task; its fingerprint decides what is comparable."""
        return TaskSummary(
            name=self.name,
            modality=self.modality,
            n=len(self.data),
            num_classes=self.num_classes,
            input_shape=self.input_shape,
            bounds=self.bounds,
            group_columns=self.group_columns,
            group_labels=self.group_labels,
            group_notes=self.group_notes,
            headline=self.headline,
            class_names=self.class_names,
            fingerprint=self.fingerprint,
            source=self.source,
            limit=self.limit,
        )
