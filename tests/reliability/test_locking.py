"""Two runs into one run folder at once: the second is refused naming the holder, or waits."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path

import pytest

from harness.core.errors import ResultsError
from harness.run.lock import RunLock, RunLockedError
from tests.reliability.conftest import (
    assert_no_partial_files,
    bound_child,
    child_stderr,
    fork_run,
    manifest_of,
    multi_spec,
    stalling_spec,
    wait_exit,
    wait_for,
)


def _has_open(pid: int, path: Path) -> bool:
    """Whether process `pid` has `path` open (Linux /proc)."""
    fds = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        return any(os.path.realpath(fd) == os.path.realpath(path) for fd in fds.iterdir())
    return False


def _lock_held(out: Path) -> bool:
    locks = list(out.glob("runs/*/.lock"))
    return bool(locks) and bool(locks[0].read_text())


@pytest.mark.slow  # waits on another process's lock (make test-slow; CI runs it)
def test_second_run_is_refused_then_waits(weights_dir: Path, tmp_path: Path) -> None:
    # the first run holds the lock inside its third job until `hold` is removed: a busy machine
    # cannot let it finish before the others arrive (it once did with a job slowed by sleeps)
    hold = tmp_path / "hold"
    spec = stalling_spec(weights_dir, hold)
    out = tmp_path / "out"
    first = fork_run(spec, out)
    wait_for(lambda: Path(f"{hold}.stalled").exists())
    assert _lock_held(out)
    holder = json.loads(next(out.glob("runs/*/.lock")).read_text())
    assert holder["pid"] == first and holder["host"] and holder["started"]

    refused = fork_run(spec, out)
    assert wait_exit(refused) == 2
    lines = [ln for ln in child_stderr(out, refused).splitlines() if ln.startswith("error:")]
    assert len(lines) == 1
    assert f"is in use by pid {first} on " in lines[0] and "--wait-lock" in lines[0]

    waiter = fork_run(spec, out, "--wait-lock")
    # the waiter has the run's lock file open (its flock polls) while the first run holds it
    wait_for(lambda: _has_open(waiter, next(out.glob("runs/*/.lock"))))
    time.sleep(0.5)  # past its first flock attempt
    hold.unlink()
    assert wait_exit(first) == 0
    assert wait_exit(waiter) == 0
    assert "waiting for the lock on" in child_stderr(out, waiter)
    assert assert_no_partial_files(out) == 6
    manifest = manifest_of(out)
    assert manifest["status"] == "completed"
    # the waiter found all done: finished jobs cached, the fairness jobs on digits (no group
    # columns) skipped as the first run skipped them, none run again
    reused = {(j["task"], j["suite"]): j["status"] for j in manifest["jobs"]}
    assert {
        s for (task, suite), s in reused.items() if suite == "fairness" and task == "digits"
    } == {"skipped"}
    assert {
        s for (task, suite), s in reused.items() if (task, suite) != ("digits", "fairness")
    } == {"cached"}
    assert all(j["seconds"] == 0.0 for j in manifest["jobs"])
    assert [a["status"] for a in manifest["attempts"]] == ["completed", "completed"]


@pytest.mark.slow  # runs in several processes (make test-slow; CI runs it)
def test_different_runs_share_a_results_root(weights_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    a = fork_run(multi_spec(weights_dir, delay=0.05), out)
    other = weights_dir / "other.yaml"
    other.write_text(
        multi_spec(weights_dir, delay=0.05).read_text().replace("name: multi", "name: other")
    )
    b = fork_run(other, out)
    assert wait_exit(a) == 0 and wait_exit(b) == 0
    assert len(list((out / "runs").iterdir())) == 2
    assert assert_no_partial_files(out) == 12


def test_lock_is_released_and_reentrant_across_processes(tmp_path: Path) -> None:
    with RunLock(tmp_path):
        pid = os.fork()
        if pid == 0:
            try:
                bound_child()
                with RunLock(tmp_path):
                    os._exit(1)
            except RunLockedError as err:
                os._exit(0 if f"pid {os.getppid()}" in str(err) else 3)
        assert wait_exit(pid) == 0
    with RunLock(tmp_path):  # released on exit: takes it again at once
        assert (tmp_path / ".lock").read_text()
    assert (tmp_path / ".lock").read_text() == ""


def test_unwritable_lock_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="cannot create lock file"), RunLock(tmp_path / "x"):
        pass


def test_a_failed_run_removes_its_new_folder_before_releasing_the_lock(
    tiny_spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that fails before storing a job removes the run folder it created, still holding
    the lock: a `--wait-lock` run taking the lock in between would otherwise have the files it
    just wrote there removed (the removal ran after the release)."""
    from harness.cli.main import main
    from harness.store.run_store import RunStore

    def no_cluster(self: RunStore, *, dead_only: bool = False) -> list[Path]:
        if dead_only:
            return []
        raise ResultsError("the cluster went away")  # inside the lock, before any job

    seen: list[str] = []
    discard = RunStore.discard_if_unused

    def spy(self: RunStore) -> bool:
        fd = os.open(self.run_dir / ".lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append("free")
            fcntl.flock(fd, fcntl.LOCK_UN)
        except BlockingIOError:
            seen.append("held")
        finally:
            os.close(fd)
        return discard(self)

    monkeypatch.setattr(RunStore, "remove_leftovers", no_cluster)
    monkeypatch.setattr(RunStore, "discard_if_unused", spy)
    out = tmp_path / "out"
    assert main(["run", str(tiny_spec), "--out", str(out)]) == 2
    assert seen == ["held"]
    assert not out.exists()  # the run folder, `runs/` and `out`, all made by this run


def test_a_run_into_a_held_folder_is_refused_before_it_prints_its_plan(
    tiny_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another process holds the run folder: `harness run` printed its plan and worst-case cost
    (`harness: 2 jobs ...`, `  accuracy: ...`) and only then refused, so the log read as a run
    that started. It refuses first, with its one line."""
    import argparse

    from harness.cli.main import main
    from harness.cli.plans import load_plan
    from harness.run.runner import run_id_for

    out = tmp_path / "out"
    run_dir = out / "runs" / run_id_for(load_plan(argparse.Namespace(), tiny_spec))
    run_dir.mkdir(parents=True)
    capsys.readouterr()
    with RunLock(run_dir):
        assert main(["run", str(tiny_spec), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("error: run folder ") and "is in use by" in lines[0], lines
    assert not any(ln.startswith("harness: ") for ln in lines), lines
    assert captured.out == ""
