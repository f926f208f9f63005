"""Small in-memory image tasks (8 x 8 grey, 10 classes) for the shift suite's tests."""

from __future__ import annotations

from collections.abc import Sequence

import datasets
import numpy as np

from harness.core.task import UNLABELED, Task


def image_task(
    name: str,
    n: int,
    *,
    labels: Sequence[int] | None = None,
    labelled: bool = True,
    extra: dict | None = None,
    cell_columns: tuple[str, ...] = (),
) -> Task:
    """`n` random 8 x 8 images named `<name>-<i>`; labels `labels`, else `i % 10`, or -1 on
    every row for an unlabeled set (as the loader makes one: `label_column: null`); `extra`
    columns beside them (a published set's `corruption`, `severity`, `source_id`)."""
    gen = np.random.default_rng(len(name) + n)
    columns = {
        "sample_id": [f"{name}-{i}" for i in range(n)],
        "input": gen.random((n, 64)).astype(np.float32).tolist(),
        **(extra or {}),
    }
    if not labelled:
        columns["label"] = np.full(n, UNLABELED).tolist()
    else:
        columns["label"] = list(labels) if labels is not None else (np.arange(n) % 10).tolist()
    return Task(
        name=name,
        modality="image",
        num_classes=10,
        class_names=tuple(str(i) for i in range(10)),
        input_shape=(1, 8, 8),
        bounds=(0.0, 1.0),
        data=datasets.Dataset.from_dict(columns),
        labeled=labelled,
        cell_columns=cell_columns,
    )
