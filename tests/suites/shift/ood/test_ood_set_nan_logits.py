"""NaN logits on an OOD set's inputs fail the job naming the OOD set: the line said "returned
NaN or inf logits for 50 sample(s) of task 'digits'" for uniform noise, sending the reader to
the task's data, where the model is finite."""

from __future__ import annotations

import pytest
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.core.errors import ModelOutputError
from harness.core.suite import RunContext
from harness.data.builtin import digits
from harness.suites.shift.ood.detectors import Bank


class NanOnNoise(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc(x.flatten(1))
        bad = x.flatten(1).min(1).values > 0.0
        return torch.where(bad[:, None], torch.full_like(out, float("nan")), out)


def test_nan_logits_on_an_ood_set_name_the_set() -> None:
    adapter = TorchModuleAdapter.from_module(NanOnNoise(), name="nl", input_shape=(1, 8, 8))
    bank = Bank(detectors={})
    noise = torch.rand(6, 1, 8, 8) * 0.5 + 0.25
    with pytest.raises(ModelOutputError) as err:
        bank.outputs(adapter, digits(), noise, RunContext(seed=0), "ood=uniform_noise")
    message = str(err.value)
    assert "6 sample(s) of OOD set 'uniform_noise' (task 'digits')" in message, message
    clean = torch.zeros(3, 1, 8, 8)
    assert len(bank.outputs(adapter, digits(), clean, RunContext(seed=0), "clean").logits) == 3
