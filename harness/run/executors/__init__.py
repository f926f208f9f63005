"""Executors: where a run's work units (jobs, or shards of jobs) execute.

The runner prepares each job on the driver (adapter identity, task fingerprint, job key, cache
check, skip reason), hands its units to an executor, and writes each job folder itself once all
its units are back. `local` runs units in the driver process one at a time; `ray` submits them to
a Ray cluster (see docs/ray.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from harness.config.plan import Job, Plan
from harness.config.spec import ExecutionSpec
from harness.core.adapter import ModelAdapter
from harness.core.suite import RunContext
from harness.core.task import Task
from harness.run.executors.work import UnitResult, WorkUnit


class Executor(Protocol):
    """Runs work units and hands back their results as they finish (in any order)."""

    kind: str
    window: int  # units the runner may keep in flight before it collects one (0: run at once)

    def start(self) -> None: ...

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
) -> Executor:
    """The executor the execution settings ask for; `ray` without Ray installed is a clear error."""
    if execution.executor == "ray":
        from harness.run.executors.ray_executor import RayExecutor

        return RayExecutor(plan, execution)
    from harness.run.executors.local import LocalExecutor

    return LocalExecutor(plan, resolve=resolve, context=context)


__all__ = ["Executor", "UnitResult", "WorkUnit", "make_executor"]
