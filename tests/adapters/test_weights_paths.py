"""What a torch entry's `weights` path names, when it is not a weights file, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.errors import ModelLoadError
from tests.adapters.builders import build

FACTORY = {"factory": "tests.fixture_models:linear_digits", "input_shape": [1, 8, 8]}


def test_a_folder_is_named_a_folder(tmp_path: Path) -> None:
    (tmp_path / "weights").mkdir()
    with pytest.raises(ModelLoadError, match="is a folder, not a weights file") as err:
        build("torch", {**FACTORY, "weights": "weights"}, tmp_path, name="m")
    assert "'m'" in str(err.value) and "not found" not in str(err.value)


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="file not found") as err:
        build("torch", {**FACTORY, "weights": "nope.safetensors"}, tmp_path, name="m")
    assert "nope.safetensors" in str(err.value)
