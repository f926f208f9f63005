"""The Ray driver: submits work units as Ray tasks and collects their results.

`RayDriver` talks to Ray in the process that calls it. `driver_process_main` runs one in a child
process for `RayExecutor`, answering over a pipe: Ray's C++ core ends its driver process at once
when the local raylet (or one of the raylet's agents) dies, so the harness keeps Ray out of its
own process and survives that, failing the units in flight with one line each and finishing the
run's manifest. The plan is put into the object store once; a worker rebuilds the adapter and
task from it (weights and data must be readable on every node) and runs the unit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import torch

from harness.config.plan import Plan
from harness.config.spec import ExecutionSpec
from harness.core.errors import HarnessError
from harness.core.model_calls import keeping_process_state
from harness.core.signals import ignore_ctrl_c
from harness.core.suite import RunContext
from harness.core.user_code import harness_root, take_path, user_code
from harness.run.environment import resolve_device
from harness.run.executors.ray_cluster import cluster_address, connect, import_ray
from harness.run.executors.work import UnitResult, WorkUnit, build_adapter, load_task, run_unit

log = logging.getLogger(__name__)
POLL_S = 0.05  # how often the child driver looks at the pipe while units are in flight


def gpus_per_job(plan: Plan, execution: ExecutionSpec) -> float:
    """GPUs one unit asks for: the spec's value, else 1 for `device: cuda` and 0 otherwise."""
    if execution.resources.gpus_per_job is not None:
        return execution.resources.gpus_per_job
    return 1.0 if plan.spec.device == "cuda" else 0.0


def execute_remote(
    plan: Plan,
    unit: WorkUnit,
    threads: int,
    timeout: float | None = None,
    folders: tuple[str, ...] = (),
    cwd: str | None = None,
) -> UnitResult:
    """Body of the Ray task: build the adapter and task on the worker and run the unit.

    With a `timeout`, the unit runs in a child process of the Ray worker that is killed when the
    job runs over (harness/run/executors/isolated.py); the limit counts from the task's start.
    `folders`: the user's folders `module:factory` references import from (the spec's and the
    driver's working folder, as in a local run), for the unit's time; a Ray worker is started
    by the cluster, with neither on its path.
    `cwd`: the driver's working folder; the unit runs in it where it exists on the worker's node
    (model code opens relative paths from it in a local run; a worker started by `ray start`
    elsewhere would open another folder's files, or none), and the worker's is put back after.
    """
    with keeping_process_state(), user_code(*(Path(folder) for folder in folders)):
        if cwd is not None and os.path.isdir(cwd):
            os.chdir(cwd)
        return _execute(plan, unit, threads, timeout)


def _execute(plan: Plan, unit: WorkUnit, threads: int, timeout: float | None) -> UnitResult:
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


@contextlib.contextmanager
def _in_folder(folder: str) -> Iterator[None]:
    """Within: `folder` is the working folder; after, the one before."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


class RayDriver:
    """Ray calls in this process: joins or starts the cluster, submits units, collects them."""

    def __init__(
        self, ray: Any, plan: Plan, execution: ExecutionSpec, timeout: float | None = None
    ) -> None:
        self.ray = ray
        self.plan = plan
        self.execution = execution
        self.timeout = timeout  # per-job time limit (None: none)
        self.num_gpus = gpus_per_job(plan, execution)
        self._pending: dict[Any, WorkUnit] = {}
        self._owns_cluster = False
        self._plan_ref: Any = None
        self._empty: str | None = None  # the working folder Ray was started in (start)
        self._task: Any = None
        # where the driver imports user code from: the spec's folder, then the working folder
        self._folders = (str(plan.base_dir), os.getcwd())
        self._cwd = os.getcwd()  # where the units run, as a local run's model code does

    def start(self) -> None:
        try:
            self._start()
        except BaseException:  # the cluster it started and the folder it made go with it
            self.close()
            raise

    def _start(self) -> None:
        ray = self.ray
        if not ray.is_initialized():
            # Ray puts the working folder first on every worker's path, for good: the user's
            # `tqdm.py` there broke each worker importing the harness before any unit began.
            # Units get the user's folders for their time (`folders`, user_code) and run in
            # the driver's working folder (`cwd`) all the same.
            # A local cluster's processes keep the folder as theirs (a removed one crashed every
            # worker loading torch): it goes when the cluster does (close).
            # Not from a checkout of the harness the command runs in (not installed): the
            # workers import the harness from the working folder Ray puts on their path.
            if Path(self._cwd).resolve() == harness_root():
                source = connect(ray, self.execution)
            else:
                self._empty = tempfile.mkdtemp(prefix="harness-ray-")
                with _in_folder(self._empty):
                    source = connect(ray, self.execution)
            log.info("ray: using %s", source)
            self._owns_cluster = True
        resources = ray.cluster_resources()
        log.info("ray cluster resources: %s", resources)
        if self._owns_cluster and cluster_address(self.execution)[0] is None:
            self._check_fits(resources)
        self._plan_ref = ray.put(self.plan)
        self._task = ray.remote(execute_remote)

    def _check_fits(self, resources: dict[str, float]) -> None:
        """Refuse a unit the local cluster started for this run can never schedule (a GPU on a
        machine without one, more CPUs than it has): Ray would keep it pending for ever, with
        an autoscaler line every half minute. A cluster joined by address may add nodes."""
        asked = self.execution.resources
        for key, resource, need in (
            ("cpus_per_job", "CPU", asked.cpus_per_job),
            ("gpus_per_job", "GPU", self.num_gpus),
        ):
            has = float(resources.get(resource, 0.0))
            if need <= has:
                continue
            default = resource == "GPU" and asked.gpus_per_job is None
            why = " (the default for device: cuda)" if default else ""
            raise HarnessError(
                f"execution.resources.{key}: each job asks for {need:g} {resource}{why}, but "
                f"the local Ray cluster started for this run has {has:g}, so no job could "
                f"start; lower {key}, or pass --address of a cluster that has them"
            )

    def session_dir(self) -> str | None:
        """Where Ray keeps this session's logs (best effort: an internal attribute)."""
        node = getattr(getattr(self.ray, "_private", None), "worker", None)
        node = getattr(getattr(node, "global_worker", None), "node", None)
        get = getattr(node, "get_session_dir_path", None)
        return str(get()) if callable(get) else None

    def submit(self, unit: WorkUnit) -> None:
        cpus = self.execution.resources.cpus_per_job
        ref = self._task.options(
            num_cpus=cpus,
            num_gpus=self.num_gpus,
            max_retries=self.execution.max_retries,
            retry_exceptions=False,
            name=unit.label[:200],
        ).remote(self._plan_ref, unit, max(1, int(cpus)), self.timeout, self._folders, self._cwd)
        self._pending[ref] = unit

    def pending(self) -> int:
        return len(self._pending)

    def wait_one(self, timeout: float | None) -> UnitResult | None:
        """The next finished unit (None: none finished within `timeout` seconds)."""
        ray = self.ray
        ready, _ = ray.wait(list(self._pending), num_returns=1, timeout=timeout)
        if not ready:
            return None
        ref = ready[0]
        unit = self._pending.pop(ref)
        try:
            got: UnitResult = ray.get(ref)
            return got
        except ray.exceptions.RayError as err:
            return UnitResult(unit=unit, result=None, seconds=0.0, message=self._failure(err, unit))

    def _failure(self, err: Exception, unit: WorkUnit) -> str:
        """One line for a unit Ray could not bring back. A Ray task whose own code raised (not
        the unit's: `run_unit` returns those) is not retried by Ray: say what it raised."""
        cause = getattr(err, "cause", None)
        if isinstance(err, self.ray.exceptions.RayTaskError) and isinstance(cause, BaseException):
            # the worker's pid and address: in the error's first line (the class Ray raises,
            # a subclass of the cause's too, drops its pid and ip attributes)
            found = re.search(r"pid=(\d+), ip=([^)\s,]+)", str(err))
            where = f"worker pid {found[1]} on {found[2]}" if found else "on a worker"
            return _plain(
                f"the Ray task of {unit.label} raised {type(cause).__name__}: {cause} ({where}); "
                "every node needs the driver's harness version and packages"
            )
        return _plain(
            f"{type(err).__name__} on the Ray cluster after "
            f"{self.execution.max_retries} retries: {err}"
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
        if self._empty is not None:
            shutil.rmtree(self._empty, ignore_errors=True)
            self._empty = None


def _plain(text: str) -> str:
    """The first line of `text`, without the terminal colour codes Ray puts in its errors."""
    return (re.sub(r"\x1b\[[0-9;]*m", "", text).strip().splitlines() or [""])[0]


def driver_process_main(conn: Connection, path: list[str], payload: bytes) -> None:
    """Entry point of the child driver process (multiprocessing, spawn).

    Messages in: ("submit", WorkUnit), ("cancel", None), ("close", None). Out: ("started",
    session dir) or ("error", one line), then ("done", pickled UnitResult) per finished unit.
    SIGINT is ignored: the parent stops the child (it is the one that handles Ctrl-C).
    """
    ignore_ctrl_c()
    take_path(path)  # the parent's, with the spec's folder (model factories import from it)
    ray = import_ray()
    plan, execution, timeout, level = ray.cloudpickle.loads(payload)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    driver = RayDriver(ray, plan, execution, timeout)
    try:
        driver.start()
    except HarnessError as err:
        driver.close()  # the local cluster it may have started
        with contextlib.suppress(OSError):  # the parent may be gone (Ctrl-C): nobody to tell
            conn.send(("error", str(err)))
        return
    # ray.init put Ray's C++ handler on SIGTERM, which prints a stack dump of this process: a
    # SIGTERM sent to the whole process group (GNU `timeout`, a service manager) reaches this
    # child beside the parent, which says in one line that the run was interrupted
    signal.signal(signal.SIGTERM, _stop_quietly)
    try:
        # the parent stops waiting for "started" on Ctrl-C: the send meets a closed pipe
        conn.send(("started", driver.session_dir()))
        _serve(conn, driver)
    except (EOFError, OSError, _Stopped):
        pass  # the parent is gone, or this process was told to stop: stop
    finally:
        driver.close()


class _Stopped(Exception):
    """SIGTERM reached the child driver process: it shuts its cluster down and ends quietly."""


def _stop_quietly(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not interrupt the close
    raise _Stopped


def _serve(conn: Connection, driver: RayDriver) -> None:
    ray = driver.ray
    while True:
        while conn.poll(0 if driver.pending() else 0.2):
            kind, arg = conn.recv()
            if kind == "submit":
                driver.submit(arg)
            elif kind == "cancel":
                driver.cancel()
            elif kind == "close":
                return
        if driver.pending():
            got = driver.wait_one(timeout=POLL_S)
            if got is not None:
                conn.send(("done", ray.cloudpickle.dumps(got)))
