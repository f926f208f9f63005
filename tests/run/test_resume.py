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


def test_a_rerun_keeps_a_skipped_job_skipped_with_its_reason(
    write_spec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # noqa: ANN001
    """A rerun into the same folder reuses every finished job. A job the suite skipped (fairness
    on a task without group columns) came back as `cached` with the message "results with the
    same key exist": the manifest lost the skip and its reason, and the first screen's
    "skipped: fairness ... has no group columns" line was gone. It stays skipped, with its
    stored reason, and is not rerun."""
    import json

    from harness.cli.main import main
    from tests.conftest import TINY_SPEC

    spec = write_spec(TINY_SPEC.replace("  accuracy: {}\n", "  accuracy: {}\n  fairness: {}\n"))
    out = tmp_path / "out"
    for attempt in range(2):
        assert main(["run", str(spec), "--out", str(out)]) == 0
        text = capsys.readouterr().out
        assert "skipped: fairness on 2 jobs: task 'digits' has no group columns" in text, attempt
        (run_dir,) = (out / "runs").iterdir()
        jobs = json.loads((run_dir / "manifest.json").read_text())["jobs"]
        by_suite = {
            s: {j["status"] for j in jobs if j["suite"] == s} for s in ("accuracy", "fairness")
        }
        assert by_suite == {
            "accuracy": {"completed" if attempt == 0 else "cached"},
            "fairness": {"skipped"},
        }
        for fairness in (j for j in jobs if j["suite"] == "fairness"):
            assert "has no group columns" in fairness["message"]
            assert fairness["seconds"] == 0.0 or attempt == 0  # the rerun did not run it
