"""The job cache across run folders: an edited spec reruns only the jobs whose key changed; the
others are copied from the run that computed them, intact and with a note."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.store.run_store import load_jobs, read_job
from tests.conftest import TINY_SPEC


def _manifest(out: Path, run_id: str) -> dict:
    return json.loads((out / "runs" / run_id / "manifest.json").read_text())


def _run_ids(out: Path) -> set[str]:
    return {p.name for p in (out / "runs").iterdir()}


def test_an_edited_spec_reruns_only_what_changed(
    weights_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    first = weights_dir / "first.yaml"
    first.write_text(TINY_SPEC)
    assert main(["run", str(first), "--out", str(out), "--width", "0"]) == 0
    (first_id,) = _run_ids(out)
    # edit one model: lin-b gets lin-a's weights; lin-a is untouched
    edited = weights_dir / "edited.yaml"
    edited.write_text(
        TINY_SPEC.replace("weights: linear1.safetensors", "weights: linear.safetensors")
    )
    capsys.readouterr()
    assert main(["run", str(edited), "--out", str(out), "--width", "0"]) == 0
    err = capsys.readouterr().err
    (second_id,) = _run_ids(out) - {first_id}
    jobs = {j["model"]: j for j in _manifest(out, second_id)["jobs"]}
    assert jobs["lin-a"]["status"] == "cached"
    assert jobs["lin-a"]["message"] == f"reused the results of run {first_id} (same key; not rerun)"
    assert f"lin-a × digits × accuracy ... cached: reused the results of run {first_id}" in err
    assert jobs["lin-b"]["status"] == "completed"
    old = read_job(out / "runs" / first_id / "jobs" / jobs["lin-a"]["dir"])
    new = read_job(out / "runs" / second_id / "jobs" / jobs["lin-a"]["dir"])
    assert new.record.key == old.record.key
    assert new.record.run_id == second_id
    assert new.record.reused_from == f"{first_id}/{jobs['lin-a']['dir']}"
    assert new.table().frame.equals(old.table().frame)
    # the new run folder stands on its own
    shutil.rmtree(out / "runs" / first_id)
    assert {j.record.model for _, j in load_jobs(out)} == {"lin-a", "lin-b"}
    assert main(["leaderboard", str(out)]) == 0


def test_a_damaged_or_different_job_is_not_reused(weights_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = weights_dir / "first.yaml"
    first.write_text(TINY_SPEC)
    assert main(["run", str(first), "--out", str(out), "--width", "0"]) == 0
    (first_id,) = _run_ids(out)
    for table in (out / "runs" / first_id / "jobs").glob("lin-a--*/samples.parquet"):
        data = bytearray(table.read_bytes())
        data[len(data) // 2] ^= 0xFF
        table.write_bytes(bytes(data))
    # a different seed changes every key: nothing is reused; a damaged copy never is
    reseeded = weights_dir / "reseeded.yaml"
    reseeded.write_text(TINY_SPEC.replace("seed: 3", "seed: 4"))
    assert main(["run", str(reseeded), "--out", str(out)]) == 0
    renamed = weights_dir / "renamed.yaml"
    renamed.write_text(TINY_SPEC.replace("name: tiny", "name: tiny2"))
    assert main(["run", str(renamed), "--out", str(out)]) == 0
    ids = _run_ids(out)
    assert len(ids) == 3
    for run_id in ids - {first_id}:
        jobs = {j["model"]: j for j in _manifest(out, run_id)["jobs"]}
        assert jobs["lin-a"]["status"] == "completed", run_id  # damaged source: recomputed
    renamed_id = next(i for i in ids if i.startswith("tiny2-"))
    jobs = {j["model"]: j for j in _manifest(out, renamed_id)["jobs"]}
    assert jobs["lin-b"]["status"] == "cached"  # same key, intact: reused
