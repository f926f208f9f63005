"""One rule for the report's ★: the headline boards (index and task pages) and the task page's
per-suite boards star the same cells, and every page that shows a ★ states that rule.

The per-suite boards starred every rank-1 model of their rank column: the only model of a task
("best" of one) and every model of a column where none is significantly apart, cells the
headline board on the same page leaves unstarred (the quickstart's mnist-seen and diabetes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.analysis.headline import headline_board, read_outcomes
from harness.analysis.leaderboard import build_boards
from harness.present.cell_view import STAR_RULE
from harness.present.headline_view import headline_view
from harness.present.metric_names import MetricWords
from harness.present.report_views import board_view
from harness.run.suite_boards import installed_suite_boards
from tests.present.synthetic import write_synthetic_run


def _stars(results: Path) -> tuple[set[str], set[str], list[str]]:
    """(models starred on the rank column of the per-suite board, models starred in the
    headline column of that metric, the board's rank column keys)."""
    board_stars: set[str] = set()
    head_stars: set[str] = set()
    keys = []
    for board in build_boards(results, suite_boards=installed_suite_boards()):
        if board.rank_metric is None:
            continue
        keys.append(board.rank_metric)
        view = board_view(board, MetricWords({}), [board.rank_metric])
        board_stars |= {r.model.text for r in view.rows if r.cells[0].best}
        head = headline_board(board, read_outcomes(results))
        hv = headline_view(head)
        for i in range(len(head.columns)):
            if any(
                r.cells[i].record is not None and r.cells[i].record.key == board.rank_metric
                for r in head.rows
            ):
                head_stars |= {r.model.text for r in hv.rows if r.cells[i].best}
    return board_stars, head_stars, keys


@pytest.mark.parametrize(
    "models",
    [{"only": 0.9}, {"a": 0.9, "b": 0.9}, {"a": 0.95, "b": 0.3}],
    ids=["one-model", "tied", "apart"],
)
def test_boards_and_headlines_star_the_same_cells(tmp_path: Path, models: dict[str, float]) -> None:
    write_synthetic_run(tmp_path / "res", models=models)
    board_stars, head_stars, keys = _stars(tmp_path / "res")
    assert keys
    assert board_stars == head_stars
    if len(models) == 1 or len(set(models.values())) == 1:
        assert not board_stars  # one number, or none apart: no best to mark


def test_every_page_with_a_star_states_the_one_rule(synthetic_site: Path) -> None:
    for name in ("index.html", *(p.name for p in synthetic_site.glob("task-*.html"))):
        text = (synthetic_site / name).read_text()
        if "★" in text:
            assert STAR_RULE in text, name
    assert STAR_RULE in (synthetic_site / "summary.md").read_text().replace("\n", " ")
