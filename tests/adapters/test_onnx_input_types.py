"""The onnx adapter feeds a graph's input in the element type the graph declares.

Every batch was cast to float32, so a graph exported from a half-precision (or float64) model
failed each forward pass with onnxruntime's "Unexpected input data type. Actual: (tensor(float)),
expected: (tensor(float16))": every job of such a model failed. An integer input would take the
task's real-valued samples only by changing them, so it is refused when the model is built.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from harness.core.errors import ModelLoadError
from harness.data.builtin import digits
from harness.testing import check_adapter
from tests.adapters.builders import build
from tests.fixture_models import linear_digits

pytest.importorskip("onnxruntime")


class _Cast(torch.nn.Module):
    """linear_digits behind a cast: the graph's input takes the example's dtype."""

    def __init__(self) -> None:
        super().__init__()
        self.net = linear_digits().eval().requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.float())


def _export(tmp_path: Path, dtype: torch.dtype) -> Path:
    path = tmp_path / f"{dtype}.onnx".replace("torch.", "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Cast(),
            (torch.zeros(2, 1, 8, 8, dtype=dtype),),
            str(path),
            input_names=["pixels"],
            dynamic_axes={"pixels": {0: "batch"}},
            dynamo=False,
            opset_version=17,
        )
    return path


@pytest.mark.parametrize("dtype", [torch.float16, torch.float64])
def test_float16_and_double_inputs_are_fed_in_their_type(
    tmp_path: Path, dtype: torch.dtype
) -> None:
    adapter = build(
        "onnx", {"path": str(_export(tmp_path, dtype)), "input_shape": [1, 8, 8]}, Path(".")
    )
    task = digits()
    check_adapter(adapter, task)
    inputs = next(task.batches(16)).inputs
    expected = _Cast()(inputs.to(dtype))  # digits' pixels (k/16) are exact in float16
    torch.testing.assert_close(adapter.logits(inputs), expected, atol=1e-5, rtol=1e-5)
    assert (
        adapter.describe()["input_type"]
        == f"tensor({'float16' if dtype == torch.float16 else 'double'})"
    )


def test_integer_input_is_refused_naming_it(tmp_path: Path) -> None:
    path = _export(tmp_path, torch.int64)
    with pytest.raises(ModelLoadError) as err:
        build("onnx", {"path": str(path)}, Path("."), name="m")
    message = str(err.value)
    assert "model 'm'" in message and "'pixels'" in message and "tensor(int64)" in message
