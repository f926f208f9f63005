"""An ONNX graph whose score output has a static class count other than the task's is refused
by `harness validate` and before any job of `harness run` (the graph is read without weights),
with the job's own line; every job of the model failed with it after the run had started."""

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


def test_a_graph_with_the_tasks_class_count_is_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export_onnx(
        linear_digits(), torch.zeros(2, 1, 8, 8), tmp_path / "ten.onnx", names=("pixels", "logits")
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "device: cpu\ntasks: [digits]\nmodels:\n  - {name: ten, adapter: onnx, path: ten.onnx}\n"
        "suites: {accuracy: {}}\n"
    )
    assert main(["validate", str(spec)]) == 0
