"""`outputs: auto` recognises a network exported with its final softmax.

Only a ZipMap or an output named like `prob` counted as probabilities, so a torch network
exported with `nn.Softmax` at the end (output `output`) was read as logits: its softmax was taken
again, and the accuracy suite could only flag `probability_outputs` on NLL, ECE and Brier. The
graph's last operation now says it (through value-preserving ones such as Cast or Reshape), and
the probabilities become log-probabilities: the same softmax as the network's logits.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.core.suite import RunContext
from harness.data.builtin import digits
from harness.suites.accuracy import AccuracySuite
from tests.adapters.builders import build, export_digits_head
from tests.fixture_models import linear_digits

pytest.importorskip("onnxruntime")


@pytest.mark.parametrize(
    ("last", "kind"),
    [(torch.nn.Softmax(dim=1), "probabilities"), (torch.nn.LogSoftmax(dim=1), "logits")],
)
def test_a_final_softmax_is_read_as_probabilities(
    tmp_path: Path, last: torch.nn.Module, kind: str
) -> None:
    adapter = build(
        "onnx",
        {"path": str(export_digits_head(tmp_path, last)), "input_shape": [1, 8, 8]},
        Path("."),
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


class _ClampedSoftmax(torch.nn.Module):
    """softmax(x).clamp(1e-6, 1): probabilities kept off 0 before a log (an ONNX Clip)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x, dim=1).clamp(1e-6, 1.0)


def test_a_softmax_clipped_away_from_zero_is_read_as_probabilities(tmp_path: Path) -> None:
    """A final Clip behind the Softmax hid it: the probabilities were read as logits (digits,
    300 samples: ECE 0.757 under a probability_outputs flag, for a model whose ECE is 0.02)."""
    adapter = build(
        "onnx",
        {"path": str(export_digits_head(tmp_path, _ClampedSoftmax())), "input_shape": [1, 8, 8]},
        Path("."),
    )
    assert adapter.describe()["outputs"] == "probabilities"
    task = digits().head(120)
    records = (
        AccuracySuite({}).run(adapter, task, RunContext(seed=0, bootstrap_resamples=0)).metrics
    )
    assert all("probability_outputs" not in r.flags for r in records)
