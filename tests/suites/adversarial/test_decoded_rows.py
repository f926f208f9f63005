"""A streamed task (inputs decoded batch by batch by `task.decoder`) under the adversarial suite:
its rows are read through the decoder, as the accuracy suite's batches are, and give the same
result as the same inputs stored ready to use."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.core.task import Task
from harness.data import builtin as builtin_tasks
from harness.data.table_columns import arrow_dataset
from harness.run.api import evaluate
from harness.suites.adversarial import rows as rows_module
from harness.suites.adversarial.rows import read_rows
from tests.suites.adversarial import models as M

CONFIG = {
    "attacks": ["fgsm", "linf_pgd"],
    "epsilons": {"linf": [0.1]},
    "check_samples": 30,
    "noise_draws": 4,
    "examples": 0,
    "escalation_rounds": 0,
}


class RowIndexDecoder:
    """The input column holds each sample's row in `images`; decoding looks the rows up."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def decode(self, column: pa.ChunkedArray, sample_ids: Sequence[str]) -> torch.Tensor:
        index = torch.as_tensor(np.array(column.to_numpy()), dtype=torch.long)
        return self.images[index].clone()

    def source_digest(self, column: pa.ChunkedArray) -> Iterator[bytes]:
        yield column.to_numpy().astype(np.int64).tobytes()

    def describe(self) -> str:
        return "row-index"


@pytest.fixture(scope="module")
def pair() -> tuple[Task, Task]:
    """The first 40 digits stored ready to use, and the same rows streamed through a decoder
    (the input column holds row indices, reversed so that a reader ignoring the decoder gets
    wrong rows as well as a wrong shape)."""
    stored = builtin_tasks.digits().head(40)
    images = stored.all_inputs()
    index = np.arange(len(stored))[::-1].copy()
    table = stored.data.with_format("arrow")[:]
    table = table.set_column(
        table.column_names.index(stored.input_column), stored.input_column, pa.array(index)
    )
    data, decoder = arrow_dataset(table), RowIndexDecoder(images.flip(0))
    streamed = replace(stored, name="digits-streamed", data=data, decoder=decoder)
    return stored, streamed


def test_read_rows_decodes_the_rows_it_is_asked_for(pair: tuple[Task, Task]) -> None:
    stored, streamed = pair
    rows = np.array([7, 0, 39, 7, 31])
    expected = stored.all_inputs()[torch.as_tensor(rows)]
    got = read_rows(streamed, rows, torch.device("cpu"))
    assert got.shape == (5, 1, 8, 8)
    assert torch.equal(got, expected)
    assert read_rows(streamed, np.array([], dtype=np.int64), torch.device("cpu")).shape == (
        0,
        1,
        8,
        8,
    )


def test_streamed_task_gives_the_stored_tasks_result(
    pair: tuple[Task, Task], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every metric of the adversarial suite is the same for the streamed and the stored task,
    with attack stages reading their rows from the task (no cache of the clean pass)."""
    monkeypatch.setattr(rows_module, "CACHE_BYTES", 0)
    stored, streamed = pair
    model = TorchModuleAdapter.from_module(
        M.control_digits(), name="control", input_shape=(1, 8, 8)
    )
    results = [
        evaluate(
            model,
            task=task,
            suites={"adversarial": CONFIG},
            device="cpu",
            bootstrap_resamples=50,
            seed=0,
        ).metrics_frame()
        for task in (stored, streamed)
    ]
    assert len(results[0]) > 0
    columns = ["key", "value"]
    assert results[0][columns].equals(results[1][columns])
