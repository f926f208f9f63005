"""`harness --version`: harness, torch and Python versions and the device, exit 0; the version
lives in one place (harness/__init__.py, which pyproject.toml reads)."""

from __future__ import annotations

import importlib.metadata
import platform
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch

import harness
from harness.cli.main import main
from tests.torch_blocked import run_without_torch

REPO = Path(__file__).resolve().parents[2]


def test_version_prints_versions_and_device(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"harness {harness.__version__}"
    assert lines[1].startswith(f"torch {torch.__version__} (")
    assert lines[2].startswith(f"Python {platform.python_version()} ")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert re.fullmatch(rf"device: {expected}(:\d+)? \(.+\)", lines[3]), lines[3]


def test_version_is_declared_once() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert importlib.metadata.version("robustness-harness") == harness.__version__


def test_version_without_torch_says_so() -> None:
    done = run_without_torch("--version")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[:2] == [f"harness {harness.__version__}", "torch not installed"]


def test_other_commands_do_not_import_torch_for_the_flag() -> None:
    """The flag's torch import is lazy: building the parser (every command) imports no torch."""
    code = (
        "import sys; from harness.cli.main import build_parser; build_parser(); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
