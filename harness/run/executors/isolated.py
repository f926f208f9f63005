"""Jobs in a worker process, so that a per-job time limit can stop any job, even one stuck in C.

A thread cannot stop code that never returns to the interpreter (a hung C extension, a deadlocked
BLAS call); a process can be killed. With a time limit (`timeout:` in the spec, `--job-timeout`)
the local executor hands each unit to one long-lived worker process, started once per run (it
imports torch and rebuilds the plan from the spec, then keeps its adapters and tasks like the
driver does). The worker sends progress and the unit's result back through a pipe. A unit that
outlives its job's limit gets its worker killed (SIGKILL) and is recorded as failed with the
reason; the next unit starts a fresh worker. A worker that dies on its own (a segfault, the OOM
killer) fails its unit the same way, and the run goes on.

With a limit the driver runs no model code at all: what it must know of a job before running it
(the model's identity for the job key, the task's fingerprint, fit and skip: `JobFacts`) is
worked out in the worker too, within the job's limit, which counts from there. So the limit
covers the factory, the weights, the data and the suite; a model whose build ran past it is not
tried again for its later jobs. The cost is the worker's start (importing torch) and pickling
each result back; see docs/throughput.md.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from harness.config.plan import Job, Plan
from harness.config.spec import RunSpec
from harness.core.signals import (
    FORK_SERVER_HELD_ENV,
    FORK_SERVER_SAFE_PATH_ENV,
    ctrl_c_held_from_children,
    ignore_ctrl_c,
)
from harness.core.suite import ProgressCallback
from harness.core.user_code import harness_root, libraries_first, take_path
from harness.run.executors.work import Failure, JobFacts, UnitResult, WorkUnit

log = logging.getLogger(__name__)

START_TIMEOUT_S = 600.0  # a worker that has not imported torch by then is broken
POLL_S = 0.5


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker rebuilds the plan from (plain, picklable data), and the driver's import
    path and folder (`module:factory` references resolve as they do in the driver)."""

    spec: RunSpec
    base_dir: Path
    models: list[str]
    tasks: list[str]
    suites: list[str]
    sys_path: list[str]
    cwd: str
    preload: list[str]  # modules of the plan's suites and adapters
    log_level: int = logging.WARNING

    @classmethod
    def of(cls, plan: Plan) -> WorkerSetup:
        modules = [type(s).__module__ for s in plan.suites.values()]
        modules += [m.adapter_cls.__module__ for m in plan.models.values()]
        return cls(
            spec=plan.spec,
            base_dir=plan.base_dir,
            models=list(plan.models),
            tasks=list(plan.tasks),
            suites=list(plan.suites),
            sys_path=list(sys.path),
            cwd=os.getcwd(),
            preload=list(dict.fromkeys(modules)),
            log_level=logging.getLogger().getEffectiveLevel(),
        )


def worker_context(setup: WorkerSetup) -> Any:
    """`forkserver` where there is one: a server process imports torch, the harness and the
    plan's suites and adapters once, and each worker is forked from it (a restart after a timeout
    is cheap); the server never runs torch code, so forking it is safe. Elsewhere `spawn` (each
    worker imports anew). The server lives as long as this process and serves later runs too."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(
            [
                __name__,
                "harness.run.executors.work",
                "datasets",
                *setup.preload,
                "harness.run.executors.server_ready",  # last: SIGINT unblocked again
            ]
        )
        return context
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def _release_in_server() -> Iterator[None]:
    """Ask a fork server started now to unblock SIGINT once its imports are done
    (`server_ready`): its children, ours and other code's, inherit its signal mask."""
    os.environ[FORK_SERVER_HELD_ENV] = "1"
    try:
        yield
    finally:
        os.environ.pop(FORK_SERVER_HELD_ENV, None)


@contextlib.contextmanager
def _server_off_the_working_folder() -> Iterator[None]:
    """Start a fork server without the working folder first on its path (PYTHONSAFEPATH): it
    imports its preloads (the harness, `datasets`) before any code of ours runs in it, and
    Python 3.11's server ignores the path it is handed (multiprocessing.forkserver.main), so a
    `datasets.py` in the folder the command runs in broke every worker. `server_ready` drops
    the variable in the server again before it forks one. Not when the working folder is the
    one the harness runs from (a checkout, not installed): the server imports it from there."""
    if os.environ.get("PYTHONSAFEPATH") or _here_is(harness_root()):
        yield  # the user's own, or the harness's folder first: left as it is
        return
    os.environ["PYTHONSAFEPATH"] = "1"
    os.environ[FORK_SERVER_SAFE_PATH_ENV] = "1"
    try:
        yield
    finally:
        os.environ.pop("PYTHONSAFEPATH", None)
        os.environ.pop(FORK_SERVER_SAFE_PATH_ENV, None)


def _here_is(folder: Path) -> bool:
    """Whether the working folder is `folder`."""
    try:
        return Path.cwd().resolve() == folder
    except OSError:  # the working folder was removed
        return False


def worker_main(conn: Connection, setup: WorkerSetup) -> None:
    """The worker process: rebuild the plan, then run units until told to stop (None)."""
    ignore_ctrl_c()  # Ctrl-C reaches the driver, which stops us
    # the driver gone (Ctrl-C, a kill) ends the worker quietly: nobody to answer or tell
    with contextlib.suppress(EOFError, BrokenPipeError, ConnectionResetError):
        _serve_driver(conn, setup)


def _serve_driver(conn: Connection, setup: WorkerSetup) -> None:
    # the working folder first: a "" entry of the path (a notebook's, a REPL's) is the driver's
    # working folder, not the one the fork server was started in (a first run's, in a process
    # running several): take_path imports the libraries that folder's files would shadow
    os.chdir(setup.cwd)
    take_path(setup.sys_path)  # the user's folders back, after the libraries that need them
    from tqdm.std import TqdmDefaultWriteLock

    # tqdm would create a cross-process semaphore at its first bar; a killed worker would leak
    # it (and the resource tracker warns at exit). Bars in one process need only a thread lock.
    TqdmDefaultWriteLock.mp_lock = None
    logging.basicConfig(level=setup.log_level, format="%(levelname)s %(name)s: %(message)s")
    from harness.config.planner import build_plan
    from harness.core.suite import RunContext
    from harness.run.environment import resolve_device
    from harness.run.executors.work import build_adapter, job_facts, load_task, run_unit
    from harness.run.plugins import installed_plugins
    from harness.run.quiet import quiet_library_progress
    from harness.run.threads import using_threads

    quiet_library_progress()
    plan = build_plan(
        setup.spec,
        base_dir=setup.base_dir,
        plugins=installed_plugins(),
        models=setup.models,
        tasks=setup.tasks,
        suites=setup.suites,
    )
    device = resolve_device(plan.spec.device)
    adapters: dict[str, Any] = {}
    tasks: dict[str, Any] = {}

    def adapter_and_task(job: Job) -> tuple[Any, Any]:
        # the driver hears what is being built, so a timeout can say what hung
        if job.model not in adapters:
            conn.send(("stage", ("model", job.model)))
            adapters[job.model] = build_adapter(plan, job.model, device)
        if job.task not in tasks:
            conn.send(("stage", ("task", job.task)))
            tasks[job.task] = load_task(plan, job.task)
        conn.send(("stage", None))
        return adapters[job.model], tasks[job.task]

    conn.send(("ready", os.getpid()))
    while True:
        request = conn.recv()
        if request is None:
            return
        if request[0] == "facts":  # the job's preparation: its model built, within its limit
            job = request[1]
            with using_threads(1):
                facts = job_facts(
                    job,
                    suite=plan.suites[job.suite],
                    adapter_and_task=lambda j=job: adapter_and_task(j),  # type: ignore[misc]
                )
            conn.send(("facts", facts))
            continue
        unit = request[1]

        def progress(done: int, stage: str | None = None, total: int | None = None) -> None:
            conn.send(("progress", done, stage, total))

        ctx = RunContext(
            seed=plan.spec.seed,
            device=device,
            batch_size=plan.spec.batch_size,
            bootstrap_resamples=plan.spec.bootstrap_resamples,
            progress=progress,
            threads=unit.threads,
        )
        threads = unit.threads or 1
        with using_threads(threads):
            result = run_unit(
                unit,
                suite=plan.suites[unit.job.suite],
                adapter_and_task=lambda j=unit.job: adapter_and_task(j),  # type: ignore[misc]
                ctx=ctx,
            )
        _send_result(conn, result)


def _send_result(conn: Connection, result: UnitResult) -> None:
    """Send a unit's result; one that cannot be pickled fails the unit with that reason."""
    try:
        conn.send(("result", result))
    except (TypeError, AttributeError, ValueError) as err:  # pickling errors
        conn.send(
            (
                "result",
                UnitResult(
                    unit=result.unit,
                    result=None,
                    seconds=result.seconds,
                    message=f"the job's result cannot be sent back from its worker process: {err}",
                    host=result.host,
                    pid=result.pid,
                ),
            )
        )


@dataclass
class _Worker:
    process: Any  # multiprocessing Process (SpawnProcess)
    conn: Connection
    pid: int


@dataclass
class WorkerPool:
    """One worker process at a time: started on demand, killed on a timeout or at the end."""

    setup: WorkerSetup
    _worker: _Worker | None = None
    _launching: tuple[Any, Connection] | None = None
    starts: int = 0
    _context: Any = None
    # (model|task, name) whose build or loading ran past a job's limit -> that job's label
    hung: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._context = worker_context(self.setup)

    def launch(self) -> None:
        """Start a worker process without waiting for it (it imports torch meanwhile)."""
        if self._launching is None and (self._worker is None or not self._alive()):
            parent, child = self._context.Pipe()
            process = self._context.Process(
                target=worker_main, args=(child, self.setup), name="harness-worker", daemon=True
            )
            if self._context.get_start_method() == "forkserver":
                # the server imports torch for seconds (this process waits in start() for it,
                # with Ctrl-C as usual); it must not take a Ctrl-C meant for this process
                # both start with the libraries ahead of a user's same-named file: the server
                # imports the harness and preloads, the worker its target (take_path in it)
                with (
                    ctrl_c_held_from_children(),
                    _release_in_server(),
                    libraries_first(),
                    _server_off_the_working_folder(),
                ):
                    forkserver.ensure_running()
                with libraries_first():
                    process.start()
            else:
                with ctrl_c_held_from_children(), libraries_first():
                    process.start()
            child.close()
            self.starts += 1
            self._launching = (process, parent)

    def _alive(self) -> bool:
        return self._worker is not None and self._worker.process.is_alive()

    def ensure_started(self) -> None:
        """A ready worker (its start-up is not part of any job's time)."""
        if self._alive():
            return
        self.launch()
        assert self._launching is not None
        process, parent = self._launching
        self._launching = None
        deadline = time.monotonic() + START_TIMEOUT_S
        while not parent.poll(POLL_S):
            if not process.is_alive() or time.monotonic() > deadline:
                process.kill()
                process.join()
                raise RuntimeError(
                    f"the job worker process did not start (exit code {process.exitcode})"
                )
        try:
            kind, pid = parent.recv()
        except (EOFError, OSError):
            process.join()
            raise RuntimeError(
                f"the job worker process did not start (exit code {process.exitcode})"
            ) from None
        assert kind == "ready", kind
        self._worker = _Worker(process=process, conn=parent, pid=pid)

    def run(
        self,
        unit: WorkUnit,
        *,
        deadline: float | None,
        limit: float | None,
        progress: ProgressCallback | None,
    ) -> UnitResult:
        """Run `unit` in the worker; kill it at `deadline` (time.monotonic) and say why."""
        started = time.perf_counter()
        hung = self.hung_before(unit.job)
        if hung is not None:
            return UnitResult.failed(unit, started, hung)
        if deadline is not None and time.monotonic() >= deadline:
            return _timed_out(unit, started, limit, pid=0)  # a later shard of a timed-out job
        self.ensure_started()
        assert self._worker is not None
        pid = self._worker.pid
        kind, got = self._exchange(("unit", unit), unit.job, deadline=deadline, progress=progress)
        if kind == "reply":
            result: UnitResult = got
            return result
        if kind == "died":
            return UnitResult.failed(unit, started, got, pid=pid)
        return _timed_out(unit, started, limit, pid=pid, stage=got)

    def facts(self, job: Job, *, deadline: float | None, limit: float | None) -> JobFacts | Failure:
        """The job's facts, built in the worker (its model and task) and killed at `deadline`."""
        hung = self.hung_before(job)
        if hung is not None:
            return Failure(hung)
        self.ensure_started()
        kind, got = self._exchange(("facts", job), job, deadline=deadline, progress=None)
        if kind == "reply":
            facts: JobFacts | Failure = got
            return facts
        if kind == "died":
            return Failure(got)
        return Failure(timed_out_message(limit, got))

    def hung_before(self, job: Job) -> str | None:
        """Why `job` fails at once: its model's build or its task's loading already ran past the
        time limit in an earlier job (trying again would only wait the limit out once more)."""
        for stage in (("model", job.model), ("task", job.task)):
            if stage in self.hung:
                return (
                    f"timed out: {_doing(stage)} ran longer than the time limit in job "
                    f"{self.hung[stage]} and was stopped; this job was not tried (timeout: in "
                    "the spec, --job-timeout)"
                )
        return None

    def _exchange(
        self,
        request: tuple[str, Any],
        job: Job,
        *,
        deadline: float | None,
        progress: ProgressCallback | None,
    ) -> tuple[str, Any]:
        """Send `request` to the ready worker and wait: ("reply", payload), ("died", why) or
        ("timeout", what the worker was building then, or None)."""
        worker = self._worker
        assert worker is not None
        try:
            worker.conn.send(request)
        except OSError:  # it died since it was seen alive: a BrokenPipeError up there read as
            return "died", self._died()  # the run's output gone (SIGPIPE), not a failed job
        stage: tuple[str, str] | None = None
        while True:
            wait = (
                POLL_S if deadline is None else min(POLL_S, max(0.0, deadline - time.monotonic()))
            )
            if worker.conn.poll(wait):
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    return "died", self._died()
                if message[0] in ("result", "facts"):
                    return "reply", message[1]
                if message[0] == "stage":
                    stage = message[1]
                elif progress is not None:
                    progress(message[1], message[2], message[3])
            elif not worker.process.is_alive():
                return "died", self._died()
            elif deadline is not None and time.monotonic() >= deadline:
                self.stop()
                if stage is not None:
                    self.hung[stage] = job.label
                return "timeout", stage

    def _died(self) -> str:
        assert self._worker is not None
        process = self._worker.process
        process.join(5)
        code = process.exitcode
        self.stop()
        how = (
            f"killed by {signal.Signals(-code).name}"
            if code is not None and code < 0 and -code in signal.valid_signals()
            else f"exit code {code}"
        )
        return f"the worker process running the job died ({how}); the run went on"

    def stop(self) -> None:
        """Kill the worker at once (it may be stuck in C code; nothing it holds is kept)."""
        if self._launching is not None:
            process, parent = self._launching
            self._launching = None
            process.kill()
            process.join()
            parent.close()
        worker, self._worker = self._worker, None
        if worker is None:
            return
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()
        worker.conn.close()

    def close(self) -> None:
        """Let an idle worker exit on its own; kill it if it does not."""
        worker = self._worker
        if worker is not None and worker.process.is_alive():
            try:
                worker.conn.send(None)
                worker.process.join(5)
            except (OSError, ValueError):
                pass
        self.stop()


def _timed_out(
    unit: WorkUnit,
    started: float,
    limit: float | None,
    *,
    pid: int,
    stage: tuple[str, str] | None = None,
) -> UnitResult:
    return UnitResult.failed(unit, started, timed_out_message(limit, stage), pid=pid)


def timed_out_message(limit: float | None, stage: tuple[str, str] | None) -> str:
    """The line of a job stopped at its limit, saying what it was building if it was."""
    during = f" while {_doing(stage)}" if stage is not None else ""
    return (
        f"timed out: the job ran longer than its time limit of {_seconds(limit or 0.0)} "
        f"(timeout: in the spec, --job-timeout) and was stopped{during}"
    )


def _doing(stage: tuple[str, str]) -> str:
    kind, name = stage
    if kind == "model":
        return f"building model {name!r} (its factory and weights)"
    return f"loading task {name!r}"


def _seconds(value: float) -> str:
    return f"{value:g} s" if value < 120 else f"{value / 60:g} min"


class IsolatedExecutor:
    """Sequential, like the local executor, but each unit runs in a worker process with a limit."""

    kind = "local-process"
    window = 0

    def __init__(
        self,
        plan: Plan,
        *,
        timeout: float | None,
        progress_for: Callable[[WorkUnit], ProgressCallback | None] | None = None,
    ) -> None:
        self.timeout = timeout
        self.progress_for = progress_for
        self.pool = WorkerPool(WorkerSetup.of(plan))
        self._queue: deque[WorkUnit] = deque()
        self._job_started: dict[int, float] = {}

    def start(self) -> None:
        self.pool.launch()  # imports torch while the driver prepares the first job

    def prepare(
        self, index: int, job: Job, here: Callable[[], JobFacts | Failure]
    ) -> JobFacts | Failure:
        """In the worker, within the job's limit: the limit counts from here, so it covers the
        factory, the weights, the data and then the job's units."""
        self.pool.ensure_started()
        started = self._job_started.setdefault(index, time.monotonic())
        deadline = None if self.timeout is None else started + self.timeout
        return self.pool.facts(job, deadline=deadline, limit=self.timeout)

    def submit(self, unit: WorkUnit) -> None:
        self._queue.append(unit)

    def pending(self) -> int:
        return len(self._queue)

    def next_done(self) -> UnitResult:
        unit = self._queue.popleft()
        self.pool.ensure_started()
        started = self._job_started.setdefault(unit.index, time.monotonic())  # per job
        deadline = None if self.timeout is None else started + self.timeout
        progress = self.progress_for(unit) if self.progress_for is not None else None
        return self.pool.run(unit, deadline=deadline, limit=self.timeout, progress=progress)

    def cancel(self) -> None:
        self._queue.clear()

    def close(self) -> None:
        self._queue.clear()
        self.pool.close()
