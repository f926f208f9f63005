"""The Ray executor on a local cluster: same tables as local, retries after a killed worker,
bounded retries then a failed job, progress per shard, and the install hint without Ray.

Every test that starts a Ray cluster is marked slow (CI runs them: `make test-slow`): a local
cluster's processes took ~50 s of a default run's wall, beside the test that needed them. The
default run checks what the harness itself does around Ray on `InProcessRay` (Ray as a notebook
has it started: the executor's inline driver), whose tasks run as a worker started elsewhere
would run them: what the driver sends, and what `execute_remote` does with it.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import main
from harness.config.planner import build_plan
from harness.config.spec import ExecutionSpec, ResourceSpec, load_spec
from harness.run.executors import UnitResult
from harness.run.executors.ray_executor import gpus_per_job
from harness.run.plugins import installed_plugins
from harness.run.runner import JobOutcome, RunEvents, Runner, RunOutcome
from harness.store.run_store import load_jobs
from tests.run.executors.test_sharding import SPEC, assert_same_results, run

SLEEPY = """\
name: sleepy
seed: 2
device: cpu
batch_size: 16
limit: 128
bootstrap_resamples: 100
tasks: [digits]
models:
  - name: sleepy
    factory: tests.run.executors.models:sleepy_digits
    factory_args: {{pid_dir: "{pid_dir}", sleep: 0.15}}
    input_shape: [1, 8, 8]
suites:
  accuracy: {{}}
"""


def ray_run(
    spec_path: Path, out: Path, execution: ExecutionSpec, events: RunEvents | None = None
) -> RunOutcome:
    plan = build_plan(load_spec(spec_path), base_dir=spec_path.parent, plugins=installed_plugins())
    return Runner(plan, out_dir=out, execution=execution, events=events).run()


def test_without_ray_the_cli_gives_an_install_hint(
    write_spec: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    assert main(["run", str(write_spec(SPEC)), "--out", str(tmp_path), "--executor", "ray"]) == 2
    err = capsys.readouterr().err
    assert "error: --executor ray (distributed runs) needs the optional package 'ray'" in err
    assert "pip install 'robustness-harness[ray]'" in err
    assert not (tmp_path / "runs").exists()


def test_validate_says_a_ray_spec_needs_ray(
    write_spec: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A spec with `execution: {executor: ray}` on a machine without Ray passed `harness
    validate` and then failed at `harness run`: validate says what run would."""
    path = write_spec(SPEC + "execution: {executor: ray}\n")
    monkeypatch.setitem(sys.modules, "ray", None)  # not installed
    assert main(["validate", str(path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        "error: execution.executor: ray (distributed runs) needs the optional package 'ray'; "
        "install it with: pip install 'robustness-harness[ray]'"
    )


def _refuses_an_unreachable_address(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An --address that no cluster answers on (a port just freed) is refused in one line,
    with no empty results folder left behind."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "out"
    args = ["run", str(spec), "--out", str(out), "--executor", "ray"]
    assert main([*args, "--address", f"127.0.0.1:{port}"]) == 2
    assert f"cannot reach a Ray cluster at --address 127.0.0.1:{port}" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow  # a local Ray cluster (make test-slow; CI runs it)
def test_an_unreachable_address_is_refused_also_when_this_process_runs_ray(
    ray_cluster: object,
    write_spec: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With Ray already started in this process (a notebook, a Ray job), an --address that no
    cluster answers on is still refused in one line; it is not quietly replaced by the cluster
    this process is connected to."""
    _refuses_an_unreachable_address(write_spec(SPEC), tmp_path, capsys)


def test_gpu_request_follows_the_spec(write_spec: Callable[..., Path]) -> None:
    path = write_spec(SPEC)
    plan = build_plan(load_spec(path), base_dir=path.parent, plugins=installed_plugins())
    assert gpus_per_job(plan, ExecutionSpec(executor="ray")) == 0.0
    cuda = plan.spec.model_copy(update={"device": "cuda"})
    assert (
        gpus_per_job(
            build_plan(cuda, base_dir=path.parent, plugins=installed_plugins()),
            ExecutionSpec(executor="ray"),
        )
        == 1.0
    )
    half = ExecutionSpec(executor="ray", resources=ResourceSpec(gpus_per_job=0.5))
    assert gpus_per_job(plan, half) == 0.5


def test_cpu_request_follows_the_spec(write_spec: Callable[..., Path], tmp_path: Path) -> None:
    """`execution.resources.cpus_per_job` is what Ray reserves for each job and the threads the
    job may use in its worker (whole CPUs, at least one)."""
    from types import SimpleNamespace

    from harness.run.executors.ray_driver import RayDriver
    from harness.run.threads import CpuBudget

    class RemoteTask:  # what `ray.remote(execute_remote)` is asked
        def __init__(self) -> None:
            self.asked: dict[str, object] = {}

        def options(self, **options: object) -> RemoteTask:
            self.asked.update(options)
            return self

        def remote(self, plan_ref: object, unit: object, threads: int, *rest: object) -> str:
            self.asked["threads"] = threads
            return "ref"

    path = write_spec(SPEC)
    plan = build_plan(load_spec(path), base_dir=path.parent, plugins=installed_plugins())
    for cpus, threads in ((3.0, 3), (0.5, 1)):
        execution = ExecutionSpec.model_validate(
            {"executor": "ray", "resources": {"cpus_per_job": cpus}}
        )
        runner = Runner(plan, out_dir=tmp_path, execution=execution)
        assert runner.budget == CpuBudget(affinity=threads, quota=None, cpus=threads)
        driver, task = RayDriver(None, plan, execution), RemoteTask()
        driver._task = task
        driver.submit(SimpleNamespace(label="job"))  # type: ignore[arg-type]
        assert task.asked["num_cpus"] == cpus and task.asked["threads"] == threads


@pytest.mark.slow  # a Ray run beside a local one (make test-slow; CI runs it)
def test_ray_run_equals_local_run_with_shard_progress(
    ray_cluster: object, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec(SPEC)
    run(spec, tmp_path / "local")
    units: list[UnitResult] = []
    jobs: list[JobOutcome] = []
    events = RunEvents(
        unit_finished=lambda i, n, u: units.append(u), job_finished=lambda i, n, o: jobs.append(o)
    )
    outcome = ray_run(spec, tmp_path / "ray", ExecutionSpec(executor="ray", shards=3), events)
    assert outcome.exit_code == 0, [o.message for o in outcome.failed]
    assert_same_results(tmp_path / "local", tmp_path / "ray")
    assert len(units) == 6 and all(u.ok and u.pid != os.getpid() for u in units)
    assert sorted((u.unit.job.model, u.unit.shard.index) for u in units if u.unit.shard) == [
        (m, i) for m in ("lin-a", "lin-b") for i in range(3)
    ]
    assert sorted(o.job.model for o in jobs) == ["lin-a", "lin-b"]
    manifest = load_jobs(tmp_path / "ray")[0][0]
    assert manifest.execution["executor"] == "ray" and manifest.attempts[-1].executor == "ray"
    assert [j.model for j in manifest.jobs] == [
        "lin-a",
        "lin-b",
    ]  # plan order, not finish order


@pytest.mark.slow  # SIGKILLs a Ray worker mid-job: 8-24 s (make test-slow; CI runs it)
def test_a_worker_killed_mid_job_is_retried_and_the_run_completes(
    ray_cluster: object, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    spec = write_spec(SLEEPY.format(pid_dir=pid_dir), name="sleepy.yaml")
    killed: list[int] = []
    stop = threading.Event()

    def killer() -> None:  # kill the first worker that starts a forward pass, once
        while not stop.is_set() and not killed:
            for entry in pid_dir.iterdir():
                pid = int(entry.name)
                if pid != os.getpid():
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
            time.sleep(0.01)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        outcome = ray_run(
            spec, tmp_path / "ray", ExecutionSpec(executor="ray", shards=2, max_retries=2)
        )
    finally:
        stop.set()
        thread.join(5)
    assert killed, "no worker was killed"
    assert outcome.exit_code == 0, [o.message for o in outcome.failed]
    assert {int(p.name) for p in pid_dir.iterdir()} - set(killed), (
        "the shard was not rerun elsewhere"
    )
    run(spec, tmp_path / "local")
    assert_same_results(tmp_path / "local", tmp_path / "ray")
    jobs = list((tmp_path / "ray" / "runs").glob("*/jobs/*"))
    assert [j.name.startswith(".") for j in jobs] == [False]  # one whole job folder, no temp left


@pytest.mark.slow  # Ray retries a dying worker (make test-slow; CI runs it)
def test_a_worker_that_keeps_dying_fails_its_job_and_the_run_goes_on(
    ray_cluster: object, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    text = SPEC.replace(
        "suites:",
        "  - name: doomed\n    factory: tests.run.executors.models:doomed_digits\n    input_shape: [1, 8, 8]\nsuites:",
    )
    spec = write_spec(text, name="doomed.yaml")
    outcome = ray_run(spec, tmp_path, ExecutionSpec(executor="ray", max_retries=1))
    assert outcome.exit_code == 1
    by_model = {o.job.model: o for o in outcome.outcomes}
    assert by_model["lin-a"].status == by_model["lin-b"].status == "completed"
    assert by_model["doomed"].status == "failed"
    assert "after 1 retries" in by_model["doomed"].message
    assert "Worker" in by_model["doomed"].message or "died" in by_model["doomed"].message
    stored = {job.record.model for _, job in load_jobs(tmp_path)}
    assert stored == {"lin-a", "lin-b"}
    manifest = load_jobs(tmp_path)[0][0]
    assert manifest.status == "failed"


HANGS = """\
name: hangs
device: cpu
limit: 40
batch_size: 20
bootstrap_resamples: 0
timeout: 5s
tasks: [digits]
models:
  - name: hangs
    factory: tests.fixture_models:hanging_digits
    input_shape: [1, 8, 8]
  - name: fine
    factory: tests.fixture_models:linear_digits
    weights: linear.safetensors
    input_shape: [1, 8, 8]
suites:
  accuracy: {}
"""


@pytest.mark.slow  # ~10 s; job time limits are tested locally in tests/run/test_timeouts.py
def test_a_job_time_limit_stops_a_hung_job_on_ray_too(
    ray_cluster: object, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec(HANGS)
    plan = build_plan(load_spec(spec), base_dir=spec.parent, plugins=installed_plugins())
    outcome = Runner(plan, out_dir=tmp_path, execution=ExecutionSpec(executor="ray")).run()
    by_model = {o.job.model: o for o in outcome.outcomes}
    assert by_model["hangs"].message.startswith("timed out: the job ran longer than its time")
    assert by_model["fine"].status == "completed"
    assert outcome.exit_code == 1


def test_a_local_cluster_asks_for_the_commands_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray's default worker niceness (15) starves a run on a shared CPU (43 s instead of 3 s for
    four torch-importing tasks next to two busy processes): the harness's local cluster asks for
    niceness 0 (that it reaches the workers: the slow test below)."""
    _asks_for_niceness_0(monkeypatch)


@pytest.mark.slow  # a local Ray cluster (make test-slow; CI runs it)
def test_a_local_cluster_runs_its_workers_at_the_commands_priority(
    ray_cluster: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same, and on this Ray version that setting reaches the workers."""
    import ray

    _asks_for_niceness_0(monkeypatch)

    @ray.remote
    def niceness() -> int:
        return os.nice(0)

    assert ray.get(niceness.remote()) == os.nice(0)  # the fixture starts it as connect() does


def _asks_for_niceness_0(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.run.executors.ray_cluster import connect, local_system_config

    calls: list[dict[str, object]] = []

    class FakeRay:
        def init(self, **kwargs: object) -> None:
            calls.append(kwargs)

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    connect(FakeRay(), ExecutionSpec(executor="ray"))
    assert calls[0]["address"] == "local"
    assert calls[0]["_system_config"] == {"worker_niceness": 0}
    assert local_system_config() == {"worker_niceness": 0}  # ray.init added to its own copy


def test_a_local_cluster_does_not_print_rays_token_default_notice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ray 2.5x logs 'Token authentication is enabled for this Ray cluster' on every local
    cluster started without RAY_AUTH_MODE: a WARNING line above every `--executor ray` run for
    the default it chose. The notice that token authentication is disabled still shows."""
    import logging

    from harness.run.executors.ray_cluster import connect

    said = logging.getLogger("ray._private.authentication.authentication_token_setup")
    shown: list[str] = []

    class Shown(logging.Handler):  # what Ray's own handler would print
        def emit(self, record: logging.LogRecord) -> None:
            shown.append(record.getMessage())

    class FakeRay:
        def init(self, **kwargs: object) -> None:
            said.warning("Token authentication is enabled for this Ray cluster. Set ...")
            said.warning("Token authentication is disabled for this Ray cluster. Anyone ...")

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    # a Ray started earlier in this process may have set its loggers to ERROR
    monkeypatch.setattr(said, "level", logging.WARNING)
    monkeypatch.setattr(said, "disabled", False)
    handler = Shown()
    said.addHandler(handler)
    try:
        connect(FakeRay(), ExecutionSpec(executor="ray"))
    finally:
        said.removeHandler(handler)
    assert shown == ["Token authentication is disabled for this Ray cluster. Anyone ..."]


@pytest.mark.parametrize(
    ("resources", "device", "says"),
    [
        ({"gpus_per_job": 1}, "cpu", "execution.resources.gpus_per_job: each job asks for 1 GPU,"),
        ({}, "cuda", "asks for 1 GPU (the default for device: cuda), but"),
        ({"cpus_per_job": 4}, "cpu", "execution.resources.cpus_per_job: each job asks for 4 CPU,"),
    ],
)
def test_a_unit_the_local_cluster_can_never_run_is_refused(
    write_spec: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    resources: dict[str, float],
    device: str,
    says: str,
    tmp_path: Path,
) -> None:
    """`gpus_per_job: 1` on a machine without a GPU (or more CPUs per job than it has): Ray kept
    the units pending for ever, printing an autoscaler error every 35 s. The local cluster the
    harness starts cannot grow, so the driver refuses at start, in one line, and shuts it down."""
    from harness.core.errors import HarnessError
    from harness.run.executors.ray_driver import RayDriver

    class FakeRay:
        def __init__(self) -> None:
            self.up = False

        def is_initialized(self) -> bool:
            return self.up

        def init(self, **kwargs: object) -> None:
            self.up = True

        def cluster_resources(self) -> dict[str, float]:
            return {"CPU": 2.0, "memory": 1e9}

        def shutdown(self) -> None:
            self.up = False

        def put(self, value: object) -> object:
            return value

        def remote(self, fn: object) -> object:
            return fn

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    temp = tmp_path / "temp"  # where the driver makes the empty folder Ray starts in
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    path = write_spec(SPEC)
    plan = build_plan(load_spec(path), base_dir=path.parent, plugins=installed_plugins())
    plan = build_plan(
        plan.spec.model_copy(update={"device": device}),
        base_dir=path.parent,
        plugins=installed_plugins(),
    )
    execution = ExecutionSpec.model_validate({"executor": "ray", "resources": resources})
    driver = RayDriver(FakeRay(), plan, execution)
    with pytest.raises(HarnessError) as err:
        driver.start()
    driver.close()  # as driver_process_main does on a refusal
    message = str(err.value)
    assert says in message and "the local Ray cluster started for this run has" in message
    assert "\n" not in message
    fits = ExecutionSpec.model_validate(
        {"executor": "ray", "resources": {"cpus_per_job": 2, "gpus_per_job": 0}}
    )
    ray = FakeRay()
    driver = RayDriver(ray, plan, fits)
    driver.start()  # what the cluster has: fine
    assert ray.up
    driver.close()
    assert not ray.up and list(temp.iterdir()) == []  # no harness-ray-* folder left in /tmp


SPEC_FOLDER_MODEL = """\
import numpy as np


def predict(x):
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)[:, :10]
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)
"""


@pytest.mark.slow  # a local Ray cluster (make test-slow; CI runs it)
def test_a_model_from_the_spec_folder_runs_on_ray_workers(
    ray_cluster: object, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    """`module:callable` references import from the spec's folder (README), in a local run and
    in the Ray driver; the Ray workers, started elsewhere, could not: every job of such a model
    failed with `cannot import module 'p37_spec_folder_model'`."""
    from harness.core.user_code import user_code

    spec = write_spec(
        "name: folder-model\ndevice: cpu\nlimit: 40\nbootstrap_resamples: 0\n"
        "tasks: [digits]\nsuites: {accuracy: {}}\nmodels:\n"
        "  - {name: here, adapter: callable, callable: 'p37_spec_folder_model:predict', "
        "outputs: probabilities, input_format: numpy}\n",
        name="folder.yaml",
    )
    (spec.parent / "p37_spec_folder_model.py").write_text(SPEC_FOLDER_MODEL)
    with user_code(spec.parent):  # as `harness run` does for the spec's folder
        outcome = ray_run(spec, tmp_path / "ray", ExecutionSpec(executor="ray"))
    assert outcome.exit_code == 0, [o.message for o in outcome.failed]


CWD_MODEL = """\
import numpy as np


def predict(x):
    w = np.load("w.npy")  # from the working folder, as a user's script opens its files
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1) @ w
"""


@pytest.mark.slow  # a local Ray cluster (make test-slow; CI runs it)
def test_a_model_reading_the_working_folder_sees_the_drivers_on_ray_workers(
    ray_cluster: object,
    write_spec: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A local run's model code opens relative paths from the working folder `harness run` was
    started in; a Ray worker runs where the cluster started it (a `ray start` elsewhere): every
    unit of such a model failed with `No such file or directory: 'w.npy'` (or, worse, read
    another `w.npy`). Workers now work in the driver's folder, where it exists on their node."""
    import numpy as np

    from harness.core.user_code import user_code

    work = tmp_path / "work"
    work.mkdir()
    np.save(work / "w.npy", np.random.default_rng(0).normal(size=(64, 10)))
    spec = write_spec(
        "name: cwd-model\ndevice: cpu\nlimit: 40\nbootstrap_resamples: 0\n"
        "tasks: [digits]\nsuites: {accuracy: {}}\nmodels:\n"
        "  - {name: here, adapter: callable, callable: 'p51_cwd_model:predict', "
        "outputs: logits, input_format: numpy}\n",
        name="cwd.yaml",
    )
    (spec.parent / "p51_cwd_model.py").write_text(CWD_MODEL)
    monkeypatch.chdir(work)  # the cluster's workers were started in another folder
    with user_code(spec.parent):
        outcome = ray_run(spec, tmp_path / "ray", ExecutionSpec(executor="ray", shards=2))
        assert outcome.exit_code == 0, [o.message for o in outcome.failed]
        run(spec, tmp_path / "local")
    assert_same_results(tmp_path / "local", tmp_path / "ray")
    assert Path.cwd() == work


def _skewed_execute_remote(*args: object) -> None:
    raise TypeError(
        f"execute_remote() takes from 2 to 5 positional arguments but {len(args)} were given"
    )


@pytest.mark.slow  # a local Ray cluster (make test-slow; CI runs it)
def test_a_ray_task_that_raises_outside_the_unit_says_why_in_one_line(
    ray_cluster: object,
    write_spec: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Ray task's own code raising (a worker with another harness version than the driver's:
    `execute_remote` called with an argument it does not take) failed every job with
    `RayTaskError(TypeError) on the Ray cluster after 3 retries: \\x1b[36mray::m × ...()\\x1b[39m
    (pid=..., ip=...)`: the reason left out, colour codes in, and retries that never happened
    (Ray does not retry an exception)."""
    import harness.run.executors.ray_driver as ray_driver

    monkeypatch.setattr(ray_driver, "execute_remote", _skewed_execute_remote)
    _says_why_in_one_line(write_spec(SPEC), tmp_path)


def _says_why_in_one_line(spec: Path, tmp_path: Path) -> None:
    """A run whose Ray task's own code raises (`_skewed_execute_remote`) fails its job with the
    reason, the worker named, no retries claimed and no colour codes, on one line."""
    outcome = ray_run(spec, tmp_path / "ray", ExecutionSpec(executor="ray", max_retries=3))
    assert outcome.exit_code == 1
    message = outcome.failed[0].message
    assert "TypeError: execute_remote() takes from 2 to 5 positional arguments" in message
    assert "(worker pid " in message
    assert "retries" not in message and "\x1b" not in message and "\n" not in message


def test_a_driver_that_fails_to_start_leaves_no_cluster_or_folder(
    write_spec: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Any error after the local cluster started (not only a refusal: the plan failing to go
    to the object store) shut nothing down: the driver process died with the cluster up and
    an empty /tmp/harness-ray-* folder left behind."""
    from harness.run.executors.ray_driver import RayDriver

    class FakeRay:
        up = False

        def is_initialized(self) -> bool:
            return self.up

        def init(self, **kwargs: object) -> None:
            self.up = True

        def cluster_resources(self) -> dict[str, float]:
            return {"CPU": 2.0}

        def shutdown(self) -> None:
            self.up = False

        def put(self, value: object) -> object:
            raise TypeError("cannot pickle '_thread.lock' object")

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    path = write_spec(SPEC)
    plan = build_plan(load_spec(path), base_dir=path.parent, plugins=installed_plugins())
    ray = FakeRay()
    with pytest.raises(TypeError):
        RayDriver(ray, plan, ExecutionSpec.model_validate({"executor": "ray"})).start()
    assert not ray.up and list(temp.iterdir()) == []


class _Ref:
    """An `InProcessRay` task's result to come (hashable, as Ray's object refs are)."""

    def __init__(self, fn: Callable[..., Any], args: tuple[object, ...]) -> None:
        self.fn, self.args = fn, args


class InProcessRay:
    """Ray as a notebook has it started (`ray.is_initialized()`: the executor drives it from this
    process), without a cluster: a task runs when its result is asked for, as a worker the
    cluster started elsewhere runs it: in another working folder (`elsewhere`), with none of
    `hidden` (the driver's folders) on `sys.path` and none of `modules` (the user's, imported by
    the driver) imported; a task whose own code raises comes back as Ray returns it, a
    `RayTaskError` built the way Ray's worker builds it (pid and address in its first line,
    colour codes included)."""

    def __init__(
        self, elsewhere: Path, hidden: tuple[Path, ...] = (), modules: tuple[str, ...] = ()
    ):
        import ray.exceptions  # the real classes the driver catches (no cluster: a module import)

        self.exceptions = ray.exceptions
        self.elsewhere = elsewhere
        self.hidden = {str(p) for p in hidden} | {"", "."}
        self.modules = modules
        self.options: list[dict[str, object]] = []

    def is_initialized(self) -> bool:
        return True

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": 2.0}

    def put(self, value: object) -> object:
        return value

    def remote(self, fn: Callable[..., Any]) -> Any:
        fake = self

        class Task:
            def options(self, **kwargs: object) -> Task:
                fake.options.append(kwargs)
                return self

            def remote(self, *args: object) -> _Ref:
                return _Ref(fn, args)

        return Task()

    def wait(self, refs: list[Any], num_returns: int, timeout: float | None) -> tuple[list, list]:
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref: _Ref) -> object:
        fn, args = ref.fn, ref.args
        path, cwd = list(sys.path), os.getcwd()
        sys.path[:] = [p for p in sys.path if p not in self.hidden and p != cwd]
        for name in self.modules:
            sys.modules.pop(name, None)
        os.chdir(self.elsewhere)
        try:
            return fn(*args)
        except Exception as err:
            raise self.exceptions.RayTaskError(
                fn.__name__,
                traceback.format_exc(),
                err,
                proctitle=f"ray::{fn.__name__}",
                pid=os.getpid(),
                ip="127.0.0.1",
            ).as_instanceof_cause() from None
        finally:
            sys.path[:] = path
            os.chdir(cwd)

    def cancel(self, ref: object) -> None:
        pass

    def shutdown(self) -> None:
        raise AssertionError("the run must not shut down the Ray this process started")


def test_an_unreachable_address_is_refused_also_when_this_process_runs_ray_in_process(
    write_spec: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The slow test above's refusal with Ray started in this process (`InProcessRay`)."""
    monkeypatch.setitem(sys.modules, "ray", InProcessRay(tmp_path))
    _refuses_an_unreachable_address(write_spec(SPEC), tmp_path, capsys)


def test_a_model_from_the_spec_folder_runs_on_a_worker_started_elsewhere(
    write_spec: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slow spec-folder test's bug on `InProcessRay`: the unit runs where neither the spec's
    folder is on the path nor its module imported; the driver must send the folders."""
    from harness.core.user_code import user_code

    spec = write_spec(
        "name: folder-model\ndevice: cpu\nlimit: 40\nbootstrap_resamples: 0\n"
        "tasks: [digits]\nsuites: {accuracy: {}}\nmodels:\n"
        "  - {name: here, adapter: callable, callable: 'p84_spec_folder_model:predict', "
        "outputs: probabilities, input_format: numpy}\n",
        name="folder84.yaml",
    )
    (spec.parent / "p84_spec_folder_model.py").write_text(SPEC_FOLDER_MODEL)
    elsewhere = tmp_path / "worker"
    elsewhere.mkdir()
    fake = InProcessRay(elsewhere, hidden=(spec.parent,), modules=("p84_spec_folder_model",))
    monkeypatch.setitem(sys.modules, "ray", fake)
    with user_code(spec.parent):  # as `harness run` does for the spec's folder
        outcome = ray_run(spec, tmp_path / "ray", ExecutionSpec(executor="ray"))
    assert outcome.exit_code == 0, [o.message for o in outcome.failed]
    assert fake.options and all(o["retry_exceptions"] is False for o in fake.options)


def test_a_model_reading_the_working_folder_sees_the_drivers_on_a_worker_started_elsewhere(
    write_spec: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slow working-folder test's bug on `InProcessRay`, whose worker runs in another folder
    holding another `w.npy`: the unit must read the driver's, and give the local run's tables."""
    import numpy as np

    from harness.core.user_code import user_code

    work, elsewhere = tmp_path / "work", tmp_path / "worker"
    for folder, seed in ((work, 0), (elsewhere, 1)):
        folder.mkdir()
        np.save(folder / "w.npy", np.random.default_rng(seed).normal(size=(64, 10)))
    spec = write_spec(
        "name: cwd-model\ndevice: cpu\nlimit: 40\nbootstrap_resamples: 0\n"
        "tasks: [digits]\nsuites: {accuracy: {}}\nmodels:\n"
        "  - {name: here, adapter: callable, callable: 'p84_cwd_model:predict', "
        "outputs: logits, input_format: numpy}\n",
        name="cwd84.yaml",
    )
    (spec.parent / "p84_cwd_model.py").write_text(CWD_MODEL)
    fake = InProcessRay(elsewhere, hidden=(spec.parent,), modules=("p84_cwd_model",))
    monkeypatch.chdir(work)
    with user_code(spec.parent):
        monkeypatch.setitem(sys.modules, "ray", fake)
        outcome = ray_run(spec, tmp_path / "ray", ExecutionSpec(executor="ray", shards=2))
        assert outcome.exit_code == 0, [o.message for o in outcome.failed]
        monkeypatch.delitem(sys.modules, "ray")
        run(spec, tmp_path / "local")
    assert_same_results(tmp_path / "local", tmp_path / "ray")
    assert Path.cwd() == work


def test_a_ray_task_that_raises_outside_the_unit_says_why_in_one_line_in_process(
    write_spec: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slow test's message, from the `RayTaskError` Ray returns for it (`InProcessRay`)."""
    import harness.run.executors.ray_driver as ray_driver

    monkeypatch.setitem(sys.modules, "ray", InProcessRay(tmp_path))
    monkeypatch.setattr(ray_driver, "execute_remote", _skewed_execute_remote)
    _says_why_in_one_line(write_spec(SPEC), tmp_path)


FACTORY_MODEL = """\
import numpy as np


def make(weights):
    w = np.load(weights)
    return lambda x: np.asarray(x, dtype=np.float64).reshape(len(x), -1) @ w
"""


class _FilesChangeBeforeTheWorker(InProcessRay):
    """`InProcessRay` whose worker finds a file changed by `change()` (once) before its first
    task runs: a trainer saved a new checkpoint after the driver keyed the job, someone edited
    the data, or the node holds other copies of the files."""

    def __init__(self, elsewhere: Path, change: Callable[[], object]) -> None:
        super().__init__(elsewhere)
        self.change: Callable[[], object] | None = change

    def get(self, ref: _Ref) -> object:
        if self.change is not None:
            self.change()
            self.change = None
        return super().get(ref)


def test_a_model_whose_weights_change_before_the_worker_builds_it_is_not_stored(
    write_spec: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ray worker rebuilds the model from its files: weights replaced after the driver keyed
    the job (or another copy on the worker's node) gave the new weights' numbers under the old
    weights' key, and the result cache then served them to a run of the old weights (a local
    rerun with the old weights: top-1 0.858 alone, at or below chance from the cache). The unit
    must refuse, naming the model and what differs; nothing is stored under the old key."""
    import numpy as np

    from harness.core.user_code import user_code

    rng = np.random.default_rng(0)
    np.save(tmp_path / "w.npy", rng.normal(size=(64, 10)))
    spec = write_spec(
        "name: swapped\ndevice: cpu\nlimit: 40\nbootstrap_resamples: 0\n"
        "tasks: [digits]\nsuites: {accuracy: {}}\nmodels:\n"
        "  - {name: ckpt, adapter: callable, callable: 'p100_factory_model:make', factory: true, "
        f"args: {{weights: '{tmp_path / 'w.npy'}'}}, outputs: logits, input_format: numpy}}\n",
        name="swapped100.yaml",
    )
    (spec.parent / "p100_factory_model.py").write_text(FACTORY_MODEL)
    new = rng.normal(size=(64, 10))
    fake = _FilesChangeBeforeTheWorker(tmp_path, lambda: np.save(tmp_path / "w.npy", new))
    with user_code(spec.parent):
        monkeypatch.setitem(sys.modules, "ray", fake)
        outcome = ray_run(spec, tmp_path / "ray", ExecutionSpec(executor="ray", shards=2))
    assert outcome.exit_code == 1
    (failed,) = outcome.failed
    assert "model 'ckpt'" in failed.message and "args_files_sha256" in failed.message
    assert "\n" not in failed.message
    assert not list((tmp_path / "ray").glob("runs/*/jobs/ckpt--*"))


def test_task_data_edited_before_the_worker_loads_it_is_not_stored(
    write_spec: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for a task's file: a CSV edited after the driver keyed the job gave a Ray
    worker's numbers on the new rows under the old rows' key."""
    rows = [f"{i / 40:.3f},{i % 2}" for i in range(40)]
    data = tmp_path / "d.csv"
    data.write_text("a,label\n" + "\n".join(rows) + "\n")
    spec = write_spec(
        "name: edited\ndevice: cpu\nbootstrap_resamples: 0\nbatch_size: 8\n"
        f"tasks: [{{name: t, modality: tabular, source: '{data}'}}]\n"
        "suites: {accuracy: {}}\nmodels:\n"
        "  - {name: m, adapter: callable, callable: 'p100_rule_model:rule', outputs: logits}\n",
        name="edited100.yaml",
    )
    (spec.parent / "p100_rule_model.py").write_text(RULE_MODEL)
    edit = "a,label\n" + "\n".join(r[:-1] + str(1 - int(r[-1])) for r in rows) + "\n"
    fake = _FilesChangeBeforeTheWorker(tmp_path, lambda: data.write_text(edit))
    from harness.core.user_code import user_code

    with user_code(spec.parent):
        monkeypatch.setitem(sys.modules, "ray", fake)
        outcome = ray_run(spec, tmp_path / "ray", ExecutionSpec(executor="ray"))
    assert outcome.exit_code == 1
    (failed,) = outcome.failed
    assert "task 't'" in failed.message and "its data changed" in failed.message
    assert not list((tmp_path / "ray").glob("runs/*/jobs/m--*"))


RULE_MODEL = """\
import numpy as np


def rule(x):
    z = (np.asarray(x, dtype=np.float64).reshape(len(x), -1)[:, 0] - 0.5) * 8
    return np.stack([-z, z], 1)
"""


@pytest.mark.slow  # starts a local Ray cluster in a child `harness run` (make test-slow)
def test_sigterm_to_the_whole_process_group_prints_only_the_runs_line(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    """`timeout 1h harness run ... --executor ray` (GNU timeout signals the whole group), or a
    service manager stopping its control group, also reaches the Ray driver process: Ray's C++
    handler printed its '*** SIGTERM received ... PC: @ ...' stack dump (6 lines) before the
    run's one line."""
    import subprocess

    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    spec = write_spec(SLEEPY.format(pid_dir=pid_dir))
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PYTHONPATH": str(Path.cwd())}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(spec), "--out", str(tmp_path / "out")]
        + ["--executor", "ray", "--no-cache"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while not any(pid_dir.iterdir()) and time.monotonic() < deadline:  # a unit is running
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 143, out
    assert "SIGTERM received" not in out and "logging.cc" not in out, out
    assert "error: run interrupted by SIGTERM" in out
