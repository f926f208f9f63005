"""The unit of work an executor runs: one job, or one shard of a job, and what it returns.

Every executor runs a unit through `run_unit`, so a unit gives the same table on the driver's
process, on a local Ray worker or on a remote node. Errors are caught here and returned, not
raised: a user error or a bug in a suite is deterministic and must not be retried, whereas a
worker process that dies is the executor's to retry.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

from harness.config.plan import Job, Plan
from harness.core.adapter import ModelAdapter, check_fits_task
from harness.core.errors import HarnessError, ModelCallError
from harness.core.manifest import TaskSummary
from harness.core.model_calls import (
    CheckedAdapter,
    keeping_process_state,
    out_of_memory,
    with_input_notes,
)
from harness.core.signals import signal_received
from harness.core.suite import RunContext, Suite, SuiteResult
from harness.core.task import Task
from harness.run.executors.sharding import Shard
from harness.run.model_adapter import build_model_adapter
from harness.run.model_rng import seeded_global_rng

log = logging.getLogger(__name__)


def this_host() -> str:
    """The name of the machine a unit runs on (`UnitResult.host`), as the driver compares it."""
    return socket.gethostname()


@dataclass(frozen=True, kw_only=True)
class Keyed:
    """What the driver keyed a job by: the model's identity and description, the task's
    fingerprint and the suite's other inputs' prints. A unit that rebuilds the model and the task
    elsewhere (a Ray worker) must build these same ones, or its numbers would be stored under a
    key that is not theirs."""

    identity: str
    description: dict[str, Any]
    task_fingerprint: str
    input_fingerprints: dict[str, str]

    def check(self, adapter: ModelAdapter, task: Task, suite: Suite, host: str) -> None:
        """Raise a one-line error naming what the rebuilt model or data changed."""
        where = f"as built on {host}" if host else "as built for this unit"
        fix = "nothing was stored; rerun once its files stay the same on every node"
        if adapter.identity() != self.identity:
            now = adapter.describe()
            # the keys identity() hashes: not the device describe() adds, nor the files' place
            ignores = getattr(adapter, "identity_ignores", None)
            left_out = {"device", *(ignores() if callable(ignores) else ())}
            keys = sorted(
                k
                for k in {*now, *self.description}
                if k not in left_out and now.get(k) != self.description.get(k)
            )
            what = f" ({', '.join(keys)} differ)" if keys else ""
            raise HarnessError(
                f"model {adapter.name!r} {where} is not the one the driver keyed this job "
                f"by{what}: its files changed during the run, this node has other copies, or "
                f"its factory builds another model each time (unseeded); {fix}"
            )
        inputs = {"its data": (task.fingerprint, self.task_fingerprint)}
        now_inputs = suite.input_fingerprints(task)
        for name in sorted({*now_inputs, *self.input_fingerprints}):
            inputs[name] = (now_inputs.get(name, ""), self.input_fingerprints.get(name, ""))
        changed = [name for name, (now, then) in inputs.items() if now != then]
        if changed:
            raise HarnessError(
                f"task {task.name!r} {where} is not the data the driver keyed this job by "
                f"({', '.join(changed)} changed): its files changed during the run, or this "
                f"node has other copies; {fix}"
            )


@dataclass(frozen=True, kw_only=True)
class WorkUnit:
    """Job number `index` in the plan (1-based), whole (shard None) or one shard of it, and the
    CPU threads to run it with (None: leave torch's setting alone). `keyed`: what the driver
    keyed the job by, checked when the unit rebuilds the model and task (Ray)."""

    index: int
    job: Job
    shard: Shard | None = None
    threads: int | None = None
    keyed: Keyed | None = None

    @property
    def label(self) -> str:
        return self.job.label + (f" [{self.shard.label}]" if self.shard else "")


@dataclass(frozen=True, kw_only=True)
class UnitResult:
    """A finished unit: the suite's result, or why it failed; where and how long it ran."""

    unit: WorkUnit
    result: SuiteResult | None
    seconds: float
    message: str = ""
    detail: str | None = None  # traceback of an unexpected error (a bug)
    host: str = ""
    pid: int = 0
    # how the model read the whole task's inputs (`CheckedAdapter.input_notes`), from a job's
    # first shard: the merge recomputes the result from the tables, which carry no notes
    input_notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.result is not None

    @classmethod
    def failed(
        cls,
        unit: WorkUnit,
        started: float,
        message: str,
        *,
        detail: str | None = None,
        host: str = "",
        pid: int = 0,
    ) -> UnitResult:
        """A unit that failed with `message`, timed from `started` (time.perf_counter())."""
        return cls(
            unit=unit,
            result=None,
            seconds=time.perf_counter() - started,
            message=message,
            detail=detail,
            host=host,
            pid=pid,
        )


def run_unit(
    unit: WorkUnit,
    *,
    suite: Suite,
    adapter_and_task: Callable[[], tuple[ModelAdapter, Task]],
    ctx: RunContext,
) -> UnitResult:
    """Run one unit; shards run with no bootstrap (their metrics are recomputed after the merge).

    Whatever the model's code changes for the whole process (working directory, grad mode,
    default dtype) is put back when the unit ends (`keeping_process_state`).
    """
    with keeping_process_state():
        return _run_unit(unit, suite=suite, adapter_and_task=adapter_and_task, ctx=ctx)


def _run_unit(
    unit: WorkUnit,
    *,
    suite: Suite,
    adapter_and_task: Callable[[], tuple[ModelAdapter, Task]],
    ctx: RunContext,
) -> UnitResult:
    started = time.perf_counter()
    host, pid = this_host(), os.getpid()
    try:
        adapter, task = adapter_and_task()
        if unit.keyed is not None:
            unit.keyed.check(adapter, task, suite, host)
        whole_notes: tuple[str, ...] = ()
        if unit.shard is not None:
            if unit.shard.index == 0:  # the note counts the whole task's texts, once per job
                whole_notes = tuple(CheckedAdapter(adapter, task).input_notes(ctx.batch_size))
            task = unit.shard.apply(task)
            ctx = replace(ctx, bootstrap_resamples=0)
        checked = CheckedAdapter(adapter, task)
        if adapter.unavailable_reason is None:
            checked.probe(ctx.batch_size)
        with seeded_global_rng(ctx.seed, suite.name, adapter.name, task.name, adapter.device):
            result = suite.run(checked, task, ctx)
        if unit.shard is None:
            result = with_input_notes(result, checked, ctx.batch_size)
        return UnitResult(
            unit=unit,
            result=result,
            seconds=time.perf_counter() - started,
            host=host,
            pid=pid,
            input_notes=whole_notes,
        )
    except BaseException as err:  # noqa: BLE001 - failure_of re-raises real signals
        failure = failure_of(err, unit.label)
        return UnitResult.failed(
            unit, started, failure.message, detail=failure.detail, host=host, pid=pid
        )


@dataclass(frozen=True)
class Failure:
    """Why a unit or a job's preparation failed: one line, and a traceback for the manifest
    when the cause was unexpected (a bug) or the model's own code."""

    message: str
    detail: str | None = None


def failure_of(err: BaseException, label: str) -> Failure:
    """The failure of job `label` that raised `err` (call it in the `except` block): a user
    error's line, a model's or suite's BaseException, or a bug with its traceback (logged). A
    signal this process really received is re-raised: the runner stops the run."""
    if isinstance(err, HarnessError):
        return Failure(str(err), err.detail if isinstance(err, ModelCallError) else None)
    if isinstance(err, Exception):
        if out_of_memory(err):  # the user's to fix (batch size, device): one line, no log
            first = (str(err).strip().splitlines() or [""])[0][:200]
            return Failure(
                f"{label} ran out of memory ({type(err).__name__}: {first}); lower batch_size "
                "or use a device with more memory",
                traceback.format_exc(limit=-40),
            )
        detail = traceback.format_exc()
        log.error("%s failed:\n%s", label, detail)
        return Failure(f"{type(err).__name__}: {err}", detail)
    if signal_received():
        raise err  # KeyboardInterrupt / Interrupted from the handler: stop the run
    # SystemExit, KeyboardInterrupt, GeneratorExit, custom subclasses raised by model code called
    # through module() (timing, white-box attacks), an adapter's build, or suite code
    return Failure(stopped_message(err, f"while running {label}"), traceback.format_exc(limit=-40))


@dataclass(frozen=True)
class JobFacts:
    """What the runner must know about a job before it runs it: what its key and record hold,
    and whether it is refused or skipped. Computed where the model is built: in the driver, or,
    under a time limit, in the job's worker process within the limit (isolated.py), so a factory
    that never returns is stopped there. Plain, picklable data."""

    identity: str
    description: dict[str, Any]
    task_summary: TaskSummary
    input_fingerprints: dict[str, str]
    samples: int
    refusal: Failure | None = None  # the model cannot serve the task (check_fits_task)
    skip_reason: str | None = None


def job_facts(
    job: Job, *, suite: Suite, adapter_and_task: Callable[[], tuple[ModelAdapter, Task]]
) -> JobFacts | Failure:
    """Build (or reuse) the job's adapter and task and read what the runner needs of them."""
    try:
        with keeping_process_state():
            adapter, task = adapter_and_task()
            inputs = suite.input_fingerprints(task)  # shifted tasks, OOD sets: in the key
            identity, description = adapter.identity(), adapter.describe()
            refusal, skip = None, None
            try:
                check_fits_task(adapter, task)
            except HarnessError as err:
                refusal = failure_of(err, job.label)
            if refusal is None:
                skip = adapter.unavailable_reason or suite.skip_reason(adapter, task)
            return JobFacts(
                identity=identity,
                description=description,
                task_summary=task.summary(),
                input_fingerprints=dict(inputs),
                samples=len(task),
                refusal=refusal,
                skip_reason=skip,
            )
    except BaseException as err:  # noqa: BLE001 - failure_of re-raises real signals
        return failure_of(err, job.label)


def stopped_message(err: BaseException, where: str) -> str:
    """The one line for a BaseException that is not an Exception and not a signal, raised by
    model code the harness called directly (a factory, `module()`) or by suite code."""
    if isinstance(err, SystemExit):
        return (
            f"sys.exit({err.code!r}) was called {where}; the model and the suite must "
            "return or raise, not end the process"
        )
    text = (str(err).strip().splitlines() or ["(no message)"])[0][:300]
    return (
        f"{type(err).__name__} was raised {where} by the model's or the suite's code (no "
        f"signal reached the process): {text}; a model must return or raise an Exception"
    )


def build_adapter(plan: Plan, name: str, device: torch.device) -> ModelAdapter:
    """The model adapter of a plan's model, on `device` (the driver and every worker use this)."""
    return build_model_adapter(plan.models[name], device=device, base_dir=plan.base_dir)


def load_task(plan: Plan, name: str) -> Task:
    """A plan's task with the spec's `limit` applied: a seeded label-stratified sample, the same
    sample ids for every model (`Task.subset`)."""
    return (
        plan.tasks[name]
        .load()
        .subset(plan.spec.limit, seed=plan.spec.seed, purpose="limit", per_source=True)
    )
