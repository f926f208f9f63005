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


def test_harness_report_from_python_names_its_own_arguments(tmp_path: Path) -> None:
    """`harness.report(..., compare=..., site_url=...)` was refused naming the command's flags
    (`--compare a a names one model twice`, `--site-url 'ftp://x' is not ...`)."""
    import harness

    (tmp_path / "results").mkdir()
    for options, says in [
        ({"compare": [("a", "a")]}, "compare a a names one model twice"),
        ({"site_url": "ftp://x"}, "site_url 'ftp://x' is not a plain http(s) URL"),
        ({"site_url": "https://u:pw@x.org"}, "site_url 'https://***@x.org' holds a user name"),
    ]:
        with pytest.raises(harness.HarnessError) as err:
            harness.report(tmp_path / "results", tmp_path / "site", **options)
        assert str(err.value).startswith(says), str(err.value)


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

    pairs = site._pairs([Board()], [Head()], [("a", "b")], "--compare")  # type: ignore[list-item]
    assert pairs == [("t", "b", "a")]
