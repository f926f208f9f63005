"""An ONNX graph exported without a dynamic batch axis (`torch.onnx.export` without
`dynamic_axes` fixes the batch to the example's size) is fed in chunks of that size, the last
one padded: any number of rows works, and padding never leaks into the outputs."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
import torch
from onnx import TensorProto, helper

from tests.adapters.builders import build


def _fixed_batch_relu(batch: int) -> onnx.ModelProto:
    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("rows", [1, 2, 3, 4, 7])
def test_a_fixed_batch_graph_takes_any_number_of_rows(tmp_path: Path, rows: int) -> None:
    onnx.save(_fixed_batch_relu(3), tmp_path / "fixed.onnx")
    adapter = build("onnx", {"path": "fixed.onnx", "modality": "tabular"}, tmp_path)
    inputs = torch.linspace(-1, 1, rows * 2).reshape(rows, 2)
    assert torch.equal(adapter.logits(inputs), inputs.clamp(min=0))


def test_throughput_says_a_fixed_batch_graph_runs_in_chunks_of_its_size(tmp_path: Path) -> None:
    """A graph fixed at batch 4 runs a batch of 8 as two passes of 4; the throughput note said
    "executed one sample at a time", which is true of a graph fixed at batch 1 only."""
    import harness

    path = tmp_path / "m.onnx"
    onnx.save(_fixed_batch_relu(4), str(path))
    spec = {"name": "m", "adapter": "onnx", "path": str(path), "modality": "tabular"}
    x = torch.rand(16, 2)
    y = torch.arange(16) % 2
    suites = {"throughput": {"batch_sizes": [8], "warmup_iters": 1, "timed_iters": 2}}
    result = harness.evaluate(spec, data=(x, y), suites=suites, device="cpu")
    (timed,) = [m for m in result.metrics if m.metric == "throughput_samples_per_s"]
    note = timed.note or ""
    assert "in chunks of 4" in note and "one sample at a time" not in note
