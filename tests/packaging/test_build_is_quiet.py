"""The project's own packaging builds without warnings or notices: setuptools deprecated
`project.license` as a TOML table (its notice printed three times per install), and an editable
install of the flat layout printed an "Editable installation" notice. Built offline from a copy
of the sources with the environment's setuptools (pyproject.toml asks for >= 77, which reads
the SPDX license string)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "harness", "suites", "adapters", "zoo")
NOISE = ("Warning", "InformationOnly", "deprecated", "!!")


@pytest.mark.parametrize("hook", ["build_wheel", "build_editable"])
def test_build_prints_no_warning(tmp_path: Path, hook: str) -> None:
    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(  # harness/suites etc. stay links to the top-level folders
                REPO / name, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(REPO / name, src / name)
    out_dir = tmp_path / "dist"
    out_dir.mkdir()
    code = f"import setuptools.build_meta as b; print(b.{hook}({str(out_dir)!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=src, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout + done.stderr
    assert not [word for word in NOISE if word in out], out[-3000:]
    wheel = next(out_dir.glob("*.whl"))
    assert wheel.name.startswith("robustness_harness-")
    if hook == "build_wheel":  # one import name: harness (suites, adapters and zoo inside it)
        with zipfile.ZipFile(wheel) as whl:
            names = {n.split("/")[0] for n in whl.namelist()}
            assert {n for n in names if not n.endswith(".dist-info")} == {"harness"}, names
            assert "harness/suites/accuracy.py" in whl.namelist()
            assert "harness/zoo/weights/SHA256SUMS" in whl.namelist()
