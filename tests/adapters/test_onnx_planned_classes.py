"""What the plan reads from an ONNX graph without its weights is refused by `harness validate`
and before any job of `harness run`, with the job's own line: a score output whose static class
count is not the task's (every job of the model failed with it after the run had started), and
an `output:`, `features_output:` or `input_name:` the graph does not have (validate said the
spec was valid; every job failed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.cli.main import main
from tests.adapters.builders import export_onnx
from tests.fixture_models import linear_digits


def test_a_graph_with_another_class_count_is_refused_before_any_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export_onnx(
        linear_digits(classes=5),
        torch.zeros(2, 1, 8, 8),
        tmp_path / "five.onnx",
        names=("pixels", "logits"),
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "device: cpu\ntasks: [digits]\nmodels:\n  - {name: five, adapter: onnx, path: five.onnx}\n"
        "suites: {accuracy: {}}\n"
    )
    for command in (["validate", str(spec)], ["run", str(spec), "--out", str(tmp_path / "out")]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: model 'five' outputs 5 classes but task 'digits' has 10")
        assert "five.onnx" in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def _ten_classes(tmp_path: Path, fields: str = "") -> Path:
    """A spec of `ten.onnx` (digits' 10 classes, input `pixels`, output `logits`) with the
    model entry's extra `fields`."""
    export_onnx(
        linear_digits(), torch.zeros(2, 1, 8, 8), tmp_path / "ten.onnx", names=("pixels", "logits")
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "device: cpu\ntasks: [digits]\nmodels:\n"
        f"  - {{name: ten, adapter: onnx, path: ten.onnx{fields}}}\n"
        "suites: {accuracy: {}}\n"
    )
    return spec


def test_a_graph_with_the_tasks_class_count_is_valid(tmp_path: Path) -> None:
    assert main(["validate", str(_ten_classes(tmp_path))]) == 0


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
    spec = _ten_classes(tmp_path, f", {key}: {value}")
    for command in (["validate", str(spec)], ["run", str(spec), "--out", str(tmp_path / "out")]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: model 'ten': {expected}"), err
        assert ("the graph's inputs are" if key == "input_name" else "outputs are") in err
        assert ("did you mean" in err) == (key != "features_output") and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_names_the_graph_has_are_valid(tmp_path: Path) -> None:
    spec = _ten_classes(tmp_path, ", output: logits, input_name: pixels")
    assert main(["validate", str(spec)]) == 0
