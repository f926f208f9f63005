"""Progress inside jobs: a live line on a terminal (cut to its width), plain periodic lines in
logs, and the rate and ETA the snapshots carry."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.cli.progress_display import ProgressDisplay, duration, progress_text
from harness.config.plan import Job
from harness.core.manifest import JobStatus
from harness.run.progress import JobProgress, ProgressSnapshot
from harness.run.runner import JobOutcome

REPO = Path(__file__).resolve().parents[2]
JOB = Job(model="digits-cnn", task="digits", suite="adversarial")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_snapshots_carry_stage_rate_and_eta() -> None:
    clock = Clock()
    seen: list[ProgressSnapshot] = []
    progress = JobProgress(3, 9, JOB, seen.append, clock=clock)
    progress(0, "fgsm", 400)
    clock.now += 2.0
    progress(100)  # the stage stays until the next label
    snap = seen[-1]
    assert (snap.done, snap.total, snap.stage) == (100, 400, "fgsm")
    assert snap.rate == 50.0 and snap.eta == 6.0
    assert progress_text(snap) == "fgsm, 100/400 samples, 50/s, ETA 6.0 s, 2.0 s elapsed"
    progress(0, "linf_pgd")
    assert seen[-1].stage == "linf_pgd"
    assert duration(3725) == "1 h 02 min" and duration(75) == "1 min 15 s"


def test_plain_lines_every_interval_then_the_outcome() -> None:
    clock = Clock()
    err = io.StringIO()
    display = ProgressDisplay(err, live=False, interval=30.0, clock=clock, width=lambda: 200)
    events = display.events()
    assert events.job_started and events.progress and events.job_finished
    events.job_started(1, 2, JOB)
    progress = JobProgress(1, 2, JOB, events.progress, clock=clock)
    progress(10, "fgsm", 100)  # quiet: under the interval
    clock.now += 31
    progress(10)
    clock.now += 5
    progress(10)  # quiet again
    events.job_finished(1, 2, JobOutcome(JOB, JobStatus.COMPLETED, 36.0))
    events.job_started(2, 2, JOB)
    events.job_finished(2, 2, JobOutcome(JOB, JobStatus.COMPLETED, 0.4))
    assert err.getvalue().splitlines() == [
        "[1/2] digits-cnn × digits × adversarial ...",
        "[1/2] digits-cnn × digits × adversarial: fgsm, 20/100 samples, 0.65/s, ETA 2 min 04 s, "
        "31 s elapsed",
        "[1/2] digits-cnn × digits × adversarial: done in 36.0 s",
        "[2/2] digits-cnn × digits × adversarial ... done in 0.4 s",
    ]
    assert "\r" not in err.getvalue()


def test_live_line_is_redrawn_and_cut_to_the_terminal_width() -> None:
    clock = Clock()
    err = io.StringIO()
    display = ProgressDisplay(err, live=True, clock=clock, width=lambda: 40)
    events = display.events()
    assert events.job_started and events.progress and events.job_finished
    events.job_started(1, 1, JOB)
    clock.now += 1
    JobProgress(1, 1, JOB, events.progress, clock=clock)(5, "a very long stage label indeed", 50)
    events.job_finished(1, 1, JobOutcome(JOB, JobStatus.FAILED, 1.0, "timed out"))
    redraws = err.getvalue().split("\r\x1b[K")[1:]
    assert len(redraws) == 3
    assert all(len(r.rstrip("\n")) <= 39 for r in redraws[:2])
    assert redraws[1].endswith("…")
    # the outcome stays in the terminal: wrapped to its width, not cut
    assert redraws[2] == "[1/1] digits-cnn × digits × adversarial:\n    FAILED: timed out\n"


def test_a_run_in_a_log_shows_each_job_once(
    tiny_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tiny_spec), "--out", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert [ln for ln in lines if ln.startswith("[")] == [
        ln for ln in lines if ln.startswith("[") and " ... done in " in ln
    ]
    assert len([ln for ln in lines if ln.startswith("[")]) == 2


def _bars_spec(write_spec: Callable[[str], Path], folder: Path) -> Path:
    """A local Parquet image task: datasets reads it with its parquet builder ('Generating ...
    split' bars; tables of other kinds are read by Arrow directly and draw none)."""
    import io as bytes_io

    import numpy as np
    import pandas as pd
    from PIL import Image

    images = []
    for i in range(60):
        buffer = bytes_io.BytesIO()
        Image.fromarray(np.full((8, 8), i * 4, dtype=np.uint8)).save(buffer, format="PNG")
        images.append(buffer.getvalue())
    pd.DataFrame({"image": images, "label": [i % 10 for i in range(60)]}).to_parquet(
        folder / "data.parquet"
    )
    return write_spec(
        f"""
        name: quiet
        device: cpu
        bootstrap_resamples: 0
        tasks:
          - name: local
            source: {folder / "data.parquet"}
            modality: image
            input_column: image
            num_classes: 10
        models:
          - name: tab
            factory: tests.fixture_models:linear_digits
            input_shape: [1, 8, 8]
          - name: tab2
            factory: tests.fixture_models:linear_digits
            input_shape: [1, 8, 8]
        suites:
          accuracy: {{}}
        """
    )


@pytest.mark.parametrize("command", ["run", "parity"])
def test_third_party_bars_are_silenced(
    write_spec: Callable[[str], Path],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    command: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every command, not only `run` (`harness parity` used to draw datasets' bars)."""
    import datasets

    monkeypatch.delenv("HF_DATASETS_DISABLE_PROGRESS_BARS", raising=False)
    datasets.enable_progress_bars()  # as in a fresh process: an earlier test may have silenced
    spec = _bars_spec(write_spec, tmp_path)
    argv = {
        "run": ["run", str(spec), "--out", str(tmp_path / "out")],
        "parity": ["parity", str(spec), "--models", "tab,tab2", "--task", "local"],
    }[command]
    assert main(argv) == 0
    err = capfd.readouterr().err
    assert "split" not in err and "it/s" not in err and "examples/s" not in err


@pytest.mark.slow  # a run in a fresh process (make test-slow; CI runs it)
def test_verbose_keeps_third_party_bars(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    """`--verbose` leaves datasets' bars alone (a fresh process: bars are process-wide state)."""
    spec = _bars_spec(write_spec, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_DATASETS_DISABLE")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(spec.parent)])
    done = subprocess.run(
        [sys.executable, "-m", "harness", "-v", "run", str(spec), "--out", str(tmp_path / "o")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Generating" in done.stderr and "split" in done.stderr


def _record_while_running(live: bool) -> str:
    """A warning logged (and one warned) while a job shows progress: what the stream holds."""
    import logging
    import warnings

    clock = Clock()
    err = io.StringIO()
    display = ProgressDisplay(err, live=live, interval=30.0, clock=clock, width=lambda: 200)
    events = display.events()
    root = logging.getLogger()
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    saved = root.handlers
    root.handlers = [handler]
    try:
        with display.beside_logs():
            events.job_started(1, 2, JOB)
            clock.now += 1  # past the redraw interval
            JobProgress(1, 2, JOB, events.progress, clock=clock)(10, "fgsm", 100)
            logging.getLogger("harness.test").warning("a record")
            warnings.warn("a warning", UserWarning, stacklevel=1)
            clock.now += 1
            events.job_finished(1, 2, JobOutcome(JOB, JobStatus.COMPLETED, 1.0, "", "k", "d"))
    finally:
        root.handlers = saved
    return err.getvalue()


def test_log_records_never_land_on_the_live_line() -> None:
    out = _record_while_running(live=True)
    live = "[1/2] digits-cnn × digits × adversarial: fgsm, 10/100 samples"
    before, after = out.split("WARNING harness.test: a record", 1)
    assert before.endswith("\r\x1b[K") and live in before  # the live line was cleared first
    assert after.startswith("\n\r\x1b[K[1/2]") and live in after  # and redrawn below the record
    assert "UserWarning: a warning" in after  # a Python warning goes through the same path


def test_log_records_end_an_open_plain_line_first() -> None:
    out = _record_while_running(live=False)
    lines = out.splitlines()
    assert lines[0] == "[1/2] digits-cnn × digits × adversarial ..."
    assert lines[1] == "WARNING harness.test: a record"
    assert lines[-1] == "[1/2] digits-cnn × digits × adversarial: done in 1.0 s"


def test_library_warnings_and_records_are_quiet_unless_verbose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import logging
    import warnings

    from harness.run import quiet

    monkeypatch.setattr(logging.getLogger(), "level", logging.WARNING)
    for name in quiet.THIRD_PARTY:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet.quiet_library_warnings()
        warnings.warn_explicit("deprecated", FutureWarning, "x.py", 1, module="torch.nn.modules")
        warnings.warn_explicit("ours", UserWarning, "y.py", 1, module="harness.config.plan")
        warnings.warn_explicit(
            "Trying to unpickle estimator LogisticRegression from version 1.0",
            UserWarning,
            "z.py",
            1,
            module="sklearn.base",
        )
    assert [str(w.message)[:20] for w in seen] == ["ours", "Trying to unpickle e"]
    assert logging.getLogger("datasets").getEffectiveLevel() == logging.ERROR
    assert logging.getLogger("harness").getEffectiveLevel() == logging.WARNING


def test_quieting_again_leaves_the_logging_caches_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Logger.setLevel` clears the cache of every logger (thousands with torch and
    transformers loaded); a run quiets the libraries once per job. Already at ERROR: no call."""
    import logging

    from harness.run import quiet

    monkeypatch.setattr(logging.getLogger(), "level", logging.WARNING)
    for name in quiet.THIRD_PARTY:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    calls: list[str] = []
    real = logging.Logger.setLevel

    def counted(self: logging.Logger, level: int | str) -> None:
        calls.append(self.name)
        real(self, level)

    monkeypatch.setattr(logging.Logger, "setLevel", counted)
    quiet.quiet_library_warnings()
    assert sorted(calls) == sorted(quiet.THIRD_PARTY)
    calls.clear()
    quiet.quiet_library_warnings()
    assert calls == []
    assert all(logging.getLogger(n).level == logging.ERROR for n in quiet.THIRD_PARTY)


def test_a_skip_reason_is_written_once() -> None:
    err = io.StringIO()
    display = ProgressDisplay(err, live=False, width=lambda: 200)
    reason = "task 'digits' has no group columns (sensitive attributes)"
    for i in (1, 2, 3):
        job = Job(model=f"m{i}", task="digits", suite="fairness")
        display.started(i, 3, job)
        display.finished(i, 3, JobOutcome(job, JobStatus.SKIPPED, message=reason))
    lines = err.getvalue().splitlines()
    assert lines[0] == f"[1/3] m1 × digits × fairness ... skipped: {reason}"
    assert lines[1:] == [
        "[2/3] m2 × digits × fairness ... skipped: same reason as [1/3]",
        "[3/3] m3 × digits × fairness ... skipped: same reason as [1/3]",
    ]


def test_plain_lines_wrap_to_the_width() -> None:
    err = io.StringIO()
    display = ProgressDisplay(err, live=False, width=lambda: 60)
    display.started(1, 1, JOB)
    display.finished(1, 1, JobOutcome(JOB, JobStatus.FAILED, message="x " * 60))
    lines = err.getvalue().splitlines()
    assert len(lines) > 1 and max(len(line) for line in lines) <= 60
    assert lines[0].startswith("[1/1] digits-cnn × digits × adversarial ... FAILED: x")


def test_a_run_stopped_inside_a_job_ends_its_open_line_first() -> None:
    """Interrupted (or stopped by an error) inside a job, the run's next line (`results: ...`,
    `error: ...`) was written onto the open `[2/6] job ...` line: `[3/6] b × digits × accuracy
    ...error: cannot write results file ...`, an error line that `grep '^error:'` missed."""
    err = io.StringIO()
    display = ProgressDisplay(err, live=False, width=lambda: 200)
    display.started(1, 2, JOB)
    display.stopped("interrupted")
    display.stopped("interrupted")  # once only
    assert err.getvalue() == f"[1/2] {JOB.label} ... interrupted\n"
    live = io.StringIO()
    display = ProgressDisplay(live, live=True, width=lambda: 200)
    display.started(1, 2, JOB)
    display.stopped("stopped")
    assert live.getvalue().endswith(f"\r\x1b[K[1/2] {JOB.label} … stopped\n")
    finished = io.StringIO()
    display = ProgressDisplay(finished, live=False, width=lambda: 200)
    display.started(1, 2, JOB)
    display.finished(1, 2, JobOutcome(job=JOB, status="completed", seconds=1.0))
    display.stopped("interrupted")  # nothing open: nothing written
    assert finished.getvalue() == f"[1/2] {JOB.label} ... done in 1.0 s\n"


def test_a_concurrent_run_stopped_ends_each_submitted_job_still_running() -> None:
    """On Ray each job gets a `submitted` line and later its outcome line; interrupted, the jobs
    still running kept only `submitted`, as if they would still end (a local run ends its open
    line `interrupted`)."""
    err = io.StringIO()
    display = ProgressDisplay(err, live=True, concurrent=True, width=lambda: 200)
    jobs = [Job(model=f"m{i}", task="digits", suite="accuracy") for i in (1, 2, 3)]
    for i, job in enumerate(jobs, 1):
        display.started(i, 3, job)
    display.finished(2, 3, JobOutcome(job=jobs[1], status="completed", seconds=1.0))
    display.stopped("interrupted")
    display.stopped("interrupted")  # once only
    assert err.getvalue().splitlines() == [
        "[1/3] m1 × digits × accuracy submitted",
        "[2/3] m2 × digits × accuracy submitted",
        "[3/3] m3 × digits × accuracy submitted",
        "[2/3] m2 × digits × accuracy: done in 1.0 s",
        "[1/3] m1 × digits × accuracy: interrupted",
        "[3/3] m3 × digits × accuracy: interrupted",
    ]


def test_an_error_that_stops_a_run_inside_a_job_is_a_line_of_its_own(
    tiny_spec: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.core.errors import HarnessError
    from harness.run.runner import Runner

    def run_out(self: Runner) -> None:  # a manifest write that fails inside the first job
        assert self.events.job_started is not None
        self.events.job_started(1, 2, JOB)
        raise HarnessError("cannot write results file out/manifest.json: File too large")

    monkeypatch.setattr(Runner, "run", run_out)
    assert main(["run", str(tiny_spec), "--out", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert f"[1/2] {JOB.label} ... stopped" in lines
    assert "error: cannot write results file out/manifest.json: File too large" in lines
