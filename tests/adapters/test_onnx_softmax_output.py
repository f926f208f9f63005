"""`outputs: auto` recognises a network exported with its final softmax.

Only a ZipMap or an output named like `prob` counted as probabilities, so a torch network
exported with `nn.Softmax` at the end (output `output`) was read as logits: its softmax was taken
again, and the accuracy suite could only flag `probability_outputs` on NLL, ECE and Brier. The
graph's last operation now says it (through value-preserving ones such as Cast or Reshape), and
the probabilities become log-probabilities: the same softmax as the network's logits.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from harness.core.suite import RunContext
from harness.data.builtin import digits
from harness.suites.accuracy import AccuracySuite
from tests.adapters.builders import build
from tests.fixture_models import linear_digits

pytest.importorskip("onnxruntime")


class _Head(torch.nn.Module):
    def __init__(self, last: torch.nn.Module) -> None:
        super().__init__()
        self.net = linear_digits().eval().requires_grad_(False)
        self.last = last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(self.net(x)).reshape(-1, 10)


def _export(tmp_path: Path, last: torch.nn.Module) -> Path:
    path = tmp_path / f"{type(last).__name__}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Head(last),
            (torch.zeros(2, 1, 8, 8),),
            str(path),
            input_names=["pixels"],
            output_names=["output"],
            dynamic_axes={"pixels": {0: "batch"}},
            dynamo=False,
            opset_version=17,
        )
    return path


@pytest.mark.parametrize(
    ("last", "kind"),
    [(torch.nn.Softmax(dim=1), "probabilities"), (torch.nn.LogSoftmax(dim=1), "logits")],
)
def test_a_final_softmax_is_read_as_probabilities(
    tmp_path: Path, last: torch.nn.Module, kind: str
) -> None:
    adapter = build(
        "onnx", {"path": str(_export(tmp_path, last)), "input_shape": [1, 8, 8]}, Path(".")
    )
    assert adapter.describe()["outputs"] == kind
    task = digits().head(120)
    inputs = next(task.batches(120)).inputs
    expected = torch.log_softmax(linear_digits().eval()(inputs), dim=1)
    got = torch.log_softmax(adapter.logits(inputs), dim=1)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)  # the network's softmax
    records = (
        AccuracySuite({}).run(adapter, task, RunContext(seed=0, bootstrap_resamples=0)).metrics
    )
    assert all("probability_outputs" not in r.flags for r in records)
