"""A problem in a group column (an empty cell) fails only the jobs that read groups: the fairness
job fails with the column's line, the accuracy job on the same task completes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli.main import main


def test_an_empty_group_cell_fails_fairness_not_accuracy(
    write_spec: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = ["a,b,sex,label"] + [
        f"{i % 7},{i % 5},{'' if i == 13 else ['f', 'm'][i % 2]},{i % 2}" for i in range(60)
    ]
    (tmp_path / "people.csv").write_text("\n".join(rows) + "\n")
    spec = write_spec(
        f"""
        name: groups
        device: cpu
        bootstrap_resamples: 0
        tasks:
          - name: people
            source: {tmp_path / "people.csv"}
            modality: tabular
            feature_columns: [a, b]
            group_columns: [sex]
        models:
          - name: lin
            factory: tests.fixture_models:linear_tabular
            factory_args: {{features: 2}}
            input_shape: [2]
        suites:
          accuracy: {{}}
          fairness: {{}}
        """
    )
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    failed = [line for line in err.splitlines() if line.startswith("error: job")]
    assert len(failed) == 1 and "lin × people × fairness" in failed[0]
    assert (
        "group column 'sex' has 1 empty or missing cell(s) in split 'test' (first: row 14 of"
        in (failed[0])
    )
    manifest = json.loads(next(out.glob("runs/*/manifest.json")).read_text())
    status = {j["suite"]: j["status"] for j in manifest["jobs"]}
    assert status == {"accuracy": "completed", "fairness": "failed"}
    # the accuracy job's record says why its table has no `sex` column
    record = json.loads(next(out.glob("runs/*/jobs/*accuracy*/job.json")).read_text())
    assert any("group column 'sex' has 1 empty" in note for note in record["notes"])
