"""docs/export.md runs as written, on a tiny stored run in an empty folder: its command lines,
then its Python blocks in order (into a copy of an empty MLflow store: $MLFLOW_TRACKING_URI)."""

from __future__ import annotations

import contextlib
import re
import shlex
from pathlib import Path

import pytest

from harness.cli.main import main
from tests.present.synthetic import write_synthetic_run

DOC = Path(__file__).resolve().parents[2] / "docs" / "export.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_export_page_runs(
    tmp_path: Path,
    tracking_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    write_synthetic_run(tmp_path / "results", models={"good-model": 0.9, "other-model": 0.7})
    assert len(_blocks("python")) == 2 and _blocks("bash")
    namespace: dict[str, object] = {"__name__": "export_doc"}
    with contextlib.chdir(tmp_path):
        for block in _blocks("bash"):
            for line in block.strip().splitlines():
                assert line.startswith("harness "), line
                code = main(shlex.split(line)[1:])
                assert code == 0, f"{line!r} exited {code}: {capsys.readouterr().err[-2000:]}"
        for i, block in enumerate(_blocks("python")):
            exec(compile(block, f"{DOC.name}[python block {i}]", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "10 job run(s) logged" in out  # the command line
    assert "0 10 0 0 " + tracking_uri in out  # the Python export again: everything already there
    assert "digits top1_acc None" in out
