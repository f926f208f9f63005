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

from harness.core.errors import ModelOutputError
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


class _BoolScores(torch.nn.Module):
    """One-hot predictions as true/false values (logits above their row's maximum less 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x > x.amax(dim=1, keepdim=True) - 1


def test_rows_read_as_probabilities_under_auto_say_why_not_that_they_were_declared(
    tmp_path: Path,
) -> None:
    """A softmax over the batch axis ends in a Softmax, so `auto` reads probabilities; its rows
    are not ones. The refusal said the model `declares outputs: probabilities`, which no spec
    said: it names what `auto` read instead."""
    path = export_digits_head(tmp_path, torch.nn.Softmax(dim=0))
    adapter = build("onnx", {"path": str(path), "input_shape": [1, 8, 8]}, Path("."))
    inputs = next(digits().head(8).batches(8)).inputs
    with pytest.raises(ModelOutputError) as caught:
        adapter.logits(inputs)
    message = str(caught.value)
    assert "declares" not in message
    assert "outputs: auto" in message and "ends in a Softmax" in message
    assert "set outputs: logits" in message
    declared = build(
        "onnx",
        {"path": str(path), "input_shape": [1, 8, 8], "outputs": "probabilities"},
        Path("."),
    )
    with pytest.raises(ModelOutputError, match="declares outputs: probabilities"):
        declared.logits(inputs)


def test_an_output_of_true_false_values_is_refused_as_a_callables_is(tmp_path: Path) -> None:
    """A graph output of booleans was cast to 0/1 logits and scored (flagged tied_scores);
    a callable or torch model returning them is refused in one line."""
    path = export_digits_head(tmp_path, _BoolScores())
    adapter = build("onnx", {"path": str(path), "input_shape": [1, 8, 8]}, Path("."))
    inputs = next(digits().head(8).batches(8)).inputs
    with pytest.raises(ModelOutputError, match=r"true/false values \(bool\), not class scores"):
        adapter.logits(inputs)
