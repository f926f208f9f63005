"""Executors: where a run's work units (jobs, or shards of jobs) execute.

The runner prepares each job on the driver (adapter identity, task fingerprint, job key, cache
check, skip reason), hands its units to an executor, and writes each job folder itself once all
its units are back. `local` runs units in the driver process one at a time (in one worker process
when a job time limit is set: `isolated.py`); `ray` submits them to a Ray cluster (see
docs/ray.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from harness.config.plan import Job, Plan
from harness.config.spec import ExecutionSpec
from harness.core.adapter import ModelAdapter
from harness.core.suite import ProgressCallback, RunContext
from harness.core.task import Task
from harness.run.executors.work import Failure, JobFacts, UnitResult, WorkUnit


class Executor(Protocol):
    """Runs work units and hands back their results as they finish (in any order)."""

    kind: str
    window: int  # units the runner may keep in flight before it collects one (0: run at once)

    def start(self) -> None: ...

    def prepare(
        self, index: int, job: Job, here: Callable[[], JobFacts | Failure]
    ) -> JobFacts | Failure:
        """The facts of job `index` the runner needs before it runs it: `here()` builds them in
        the driver; an executor with a time limit builds them in its worker, within the limit."""
        ...

    def submit(self, unit: WorkUnit) -> None: ...

    def pending(self) -> int: ...

    def next_done(self) -> UnitResult: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


def make_executor(
    execution: ExecutionSpec,
    *,
    plan: Plan,
    resolve: Callable[[Job], tuple[ModelAdapter, Task]],
    context: RunContext,
    timeout: float | None = None,
    progress_for: Callable[[WorkUnit], ProgressCallback | None] | None = None,
) -> Executor:
    """The executor the execution settings ask for; `ray` without Ray installed is a clear error.

    With a per-job `timeout`, local units run in a worker process that can be killed.
    """
    if execution.executor == "ray":
        from harness.run.executors.ray_executor import RayExecutor

        return RayExecutor(plan, execution, timeout=timeout)
    if timeout is not None:
        from harness.run.executors.isolated import IsolatedExecutor

        return IsolatedExecutor(plan, timeout=timeout, progress_for=progress_for)
    from harness.run.executors.local import LocalExecutor

    return LocalExecutor(plan, resolve=resolve, context=context, progress_for=progress_for)


__all__ = ["Executor", "Failure", "JobFacts", "UnitResult", "WorkUnit", "make_executor"]
