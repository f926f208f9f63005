"""The time limit covers the whole job: a factory that never returns (or a model build, or a
task load) fails its job within the limit, the model's other jobs are not tried again, and the
run completes with its manifest finished. With a limit the driver never runs model code."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.cli.main import main

HOSTILE = "tests.reliability.hostile.hostile_code"

SPEC = """
name: hangs
device: cpu
limit: 20
batch_size: 10
bootstrap_resamples: 0
tasks: [digits]
models:
  - {name: sleeper, factory: "HOSTILE:sleeping_factory", factory_args: {calls: "CALLS"},
     input_shape: [1, 8, 8]}
  - {name: marked, factory: "HOSTILE:marker_factory", factory_args: {marker: "MARKER"},
     input_shape: [1, 8, 8]}
suites:
  accuracy: {}
  throughput: {batch_sizes: [1], warmup_iters: 1, timed_iters: 2}
""".replace("HOSTILE", HOSTILE)


@pytest.mark.slow  # waits out a 20 s job time limit (make test-slow; CI runs it)
def test_a_factory_that_never_returns_fails_its_jobs_within_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker, calls = tmp_path / "built-by", tmp_path / "sleeper-builds"
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("MARKER", str(marker)).replace("CALLS", str(calls)))
    out = tmp_path / "out"
    # 20 s: the healthy model's jobs (a worker restarted after the kill, its model built, digits
    # evaluated and timed) must fit the limit too; at 8 s its throughput job timed out on a
    # 2-core machine at load 8-16 (CI, other work running)
    assert main(["run", str(spec), "--out", str(out), "--job-timeout", "20s"]) == 1
    err = capsys.readouterr().err
    (run_dir,) = (out / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"  # finished, not left running
    jobs = {(j["model"], j["suite"]): j for j in manifest["jobs"]}
    first = jobs["sleeper", "accuracy"]
    assert first["status"] == "failed"
    assert first["message"] == (
        "timed out: the job ran longer than its time limit of 20 s (timeout: in the spec, "
        "--job-timeout) and was stopped while building model 'sleeper' (its factory and weights)"
    )
    assert first["seconds"] < 60  # the factory sleeps an hour: it was stopped, not waited out
    second = jobs["sleeper", "throughput"]
    assert second["status"] == "failed"
    assert len(calls.read_text().splitlines()) == 1  # the model was never built for it
    assert "in job sleeper × digits × accuracy" in second["message"]
    assert "this job was not tried" in second["message"]
    assert jobs["marked", "accuracy"]["status"] == "completed"
    assert jobs["marked", "throughput"]["status"] == "completed"
    # the driver built no model itself: the factory ran in the worker process only
    assert int(marker.read_text()) != os.getpid()
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
