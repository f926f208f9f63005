"""What a board says beside its numbers reaches every output: the board's notes in JSON (`notes`)
and CSV (a `notes` column), undefined effective robustness as undefined with its reason (never
"not measured") on the leaderboard and in the report, a failed job's cells as failed in the
report, and configured OOD sets / shifted tasks that gave no results as a board note."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from html import unescape
from pathlib import Path

import numpy as np
import pytest

from harness.cli.main import main
from tests.present.shift_run import TASK, write_shift_run
from tests.present.synthetic import FAILED_MESSAGE
from tests.suites.shift.test_cross_model import _ones

NOT_APPLY = f"OOD set 'diabetes' (tabular) does not apply to image task '{TASK}'"
KEY = "effective_robustness[shifted=sh]"


def _outcomes() -> dict[str, dict[str, np.ndarray]]:
    # cnn and cnn-adv are right on every clean sample: mlp's testbed (the two) has no line.
    # Corruption cells without an mce_baseline: the board notes that there is no mCE.
    def model(clean: int, shifted: int, fog: int) -> dict[str, np.ndarray]:
        return {
            "clean": _ones(40, clean),
            "corruption=fog/severity=1": _ones(40, fog),
            "shifted=sh": _ones(40, shifted),
            "ood=uniform_noise": _ones(40),
        }

    return {"cnn": model(0, 12, 5), "cnn-adv": model(0, 15, 4), "mlp": model(3, 6, 9)}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    config = {
        "ood_sets": ["diabetes", {"generated": "uniform_noise", "n": 40}],
        "shifted_tasks": [{"name": "sh", "source": "./sh"}],
    }
    notes = {m: [NOT_APPLY] for m in _outcomes()}
    write_shift_run(tmp_path / "res", _outcomes(), config=config, notes=notes)
    return tmp_path / "res"


def _out(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_json_and_csv_carry_the_boards_notes(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = _out(capsys, "leaderboard", str(results), "--width", "0")
    board_notes = [
        line.removeprefix("note: ") for line in table.splitlines() if line.startswith("note: ")
    ]
    assert any("no mCE" in n for n in board_notes)
    rows = json.loads(_out(capsys, "leaderboard", str(results), "--format", "json"))
    assert rows and all(r["notes"] == board_notes for r in rows)
    text = _out(capsys, "leaderboard", str(results), "--format", "csv")
    read = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(read) == 3 and list(read[0])[-1] == "notes"  # still one table: a row per model
    assert all(r["notes"].split("\n") == board_notes for r in read)


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_the_wrong_modality_ood_set_is_named_on_the_board_and_in_the_report(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    md = _out(capsys, "leaderboard", str(results), "--format", "md")
    expected = (
        f"suites.shift.ood_sets: 'diabetes' has no results on this board (every model): {NOT_APPLY}"
    )
    assert expected in md.replace("\\", "")
    _out(capsys, "report", str(results), "--out", str(tmp_path / "site"))
    page = unescape(
        (
            tmp_path / "site" / next(p.name for p in (tmp_path / "site").glob("task-*.html"))
        ).read_text()
    )
    assert expected in page
    # nothing is invented: no column for the set that did not run
    assert "ood=diabetes" not in md and "ood=diabetes" not in page


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_undefined_effective_robustness_is_undefined_with_its_reason_everywhere(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    why = "undefined: the testbed's clean accuracies are all equal (cnn 1.000, cnn-adv 1.000)"
    rows = {
        r["model"]: r
        for r in json.loads(_out(capsys, "leaderboard", str(results), "--format", "json"))
    }
    assert rows["mlp"][KEY] is None and rows["mlp"][f"{KEY}_note"].startswith(why)
    table = _out(capsys, "leaderboard", str(results), "--width", "0")
    mlp = next(line for line in table.splitlines() if " mlp " in line)
    mark = re.search(r"undefined (†\d+)\s*$", mlp)
    assert mark is not None and f"{mark.group(1)} {why}" in table
    _out(capsys, "report", str(results), "--out", str(tmp_path / "site"))
    page = (
        tmp_path / "site" / next(p.name for p in (tmp_path / "site").glob("task-*.html"))
    ).read_text()
    text = unescape(re.sub(r"<[^>]+>", " ", page))
    assert "not measured" not in text
    assert why in text


def test_a_failed_jobs_cells_in_the_report_say_failed_not_not_measured(
    synthetic_site: Path,
) -> None:
    # The synthetic run's first model's fairness job failed; its board cells said "not measured".
    page = next(p for p in synthetic_site.glob("task-*.html")).read_text()
    start = page.index("Every headline metric, by suite")
    fairness = page[page.index(">fairness<", start) :]
    fairness = fairness[: fairness.index("</table>")]
    row = next(r for r in fairness.split("<tr>") if ">good-model<" in r)
    assert "not measured" not in row and ">failed" in row
    assert unescape(FAILED_MESSAGE.splitlines()[0]) in unescape(page)


def test_partial_results_say_so_in_json_and_csv_too(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/reliability.md: the first note names the missing jobs "in terminal, Markdown, CSV
    # and JSON boards"; JSON and CSV had only the title's [PARTIAL].
    shutil.rmtree(next((results / "runs").glob("*/jobs/mlp--*")))
    args = ("leaderboard", str(results), "--allow-partial")
    rows = json.loads(_out(capsys, *args, "--format", "json"))
    assert rows and all(r["notes"][0].startswith("PARTIAL results") for r in rows)
    read = list(csv.DictReader(io.StringIO(_out(capsys, *args, "--format", "csv"), newline="")))
    assert read and all(r["notes"].startswith("PARTIAL results") for r in read)


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_a_board_without_headline_columns_keeps_its_notes_in_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shift job that scored no OOD set (none of its configured detectors runs on the
    model: `detectors: [knn]` on a callable) has no headline column: the terminal board showed
    the model and the note on why, the report's task page only the model."""
    why = "OOD sets not run: none of the configured OOD detectors runs on this model (knn: no features)"
    results = write_shift_run(
        tmp_path / "res",
        {"a": {"clean": _ones(40)}},
        config={"ood_sets": [{"generated": "uniform_noise", "n": 40}]},
        notes={"a": [why]},
    )
    expected = (
        f"suites.shift.ood_sets: 'uniform_noise' has no results on this board (every model): {why}"
    )
    assert expected in _out(capsys, "leaderboard", str(results), "--width", "0")
    _out(capsys, "report", str(results), "--out", str(tmp_path / "site"))
    site = tmp_path / "site"
    page = unescape(next(site.glob("task-*.html")).read_text())
    assert expected in page
