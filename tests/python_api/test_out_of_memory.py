"""A model running out of memory under `harness.evaluate`: the caller gets one `HarnessError`
line naming the model, suite, task and batch size with what to change (as `harness run` prints),
and can still catch it as the out-of-memory error it was."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import harness
from tests.fixture_models import linear_digits

X = torch.rand(20, 1, 8, 8)
Y = torch.arange(20) % 10


class _RunsOutOfMemory(nn.Module):
    """`linear_digits` that runs out of memory on batches above 4 inputs (`kind`: torch's CUDA
    error or Python's MemoryError)."""

    def __init__(self, kind: type[Exception]) -> None:
        super().__init__()
        self.inner = linear_digits()
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > 4:
            raise self.kind("CUDA out of memory. Tried to allocate 20.00 GiB")
        return self.inner(x)


@pytest.mark.parametrize("kind", [torch.OutOfMemoryError, MemoryError])
def test_out_of_memory_is_one_line_naming_the_model_and_batch_size(kind) -> None:
    with pytest.raises(harness.HarnessError) as err:
        harness.evaluate(
            _RunsOutOfMemory(kind), data=(X, Y), device="cpu", batch_size=16, name="tiny"
        )
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith(
        "model '_RunsOutOfMemory' ran out of memory in suite 'accuracy' on task"
    ), line
    assert "'tiny'" in line and "batch_size=16" in line and "Tried to allocate 20.00 GiB" in line
    assert "batch_size=" in line.split(";", 1)[1]  # what to change
    assert isinstance(err.value, kind)  # `except torch.OutOfMemoryError` still catches it
    assert isinstance(err.value.__cause__, kind)


def test_out_of_memory_in_suite_code_does_not_blame_the_model(monkeypatch) -> None:  # noqa: ANN001
    """A MemoryError raised by the suite's own code (numpy's allocation of a dataset-sized
    array), not by the model's forward pass, is the suite's: the line said "model ... ran out
    of memory ...; pass a smaller batch_size=", which sizes no such array."""
    import harness.suites.accuracy as accuracy

    def _too_large(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise MemoryError("Unable to allocate 37.3 GiB for an array with shape (50000, 100000)")

    monkeypatch.setattr(accuracy, "_tied", _too_large)
    with pytest.raises(harness.HarnessError) as err:
        harness.evaluate(linear_digits(), data=(X, Y), device="cpu", batch_size=16, name="tiny")
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith("suite 'accuracy' ran out of memory on task 'tiny'"), line
    assert "model 'Sequential'" in line and "Unable to allocate 37.3 GiB" in line
    assert not line.startswith("model"), line
    assert isinstance(err.value, MemoryError) and isinstance(err.value.__cause__, MemoryError)
