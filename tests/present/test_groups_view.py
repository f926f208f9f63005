"""`harness groups` as text: each group's numbers in its table, the disparities on one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import harness
from harness.cli.main import main
from tests.fixture_models import linear_tabular


def test_a_group_named_star_is_a_group_not_a_disparity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Disparity rows carry the group `*`, and the text view took every row of group `*` for
    one: a star-rating column (`*`, `**`) lost its `*` group from the table and printed its
    accuracy, ECE and rates on the "across groups" line as if they were disparities."""
    frame = pd.DataFrame({"a": np.linspace(-1.0, 1.0, 40), "label": [0, 1] * 20})
    stars = ["*", "**"] * 20
    result = harness.evaluate(
        linear_tabular(features=1),
        data=frame,
        groups={"stars": stars},
        suites={"fairness": {}},
        device="cpu",
        bootstrap_resamples=0,
    )
    result.save(tmp_path / "results")
    capsys.readouterr()
    assert main(["groups", str(tmp_path / "results"), "--width", "0"]) == 0
    out = capsys.readouterr().out
    table = [line.split() for line in out.splitlines()]
    assert ["*", "20"] in [row[:2] for row in table], out
    assert ["**", "20"] in [row[:2] for row in table], out
    (across,) = [line for line in out.splitlines() if line.startswith("across groups:")]
    assert " acc " not in across and "selection_rate" not in across, across
    assert "demographic_parity_difference" in across, across


def test_a_group_interval_with_width_never_prints_its_ends_alike() -> None:
    """A group of 50,000 samples all right: Wilson's (0.99992, 1.0) printed
    "1.000 [1.000, 1.000]" in `harness groups`, as it did on the leaderboard."""
    from harness.present.groups_view import _row_cell

    row = {"metric": "acc", "value": 1.0, "ci_lo": 0.9999232, "ci_hi": 1.0, "n": 5, "flag": False}
    assert _row_cell({**row, "group_n": 5}) == "1.0000 [0.9999, 1.0000]"
    wide = {**row, "value": 0.9, "ci_lo": 0.88, "ci_hi": 0.92, "group_n": 5}
    assert _row_cell(wide) == "0.900 [0.880, 0.920]"
