"""The CSV leaderboard says each column's unit and direction, as the Markdown and JSON do, in
columns of its own: a CSV reader still reads one table with its numbers where they were."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from harness.analysis.leaderboard import build_boards
from harness.present.leaderboard_view import render_csv, render_json
from harness.run.suite_boards import installed_suite_boards
from tests.present.synthetic import write_synthetic_run


def test_csv_carries_units_and_direction_pandas_reads_back(tmp_path: Path) -> None:
    root = tmp_path / "res"
    write_synthetic_run(root, models={"a": 0.9, "b": 0.8})
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    frame = pd.read_csv(io.StringIO(render_csv([board])))
    units = json.loads(render_json([board]))[0]["units"]
    assert units  # the JSON's, which the CSV must agree with
    for key, said in units.items():
        assert set(frame[f"{key}_unit"]) == {said["unit"]}
        assert frame[f"{key}_higher_is_better"].dtype == bool
        assert set(frame[f"{key}_higher_is_better"]) == {said["higher_is_better"]}
    assert not frame["ece_higher_is_better"].any()  # lower is better
    assert frame["top1_acc_higher_is_better"].all()
    # the numbers stay numbers, in their own columns; notes stay the last column
    assert frame["top1_acc"].dtype == float and list(frame.columns)[-1] == "notes"
