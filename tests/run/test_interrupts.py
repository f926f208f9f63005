"""A signal is never lost: even when its exception is raised inside a finalizer (where Python
swallows it), the run stops as interrupted with the signal's exit code."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.run.interrupts import Interrupted, SignalLatch


def test_latch_remembers_the_first_signal() -> None:
    latch = SignalLatch()
    latch.check()  # nothing caught: no-op
    with pytest.raises(Interrupted):
        latch.handler(signal.SIGTERM, None)
    with pytest.raises(Interrupted):
        latch.handler(signal.SIGINT, None)
    with pytest.raises(Interrupted) as raised:
        latch.check()
    assert raised.value.exit_code == 143  # the first one


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_signal_swallowed_by_a_finalizer_still_interrupts_the_run(
    write_spec: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(
        """
        name: finalizer
        device: cpu
        limit: 60
        bootstrap_resamples: 0
        tasks: [digits]
        models:
          - name: sig
            factory: tests.fixture_models:signal_in_finalizer_digits
            input_shape: [1, 8, 8]
          - name: lin
            factory: tests.fixture_models:linear_digits
            input_shape: [1, 8, 8]
        suites:
          accuracy: {}
        """
    )
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 143
    err = capsys.readouterr().err
    assert "error: run interrupted by SIGTERM" in err
    (run_dir,) = (out / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["interrupted_by"] == "SIGTERM"
    # stopped at once: the job in flight (whose model swallowed the signal) is absent, not the
    # next job's, and it reruns on resume
    assert manifest["jobs"] == []
    assert "Traceback" not in err and "Exception ignored" not in err  # one line, no traceback


def test_a_reader_that_closes_the_pipe_leaves_the_run_interrupted_not_running(
    tiny_spec: Path, tmp_path: Path
) -> None:
    """`harness run spec | head -3`: the first progress line after `head` exits meets a closed
    pipe and the run stops. Its manifest stayed `running` and its lock was released, so every
    reader said `the run is running` of a run that no process was running. It is recorded as
    interrupted by SIGPIPE (what a shell reports); the job finished before it is kept."""
    from harness.config.planner import build_plan
    from harness.config.spec import load_spec
    from harness.run.plugins import installed_plugins
    from harness.run.runner import RunEvents, Runner
    from harness.store.completeness import completeness
    from harness.store.run_store import load_jobs

    def closed(*_args: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    plan = build_plan(load_spec(tiny_spec), base_dir=tiny_spec.parent, plugins=installed_plugins())
    out = tmp_path / "out"
    runner = Runner(plan, out_dir=out, events=RunEvents(job_finished=closed))
    outcome = runner.run()
    assert outcome.interrupted and outcome.signal == "SIGPIPE" and outcome.exit_code == 141
    (run_dir,) = (out / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["interrupted_by"] == "SIGPIPE"
    assert [e["model"] for e in manifest["jobs"]] == ["lin-a"]  # finished before the pipe
    gaps = completeness(out, load_jobs(out))
    assert "status interrupted" in gaps.summary() and "running" not in gaps.summary()
