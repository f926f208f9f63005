"""`harness.check` and `harness.report`: the CLI's gate and report from Python, on synthetic
stored runs (tests/present/synthetic.py); the commands print what these functions return."""

from __future__ import annotations

from pathlib import Path

import pytest

import harness
from harness.cli.main import main
from harness.core.errors import HarnessError, ResultsError
from harness.run.api_gate import ROW_COLUMNS
from tests.present.synthetic import write_synthetic_run


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    base = write_synthetic_run(tmp_path / "base", models={"good-model": 0.9}, seed=0)
    worse = write_synthetic_run(tmp_path / "cur", models={"good-model": 0.55}, seed=1)
    return base, worse


def test_check_gives_the_verdict_and_rows_the_command_exits_with(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, worse = runs
    same = harness.check(base, base)
    assert same.passed and same.exit_code == 0 and not same.failures
    gate = harness.check(base, worse)
    assert not gate.passed and gate.exit_code == 1
    frame = gate.frame()
    assert list(frame.columns) == list(ROW_COLUMNS) and len(frame) == len(gate.report.rows)
    top1 = frame[(frame["metric"] == "top1_acc") & (frame["model"] == "good-model")].iloc[0]
    assert top1["status"] == "fail" and top1["delta"] < -0.2
    assert top1["p_adjusted"] < 0.05 and top1["test"]
    assert ("good-model", "top1_acc") in {(r.model, r.metric) for r in gate.failures}
    assert gate.method.startswith("a metric fails") and gate.power
    assert main(["check", "--baseline", str(base), "--current", str(worse)]) == gate.exit_code
    assert main(["check", "--baseline", str(base), "--current", str(base)]) == 0


def test_check_refuses_what_the_command_refuses(tmp_path: Path, runs: tuple[Path, Path]) -> None:
    with pytest.raises(ResultsError, match="does not exist"):
        harness.check(runs[0], tmp_path / "nowhere")


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_report_writes_the_site_and_says_where(runs: tuple[Path, Path], tmp_path: Path) -> None:
    site = harness.report(runs[0], tmp_path / "site")
    assert site.index == tmp_path / "site" / "index.html" and site.index.is_file()
    assert site.summary == tmp_path / "site" / "summary.md" and site.summary.is_file()
    assert "good-model" in site.index.read_text()


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_report_refuses_what_the_command_refuses_in_one_line(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    """The CLI checks --out before it calls `harness.report`; from Python, an `out` that is a
    file (or /dev/full, or under a file) raised FileExistsError, and a `compare` pair that is
    not two names or a `site_url` that is not text raised ValueError / TypeError."""
    afile = tmp_path / "a-file"
    afile.write_text("keep me\n")
    for out in (afile, afile / "site", Path("/dev/full")):
        with pytest.raises(HarnessError, match=f"report folder {out}: .*not a folder") as err:
            harness.report(runs[0], out)
        assert "\n" not in str(err.value)
    assert afile.read_text() == "keep me\n"
    bad: list[dict[str, object]] = [
        {"compare": [("good-model",)]},
        {"compare": "ab"},
        {"compare": [("good-model", "other", "third")]},
        {"compare": [("good-model", 3)]},
        {"site_url": 5},
    ]
    for options in bad:
        with pytest.raises(HarnessError, match=r"^(compare|site_url): ") as err:
            harness.report(runs[0], tmp_path / "site", **options)
        assert "\n" not in str(err.value), options
    assert not (tmp_path / "site").exists()
