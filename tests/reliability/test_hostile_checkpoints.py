"""Checkpoints with a code-execution payload are refused with no side effect, for every adapter that
could unpickle: torch weights (with and without allow_pickle), TorchScript/export files, sklearn
joblib/pickle, and skops files with untrusted types. A sentinel file proves nothing ran.
(trust_remote_code without a pinned revision and ONNX external data outside the model folder are
covered in tests/adapters/test_bad_input.py.)"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from harness.cli.main import main
from tests.reliability.conftest import cli, error_lines


class _Payload:
    """Unpickling this runs `touch <sentinel>`."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.sentinel}",))


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    sentinel = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    torch.save({"weight": _Payload(sentinel)}, path)  # a torch zip with the payload inside
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(_Payload(sentinel)))
    (tmp_path / "evil.joblib").write_bytes(pickle.dumps(_Payload(sentinel)))
    return tmp_path, sentinel


def _spec(folder: Path, model: str) -> Path:
    path = folder / "spec.yaml"
    path.write_text(
        f"name: evil\ndevice: cpu\nlimit: 10\ntasks: [digits]\nmodels: [{model}]\nsuites: {{accuracy: {{}}}}\n"
    )
    return path


CASES = {
    "torch-pickle": "{name: m, factory: 'tests.fixture_models:linear_digits', input_shape: [1, 8, 8], weights: evil.pt}",
    "torch-pickle-opt-in": "{name: m, factory: 'tests.fixture_models:linear_digits', input_shape: [1, 8, 8], weights: evil.pt, allow_pickle: true}",
    "torch-raw-pickle-opt-in": "{name: m, factory: 'tests.fixture_models:linear_digits', input_shape: [1, 8, 8], weights: evil.pkl, allow_pickle: true}",
    "torchscript": "{name: m, adapter: torchscript, path: evil.pt, input_shape: [1, 8, 8]}",
    "torch-export": "{name: m, adapter: torchscript, path: evil.pt, format: export, input_shape: [1, 8, 8]}",
    "sklearn-joblib": "{name: m, adapter: sklearn, path: evil.joblib}",
    "sklearn-pickle": "{name: m, adapter: sklearn, path: evil.pkl}",
}


@pytest.mark.parametrize("model", CASES.values(), ids=CASES.keys())
def test_payload_is_refused_without_side_effect(hostile: tuple[Path, Path], model: str) -> None:
    folder, sentinel = hostile
    spec = _spec(folder, model)
    code, _, err = cli("run", spec, "--out", folder / "out")
    assert code in (1, 2), err
    assert len(error_lines(err)) == 1, err
    assert not sentinel.exists(), "the pickle payload ran"


def test_payload_runs_only_where_the_user_opted_in_explicitly(hostile: tuple[Path, Path]) -> None:
    """sklearn with allow_pickle: true is the documented, explicit opt-in: the payload runs.
    This proves the sentinel detects execution (the refusals above are not vacuous)."""
    folder, sentinel = hostile
    spec = _spec(folder, "{name: m, adapter: sklearn, path: evil.joblib, allow_pickle: true}")
    main(["run", str(spec), "--out", str(folder / "out")])
    assert sentinel.exists()


def test_weights_only_is_never_dropped(
    hostile: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict] = []
    real = torch.load

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    folder, sentinel = hostile
    cli("run", _spec(folder, CASES["torch-pickle-opt-in"]), "--out", folder / "out")
    assert calls and all(c.get("weights_only") is True for c in calls)
    assert not sentinel.exists()
