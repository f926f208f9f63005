"""Helpers for the fault tests: a multi-job spec with fixture weights, and harness runs in bounded
child processes and in-process."""

from __future__ import annotations

import contextlib
import faulthandler
import io
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from pathlib import Path

import pandas as pd
import pytest

from harness.cli.main import main
from harness.store import atomic
from harness.store import run_store as store
from harness.store.run_store import load_jobs, read_job

REPO = Path(__file__).resolve().parents[2]

# Six jobs (three models x accuracy, fairness), each slowed a little so a run lasts a few seconds
# and kills land before, inside and between jobs and their results writes.
MULTI_SPEC = """\
name: multi
seed: 5
device: cpu
limit: 120
batch_size: 20
bootstrap_resamples: 100
tasks: [digits, diabetes]
models:
  - name: slow-a
    factory: tests.fixture_models:slow_linear_digits
    factory_args: {{delay: {delay}, seed: 0}}
    input_shape: [1, 8, 8]
    tasks: [digits]
  - name: slow-b
    factory: tests.fixture_models:slow_linear_digits
    factory_args: {{delay: {delay}, seed: 1}}
    input_shape: [1, 8, 8]
    tasks: [digits]
  - name: tab
    factory: tests.fixture_models:linear_tabular
    weights: tab.safetensors
    input_shape: [10]
    tasks: [diabetes]
suites:
  accuracy: {{}}
  fairness: {{min_group_size: 5}}
"""


# the MULTI_SPEC jobs (conftest.py), with models that stall on a file instead of sleeping:
# slow-a never stalls (its accuracy job makes the model-call probe of harness.core.model_calls, 6
# batches and the forward-repeat check's passes: 11 calls; counting them broke the signal tests
# when the check came) and finishes its fairness job (digits has no groups: a recorded skip);
# slow-b stalls at its first call while `hold` exists.
STALLING_SPEC = (
    MULTI_SPEC.replace("slow_linear_digits", "stalling_linear_digits")
    .replace("{{delay: {delay}, seed: 0}}", '{{hold: "{hold}", after: 1000000, seed: 0}}')
    .replace("{{delay: {delay}, seed: 1}}", '{{hold: "{hold}", after: 0, seed: 1}}')
)


def stalling_spec(weights_dir: Path, hold: Path) -> Path:
    """The MULTI_SPEC jobs with models that stall while `hold` exists (created here): a run that
    is provably inside its third job, whatever the machine's load (`<hold>.stalled` says so)."""
    hold.touch()
    path = weights_dir / "stalling.yaml"
    path.write_text(textwrap.dedent(STALLING_SPEC.format(hold=hold)))
    return path


def multi_spec(weights_dir: Path, delay: float = 0.05) -> Path:
    path = weights_dir / "multi.yaml"
    path.write_text(textwrap.dedent(MULTI_SPEC.format(delay=delay)))
    return path


def harness_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "harness", *map(str, args)]


def popen(*args: str | Path) -> subprocess.Popen[str]:
    """Start the harness CLI in a child process (own session, so signals reach only it)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    return subprocess.Popen(
        harness_cmd(*args),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def run_dir_of(out: Path) -> Path:
    runs = sorted((out / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def manifest_of(out: Path) -> dict:
    return json.loads((run_dir_of(out) / "manifest.json").read_text())


def assert_no_partial_files(out: Path) -> int:
    """Every job folder that looks complete reads back whole; returns how many there are."""
    jobs_dir = out / "runs"
    count = 0
    for job in jobs_dir.glob("*/jobs/*"):
        if job.name.startswith("."):
            continue
        read_job(job)  # raises ResultsError on any truncated, missing or damaged file
        if (job / "samples.parquet").exists():
            pd.read_parquet(job / "samples.parquet")
        count += 1
    for manifest in jobs_dir.glob("*/manifest.json"):
        json.loads(manifest.read_text())
    return count


def results_by_job(out: Path) -> dict[tuple[str, str, str], tuple[pd.DataFrame | None, list]]:
    """(model, task, suite) -> (per-sample frame, metric dicts without timings)."""
    got = {}
    for _, job in load_jobs(out):
        key = (job.record.model, job.record.task, job.record.suite)
        frame = job.table().frame if job.has_table else None
        got[key] = (frame, [m.to_dict() for m in job.metrics], job.status)
    return got


@pytest.fixture
def multi(weights_dir: Path) -> Path:
    return multi_spec(weights_dir)


WRITE_DELAY_S = 0.03


def _slowed(owner: object, name: str) -> None:
    original = getattr(owner, name)

    def slowed(*args: object, **kwargs: object) -> object:
        time.sleep(WRITE_DELAY_S)
        out = original(*args, **kwargs)
        time.sleep(WRITE_DELAY_S)
        return out

    setattr(owner, name, slowed)


CHILD_LIMIT_S = 300.0
"""A child run still going after this long (they take seconds) is made to print every thread's
stack, killed, and its test fails, instead of blocking the test run until CI's own limit."""

_CHILDREN: dict[int, BaseProcess] = {}


def _fork_server() -> BaseContext:
    """multiprocessing's fork server: a single-threaded process with torch and the harness
    imported, from which each child is forked (fast, as a fork of this process would be).

    Not `os.fork()` here: a pytest-xdist worker is multi-threaded. At the forks of a full test
    run it had 21-39 OS threads: the Ray driver of the Ray tests (gRPC, its error listener),
    the harness's Ray address check, two tqdm monitors. A child forked from it can deadlock on a
    lock or thread pool another thread held at the fork (torch's OpenMP pool hangs a child that
    asks it for 2 threads once the parent used 2). A CI run once stalled with no test named;
    which lock, if any, is not known."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "harness.cli.main", __name__])
    return context


def start_child(target: Callable[..., int], *args: object) -> int:
    """Run `target(*args)` (module-level, so it pickles) in a child forked from the fork server;
    returns the child's pid. Its return value is its exit code; `wait_exit` collects it."""
    process = _fork_server().Process(target=_child_main, args=(target, args))
    process.start()
    assert process.pid is not None
    _CHILDREN[process.pid] = process
    return process.pid


def _child_main(target: Callable[..., int], args: tuple[object, ...]) -> None:
    code = 99
    try:
        bound_child()
        code = target(*args)
    finally:
        os._exit(code)  # never into multiprocessing's or pytest's exit handling


def bound_child() -> None:
    """In a child: print every thread's stack on SIGUSR1 (`wait_exit` sends it to a child past
    `CHILD_LIMIT_S`). faulthandler does it in the C signal handler, so it works also where the
    child is stuck in C code holding the GIL. (Its timer, `dump_traceback_later`, does not work
    in a forked child: the watchdog thread it thinks it has stayed in the parent.)"""
    faulthandler.register(signal.SIGUSR1, all_threads=True)


def _harness_run(spec: Path, out: Path, extra: tuple[str, ...], slow_writes: bool) -> int:
    if slow_writes:
        _slowed(store, "file_sha256")
        _slowed(atomic, "publish_dir")
        _slowed(atomic, "write_bytes")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            return main(["run", str(spec), "--out", str(out), *extra])
        finally:
            Path(f"{out}.{os.getpid()}.stderr").write_text(err.getvalue())


def fork_run(spec: Path, out: Path, *extra: str, slow_writes: bool = False) -> int:
    """`harness run` in a child forked from the fork server (torch already imported: fast);
    returns its pid.

    `slow_writes` widens every store write (between files, before renames) so that random
    kills often land inside one. The child's stderr goes to `out`.<pid>.stderr.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    return start_child(_harness_run, spec, out, extra, slow_writes)


def warm_children() -> None:
    """Start the fork server now (its imports take seconds), outside a timed part of a test."""
    assert wait_exit(start_child(int)) == 0


def child_stderr(out: Path, pid: int) -> str:
    return Path(f"{out}.{pid}.stderr").read_text()


def poll_exit(pid: int) -> int | None:
    """A child's exit code if it has ended (negative: killed by that signal), else None."""
    process = _CHILDREN.get(pid)
    if process is not None:
        code = process.exitcode
        if code is not None:
            del _CHILDREN[pid]
        return code
    done, status = os.waitpid(pid, os.WNOHANG)  # a child of this process's own os.fork()
    return os.waitstatus_to_exitcode(status) if done else None


def wait_exit(pid: int) -> int:
    """Wait for a child (of `start_child` or of `os.fork()` here); its exit code (negative:
    killed by that signal). One that runs past `CHILD_LIMIT_S` prints its stack
    (`bound_child`), is killed, and the test fails."""
    deadline = time.monotonic() + CHILD_LIMIT_S
    while True:
        code = poll_exit(pid)
        if code is not None:
            return code
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGUSR1)
            time.sleep(1.0)  # the dump is written from the signal handler
            os.kill(pid, signal.SIGKILL)
            while poll_exit(pid) is None:
                time.sleep(0.02)
            pytest.fail(
                f"child {pid} still ran after {CHILD_LIMIT_S:g} s: its stack is on stderr "
                "above; killed"
            )
        time.sleep(0.005)


def wait_for(predicate, timeout: float = 60.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the child run"
        time.sleep(0.01)


def cli(*args: str | Path) -> tuple[int, str, str]:
    """`harness.cli.main.main` in-process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def error_lines(stderr: str) -> list[str]:
    """Lines saying `error: ...` (a progress line without its newline may precede one)."""
    return [ln[ln.index("error: ") :] for ln in stderr.splitlines() if "error: " in ln]
