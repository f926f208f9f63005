"""The quickstart as `make demo` runs it, once per test session, in a folder of its own.

`make demo` runs `harness run` in the repository root; here the same command runs in a temporary
folder whose `results/baselines` links to the repository's committed baselines, so the README's
commands (which say `results/...`) work there exactly as they do in a checkout.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from harness.cli.main import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `harness run` (the Makefile's demo recipe) has run the quickstart."""
    folder = tmp_path_factory.mktemp("demo")
    (folder / "results").mkdir()
    (folder / "results" / "baselines").symlink_to(REPO / "results" / "baselines")
    with contextlib.chdir(folder):
        assert main(["run"]) == 0
    return folder
