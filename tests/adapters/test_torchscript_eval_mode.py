"""TorchScript / torch.export adapters hand suites a module in eval mode (foolbox warns otherwise)."""

from __future__ import annotations

import warnings
from pathlib import Path

import foolbox as fb
import pytest

from tests.adapters.builders import build


@pytest.mark.parametrize("fixture", ["torchscript_path", "export_path"])
def test_module_is_in_eval_mode(fixture: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(fixture)
    adapter = build("torchscript", {"path": str(path), "input_shape": [1, 8, 8]}, path.parent)
    module = adapter.module()
    assert module.training is False
    module.eval()  # torch.export programs refuse .eval(); the wrapper must not pass it on
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fb.PyTorchModel(module, bounds=(0.0, 1.0))
