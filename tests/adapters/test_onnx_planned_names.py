"""`output:`, `features_output:` and `input_name:` name parts of the ONNX graph: a name the graph
does not have is refused by `harness validate` and before any job of `harness run` (the graph is
read without weights), with the names it has; every job of the model failed with it after the
run had started, and validate said the spec was valid."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.cli.main import main
from tests.adapters.builders import export_onnx
from tests.fixture_models import linear_digits


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("output", "logit", "output 'logit' is not an output of ten.onnx"),
        ("features_output", "feats", "features_output 'feats' is not an output of ten.onnx"),
        ("input_name", "pixel", "input_name 'pixel' is not an input of ten.onnx"),
    ],
)
def test_a_name_the_graph_lacks_is_refused_before_any_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: str, expected: str
) -> None:
    export_onnx(
        linear_digits(), torch.zeros(2, 1, 8, 8), tmp_path / "ten.onnx", names=("pixels", "logits")
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "device: cpu\ntasks: [digits]\nmodels:\n"
        f"  - {{name: ten, adapter: onnx, path: ten.onnx, {key}: {value}}}\n"
        "suites: {accuracy: {}}\n"
    )
    for command in (["validate", str(spec)], ["run", str(spec), "--out", str(tmp_path / "out")]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: model 'ten': {expected}"), err
        assert ("the graph's inputs are" if key == "input_name" else "outputs are") in err
        assert ("did you mean" in err) == (key != "features_output") and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_names_the_graph_has_are_valid(tmp_path: Path) -> None:
    export_onnx(
        linear_digits(), torch.zeros(2, 1, 8, 8), tmp_path / "ten.onnx", names=("pixels", "logits")
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "device: cpu\ntasks: [digits]\nmodels:\n"
        "  - {name: ten, adapter: onnx, path: ten.onnx, output: logits, input_name: pixels}\n"
        "suites: {accuracy: {}}\n"
    )
    assert main(["validate", str(spec)]) == 0
