"""Readers take a run's jobs from its manifest where it names them, as the gate does: for a
model x task x suite the manifest lists, an older folder (a rerun after a suite version moved
leaves the old version's folder beside the new one) or a folder of a job it says failed is not
read; a job it does not name (an earlier invocation with other filters) is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.store.checksums import seal
from harness.store.run_store import load_jobs
from tests.present.synthetic import write_synthetic_run


def _leaderboard(root: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["leaderboard", str(root), "--format", "json"]) == 0
    return capsys.readouterr().out


def test_a_job_folder_the_manifest_does_not_list_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_synthetic_run(tmp_path / "results")
    before = _leaderboard(tmp_path / "results", capsys)
    jobs = sorted(p for p in (run / "jobs").iterdir() if p.is_dir())
    count = len(load_jobs(tmp_path / "results"))
    # an older version's folder of the same model x task x suite, left by a rerun
    shutil.copytree(jobs[0], run / "jobs" / (jobs[0].name[:-12] + "0123456789ab"))
    assert len(load_jobs(tmp_path / "results")) == count
    assert _leaderboard(tmp_path / "results", capsys) == before


def test_a_job_the_manifest_says_failed_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_synthetic_run(tmp_path / "results")
    manifest = json.loads((run / "manifest.json").read_text())
    done = [e for e in manifest["jobs"] if e["status"] != "failed" and e["dir"]]
    gone = done[0]
    gone.update(status="failed", message="failed: out of memory")
    (run / "manifest.json").write_text(json.dumps(seal(manifest)))
    names = {(j.record.model, j.record.task, j.record.suite) for _, j in load_jobs(run)}
    assert (gone["model"], gone["task"], gone["suite"]) not in names
    assert len(names) == len(done) - 1


def test_jobs_of_an_earlier_invocation_with_other_filters_are_still_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_synthetic_run(tmp_path / "results")
    count = len(load_jobs(tmp_path / "results"))
    manifest = json.loads((run / "manifest.json").read_text())
    # the last invocation ran one job (`--models`): the manifest names only it
    first = next(e for e in manifest["jobs"] if e["status"] != "failed" and e["dir"])
    manifest["jobs"] = [first]
    (run / "manifest.json").write_text(json.dumps(seal(manifest)))
    assert len(load_jobs(tmp_path / "results")) == count


def test_a_folder_that_holds_no_job_and_is_not_listed_is_not_a_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_synthetic_run(tmp_path / "results")
    before = _leaderboard(tmp_path / "results", capsys)
    (run / "jobs" / "notes").mkdir()
    assert _leaderboard(tmp_path / "results", capsys) == before
