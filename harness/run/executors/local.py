"""The local executor: runs each unit in the driver process as soon as it is submitted."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import replace

from harness.config.plan import Job, Plan
from harness.core.adapter import ModelAdapter
from harness.core.suite import ProgressCallback, RunContext
from harness.core.task import Task
from harness.run.executors.work import Failure, JobFacts, UnitResult, WorkUnit, run_unit
from harness.run.threads import using_threads


class LocalExecutor:
    """Sequential, in-process; reuses the runner's adapters and tasks (built once per run)."""

    kind = "local"
    window = 0

    def __init__(
        self,
        plan: Plan,
        *,
        resolve: Callable[[Job], tuple[ModelAdapter, Task]],
        context: RunContext,
        progress_for: Callable[[WorkUnit], ProgressCallback | None] | None = None,
    ) -> None:
        self.plan = plan
        self.resolve = resolve
        self.context = context
        self.progress_for = progress_for
        self._queue: deque[WorkUnit] = deque()

    def start(self) -> None:
        return None

    def prepare(
        self, index: int, job: Job, here: Callable[[], JobFacts | Failure]
    ) -> JobFacts | Failure:
        return here()

    def submit(self, unit: WorkUnit) -> None:
        self._queue.append(unit)

    def pending(self) -> int:
        return len(self._queue)

    def next_done(self) -> UnitResult:
        unit = self._queue.popleft()
        progress = self.progress_for(unit) if self.progress_for is not None else None
        ctx = replace(self.context, progress=progress, threads=unit.threads)
        with using_threads(unit.threads):
            return run_unit(
                unit,
                suite=self.plan.suites[unit.job.suite],
                adapter_and_task=lambda: self.resolve(unit.job),
                ctx=ctx,
            )

    def cancel(self) -> None:
        self._queue.clear()

    def close(self) -> None:
        self._queue.clear()
