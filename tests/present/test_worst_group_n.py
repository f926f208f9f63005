"""A worst-group number says which group it is and that group's n on every page, not only on
the index: its record's n counts every group's samples (177 on diabetes) while the value and
its interval are one group's (34 of 49 under 40). The task page's "every headline metric"
table, the suite page and the model page showed "0.694 [0.555, 0.828] · n=177" alone, an
interval of +-0.14 read as if from 177 samples."""

from __future__ import annotations

from pathlib import Path

from harness.analysis.leaderboard import build_boards
from harness.present.metric_names import MetricWords
from harness.present.report_views import board_view, metric_views
from harness.present.suite_view import _suite_table
from harness.run.suite_boards import installed_suite_boards

QUICKSTART = Path(__file__).resolve().parents[2] / "results" / "baselines" / "quickstart"
KEY = "worst_group_acc[group_by=age_band]"


def test_every_page_names_the_worst_group_and_its_n() -> None:
    boards = installed_suite_boards()
    words = MetricWords.of(boards)
    (board,) = [b for b in build_boards(QUICKSTART, suite_boards=boards) if b.task == "diabetes"]
    view = board_view(board, words)
    at = board.columns.index(KEY)
    row = next(r for r in view.rows if r.model.text == "diabetes-mlp")
    # the n beside the interval says it is every group's (it read "n=177" as if the interval's)
    assert row.cells[at].n == "n=177 in all groups"
    assert "group under 40 (n=49)" in row.cells[at].detail

    table = _suite_table(board, "fairness", words)
    suite_row = next(r for r in table.rows if r.key == KEY)
    model_at = [m.text for m in table.models].index("diabetes-mlp")
    assert "group under 40 (n=49)" in suite_row.cells[model_at].detail
    assert suite_row.cells[model_at].n == "n=177 in all groups"

    _man, job = board.sources[("diabetes-mlp", "fairness")]
    views, _notes = metric_views(job.metrics, "#", {}, words, job=job)
    (worst,) = [v for v in views if v.key == KEY]
    assert "group under 40 (n=49)" in worst.cell.detail
    assert worst.cell.n == "n=177 in all groups"


def test_the_leaderboard_names_the_worst_group_and_its_n() -> None:
    """`harness leaderboard`: the diabetes board's header says n=177 and its worst-group cells
    showed "0.694 [0.555, 0.828]" with no word that the number is 49 samples' (under 40)."""
    from harness.present.leaderboard_view import footnotes

    boards = installed_suite_boards()
    (board,) = [b for b in build_boards(QUICKSTART, suite_boards=boards) if b.task == "diabetes"]
    marks, notes = footnotes(board)
    mark = marks[("diabetes-mlp", KEY)].split()
    said = [n for n in notes if n.split(" ", 1)[0] in mark]
    assert any("group under 40 (n=49)" in n for n in said), said


def test_a_leaderboard_number_without_an_interval_says_so() -> None:
    """The legend says "values: estimate [95% CI]"; peak memory (no interval is computed)
    printed "664.6 †4", its footnote only naming the measure (peak RSS), so the number read
    as one whose interval had been dropped. It now says "(no interval)"."""
    from harness.present.leaderboard_view import board_table

    boards = installed_suite_boards()
    (board,) = [b for b in build_boards(QUICKSTART, suite_boards=boards) if b.task == "diabetes"]
    table = board_table(board)
    key = next(c for c in board.columns if c.startswith("peak_memory_mb"))
    at = table.header.index(key)
    cell = str(table.rows[0][at])
    value = board.rows[0].value(key)  # re-measured whenever the baseline is regenerated
    assert value is not None and cell.startswith(f"{value:.1f} (no interval)"), cell
    top1 = str(table.rows[0][table.header.index("top1_acc")])
    assert "no interval" not in top1


def test_the_leaderboard_json_and_csv_carry_the_worst_groups_own_n() -> None:
    """`harness leaderboard --format json` gave a worst-group column `_n` 177 (every group's
    samples) beside the value and interval of one group of 49, with no field naming that group
    or its n, while the Markdown footnote said "the worst group under 40 (n=49)"."""
    import csv
    import io
    import json

    from harness.present.leaderboard_view import render_csv, render_json

    boards = installed_suite_boards()
    diabetes = [b for b in build_boards(QUICKSTART, suite_boards=boards) if b.task == "diabetes"]
    (row,) = [r for r in json.loads(render_json(diabetes)) if r["model"] == "diabetes-mlp"]
    assert row[f"{KEY}_n"] == 49
    assert row[f"{KEY}_n_all_groups"] == 177
    assert row[f"{KEY}_worst_groups"] == [{"group": "under 40", "n": 49}]
    assert row["top1_acc_n"] == 177 and "top1_acc_n_all_groups" not in row

    (line,) = [r for r in csv.DictReader(io.StringIO(render_csv(diabetes)))
               if r["model"] == "diabetes-mlp"]  # fmt: skip
    assert line[f"{KEY}_n"] == "49" and line[f"{KEY}_n_all_groups"] == "177"
    assert line[f"{KEY}_worst_groups"] == "under 40 (n=49)"


def test_the_python_leaderboard_gives_the_worst_groups_n_as_the_command() -> None:
    """`harness.leaderboard()` built its rows without the board's worst groups: `_n` was None
    and `_worst_groups` [] where `harness leaderboard --format json` says 49 (under 40)."""
    import harness

    frame = harness.leaderboard(QUICKSTART, task="diabetes")
    row = frame[frame["model"] == "diabetes-mlp"].iloc[0]
    assert row[f"{KEY}_n"] == 49 and row[f"{KEY}_n_all_groups"] == 177
    assert row[f"{KEY}_worst_groups"] == [{"group": "under 40", "n": 49}]
