"""Progress inside a job: samples done, the current stage, a rate and an ETA.

A suite calls `ctx.progress(done, stage=..., total=...)` (`harness.core.suite.ProgressCallback`);
the runner gives each job a `JobProgress` that turns those calls into `ProgressSnapshot`s for
whoever shows them (the CLI: a live line on a terminal, periodic plain lines otherwise). Jobs
run in a worker process (a job time limit) send the same calls through a pipe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.config.plan import Job


@dataclass(frozen=True, kw_only=True)
class ProgressSnapshot:
    """Where job `index` of `jobs` stands: samples done of `total` (None: unknown), its stage."""

    index: int
    jobs: int
    job: Job
    done: int
    total: int | None
    stage: str | None
    elapsed: float  # seconds since the job started

    @property
    def rate(self) -> float | None:
        """Samples per second since the job started (None before the first second's work)."""
        return self.done / self.elapsed if self.done and self.elapsed > 0 else None

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate (None without a total or a rate)."""
        rate = self.rate
        if self.total is None or rate is None:
            return None
        return max(0.0, (self.total - self.done) / rate)


class JobProgress:
    """Accumulates one job's progress calls into snapshots handed to `listener`."""

    def __init__(
        self,
        index: int,
        jobs: int,
        job: Job,
        listener: Callable[[ProgressSnapshot], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.index, self.jobs, self.job = index, jobs, job
        self.listener = listener
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.total: int | None = None
        self.stage: str | None = None

    def __call__(self, done: int, stage: str | None = None, total: int | None = None) -> None:
        self.done += max(0, int(done))
        if stage is not None:
            self.stage = stage
        if total is not None:
            self.total = int(total)
        self.listener(self.snapshot())

    def snapshot(self) -> ProgressSnapshot:
        return ProgressSnapshot(
            index=self.index,
            jobs=self.jobs,
            job=self.job,
            done=self.done,
            total=self.total,
            stage=self.stage,
            elapsed=self.clock() - self.started,
        )
