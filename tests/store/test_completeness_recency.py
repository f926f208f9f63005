"""A gap in the latest run is not covered by an older run's result of the same job: the boards
would show the older number as the current one (the recency rule, harness/store/recency.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.core.manifest import RunManifest
from harness.store.checksums import seal
from harness.store.completeness import completeness
from harness.store.record_file import read_record
from harness.store.run_store import load_jobs
from tests.present.synthetic import write_synthetic_run
from tests.reliability.hostile.corpus import cli, one_error_line


def _later(run: Path) -> Path:
    """The run as made a month after the synthetic runs' fixed time."""
    path = run / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["created"] = "2026-02-01T00:00:00+00:00"
    for attempt in manifest.get("attempts") or []:
        attempt["started"] = "2026-02-01T00:00:00+00:00"
    path.write_text(json.dumps(seal(manifest)))
    return run


def _job_folder(run: Path, model: str, suite: str) -> Path:
    manifest = read_record(run / "manifest.json", RunManifest)
    entry = next(e for e in manifest.jobs if e.names[0] == model and e.names[2] == suite)
    return run / "jobs" / (entry.dir or "")


def test_a_job_deleted_from_the_latest_run_is_missing_though_an_older_run_has_it(
    tmp_path: Path,
) -> None:
    root = tmp_path / "results"
    write_synthetic_run(root, run_id="old-1", models={"m1": 0.9, "m2": 0.8})
    new = _later(write_synthetic_run(root, run_id="new-2", models={"m1": 0.5, "m2": 0.8}))
    shutil.rmtree(_job_folder(new, "m1", "accuracy"))
    gaps = completeness(root, load_jobs(root))
    assert [(m.run, m.model, m.suite) for m in gaps.missing] == [("new-2", "m1", "accuracy")]
    code, out, err = cli("leaderboard", root, "--width", "0")
    assert code == 2 and out == "", out
    assert "m1 × digits × accuracy (its job folder" in one_error_line(err)
    code, out, _ = cli("leaderboard", root, "--allow-partial", "--width", "0")
    assert code == 0 and "PARTIAL" in out


def test_a_board_showing_an_older_result_of_a_job_missing_since_says_so(tmp_path: Path) -> None:
    """m1's accuracy job deleted from the latest run (or the run killed before it), published
    with --allow-partial: the board showed m1's earlier top1_acc 0.9 (ranked first) with only
    `PARTIAL ... 1 job(s) missing: m1 x digits x accuracy`, as if it were the latest number; a
    failed job says its numbers are from an earlier run, a missing one now does too."""
    root = tmp_path / "results"
    write_synthetic_run(root, run_id="old-1", models={"m1": 0.9, "m2": 0.8})
    new = _later(write_synthetic_run(root, run_id="new-2", models={"m1": 0.5, "m2": 0.8}))
    shutil.rmtree(_job_folder(new, "m1", "accuracy"))
    code, out, err = cli("leaderboard", root, "--allow-partial", "--format", "json")
    assert code == 0, err
    notes = json.loads(out)[0]["notes"]
    said = [n for n in notes if n.startswith("m1: suite accuracy has no result in the latest run")]
    assert len(said) == 1 and said[0].endswith("its numbers here are from an earlier run"), notes
    assert "new-2" in said[0]
    assert not any(n.startswith("m2: suite") for n in notes)


def test_a_job_deleted_from_an_older_run_is_covered_by_the_latest(tmp_path: Path) -> None:
    root = tmp_path / "results"
    old = write_synthetic_run(root, run_id="old-1", models={"m1": 0.9, "m2": 0.8})
    _later(write_synthetic_run(root, run_id="new-2", models={"m1": 0.5, "m2": 0.8}))
    shutil.rmtree(_job_folder(old, "m1", "accuracy"))
    assert completeness(root, load_jobs(root)).whole


def test_a_board_showing_an_older_result_of_a_job_that_failed_since_says_so(
    tmp_path: Path,
) -> None:
    """m1's fairness job completed in an earlier run and failed in the latest one: the board
    shows the earlier numbers (nothing newer exists) and says they are not the latest run's."""
    root = tmp_path / "results"
    write_synthetic_run(root, run_id="old-1", models={"m1": 0.9, "m2": 0.8})
    _later(write_synthetic_run(root, run_id="new-2", models={"m1": 0.9, "m2": 0.8}, extras=True))
    code, out, err = cli("leaderboard", root, "--format", "json")
    assert code == 0, err
    assert (
        "m1: suite fairness failed in the latest run that ran it (RuntimeError: synthetic "
        "failure <b>bold</b>); its numbers here are from an earlier run"
    ) in json.loads(out)[0]["notes"]


def test_the_summary_says_which_numbers_are_from_an_earlier_run(tmp_path: Path) -> None:
    """The boards say when a failed newest job leaves an earlier run's numbers standing; the PR
    summary (`summary.md`) and the run's end showed those numbers without the word."""
    from harness.analysis.headline import headline_board, read_outcomes
    from harness.analysis.leaderboard import build_boards
    from harness.present.headline_view import headline_view
    from harness.present.run_end_view import run_end_text
    from harness.present.summary import summary_markdown
    from harness.run.suite_boards import installed_suite_boards

    root = tmp_path / "results"
    write_synthetic_run(root, run_id="old-1", models={"m1": 0.9, "m2": 0.8})
    _later(write_synthetic_run(root, run_id="new-2", models={"m1": 0.9, "m2": 0.8}, extras=True))
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(root))
    said = "m1: suite fairness failed in the latest run that ran it"
    assert said in "\n".join(headline_view(head).earlier)
    summary = summary_markdown([head])
    line = next(ln for ln in summary.splitlines() if said in ln)
    assert line.startswith("> note: ") and line.endswith("its numbers here are from an earlier run")
    end = run_end_text([head], run_dir=str(root), width=None)
    assert said in end and "from an earlier run" in end


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_the_reports_front_page_says_which_numbers_are_from_an_earlier_run(
    tmp_path: Path,
) -> None:
    """index.html shows the headline boards but none of their notes: an earlier run's numbers
    stood there as the latest run's. The task page says it once (its board notes)."""
    root = tmp_path / "results"
    write_synthetic_run(root, run_id="old-1", models={"m1": 0.9, "m2": 0.8})
    _later(write_synthetic_run(root, run_id="new-2", models={"m1": 0.9, "m2": 0.8}, extras=True))
    site = tmp_path / "site"
    code, _, err = cli("report", root, "--out", site)
    assert code == 0, err
    said = "m1: suite fairness failed in the latest run that ran it"
    index = (site / "index.html").read_text()
    assert said in index and "its numbers here are from an earlier run" in index
    (task_page,) = [p for p in site.glob("task-*.html")] or [None]
    assert task_page is not None
    assert task_page.read_text().count(said) == 1


def test_a_killed_rerun_names_the_jobs_it_did_not_reach_though_folders_of_them_exist(
    tmp_path: Path,
) -> None:
    """A rerun of the same spec into the same folder (a model's code edited, so new job keys)
    killed after its first job: the folders of the other jobs are the earlier invocation's,
    never checked by this one (their key may have changed). The readers said only "run not
    finished" and, with --allow-partial, showed a row that mixed the new accuracy with the
    old code's other numbers without naming which were not rerun."""
    root = tmp_path / "results"
    run = write_synthetic_run(root, run_id="same-1", models={"m1": 0.9, "m2": 0.8})
    path = run / "manifest.json"
    manifest = json.loads(path.read_text())
    rerun = "2026-02-01T00:00:00+00:00"  # after every job folder was written
    manifest["attempts"] = [*manifest.get("attempts", []), {"executor": "local", "started": rerun}]
    manifest["status"] = "interrupted"
    manifest["interrupted_by"] = "SIGKILL"
    manifest["planned"] = [{k: e[k] for k in ("model", "task", "suite")} for e in manifest["jobs"]]
    first = next(e for e in manifest["jobs"] if e["model"] == "m2" and e["suite"] == "accuracy")
    manifest["jobs"] = [first]  # the one job the rerun reached (cached: same key)
    path.write_text(json.dumps(seal(manifest)))
    gaps = completeness(root, load_jobs(root))
    named = {(m.model, m.suite) for m in gaps.missing}
    planned = {(p["model"], p["suite"]) for p in manifest["planned"]}
    assert named == planned - {("m2", "accuracy")}
    assert all("the stored result is an earlier invocation's" in m.why for m in gaps.missing), (
        gaps.missing
    )
    code, out, err = cli("leaderboard", root, "--width", "0")
    assert code == 2 and out == "", out
    assert "m1 × digits × accuracy (not rerun before the run stopped" in one_error_line(err)
