"""The leaderboard marks an accuracy at or below chance in every format, by the rule the report
and the run's end use (`headline.chance_cells`: `chance_level`, `at_or_below`), not a copy."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from harness.analysis.headline import headline_board, read_outcomes
from harness.analysis.leaderboard import build_boards
from harness.core.threat_model import ThreatModel
from harness.present.leaderboard_view import (
    render_csv,
    render_json,
    render_markdown,
    render_table,
)
from harness.run.suite_boards import installed_suite_boards
from tests.present.synthetic import write_synthetic_run

ROBUST = "robust_acc[attack=linf_pgd/eps=0.1,norm=linf]"


def test_every_format_marks_the_cells_the_report_calls_at_chance(tmp_path: Path) -> None:
    """Robust accuracy 0.120 and 0.050 against chance 0.140: the report's header says "all at or
    below chance"; the boards said nothing of it in any format."""
    root = tmp_path / "res"
    write_synthetic_run(
        root, models={"a": 0.33, "b": 0.1}, headline=(ThreatModel(norm="linf", eps=0.1),)
    )
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(root))
    robust = next(c for c in head.columns if c.id == "robust_acc")
    assert robust.at_chance and robust.chance is not None
    chance = f"{robust.chance:.3f}"  # the first ranked model's level (a's)

    table = render_table([board], width=None)
    rows = [line for line in table.splitlines() if line.lstrip().startswith(("1 ", "2 "))]
    assert rows and all("AT OR BELOW CHANCE" in line for line in rows), table
    assert f"at or below chance ({chance}: what always predicting" in table
    markdown = render_markdown([board])
    assert "AT OR BELOW CHANCE" in markdown and f"at or below chance ({chance}" in markdown

    records = json.loads(render_json([board]))
    for row in records:
        assert row[f"{ROBUST}_at_or_below_chance"] is True
        # the synthetic jobs draw their own labels: each cell's chance is its job's own
        assert row[ROBUST] <= row[f"{ROBUST}_chance"] < 1
    by_model = {r["model"]: r for r in records}
    assert by_model["a"]["top1_acc_at_or_below_chance"] is False  # 0.33 clean: above chance
    assert by_model["b"]["top1_acc_at_or_below_chance"] is True

    lines = list(csv.DictReader(io.StringIO(render_csv([board]))))
    assert {r[f"{ROBUST}_at_or_below_chance"] for r in lines} == {"True"}
    assert [float(r[f"{ROBUST}_chance"]) for r in lines] == [r[f"{ROBUST}_chance"] for r in records]
    assert "ece_chance" not in lines[0]  # only accuracies have a chance level

    import harness

    frame = harness.leaderboard(root)  # the Python API's frame says it as the JSON does
    assert frame[f"{ROBUST}_at_or_below_chance"].tolist() == [True, True]


def test_numbers_above_chance_carry_no_mark(tmp_path: Path) -> None:
    root = tmp_path / "res"
    write_synthetic_run(
        root, models={"a": 0.9, "b": 0.88}, headline=(ThreatModel(norm="linf", eps=0.1),)
    )
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    assert "CHANCE" not in render_table([board], width=None)
    for row in json.loads(render_json([board])):
        assert row[f"{ROBUST}_at_or_below_chance"] is False
