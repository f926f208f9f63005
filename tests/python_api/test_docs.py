"""docs/python-api.md runs as written: its Python blocks in order in one namespace, then its
`harness ...` command lines, in an empty folder (in the slow set, which CI runs)."""

from __future__ import annotations

import contextlib
import re
import shlex
from pathlib import Path

import pytest

from harness.cli.main import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "python-api.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_page_has_examples() -> None:
    assert len(_blocks("python")) >= 5 and _blocks("bash")


@pytest.mark.slow  # 28 s: three adversarial evaluations of 797 images, as the page shows them
def test_python_api_page_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    namespace: dict[str, object] = {"__name__": "python_api_doc"}
    with contextlib.chdir(tmp_path):
        for i, block in enumerate(_blocks("python")):
            exec(compile(block, f"{DOC.name}[python block {i}]", "exec"), namespace)  # noqa: S102
        for block in _blocks("bash"):
            for line in block.strip().splitlines():
                assert line.startswith("harness "), line
                code = main(shlex.split(line)[1:])
                assert code == 0, f"{line!r} exited {code}: {capsys.readouterr().err[-2000:]}"
    out = capsys.readouterr().out
    assert "digits-linear" in out
