"""A TorchScript program that fails inside its forward pass raises an error whose first line is
always "The following operation failed in the TorchScript interpreter." (its serialized code's
traceback follows, the reason last): the job's line said only that. It now gives the reason."""

from __future__ import annotations

import torch
from torch import nn

from harness.core.model_calls import model_failure


def test_a_torchscript_failure_gives_its_reason() -> None:
    program = torch.jit.script(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)))
    try:
        program(torch.rand(2, 8, 8, 3))
    except RuntimeError as err:
        failure = model_failure("m", "its forward pass", err)
    text = str(failure)
    assert "mat1 and mat2 shapes cannot be multiplied (2x192 and 64x10)" in text
    assert "TorchScript" in text and "\n" not in text
