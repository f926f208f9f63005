"""`harness parity`: torch vs its ONNX export and TorchScript/torch.export copies agree; a different
model is caught with its disagreement count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.data.builtin import digits
from harness.run.parity import compare
from tests.adapters.builders import build


def _spec(tmp_path: Path, onnx_path: Path, export_path: Path) -> Path:
    from tests.conftest import save_weights
    from tests.fixture_models import linear_digits

    save_weights(linear_digits(), tmp_path / "lin.safetensors")
    save_weights(linear_digits(seed=1), tmp_path / "other.safetensors")
    spec = tmp_path / "parity.yaml"
    spec.write_text(
        f"""\
device: cpu
tasks: [digits]
models:
  - {{name: torch, factory: "tests.fixture_models:linear_digits", weights: lin.safetensors, input_shape: [1, 8, 8]}}
  - {{name: other, factory: "tests.fixture_models:linear_digits", weights: other.safetensors, input_shape: [1, 8, 8]}}
  - {{name: onnx, adapter: onnx, path: {onnx_path}, input_name: pixels, input_shape: [1, 8, 8]}}
  - {{name: exported, adapter: torchscript, path: {export_path}, input_shape: [1, 8, 8]}}
suites: {{accuracy: {{}}}}
"""
    )
    return spec


def test_parity_cli_passes_for_an_onnx_export(
    tmp_path: Path, onnx_path: Path, export_path: Path, capsys
) -> None:  # noqa: ANN001
    spec = _spec(tmp_path, onnx_path, export_path)
    assert (
        main(
            ["parity", str(spec), "--models", "torch,onnx", "--task", "digits", "--format", "json"]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 719 and report["disagreements"] == 0 and report["passed"]
    assert report["max_abs_logit_diff"] < 1e-4
    assert main(["parity", str(spec), "--models", "torch,exported", "--task", "digits"]) == 0
    assert "PASS" in capsys.readouterr().out


def test_parity_cli_fails_for_a_different_model(
    tmp_path: Path, onnx_path: Path, export_path: Path, capsys
) -> None:  # noqa: ANN001
    spec = _spec(tmp_path, onnx_path, export_path)
    assert (
        main(["parity", str(spec), "--models", "other,onnx", "--task", "digits", "--limit", "100"])
        == 1
    )
    out = capsys.readouterr().out
    assert "FAIL" in out and "disagreements:" in out
    assert main(["parity", str(spec), "--models", "torch", "--task", "digits"]) == 2
    assert "exactly two model names" in capsys.readouterr().err
    # a model against itself always passes: a typo (a,a) is refused, not reported as PASS
    assert main(["parity", str(spec), "--models", "onnx,onnx", "--task", "digits"]) == 2
    err = capsys.readouterr().err
    assert "--models names 'onnx' twice; parity compares two different models" in err


def test_parity_cli_atol_sets_the_tolerance(
    tmp_path: Path, onnx_path: Path, export_path: Path, capsys
) -> None:  # noqa: ANN001
    """`--atol` reaches the comparison: at 1 every differing prediction is a tie within it."""
    spec = _spec(tmp_path, onnx_path, export_path)
    args = ["parity", str(spec), "--models", "torch,other", "--task", "digits", "--limit", "100"]
    assert main([*args, "--format", "json"]) == 1  # the default 1e-4: two different models
    strict = json.loads(capsys.readouterr().out)
    assert strict["atol"] == 1e-4 and strict["disagreements"] > 0
    assert main([*args, "--format", "json", "--atol", "1"]) == 0
    loose = json.loads(capsys.readouterr().out)
    assert loose["atol"] == 1.0 and loose["passed"] and loose["disagreements"] == 0
    assert loose["ties"] == strict["disagreements"] + strict["ties"]


def test_parity_of_one_sample_says_sample(
    tmp_path: Path, onnx_path: Path, export_path: Path, capsys
) -> None:  # noqa: ANN001
    spec = _spec(tmp_path, onnx_path, export_path)
    main(["parity", str(spec), "--models", "torch,other", "--task", "digits", "--limit", "1"])
    assert "on digits (1 sample): " in capsys.readouterr().out


def test_compare_counts_disagreements_exactly(onnx_path: Path) -> None:
    import torch

    from harness.adapters.torch_module import TorchModuleAdapter
    from tests.fixture_models import linear_digits

    task = digits().head(50)
    a = build("onnx", {"path": str(onnx_path)}, Path("."))
    net = linear_digits()
    b = TorchModuleAdapter.from_module(net, name="b")
    ref_a = a.logits(task.all_inputs()).argmax(1)
    with torch.no_grad():
        net[1].bias[3] += 5.0  # planted shift: class 3 wins far more often
    ref_b = b.logits(task.all_inputs()).argmax(1)
    report = compare(a, b, task, atol=1e-4, batch_size=16)
    assert report.disagreements == int((ref_a != ref_b).sum()) > 0
    assert report.max_abs_logit_diff == pytest.approx(5.0, abs=1e-4)
    assert not report.passed


def _add_model(spec: Path, entry: str) -> None:
    """Add a model of digits' input shape (`entry`: its name and factory) to the spec."""
    line = f"  - {{{entry}, input_shape: [1, 8, 8]}}\n"
    spec.write_text(spec.read_text().replace("suites:", line + "suites:"))


def test_a_model_that_raises_is_named_in_one_line(
    tmp_path: Path, onnx_path: Path, export_path: Path, capsys
) -> None:  # noqa: ANN001
    """A model raising in its forward pass is the model named at fault, not the pair: 'parity of
    torch,wide on task digits failed: RuntimeError: mat1 and mat2 shapes ...' left the user to
    find which of the two it was."""
    spec = _spec(tmp_path, onnx_path, export_path)
    _add_model(spec, 'name: wide, factory: "tests.fixture_models:linear_tabular"')
    assert main(["parity", str(spec), "--models", "torch,wide", "--task", "digits"]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: model 'wide' raised RuntimeError during its forward pass on ")
    assert "\n" not in err and "torch" not in err.split("raised")[0]


def test_a_model_that_cannot_be_built_is_named_in_one_line(
    tmp_path: Path, onnx_path: Path, export_path: Path, capsys
) -> None:  # noqa: ANN001
    """A factory reference naming nothing failed with 'module ... has no attribute ...': the
    error never said which of the two models it was (a run's job label does)."""
    spec = _spec(tmp_path, onnx_path, export_path)
    _add_model(spec, 'name: gone, factory: "tests.fixture_models:nowhere"')
    assert main(["parity", str(spec), "--models", "torch,gone", "--task", "digits"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: model 'gone': module 'tests.fixture_models' has no attribute")
    assert "\n" not in err


def test_a_model_not_for_the_task_is_refused_by_its_tasks(
    tmp_path: Path, onnx_path: Path, export_path: Path, capsys
) -> None:  # noqa: ANN001
    """A model whose `tasks:` leave the task out was run on it anyway: a zoo model for diabetes on
    digits failed with 'normalize has 10 values per channel but the inputs have 1 channel(s)', a
    cause the user never set; `harness run` pairs no such job."""
    spec = _spec(tmp_path, onnx_path, export_path)
    spec.write_text(
        spec.read_text()
        .replace("tasks: [digits]", "tasks: [digits, diabetes]")
        .replace(
            "suites:",
            '  - {name: tab, factory: "tests.fixture_models:linear_tabular", tasks: [diabetes]}\n'
            "  - diabetes-mlp\nsuites:",
        )
    )
    for model in ("tab", "diabetes-mlp"):
        assert main(["parity", str(spec), "--models", f"torch,{model}", "--task", "digits"]) == 2
        err = capsys.readouterr().err.strip()
        assert err == (
            f"error: model {model!r} is not for task 'digits' (its tasks: diabetes); parity "
            "compares two models on a task both are for"
        ), err


def test_a_model_listing_no_task_is_refused_saying_so(
    tmp_path: Path, onnx_path: Path, export_path: Path, capsys
) -> None:  # noqa: ANN001
    """`tasks: []` read '(its tasks: )', an empty list shown as nothing."""
    spec = _spec(tmp_path, onnx_path, export_path)
    spec.write_text(
        spec.read_text().replace("8, 8]}\n  - {name: onnx", "8, 8], tasks: []}\n  - {name: onnx")
    )
    assert "tasks: []" in spec.read_text()
    assert main(["parity", str(spec), "--models", "torch,other", "--task", "digits"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: model 'other' is not for task 'digits' (its tasks: [], none);")
