"""The Ray executor: each work unit is a Ray task with the spec's resource request.

The plan is put into the object store once; a worker rebuilds the adapter and task from it (the
weights and data paths must be readable on every node), runs the unit and returns its result to
the driver, which alone writes the results folder. A worker process that dies is retried by Ray
(`max_retries`); when retries run out the job is failed with Ray's error as the cause.
"""

from __future__ import annotations

import logging
import socket
import sys
from dataclasses import replace
from typing import Any

import torch

from harness.config.plan import Plan
from harness.config.spec import ExecutionSpec
from harness.core.errors import HarnessError, MissingDependencyError
from harness.core.suite import RunContext
from harness.run.environment import resolve_device
from harness.run.executors.work import UnitResult, WorkUnit, build_adapter, load_task, run_unit

log = logging.getLogger(__name__)


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Refuse a `host:port` cluster address nobody answers on, before Ray retries for minutes.

    `auto` and `ray://` client addresses are left to Ray itself.
    """
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or address.startswith("ray://"):
        return
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as err:
        raise HarnessError(
            f"cannot reach a Ray cluster at --address {address} ({err.strerror or err}); "
            "start one with `ray start --head` there, or drop --address for a local cluster"
        ) from None


def import_ray() -> Any:
    """The `ray` module, or a MissingDependencyError with the install hint."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", "ray", "--executor ray (distributed runs)") from None
    return ray


def gpus_per_job(plan: Plan, execution: ExecutionSpec) -> float:
    """GPUs one unit asks for: the spec's value, else 1 for `device: cuda` and 0 otherwise."""
    if execution.resources.gpus_per_job is not None:
        return execution.resources.gpus_per_job
    return 1.0 if plan.spec.device == "cuda" else 0.0


def execute_remote(
    plan: Plan, unit: WorkUnit, threads: int, timeout: float | None = None
) -> UnitResult:
    """Body of the Ray task: build the adapter and task on the worker and run the unit.

    With a `timeout`, the unit runs in a child process of the Ray worker that is killed when the
    job runs over (harness/run/executors/isolated.py); the limit counts from the task's start.
    """
    threads = unit.threads or threads
    if timeout is not None:
        import time

        from harness.run.executors.isolated import WorkerPool, WorkerSetup

        pool = WorkerPool(WorkerSetup.of(plan))
        try:
            pool.ensure_started()
            deadline = time.monotonic() + timeout
            return pool.run(
                replace(unit, threads=threads), deadline=deadline, limit=timeout, progress=None
            )
        finally:
            pool.close()
    torch.set_num_threads(threads)
    device = resolve_device(plan.spec.device)
    ctx = RunContext(
        seed=plan.spec.seed,
        device=device,
        batch_size=plan.spec.batch_size,
        bootstrap_resamples=plan.spec.bootstrap_resamples,
    )
    return run_unit(
        unit,
        suite=plan.suites[unit.job.suite],
        adapter_and_task=lambda: (
            build_adapter(plan, unit.job.model, device),
            load_task(plan, unit.job.task),
        ),
        ctx=ctx,
    )


class RayExecutor:
    """Submits every unit at once; results come back as they finish, in any order."""

    kind = "ray"
    window = sys.maxsize

    def __init__(
        self, plan: Plan, execution: ExecutionSpec, *, timeout: float | None = None
    ) -> None:
        self.ray = import_ray()
        self.plan = plan
        self.execution = execution
        self.timeout = timeout
        self.num_gpus = gpus_per_job(plan, execution)
        self._pending: dict[Any, WorkUnit] = {}
        self._owns_cluster = False
        self._plan_ref: Any = None
        self._task: Any = None

    def start(self) -> None:
        ray = self.ray
        if not ray.is_initialized():
            address = self.execution.address
            if address is None:
                ray.init(include_dashboard=False, logging_level=logging.WARNING)
            else:
                check_reachable(address)
                ray.init(address=address, logging_level=logging.WARNING)
            self._owns_cluster = True
        log.info("ray cluster resources: %s", ray.cluster_resources())
        self._plan_ref = ray.put(self.plan)
        self._task = ray.remote(execute_remote)

    def submit(self, unit: WorkUnit) -> None:
        cpus = self.execution.resources.cpus_per_job
        ref = self._task.options(
            num_cpus=cpus,
            num_gpus=self.num_gpus,
            max_retries=self.execution.max_retries,
            retry_exceptions=False,
            name=unit.label[:200],
        ).remote(self._plan_ref, unit, max(1, int(cpus)), self.timeout)
        self._pending[ref] = unit

    def pending(self) -> int:
        return len(self._pending)

    def next_done(self) -> UnitResult:
        ray = self.ray
        ready, _ = ray.wait(list(self._pending), num_returns=1)
        ref = ready[0]
        unit = self._pending.pop(ref)
        try:
            return ray.get(ref)
        except ray.exceptions.RayError as err:
            cause = (str(err).strip().splitlines() or [""])[0]
            return UnitResult(
                unit=unit,
                result=None,
                seconds=0.0,
                message=(
                    f"{type(err).__name__} on the Ray cluster after "
                    f"{self.execution.max_retries} retries: {cause}"
                ),
            )

    def cancel(self) -> None:
        for ref in self._pending:
            self.ray.cancel(ref)
        self._pending.clear()

    def close(self) -> None:
        self.cancel()
        if self._owns_cluster:
            self.ray.shutdown()
            self._owns_cluster = False
