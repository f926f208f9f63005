"""SIGKILL the harness at seeded random points of a run, rerun, and compare with a clean run.

The harness runs in a child forked from a fork server (torch already imported, so each kill
costs a fraction of a second, not an interpreter start). Store writes are slowed a little in the
child so kills often land inside a results write (between files of a job folder, before its
rename, inside a manifest write). After every kill: no job folder that looks complete is partial. After the final rerun:
the jobs that were whole before it are served from the store, the rest reran, and every
per-sample table and metric equals an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.reliability.conftest import (
    assert_no_partial_files,
    fork_run,
    manifest_of,
    multi_spec,
    poll_exit,
    results_by_job,
    wait_exit,
    warm_children,
)


def _kill_after(spec: Path, out: Path, delay: float) -> bool:
    """Run, SIGKILL after `delay` s; True if the kill landed (the run had not finished)."""
    pid = fork_run(spec, out, slow_writes=True)
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        if poll_exit(pid) is not None:
            return False
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    return wait_exit(pid) == -signal.SIGKILL


def _sigkill_campaign(weights_dir: Path, tmp_path: Path, points: int, seed: int) -> None:
    spec = multi_spec(weights_dir, delay=0.02)
    reference = tmp_path / "reference"
    warm_children()  # the fork server's imports are not part of a run's time
    started = time.monotonic()
    assert wait_exit(fork_run(spec, reference)) == 0
    full = time.monotonic() - started
    expected = results_by_job(reference)
    assert len(expected) == 6

    out = tmp_path / "killed"
    rng = random.Random(seed)
    landed = 0
    for _ in range(points):
        landed += _kill_after(spec, out, rng.uniform(0.0, full * 0.6))
        assert_no_partial_files(out)  # raises on any truncated or damaged file that looks whole
    assert landed >= points // 2, f"only {landed} of {points} kills landed mid-run"

    whole_before = {p.name: p.stat().st_mtime_ns for p in out.glob("runs/*/jobs/[!.]*")}
    assert wait_exit(fork_run(spec, out)) == 0
    manifest = manifest_of(out)
    assert manifest["status"] == "completed"
    statuses = {j["dir"]: j["status"] for j in manifest["jobs"]}
    for name, mtime in whole_before.items():  # finished jobs are reused, never rewritten
        stored = json.loads(next(out.glob(f"runs/*/jobs/{name}/job.json")).read_text())
        # a skipped job (fairness on digits: no group columns) is reused as skipped
        want = "skipped" if stored["status"] == "skipped" else "cached"
        assert statuses[name] == want, (name, statuses[name])
        assert next(out.glob(f"runs/*/jobs/{name}")).stat().st_mtime_ns == mtime
    fresh = [s for name, s in statuses.items() if name not in whole_before]
    assert len(fresh) == 6 - len(whole_before) and "cached" not in fresh
    assert not list(out.glob("runs/*/jobs/.*")), "temp folders of killed writers were not removed"

    got = results_by_job(out)
    assert got.keys() == expected.keys()
    for key, (frame, metrics, status) in expected.items():
        g_frame, g_metrics, g_status = got[key]
        assert g_status == status, key
        assert g_metrics == metrics, key
        if frame is None:
            assert g_frame is None, key
        else:
            pd.testing.assert_frame_equal(g_frame, frame, check_exact=True)


@pytest.mark.slow  # kills runs at random points (make test-slow; CI runs it)
def test_sigkill_at_random_points(weights_dir: Path, tmp_path: Path) -> None:
    """Four kills in the default run (20 s for eight); the slow run makes forty."""
    _sigkill_campaign(weights_dir, tmp_path, points=4, seed=20240611)


@pytest.mark.slow
def test_sigkill_at_many_random_points(weights_dir: Path, tmp_path: Path) -> None:
    _sigkill_campaign(weights_dir, tmp_path, points=40, seed=7)
