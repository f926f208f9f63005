"""SIGTERM and SIGINT mid-run: finished jobs kept, manifest says interrupted by which signal,
exit code 143 / 130, and a rerun resumes (finished jobs cached)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from harness.store.run_store import load_jobs
from tests.reliability.conftest import (
    assert_no_partial_files,
    child_stderr,
    fork_run,
    manifest_of,
    multi_spec,
    wait_exit,
    wait_for,
)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_run_and_records_it(
    weights_dir: Path, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    spec = multi_spec(weights_dir, delay=0.3)  # ~2 s per digits job: the signal lands mid-job
    out = tmp_path / "out"
    pid = fork_run(spec, out)
    wait_for(lambda: any(p.name[0] != "." for p in out.glob("runs/*/jobs/*")))
    os.kill(pid, sig)
    assert wait_exit(pid) == code
    stderr = child_stderr(out, pid)
    assert f"error: run interrupted by {sig.name}; rerun the same command to resume" in stderr
    manifest = manifest_of(out)
    assert manifest["status"] == "interrupted"
    assert manifest["interrupted_by"] == sig.name
    assert manifest["attempts"][-1]["status"] == "interrupted"
    kept = assert_no_partial_files(out)
    assert 1 <= kept < 6
    assert len(manifest["jobs"]) == kept

    pid = fork_run(spec, out)
    assert wait_exit(pid) == 0
    final = manifest_of(out)
    assert final["status"] == "completed" and "interrupted_by" not in final
    assert sum(j["status"] == "cached" for j in final["jobs"]) == kept
    assert [a["status"] for a in final["attempts"]] == ["interrupted", "completed"]
    assert len(load_jobs(out)) == 6
