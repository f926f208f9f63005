"""A run killed mid-way resumes: finished jobs are kept, the rest rerun, results equal a clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.store.run_store import load_jobs

REPO = Path(__file__).resolve().parents[2]

SPEC = """\
name: resume
seed: 1
device: cpu
batch_size: 40
bootstrap_resamples: 100
limit: 160
tasks: [digits]
models:
{models}
suites:
  accuracy: {{}}
"""
MODEL = """\
  - name: m{i}
    factory: tests.fixture_models:slow_linear_digits
    factory_args: {{delay: 0.1, seed: {i}}}
    weights: w{i}.safetensors
    input_shape: [1, 8, 8]
"""


def _spec(tmp: Path) -> Path:
    from tests.conftest import save_weights
    from tests.fixture_models import slow_linear_digits

    for i in range(4):
        save_weights(slow_linear_digits(seed=i), tmp / f"w{i}.safetensors")
    path = tmp / "spec.yaml"
    path.write_text(SPEC.format(models="".join(MODEL.format(i=i) for i in range(4))))
    return path


def _harness(*args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    return {j.record.model: j.table().to_pandas() for _, j in load_jobs(out)}


@pytest.mark.slow  # ~27 s: kills a real run; CI runs it (make test-slow)
def test_killed_run_resumes_to_identical_results(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    assert _harness("run", str(spec), "--out", str(clean)).wait(timeout=120) == 0

    proc = _harness("run", str(spec), "--out", str(killed))
    deadline = time.time() + 60
    while time.time() < deadline and len(list(killed.glob("runs/*/jobs/m*"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done_before = sorted(p.name for p in killed.glob("runs/*/jobs/m*"))
    assert 2 <= len(done_before) < 4, done_before  # killed mid-run, with jobs still to do

    resumed = _harness("run", str(spec), "--out", str(killed))
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err.decode()
    assert err.decode().count("cached (same key; skipped)") == len(done_before)
    a, b = _tables(clean), _tables(killed)
    assert a.keys() == b.keys() == {"m0", "m1", "m2", "m3"}
    for model in a:
        pd.testing.assert_frame_equal(a[model], b[model])
    # the killed writer's temp folder (if any) was cleaned up; no partial result remains
    assert not list(killed.glob("runs/*/jobs/.*"))
