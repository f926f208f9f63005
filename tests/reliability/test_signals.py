"""SIGTERM and SIGINT mid-run: finished jobs kept, manifest says interrupted by which signal,
exit code 143 / 130, and a rerun resumes (finished jobs cached).

The signal is sent only once the run is provably inside its third job: the second model waits
(in Python) while a `hold` file exists, and says so with a marker file. No timing is involved, so
a busy machine cannot let the run finish before the signal lands (it once exited 0 that way).
"""

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
    stalling_spec,
    wait_exit,
    wait_for,
)


@pytest.mark.slow  # signals a run in a fresh process (make test-slow; CI runs it)
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_run_and_records_it(
    weights_dir: Path, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    hold = tmp_path / "hold"
    spec = stalling_spec(weights_dir, hold)
    out = tmp_path / "out"
    pid = fork_run(spec, out)
    wait_for(lambda: Path(f"{hold}.stalled").exists())  # inside job 3 (slow-b x accuracy)
    os.kill(pid, sig)
    assert wait_exit(pid) == code
    stderr = child_stderr(out, pid)
    assert f"error: run interrupted by {sig.name}; rerun the same command to resume" in stderr
    manifest = manifest_of(out)
    assert manifest["status"] == "interrupted"
    assert manifest["interrupted_by"] == sig.name
    assert manifest["attempts"][-1]["status"] == "interrupted"
    kept = assert_no_partial_files(out)
    assert kept == 2
    assert len(manifest["jobs"]) == kept

    hold.unlink()
    pid = fork_run(spec, out)
    assert wait_exit(pid) == 0
    final = manifest_of(out)
    assert final["status"] == "completed" and "interrupted_by" not in final
    # the two kept jobs are reused, not rerun: slow-a's accuracy (cached) and its fairness on
    # digits, which has no group columns (skipped again, with its reason)
    reused = {(j["model"], j["suite"]): j for j in final["jobs"] if j["seconds"] == 0.0}
    assert len(reused) == kept
    assert reused[("slow-a", "accuracy")]["status"] == "cached"
    assert reused[("slow-a", "fairness")]["status"] == "skipped"
    assert "no group columns" in reused[("slow-a", "fairness")]["message"]
    assert [a["status"] for a in final["attempts"]] == ["interrupted", "completed"]
    assert len(load_jobs(out)) == 6
