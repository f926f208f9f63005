"""How often a shifted task is loaded, by where its jobs run.

It is loaded where a job is prepared (`Suite.input_fingerprints`: its fingerprint is part of the
job key, which decides whether the job runs at all, resumed or reused from the job cache), and
the process that runs the job needs the data itself:
- no time limit: the job is prepared and runs in the driver, whose suite reuses that load (1 per
  run);
- a time limit: the job is prepared and runs in a worker process forked from a forkserver (the
  driver runs no model code under a limit), which loads it once per worker process (the worker's
  suite keeps it for the run's other jobs), not once per job, and the driver not at all;
- Ray: each unit loads it on its worker, from the plan put in the object store before any job
  was prepared, and the driver once for the keys.
Why: docs/shift.md, "Where shifted tasks and OOD sets are loaded"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.config.plan import Job
from harness.config.planner import build_plan
from harness.config.spec import load_spec
from harness.core.task import Task
from harness.data import loader
from harness.data.task_spec import TaskSpec
from harness.run.executors.work import WorkUnit
from harness.run.plugins import installed_plugins
from tests.run.test_job_cache_shift_inputs import CLASSES, _shifted_folder

REPO = Path(__file__).resolve().parents[2]
LOADED = "suites.shift.shifted_tasks: loaded moved"  # the suite's log line, one per load
SPEC = f"""\
name: loads
seed: 0
device: cpu
limit: 40
bootstrap_resamples: 0
tasks: [digits]
models:
  - name: lin-a
    factory: tests.fixture_models:linear_digits
    weights: linear.safetensors
    input_shape: [1, 8, 8]
  - name: lin-b
    factory: tests.fixture_models:linear_digits
    factory_args: {{seed: 1}}
    weights: linear1.safetensors
    input_shape: [1, 8, 8]
suites:
  shift:
    corruptions: []
    shifted_tasks:
      - {{name: moved, source: ./moved, modality: image, channels: 1, input_shape: [1, 8, 8],
         class_names: [{CLASSES}]}}
"""


@pytest.fixture
def spec(weights_dir: Path) -> Path:
    _shifted_folder(weights_dir / "moved")
    path = weights_dir / "spec.yaml"
    path.write_text(SPEC)
    return path


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Inline tasks loaded in this process, by name (the suite and the plan both load through
    `loader.load_task`)."""
    counts: Counter[str] = Counter()
    real = loader.load_task

    def counting(spec: TaskSpec, *, base_dir: Path) -> Task:
        counts[spec.name] += 1
        return real(spec, base_dir=base_dir)

    monkeypatch.setattr(loader, "load_task", counting)
    return counts


def test_without_a_time_limit_the_driver_loads_it_once_for_every_job(
    spec: Path, tmp_path: Path, loads: Counter[str]
) -> None:
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    assert loads["moved"] == 1  # the key's load; both jobs' `run` reuse it


@pytest.mark.slow  # a worker process per job (make test-slow; CI runs it)
def test_with_a_time_limit_the_worker_alone_loads_it_once(spec: Path, tmp_path: Path) -> None:
    """Counted from the suite's log line, which the driver and the worker (a forkserver child,
    out of reach of monkeypatch) both write to the command's stderr with -v."""
    command = [sys.executable, "-m", "harness", "-v", "run", str(spec), "--out", str(tmp_path)]
    done = subprocess.run(
        [*command, "--job-timeout", "300"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["attempts"][-1]["executor"] == "local-process"  # jobs ran in the worker
    # two jobs, one load: in the worker, for both jobs' keys and `run` (the driver loads none)
    assert done.stderr.count(LOADED) == 1


def test_each_ray_unit_loads_it_on_its_worker(spec: Path, loads: Counter[str]) -> None:
    """`execute_remote` is the body of a Ray task; it gets the plan as Ray deserialises it, a
    copy of the plan put in the object store when the executor started, before any job was
    prepared (so it holds no loaded shifted task: there is nothing loaded to hand over)."""
    ray = pytest.importorskip("ray")
    from harness.run.executors.ray_driver import execute_remote

    plan = build_plan(load_spec(spec), base_dir=spec.parent, plugins=installed_plugins())
    shipped = ray.cloudpickle.dumps(plan)  # RayDriver.start: ray.put(plan), before any job
    suite = plan.suites["shift"]
    task = plan.tasks["digits"].load()
    suite.input_fingerprints(task)  # the driver preparing the jobs: the key's load
    assert loads["moved"] == 1
    for index, model in enumerate(("lin-a", "lin-b"), start=1):
        unit = WorkUnit(index=index, job=Job(model=model, task="digits", suite="shift"))
        result = execute_remote(ray.cloudpickle.loads(shipped), unit, threads=1)
        assert result.ok, result.message
        assert loads["moved"] == 1 + index  # one more load per unit, on its worker
