"""A graph that fails inside ONNX Runtime on a batch (a Reshape to the export example's batch
size, left in a graph declared with a dynamic batch) fails its job in one line naming the model,
the node and the runtime's reason, with no C++ source path and no runtime log line on stderr."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
import torch
from onnx import TensorProto, helper

from harness.core.errors import ModelCallError
from tests.adapters.builders import build


def _baked_reshape(path: Path) -> Path:
    """x (batch, 1, 8, 8) -> Reshape to (2, 64): runs at batch 2 only."""
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [2, 64])
    node = helper.make_node("Reshape", ["x", "shape"], ["y"], name="/Reshape")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 64])],
        initializer=[shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_a_node_failing_at_run_time_is_one_clean_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    adapter = build("onnx", {"path": str(_baked_reshape(tmp_path / "m.onnx"))}, tmp_path, "m")
    assert adapter.logits(torch.rand(2, 1, 8, 8)).shape == (2, 64)
    with pytest.raises(ModelCallError) as err:
        adapter.logits(torch.rand(5, 1, 8, 8))
    text = str(err.value)
    assert text.startswith("model 'm': ") and "\n" not in text
    assert "Reshape" in text and "requested shape:{2,64}" in text and "5 samples" in text
    assert "onnxruntime_src" not in text and "::" not in text
    assert "E:onnxruntime" not in capfd.readouterr().err
