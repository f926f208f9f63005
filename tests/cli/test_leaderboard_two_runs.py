"""A results folder with two runs of the same models: the board says which run it shows and
which results it leaves out (it used to show the latest silently)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from tests.conftest import TINY_SPEC


def test_the_board_names_the_run_it_shows(
    weights_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    for name, text in [
        ("a.yaml", TINY_SPEC),
        # other results of the same models on the same samples (the seed would draw another
        # `limit` subset: another task fingerprint, another board)
        ("b.yaml", TINY_SPEC.replace("bootstrap_resamples: 200", "bootstrap_resamples: 300")),
        ("c.yaml", TINY_SPEC.replace("name: tiny", "name: again")),  # same keys as a: copies
    ]:
        (weights_dir / name).write_text(text)
        assert main(["run", str(weights_dir / name), "--out", str(out)]) == 0
    runs = {
        p.name.split("-")[0] + ("300" if "resamples: 300" in _spec(p) else ""): p.name
        for p in (out / "runs").iterdir()
    }
    capsys.readouterr()
    assert main(["leaderboard", str(out), "--width", "0"]) == 0  # notes on one line each
    text = capsys.readouterr().out
    notes = [ln for ln in text.splitlines() if "not shown" in ln]
    assert len(notes) == 2  # lin-a and lin-b
    # the latest computed results (300 resamples) are shown; run c reused run a's: both are named
    hidden = ", ".join(sorted([runs["again"], runs["tiny"]]))
    for note in notes:
        assert f"shown from run {runs['tiny300']} (the latest)" in note
        assert f"in run(s) {hidden} are not shown" in note
    assert main(["leaderboard", str(out / "runs" / runs["tiny"])]) == 0
    assert "not shown" not in capsys.readouterr().out


def _spec(run: Path) -> str:
    return (run / "spec.yaml").read_text()
