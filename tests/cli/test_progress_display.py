"""Progress inside jobs: a live line on a terminal (cut to its width), plain periodic lines in
logs, and the rate and ETA the snapshots carry."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.cli.progress_display import ProgressDisplay, duration, progress_text
from harness.config.plan import Job
from harness.core.manifest import JobStatus
from harness.run.progress import JobProgress, ProgressSnapshot
from harness.run.runner import JobOutcome

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
    display = ProgressDisplay(err, live=False, interval=30.0, clock=clock)
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
    assert redraws[2] == "[1/1] digits-cnn × digits × adversarial: FAILED: timed out\n"


def test_a_run_in_a_log_shows_each_job_once(
    tiny_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tiny_spec), "--out", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert [ln for ln in lines if ln.startswith("[")] == [
        ln for ln in lines if ln.startswith("[") and " ... done in " in ln
    ]
    assert len([ln for ln in lines if ln.startswith("[")]) == 2


def test_third_party_bars_are_silenced(
    write_spec: Callable[[str], Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A local CSV task goes through datasets (which draws 'Generating ... split' bars)."""
    rows = ["f0,f1,label"] + [f"{i % 7},{i % 5},{i % 2}" for i in range(60)]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    spec = write_spec(
        f"""
        name: quiet
        device: cpu
        bootstrap_resamples: 0
        tasks:
          - name: local
            source: {tmp_path / "data.csv"}
            modality: tabular
            feature_columns: [f0, f1]
            bounds: [0, 10]
        models:
          - name: tab
            factory: tests.fixture_models:linear_tabular
            factory_args: {{features: 2}}
            input_shape: [2]
        suites:
          accuracy: {{}}
        """
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    err = capfd.readouterr().err
    assert "split" not in err and "it/s" not in err and "examples/s" not in err
