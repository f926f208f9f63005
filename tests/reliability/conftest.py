"""Helpers for the fault tests: a multi-job spec with fixture weights and a harness subprocess."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap
import time
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


def fork_run(spec: Path, out: Path, *extra: str, slow_writes: bool = False) -> int:
    """`harness run` in a forked child (torch already imported: fast); returns its pid.

    `slow_writes` widens every store write (between files, before renames) so that random
    kills often land inside one. The child's stdout/stderr go to `out`.log files.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 99
        try:
            if slow_writes:
                _slowed(store, "file_sha256")
                _slowed(atomic, "publish_dir")
                _slowed(atomic, "write_bytes")
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                try:
                    code = main(["run", str(spec), "--out", str(out), *extra])
                finally:
                    Path(f"{out}.{os.getpid()}.stderr").write_text(err.getvalue())
        finally:
            os._exit(code)
    return pid


def child_stderr(out: Path, pid: int) -> str:
    return Path(f"{out}.{pid}.stderr").read_text()


def wait_exit(pid: int) -> int:
    """Wait for a forked child; its exit code (negative: killed by that signal)."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


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
