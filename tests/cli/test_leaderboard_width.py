"""Terminal leaderboards fit the terminal: wide boards split into column blocks that repeat the
position and model (the rank column, named after the column it ranks on, is shown once); legend
and notes wrap (a quickstart line was 1,013 characters)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from harness.present.tables import Table, split_columns, to_text

SPEC = """
name: wide
device: cpu
limit: 200  # groups large enough for reliable cells (a flagged cell is one wide column)
bootstrap_resamples: 50
tasks: [diabetes]
models: [diabetes-logreg, diabetes-mlp]
suites:
  accuracy: {}
  fairness: {group_by: [sex, age_band]}
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wide")
    (folder / "spec.yaml").write_text(SPEC)
    assert main(["run", str(folder / "spec.yaml"), "--out", str(folder / "out")]) == 0
    return folder / "out"


def _lines(text: str) -> list[str]:
    return text.rstrip("\n").splitlines()


@pytest.mark.parametrize("width", [80, 120])
def test_every_line_fits(results: Path, width: int, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["leaderboard", str(results), "--width", str(width)]) == 0
    lines = _lines(capsys.readouterr().out)
    assert max(len(ln) for ln in lines) <= width
    blocks = [ln for ln in lines if ln.startswith("(column")]
    assert blocks  # the board did not fit whole: it was split
    headers = [ln for ln in lines if ln.lstrip().startswith("#")]
    assert len(headers) == len(blocks) and all("model" in h for h in headers)
    rows = [ln for ln in lines if ln.strip().startswith(("1 ", "2 "))]
    assert len(rows) == 2 * len(blocks)  # both models in every block


def test_no_limit_and_the_environment(
    results: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    capsys.readouterr()
    assert main(["leaderboard", str(results), "--width", "0"]) == 0
    whole = _lines(capsys.readouterr().out)
    assert not any(ln.startswith("(column") for ln in whole)
    assert max(len(ln) for ln in whole) > 200
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["leaderboard", str(results)]) == 0
    assert max(len(ln) for ln in _lines(capsys.readouterr().out)) <= 100


def test_split_columns_keeps_the_leading_columns() -> None:
    table = Table(["#", "model", "a", "b", "c"], [[1, "m", "x" * 10, "y" * 10, "z" * 30]])
    blocks = split_columns(table, 30, keep=2)
    assert [b.header for b in blocks] == [["#", "model", "a", "b"], ["#", "model", "c"]]
    assert all(b.rows[0][:2] == [1, "m"] for b in blocks)
    assert max(len(ln) for ln in to_text(blocks[0]).splitlines()) <= 30
    assert split_columns(table, 1000, keep=2) == [table]
