"""`Task`: a named, fingerprinted dataset split that suites evaluate models on.

A task is backed by a Hugging Face `datasets.Dataset` (Arrow) holding one row per sample with a
stable `sample_id`, the model input, the integer label and optional group columns (sensitive
attributes). Hub datasets, local files and the built-in scikit-learn tasks all end up here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from harness.core.manifest import Modality, TaskSummary

SAMPLE_ID = "sample_id"


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
    perturbations must stay within (None for text). `group_columns` name sensitive attributes kept
    beside the data; `group_bins` says how continuous attributes are binned for the fairness suite;
    `group_labels` gives readable names of group values (in display order) for reports.
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
    source: str = ""
    description: str = ""
    limit: int | None = None

    def __len__(self) -> int:
        return len(self.data)

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over sample ids, labels, inputs and group values: same content, same print."""
        h = hashlib.sha256()
        h.update(f"{self.modality}|{self.num_classes}|{self.input_shape}|{self.bounds}".encode())
        columns = [SAMPLE_ID, self.label_column, self.input_column, *self.group_columns]
        table = self.data.select_columns(columns).with_format("arrow")
        for start in range(0, len(self.data), 4096):
            sink = pa.BufferOutputStream()
            chunk = table[start : start + 4096]
            with pa.ipc.new_stream(sink, chunk.schema) as writer:
                writer.write_table(chunk)
            h.update(memoryview(sink.getvalue()))
        return h.hexdigest()

    @cached_property
    def sample_ids(self) -> list[str]:
        return list(self.data[SAMPLE_ID])

    @cached_property
    def labels(self) -> np.ndarray:
        return np.asarray(self.data[self.label_column], dtype=np.int64)

    def groups(self) -> pd.DataFrame:
        """Group columns indexed by sample id (empty frame when the task has none)."""
        frame = self.data.select_columns([SAMPLE_ID, *self.group_columns]).to_pandas()
        return frame.set_index(SAMPLE_ID)

    def head(self, n: int | None) -> Task:
        """The first `n` samples (a new task with its own fingerprint); `None` keeps all."""
        if n is None or n >= len(self.data):
            return self
        return replace(self, data=self.data.select(range(n)), limit=n)

    def batches(self, batch_size: int) -> Iterator[Batch]:
        """Whole batches read straight from Arrow (no per-item loading)."""
        if self.modality == "text":
            for start in range(0, len(self.data), batch_size):
                rows = self.data[start : start + batch_size]
                yield Batch(
                    list(rows[SAMPLE_ID]),
                    list(rows[self.input_column]),
                    torch.as_tensor(rows[self.label_column], dtype=torch.int64),
                )
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

    def all_inputs(self) -> torch.Tensor:
        """The whole evaluation split as one tensor (small tasks, tests, reference loops)."""
        parts = [b.inputs for b in self.batches(4096)]
        if self.modality == "text":
            raise TypeError("text tasks have no input tensor; use batches()")
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
            class_names=self.class_names,
            fingerprint=self.fingerprint,
            source=self.source,
            limit=self.limit,
        )
