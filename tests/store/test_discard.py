"""A run refused before its first result (no Ray cluster at --address, a full disk) leaves the
results folder as it found it: the folders it made are removed, what was there is kept."""

from __future__ import annotations

from pathlib import Path

from harness.store.run_store import RunStore


def test_a_refused_run_removes_the_folders_it_made(tmp_path: Path) -> None:
    out = tmp_path / "new" / "results"
    store = RunStore.open_for_writing(out, "r1")
    assert store.run_dir.is_dir()
    assert store.discard_if_unused()
    assert not out.exists()  # the run folder, `runs/` and the results folder it made
    assert (tmp_path / "new").is_dir()  # made by mkdir(parents=True) too, but kept: not ours


def test_a_refused_run_keeps_what_was_there(tmp_path: Path) -> None:
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    first = RunStore.open_for_writing(out, "r1")
    assert first.discard_if_unused()
    assert out.is_dir() and (out / "notes.txt").read_text() == "mine"
    assert not (out / "runs").exists()  # `runs/` was this run's
    (out / "runs" / "other-run").mkdir(parents=True)
    second = RunStore.open_for_writing(out, "r2")
    assert second.discard_if_unused()
    assert (out / "runs" / "other-run").is_dir() and not second.run_dir.exists()


def test_a_run_with_a_published_job_is_not_discarded(tmp_path: Path) -> None:
    out = tmp_path / "results"
    store = RunStore.open_for_writing(out, "r1")
    (store.jobs_dir / "m--t--accuracy--0123456789ab").mkdir()
    assert not store.discard_if_unused()
    assert store.run_dir.is_dir()


def test_a_run_into_a_folder_with_a_damaged_manifest_says_how_to_go_on(tmp_path: Path) -> None:
    """`harness run` into its own run folder whose manifest.json was cut or edited said only
    "it was damaged": the run cannot fix it by rerunning, and deleting the manifest is what
    lets a rerun reuse the whole job folders (their keys are checked, not the manifest's)."""
    import pytest

    from harness.core.errors import ResultsError

    store = RunStore.open_for_writing(tmp_path, "r1")
    (store.run_dir / "manifest.json").write_text('{"run_id": "r1", ')
    with pytest.raises(ResultsError) as refused:
        RunStore.open_for_writing(tmp_path, "r1")
    line = str(refused.value)
    assert "manifest.json is not valid JSON" in line
    assert "delete it (or restore it) and rerun" in line and "choose another --out" in line
    assert (store.run_dir / "manifest.json").exists()  # refused, untouched
