"""An ONNX score output of integers (a quantised head without its DequantizeLinear, or predicted
labels) is refused under `outputs: auto`: its unit is unknown, so a softmax, NLL or ECE of it
means nothing. Before, it was read as logits: an int8 head scaled x10 was published with its
calibration computed on the raw integers. `outputs: logits` reads it anyway."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from harness.core.errors import ModelLoadError
from harness.data.builtin import digits
from tests.adapters.builders import build

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _linear_head(tmp_path: Path, out_type: int, name: str) -> Path:
    """Flatten -> MatMul -> x10 -> Cast(out_type): digits scores of an integer type."""
    from onnx import TensorProto, helper, numpy_helper

    weight = np.random.default_rng(0).normal(size=(64, 10)).astype(np.float32)
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"]),
        helper.make_node("MatMul", ["f", "W"], ["z"]),
        helper.make_node("Mul", ["z", "s"], ["zs"]),
        helper.make_node("Cast", ["zs"], ["scores"], to=out_type),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("scores", out_type, ["N", 10])],
        [
            numpy_helper.from_array(weight, "W"),
            numpy_helper.from_array(np.array(10.0, np.float32), "s"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("kind", ["INT8", "UINT8", "INT32", "INT64"])
def test_integer_scores_are_refused_unless_outputs_says_logits(tmp_path: Path, kind: str) -> None:
    path = _linear_head(tmp_path, getattr(onnx.TensorProto, kind), f"{kind}.onnx")
    shown = f"tensor({kind.lower()})"
    with pytest.raises(ModelLoadError) as err:
        build("onnx", {"path": str(path)}, tmp_path, name="q")
    line = str(err.value)
    assert line.startswith(f"model 'q': output 'scores' of {kind}.onnx holds integers ({shown})")
    assert "outputs: logits" in line and "\n" not in line
    adapter = build("onnx", {"path": str(path), "outputs": "logits"}, tmp_path, name="q")
    adapter.check_task(digits())


def test_float_scores_still_read_as_logits(tmp_path: Path) -> None:
    path = _linear_head(tmp_path, onnx.TensorProto.FLOAT, "float.onnx")
    build("onnx", {"path": str(path)}, tmp_path, name="f").check_task(digits())


def test_a_label_output_points_at_the_score_output(tmp_path: Path) -> None:
    """skl2onnx's `label` output (int64, one per input) named by `output:` was refused with the
    advice to set `outputs: logits`, which only led to "shape (4,) ... expected (batch,
    classes)": a label output names the graph's float score outputs instead. Without `output:`
    the classifier's probabilities are read, as before."""
    pytest.importorskip("skl2onnx")
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32)
    fitted = LogisticRegression().fit(x, (x[:, 0] > 0).astype(np.int64))
    graph = to_onnx(fitted, x[:1], options={id(fitted): {"zipmap": False}}, target_opset=17)
    path = tmp_path / "clf.onnx"
    path.write_bytes(graph.SerializeToString())
    assert build("onnx", {"path": str(path)}, tmp_path, name="c").logits(
        torch.as_tensor(x[:4])
    ).shape == (4, 2)
    with pytest.raises(ModelLoadError) as err:
        build("onnx", {"path": str(path), "output": "label"}, tmp_path, name="c")
    line = str(err.value)
    assert line.startswith("model 'c': output 'label' of clf.onnx holds one integer per input")
    assert "output: probabilities" in line and "outputs: logits" not in line
    assert "\n" not in line
