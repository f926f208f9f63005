"""`harness report --compare A B`: one page per pair of two models, whichever order is asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from harness.present import site
from harness.present.api_report import report
from harness.run.suite_boards import installed_suite_boards


def test_a_model_compared_with_itself_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--compare lr2 lr2` wrote a page comparing a model with itself (every difference 0)."""
    out = tmp_path / "site"
    args = ["report", str(tmp_path / "nothing-read"), "--out", str(out)]
    (tmp_path / "nothing-read").mkdir()
    assert main([*args, "--compare", "lr2", "lr2"]) == 2
    err = capsys.readouterr().err
    assert "--compare lr2 lr2 names one model twice" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())  # nothing written there
    with pytest.raises(Exception, match="names one model twice"):
        report(tmp_path, out, suite_boards=installed_suite_boards(), compare=[("a", "a")])


def test_a_pair_asked_the_other_way_round_is_one_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """The task's leader and runner-up (b, a) are compared anyway; `--compare a b` wrote a
    second, mirrored page of the same two models."""

    class Row:
        def __init__(self, model: str) -> None:
            self.model, self.cells = model, {"x": 1}

    class Board:
        task = "t"
        rows = [Row("b"), Row("a")]

    class Head:
        board = Board()
        rows = [Row("b"), Row("a")]

    pairs = site._pairs([Board()], [Head()], [("a", "b")])  # type: ignore[list-item]
    assert pairs == [("t", "b", "a")]
