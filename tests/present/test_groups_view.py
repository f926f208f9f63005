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
