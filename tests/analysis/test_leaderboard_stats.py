"""Leaderboard ranks with tie groups, exports and escaping over synthetic runs of every suite."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from harness.analysis.leaderboard import build_boards
from harness.analysis.pareto import pareto_front, standard_views
from harness.cli.main import main
from harness.present.leaderboard_view import render_csv, render_markdown
from harness.run.suite_boards import installed_suite_boards
from tests.present.synthetic import FORMULA, HOSTILE, write_synthetic_run


@pytest.fixture
def results(tmp_path: Path) -> Path:
    write_synthetic_run(tmp_path / "res", flag_model="good-model")
    return tmp_path / "res"


def test_json_rows_have_ranks_and_method(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leaderboard", str(results), "--format", "json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["good-model"]["rank"] == 1 and rows[FORMULA]["rank"] == 1  # 0.85 vs 0.845: tie
    assert rows[HOSTILE]["rank"] == 3
    assert "McNemar" in rows["good-model"]["rank_method"]
    key = "robust_acc[attack=linf_pgd/eps=0.1,norm=linf]"
    assert rows["good-model"][f"{key}_flags"] == ["gradient_masking_suspected"]
    assert rows["good-model"][f"{key}_n"] == 200 and len(rows["good-model"][f"{key}_ci"]) == 2


def test_markdown_table_survives_pipes_and_newlines(results: Path) -> None:
    md = render_markdown(build_boards(results, suite_boards=installed_suite_boards()))
    table = [line for line in md.splitlines() if line.startswith("|")]
    widths = {len(line.replace("\\|", "").split("|")) for line in table}
    assert len(widths) == 1, widths  # every row has the same number of cells
    assert "<script>" not in md


def test_csv_neutralises_formulas(results: Path) -> None:
    rows = list(
        csv.reader(
            io.StringIO(render_csv(build_boards(results, suite_boards=installed_suite_boards())))
        )
    )
    models = [r[3] for r in rows[1:]]
    assert "'" + FORMULA in models and FORMULA not in models


def test_pareto_front_and_views(results: Path) -> None:
    assert pareto_front({"a": (1, 1), "b": (2, 0.5), "c": (0.5, 0.5)}) == ["a", "b"]
    assert pareto_front({"a": (1, 1), "b": (2, 0.5)}, higher_x=False) == ["a"]
    views = standard_views(build_boards(results, suite_boards=installed_suite_boards())[0])
    kinds = {v.x_key.split("[")[0] + "/" + v.y_key.split("[")[0] for v in views}
    assert kinds == {
        "throughput_samples_per_s/top1_acc",
        "top1_acc/robust_acc",
        "top1_acc/mean_corruption_acc",
    }
