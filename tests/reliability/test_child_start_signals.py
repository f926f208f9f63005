"""Ctrl-C while `harness run` starts a child process: the terminal sends SIGINT to the whole
process group, so children still importing torch (the time-limit workers' fork server, the Ray
driver process) got it too, before they ignore it, and printed a KeyboardInterrupt traceback
(the fork server then died). Children are started with SIGINT blocked; the signal is the
parent's to handle (it stops them)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]

# In a fresh interpreter (the fork server is a per-process singleton): start the time-limit
# workers' fork server with a preload that stalls, send SIGINT to the server while it imports
# (as a Ctrl-C in the terminal does), then let it finish and start a worker from it.
FORK_SERVER = """
import os, signal, sys, threading, time
from dataclasses import replace
from multiprocessing import forkserver
from pathlib import Path

from harness.config.planner import build_plan
from harness.config.spec import load_spec
from harness.run.executors.isolated import WorkerPool, WorkerSetup
from harness.run.plugins import installed_plugins

hold = Path(os.environ["HARNESS_TEST_HOLD"])
spec = Path(sys.argv[1])
plan = build_plan(load_spec(spec), base_dir=spec.parent, plugins=installed_plugins())
setup = replace(WorkerSetup.of(plan), preload=["tests.reliability.hold_on_import"])
pool = WorkerPool(setup)

def interrupt():
    while not Path(f"{hold}.importing").exists():
        time.sleep(0.01)
    os.kill(forkserver._forkserver._forkserver_pid, signal.SIGINT)
    hold.unlink()  # the server sees it only after the signal was delivered

threading.Thread(target=interrupt).start()
pool.launch()  # returns once the server forked the worker
pool.ensure_started()
pool.close()
print("worker started")
"""

# In a fresh interpreter: start the time-limit workers' fork server as a run does, then a
# child of other code through the same fork server (multiprocessing has one per process).
OTHER_CHILD = """
import multiprocessing, sys
from pathlib import Path

from harness.config.planner import build_plan
from harness.config.spec import load_spec
from harness.run.executors.isolated import WorkerPool, WorkerSetup
from harness.run.plugins import installed_plugins
from tests.reliability.signal_mask_child import exit_by_sigint_mask

spec = Path(sys.argv[1])
plan = build_plan(load_spec(spec), base_dir=spec.parent, plugins=installed_plugins())
pool = WorkerPool(WorkerSetup.of(plan))
pool.launch()
pool.ensure_started()
other = multiprocessing.get_context("forkserver").Process(target=exit_by_sigint_mask)
other.start()
other.join()
pool.close()
print("other child's SIGINT blocked:", other.exitcode == 1)
"""

SPEC = """\
name: child-start
device: cpu
tasks: [digits]
models: [digits-mlp]
suites: {accuracy: {}}
"""


def _run(script: str, *args: str, hold: Path) -> subprocess.CompletedProcess[str]:
    hold.touch()
    env = dict(os.environ, PYTHONPATH=str(REPO), HARNESS_TEST_HOLD=str(hold))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow  # ~7 s: a fresh interpreter imports torch and starts a fork server
@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signal masks")
def test_ctrl_c_while_the_worker_fork_server_imports_is_not_its_traceback(
    tmp_path: Path,
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    done = _run(FORK_SERVER, str(spec), hold=tmp_path / "hold")
    assert "KeyboardInterrupt" not in done.stderr, done.stderr
    assert done.returncode == 0 and "worker started" in done.stdout, done.stderr


@pytest.mark.slow  # ~7 s: a fresh interpreter imports torch and starts a fork server
@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signal masks")
def test_children_of_the_workers_fork_server_still_take_ctrl_c(tmp_path: Path) -> None:
    """The fork server starts with SIGINT blocked, and every process forked from it inherits
    its mask: children that other code in the same process starts through multiprocessing's
    one fork server (a user's, the tests' own report children) never saw a Ctrl-C, and a
    `harness report` so started hung in CI waiting for its workers. The server unblocks SIGINT
    once its imports are done (`harness.run.executors.server_ready`)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    done = _run(OTHER_CHILD, str(spec), hold=tmp_path / "hold")
    assert done.returncode == 0, done.stderr
    assert "other child's SIGINT blocked: False" in done.stdout, done.stdout + done.stderr


class _StartedDriver:
    """Stands in for `RayDriver`: starts at once (the cluster is up), records its close."""

    closed: list[bool] = []

    def __init__(self, *args: object) -> None:
        pass

    def start(self) -> None:
        pass

    def session_dir(self) -> str:
        return "/tmp/ray/session_x"

    def close(self) -> None:
        self.closed.append(True)


def test_ray_driver_process_whose_parent_left_during_its_start_closes_quietly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C while the Ray driver process starts its cluster: `harness run` stops and closes
    the pipe, and the child's "started" message met a broken pipe, a BrokenPipeError traceback
    under the run's one line (and its cluster was not shut down by it)."""
    from harness.run.executors import ray_driver

    monkeypatch.setattr(ray_driver, "import_ray", lambda: SimpleNamespace(cloudpickle=pickle))
    monkeypatch.setattr(ray_driver, "RayDriver", _StartedDriver)
    monkeypatch.setattr(_StartedDriver, "closed", [])
    parent, child = multiprocessing.Pipe()
    parent.close()  # the parent is gone
    previous = signal.getsignal(signal.SIGINT)
    try:
        payload = pickle.dumps((None, None, None, logging.getLogger().level))
        ray_driver.driver_process_main(child, list(sys.path), payload)  # no exception
    finally:
        signal.signal(signal.SIGINT, previous)
    assert _StartedDriver.closed == [True]


def test_time_limit_worker_whose_driver_left_during_its_start_exits_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the time-limit worker starts: `harness run` stops and closes the pipe, and
    the worker's "ready" met a broken pipe, a BrokenPipeError traceback under the run's one
    line. The worker runs in this process here (its process-wide settings put back after)."""
    from tqdm.std import TqdmDefaultWriteLock

    from harness.config.planner import build_plan
    from harness.config.spec import load_spec
    from harness.run.executors.isolated import WorkerSetup, worker_main
    from harness.run.plugins import installed_plugins

    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    plan = build_plan(load_spec(spec), base_dir=tmp_path, plugins=installed_plugins())
    lock = getattr(TqdmDefaultWriteLock, "mp_lock", None)
    monkeypatch.setattr(TqdmDefaultWriteLock, "mp_lock", lock, raising=False)
    monkeypatch.setattr("harness.run.quiet.quiet_library_progress", lambda: None)
    monkeypatch.setattr(sys, "path", list(sys.path))
    parent, child = multiprocessing.Pipe()
    parent.close()  # the driver is gone
    previous = signal.getsignal(signal.SIGINT)
    try:
        worker_main(child, WorkerSetup.of(plan))  # returns, no exception
    finally:
        signal.signal(signal.SIGINT, previous)
