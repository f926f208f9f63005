"""The Ray executor: each work unit is a Ray task with the spec's resource request.

Ray runs in a child driver process (harness/run/executors/ray_driver.py), so that Ray's C++ core
ending its driver (when the raylet or one of its agents dies) does not end `harness run`: the
units then in flight fail with one line naming the cause, the other jobs' results stay written,
and the manifest is finished. When the calling process already set up Ray (`ray.init` in a
notebook, a test or a benchmark), units run through that connection instead. The driver process
returns each result to this process, which alone writes the results folder. A worker that dies
is retried by Ray (`max_retries`); when retries run out the job fails with Ray's error.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from harness.config.plan import Job, Plan
from harness.config.spec import ExecutionSpec
from harness.core.errors import HarnessError
from harness.core.signals import ctrl_c_held_from_children
from harness.core.user_code import libraries_first
from harness.run.executors.ray_cluster import (
    check_cluster,
    check_reachable,
    cluster_address,
    import_ray,
)
from harness.run.executors.ray_driver import RayDriver, driver_process_main, gpus_per_job
from harness.run.executors.work import Failure, JobFacts, UnitResult, WorkUnit

__all__ = ["RayExecutor", "check_reachable", "gpus_per_job", "import_ray"]

log = logging.getLogger(__name__)
START_TIMEOUT_S = 600.0  # the child imports the harness and starts or joins a cluster
CLOSE_TIMEOUT_S = 60.0


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
        self.timeout = timeout  # per-job time limit, enforced on the worker (None: none)
        self._inline: RayDriver | None = None  # Ray already set up in this process
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self._pending: dict[tuple[int, int | None], WorkUnit] = {}
        self._lost: str | None = None  # why the driver process is gone
        self._session_dir: str | None = None

    def prepare(
        self, index: int, job: Job, here: Callable[[], JobFacts | Failure]
    ) -> JobFacts | Failure:
        """In the driver: the limit applies inside each Ray task (docs/ray.md)."""
        return here()

    # -- start and stop --------------------------------------------------------------------
    def start(self) -> None:
        address, source = cluster_address(self.execution)
        if address is not None:  # refuse a bad address here, in one line, before any process
            check_reachable(address, source)  # (also when this process already runs Ray: the
            check_cluster(self.ray, address, source)  # address asked for must still be usable)
        if self.ray.is_initialized():
            self._inline = RayDriver(self.ray, self.plan, self.execution, self.timeout)
            self._inline.start()
            return
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        payload = self.ray.cloudpickle.dumps(
            (self.plan, self.execution, self.timeout, logging.getLogger().level)
        )
        self._proc = ctx.Process(
            target=driver_process_main,
            args=(child, list(sys.path), payload),
            name="harness-ray-driver",
        )
        # it imports torch and Ray: Ctrl-C is ours to handle; it imports them from the
        # libraries, not a user's same-named file (harness.core.user_code)
        with ctrl_c_held_from_children(), libraries_first():
            self._proc.start()
        child.close()
        self._conn = parent
        kind, arg = self._receive_start()
        if kind == "error":
            self._stop()
            raise HarnessError(arg)
        self._session_dir = arg

    def _receive_start(self) -> tuple[str, Any]:
        assert self._conn is not None and self._proc is not None
        try:
            if self._conn.poll(START_TIMEOUT_S):
                kind, arg = self._conn.recv()
                return str(kind), arg
        except (EOFError, OSError):
            pass
        self._proc.join(5)
        code = self._proc.exitcode
        raise HarnessError(
            f"the Ray driver process did not start (exit code {code}); its output above says "
            "why (run with -v for more)"
        )

    def _stop(self) -> None:
        if self._conn is not None:
            self._send("close", None)
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.join(CLOSE_TIMEOUT_S)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(5)
            self._proc = None

    def _send(self, kind: str, arg: object) -> bool:
        if self._conn is None or self._lost is not None:
            return False
        try:
            self._conn.send((kind, arg))
            return True
        except (BrokenPipeError, OSError):
            return False

    # -- the Executor protocol ---------------------------------------------------------------
    def submit(self, unit: WorkUnit) -> None:
        if self._inline is not None:
            self._inline.submit(unit)
            return
        self._pending[_key(unit)] = unit
        self._send("submit", unit)

    def pending(self) -> int:
        return self._inline.pending() if self._inline is not None else len(self._pending)

    def next_done(self) -> UnitResult:
        if self._inline is not None:
            got = self._inline.wait_one(None)
            assert got is not None
            return got
        if self._lost is None:
            assert self._conn is not None
            try:
                kind, arg = self._conn.recv()
                result: UnitResult = self.ray.cloudpickle.loads(arg)
                self._pending.pop(_key(result.unit), None)
                return result
            except (EOFError, OSError):
                self._lost = self._death()
        _, unit = self._pending.popitem()
        return UnitResult(unit=unit, result=None, seconds=0.0, message=self._lost)

    def _death(self) -> str:
        """One line on why the driver process is gone (Ray ended it, or it crashed)."""
        assert self._proc is not None
        self._proc.join(10)
        code = self._proc.exitcode
        logs = f"; Ray's logs: {self._session_dir}/logs" if self._session_dir else ""
        return (
            f"the Ray driver process died (exit code {code}) before this unit came back: Ray "
            f"stopped under it (its raylet or one of the raylet's agents died?){logs}; finished "
            "jobs are kept — rerun the same command to run the rest"
        )

    def cancel(self) -> None:
        if self._inline is not None:
            self._inline.cancel()
            return
        self._send("cancel", None)
        self._pending.clear()

    def close(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None
            return
        self._pending.clear()
        self._stop()


def _key(unit: WorkUnit) -> tuple[int, int | None]:
    return unit.index, unit.shard.index if unit.shard is not None else None
