"""Run a plan: build adapters and tasks, run each job on an executor, write results, record all.

The runner is the one place that catches errors per job: a failing job is recorded in the manifest
with its cause, the run goes on (unless `fail_fast`), and the run's exit status says so. Jobs whose
results already exist with the same key are skipped, so an interrupted run resumes where it was;
results of the same key in another run folder of the results folder (job_cache.py), else in the
result cache shared by every results folder (result_cache.py), are copied in instead of rerun,
and every job computed here is stored in that cache.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from harness.config.plan import Job, Plan, job_key
from harness.config.spec import ExecutionSpec, RunSpec
from harness.core.adapter import ModelAdapter
from harness.core.errors import HarnessError
from harness.core.manifest import (
    SCHEMA_VERSION,
    Attempt,
    JobEntry,
    JobHeader,
    JobRecord,
    JobStatus,
    ModelDescription,
    PlannedJob,
    ProtocolRef,
    RunManifest,
    RunStatus,
)
from harness.core.model_calls import keeping_process_state, model_failure
from harness.core.sample_table import SampleTable
from harness.core.signals import signal_received
from harness.core.suite import ProgressCallback, RunContext, SuiteResult
from harness.core.task import Task
from harness.core.version import __version__
from harness.run.code_identity import code_digest
from harness.run.environment import (
    device_info,
    git_sha,
    library_versions,
    package_versions,
    resolve_device,
)
from harness.run.executors import Executor, make_executor
from harness.run.executors.sharding import Shard, is_shardable, merge_result, plan_shards
from harness.run.executors.work import (
    Failure,
    Keyed,
    UnitResult,
    WorkUnit,
    build_adapter,
    job_facts,
    load_task,
    this_host,
)
from harness.run.interrupts import SignalLatch, exit_code_of, interruptible, signal_of
from harness.run.lock import RunLock
from harness.run.progress import JobProgress, ProgressSnapshot
from harness.run.quiet import quiet_library_progress
from harness.run.threads import CpuBudget, choose_threads, cpu_budget, using_threads
from harness.store import job_cache
from harness.store.result_cache import ResultCache, entry_key
from harness.store.run_store import RunStore

log = logging.getLogger(__name__)


@dataclass
class JobOutcome:
    job: Job
    status: JobStatus
    seconds: float = 0.0
    message: str = ""
    key: str | None = None
    path: str | None = None
    detail: str | None = None  # traceback of an unexpected error (a bug), for the manifest
    threads: int | None = None  # CPU threads the job ran with


@dataclass
class RunOutcome:
    run_id: str
    run_dir: Path
    outcomes: list[JobOutcome] = field(default_factory=list)
    interrupted: bool = False
    signal: str | None = None  # SIGINT / SIGTERM when interrupted (harness/run/interrupts.py)

    @property
    def failed(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if o.status == JobStatus.FAILED]

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return exit_code_of(self.signal)
        return 1 if self.failed else 0


@dataclass
class RunEvents:
    """Callbacks for whoever shows progress (the CLI); all optional."""

    job_started: Callable[[int, int, Job], None] | None = None
    job_finished: Callable[[int, int, JobOutcome], None] | None = None
    # inside a running job: samples done, its stage, rate and ETA (harness/run/progress.py)
    progress: Callable[[ProgressSnapshot], None] | None = None
    unit_finished: Callable[[int, int, UnitResult], None] | None = None  # a shard of job i is back


def run_id_for(plan: Plan) -> str:
    return f"{plan.spec.name}-{plan.spec_hash()[:12]}"


def _now() -> str:
    # microseconds: "the latest result" must not depend on two jobs finishing in the same second
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


@dataclass
class _PendingJob:
    """A prepared job whose units are with the executor; shard tables gather here."""

    index: int
    job: Job
    key: str
    header: JobHeader  # the job record's identity part; the outcome is added when it ends
    started: float
    shards: list[Shard] | None
    threads: int | None = None
    keyed: Keyed | None = None  # checked by units that rebuild the model and task (Ray)
    tables: dict[int, SampleTable] = field(default_factory=dict)
    input_notes: list[str] = field(default_factory=list)  # the shards' (UnitResult.input_notes)
    done: bool = False
    hosts: set[str] = field(default_factory=set)  # where its units ran (UnitResult.host)

    def units(self) -> list[WorkUnit]:
        if self.shards is None:
            return [
                WorkUnit(index=self.index, job=self.job, threads=self.threads, keyed=self.keyed)
            ]
        return [
            WorkUnit(
                index=self.index, job=self.job, shard=s, threads=self.threads, keyed=self.keyed
            )
            for s in self.shards
        ]


@dataclass
class _RunState:
    """A run in progress: finished and pending jobs, and the manifest that records them."""

    store: RunStore
    manifest: RunManifest
    outcome: RunOutcome
    total: int
    events: RunEvents
    fail_fast: bool
    latch: SignalLatch = field(default_factory=SignalLatch)
    finished: dict[int, JobOutcome] = field(default_factory=dict)
    pending: dict[int, _PendingJob] = field(default_factory=dict)

    def write(self, **changes: Any) -> None:
        """Apply `changes` to the manifest and write it at once (atomically)."""
        self.manifest = self.manifest.replace(**changes, updated=_now())
        self.store.write_manifest(self.manifest)

    def entries(self) -> tuple[JobEntry, ...]:
        """The manifest's job lines, in plan order (the outcome's list follows them)."""
        self.outcome.outcomes = [self.finished[k] for k in sorted(self.finished)]
        return tuple(_job_entry(o) for o in self.outcome.outcomes)

    def finish(self, index: int, result: JobOutcome) -> bool:
        """Record a job's outcome; True when the run must stop (fail-fast).

        A failure is recorded only when no signal arrived meanwhile: a signal whose exception
        the job's code swallowed or turned into another one interrupts the run here instead,
        and the job in flight is left absent (it reruns on resume)."""
        if result.status == JobStatus.FAILED:
            self.latch.check()
        self.finished[index] = result
        self.write(jobs=self.entries())
        if self.events.job_finished:
            self.events.job_finished(index, self.total, result)
        self.latch.check()
        return result.status == JobStatus.FAILED and self.fail_fast

    def adopt_published(self) -> None:
        """After an interruption: a job folder published just before the signal is complete."""
        for index, p in self.pending.items():
            stored = None if index in self.finished else self.store.completed(*_names(p.job), p.key)
            if stored is not None:
                self.finished[index] = JobOutcome(
                    p.job,
                    JobStatus.COMPLETED,
                    0.0,
                    "written just before the interruption",
                    p.key,
                    stored.path.name,
                )


class Runner:
    """Executes a plan: prepares each job here, runs its units on an executor, writes results.

    `execution` (default: the spec's `execution:` section, else local and unsharded) picks the
    executor and the sharding; it never changes a number, so it is not part of the job key.
    Nor do the threads per job (the spec's `threads:`, else chosen per job: harness/run/threads.py)
    or the per-job time limit (the spec's `timeout:`; with one, local jobs run in a worker process
    that is killed when its job runs over: harness/run/executors/isolated.py).
    """

    def __init__(
        self,
        plan: Plan,
        *,
        out_dir: Path,
        fail_fast: bool = False,
        events: RunEvents | None = None,
        execution: ExecutionSpec | None = None,
        wait_lock: bool = False,
    ) -> None:
        self.device = resolve_device(plan.spec.device)
        self.plan = with_resolved_device(plan, self.device.type)
        self.wait_lock = wait_lock  # queue behind another process holding the run folder
        # absolute before any model code runs: a forward calling os.chdir moves nothing
        self.out_dir = Path(os.path.abspath(out_dir))
        self.fail_fast = fail_fast
        self.events = events or RunEvents()
        self.execution = execution or plan.spec.execution or ExecutionSpec()
        self.threads = plan.spec.threads
        self.timeout = plan.spec.timeout
        self.budget = self._cpu_budget()
        # the result cache shared by every results folder (None: --no-cache, HARNESS_NO_CACHE)
        self.cache = ResultCache.for_run(enabled=self.execution.cache)
        # what the cache key holds beyond the job key: code digest, package versions, device
        self._cache_context: dict[str, Any] | None = None
        self._adapters: dict[str, ModelAdapter | HarnessError] = {}
        self._tasks: dict[str, Task | HarnessError] = {}
        # the run folder's id and store while `claim()` holds its lock
        self._claimed: tuple[str, RunStore] | None = None

    def _cpu_budget(self) -> CpuBudget:
        """The CPUs one job may use: this process's (local), or the job's Ray CPU request."""
        if self.execution.executor == "ray":
            cpus = max(1, int(self.execution.resources.cpus_per_job))
            return CpuBudget(affinity=cpus, quota=None, cpus=cpus)
        return cpu_budget()

    # -- building blocks (cached per run) --------------------------------------------------
    def adapter(self, name: str) -> ModelAdapter:
        if name not in self._adapters:
            try:
                self._adapters[name] = build_adapter(self.plan, name, self.device)
            except HarnessError as err:
                self._adapters[name] = err
            except Exception:
                raise  # a bug in adapter code: the job records it with its traceback
            except BaseException as err:  # KeyboardInterrupt, SystemExit, ... from its build
                if signal_received():
                    raise
                self._adapters[name] = model_failure(name, "its build", err)
        got = self._adapters[name]
        if isinstance(got, HarnessError):
            raise got
        return got

    def task(self, name: str) -> Task:
        if name not in self._tasks:
            try:
                self._tasks[name] = load_task(self.plan, name)
            except HarnessError as err:
                self._tasks[name] = err
        got = self._tasks[name]
        if isinstance(got, HarnessError):
            raise got
        return got

    def _resolve(self, job: Job) -> tuple[ModelAdapter, Task]:
        return self.adapter(job.model), self.task(job.task)

    def _context(self) -> RunContext:
        return RunContext(
            seed=self.plan.spec.seed,
            device=self.device,
            batch_size=self.plan.spec.batch_size,
            bootstrap_resamples=self.plan.spec.bootstrap_resamples,
        )

    def _progress_for(self, unit: WorkUnit) -> ProgressCallback | None:
        """The progress callback of a unit's job (None when nobody listens, or for a shard)."""
        listener = self.events.progress
        if listener is None or unit.shard is not None:
            return None
        return JobProgress(unit.index, len(self.plan.jobs), unit.job, listener)

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> RunOutcome:
        spec = self.plan.spec
        quiet_library_progress(
            transformers=any(m.spec.adapter.startswith("hf") for m in self.plan.models.values())
        )
        executor = make_executor(
            self.execution,
            plan=self.plan,
            resolve=self._resolve,
            context=self._context(),
            timeout=self.timeout,
            progress_for=self._progress_for,
        )
        with self.claim() as (run_id, store):
            try:
                with interruptible() as latch:
                    store.remove_leftovers()  # holding the lock: what is left is a dead run's
                    executor.start()
                    try:
                        return self._run(executor, store, run_id, spec, latch)
                    finally:
                        executor.close()
            except HarnessError:
                store.discard_if_unused()
                raise

    @contextlib.contextmanager
    def claim(self) -> Iterator[tuple[str, RunStore]]:
        """Hold the run folder (made if new) under its lock for the block: a folder another
        process holds is refused here, at once (or waited for, `wait_lock`). `harness run`
        claims it before it prints its plan, so a refused run prints nothing that reads as a
        start; `run()` inside a claim runs under it, else claims the folder itself."""
        if self._claimed is not None:
            yield self._claimed
            return
        run_id = run_id_for(self.plan)
        store = RunStore.open_for_writing(self.out_dir, run_id)
        # A new folder without results (disk full, no cluster) is removed while the lock is
        # still held: a run waiting for the lock (--wait-lock) could otherwise take it in
        # between and have the files it just wrote removed.
        with RunLock(store.run_dir, wait=self.wait_lock, on_failure=store.discard_if_unused):
            self._claimed = (run_id, store)
            try:
                yield self._claimed
            except (HarnessError, KeyboardInterrupt):  # refused, or stopped before its jobs
                store.discard_if_unused()
                raise
            finally:
                self._claimed = None

    def _run(
        self,
        executor: Executor,
        store: RunStore,
        run_id: str,
        spec: RunSpec,
        latch: SignalLatch,
    ) -> RunOutcome:
        manifest = self._start_manifest(store, run_id, spec, executor.kind)
        store.write_file("spec.yaml", yaml.safe_dump(manifest.spec, sort_keys=False))
        store.write_manifest(manifest)
        state = _RunState(
            store=store,
            manifest=manifest,
            outcome=RunOutcome(run_id=run_id, run_dir=store.run_dir),
            total=len(self.plan.jobs),
            events=self.events,
            fail_fast=self.fail_fast,
            latch=latch,
        )
        changes: dict[str, Any] = {}
        try:
            self._drive(executor, state)
            latch.check()  # a signal whose exception a finalizer swallowed still stops the run
        except KeyboardInterrupt as exc:
            state.outcome.interrupted = True
            # the signal the handler caught, whatever exception reached this far
            state.outcome.signal = changes["interrupted_by"] = latch.signal_name or signal_of(exc)
            state.adopt_published()
        except BrokenPipeError:
            # the reader of the progress lines went away (`harness run spec | head`): the run
            # stops as SIGPIPE would stop it, and its manifest says so; left `running` with its
            # lock released, every reader called it running though no process ran it
            state.outcome.interrupted = True
            state.outcome.signal = changes["interrupted_by"] = "SIGPIPE"
            state.adopt_published()
        status = self._final_status(state.outcome)
        *earlier, attempt = state.manifest.attempts
        state.write(
            jobs=state.entries(),
            status=status,
            attempts=(*earlier, attempt.replace(finished=_now(), status=status)),
            **changes,
        )
        return state.outcome

    def _start_manifest(
        self, store: RunStore, run_id: str, spec: RunSpec, executor_kind: str
    ) -> RunManifest:
        """The manifest of this attempt: a resumed run keeps its creation time and attempts."""
        previous = store.read_manifest()
        return RunManifest(
            schema_version=SCHEMA_VERSION,
            run_id=run_id,
            spec_name=spec.name,
            spec_hash=self.plan.spec_hash(),
            spec=spec.model_dump(mode="json"),
            created=previous.created if previous is not None else _now(),
            updated=_now(),
            harness_version=__version__,
            versions=package_versions(),
            device=device_info(self.device),
            seed=spec.seed,
            git_sha=git_sha(),
            execution={
                **self.execution.model_dump(mode="json"),
                "threads": self.threads if self.threads is not None else "auto",
                "cpu_budget": self.budget.cpus,
                "job_timeout_s": self.timeout,
            },
            status=RunStatus.RUNNING,
            attempts=(
                *(previous.attempts if previous is not None else ()),
                Attempt(started=_now(), executor=executor_kind),
            ),
            jobs=(),
            planned=tuple(
                PlannedJob(model=j.model, task=j.task, suite=j.suite) for j in self.plan.jobs
            ),
        )

    def _drive(self, executor: Executor, state: _RunState) -> None:
        """Prepare every job, hand its units to the executor and collect them as they finish."""
        stop = False
        for i, job in enumerate(self.plan.jobs, start=1):
            if self.events.job_started:
                self.events.job_started(i, state.total, job)
            with keeping_process_state():  # the model's build may run here (its factory)
                prepared = self._prepare(i, job, state.store, executor)
            if isinstance(prepared, JobOutcome):
                stop = state.finish(i, prepared)
            else:
                state.pending[i] = prepared
                for unit in prepared.units():
                    executor.submit(unit)
                while not stop and executor.pending() > executor.window:
                    stop = self._collect(executor, state)
            if stop:
                break
        while not stop and executor.pending():
            stop = self._collect(executor, state)
        if stop:
            executor.cancel()

    def _final_status(self, outcome: RunOutcome) -> RunStatus:
        status = (
            RunStatus.INTERRUPTED
            if outcome.interrupted
            else RunStatus.FAILED
            if outcome.failed
            else RunStatus.COMPLETED
        )
        if self.fail_fast and outcome.failed and len(outcome.outcomes) < len(self.plan.jobs):
            status = RunStatus.STOPPED_FAIL_FAST
        return status

    @property
    def _protocol(self) -> ProtocolRef | None:
        """The protocol preset of the plan (recorded in every job and its key)."""
        return self.plan.protocol.ref if self.plan.protocol is not None else None

    def _prepare(
        self, index: int, job: Job, store: RunStore, executor: Executor
    ) -> JobOutcome | _PendingJob:
        """Everything the driver decides before a job runs: key, cache, skip, threads, shards.

        What that needs of the model and the task (`JobFacts`) comes from the executor: built
        here, or, under a time limit, in the job's worker process within the limit, so a factory
        that never returns fails its job instead of hanging the run."""
        started = time.perf_counter()
        suite = self.plan.suites[job.suite]
        facts = executor.prepare(
            index,
            job,
            lambda: job_facts(job, suite=suite, adapter_and_task=lambda: self._resolve(job)),
        )
        if isinstance(facts, Failure):
            seconds = time.perf_counter() - started
            return JobOutcome(job, JobStatus.FAILED, seconds, facts.message, detail=facts.detail)
        key = None
        try:
            key = job_key(
                model_identity=facts.identity,
                task_fingerprint=facts.task_summary.fingerprint,
                suite=suite,
                seed=self.plan.spec.seed,
                device_type=self.device.type,
                bootstrap_resamples=self.plan.spec.bootstrap_resamples,
                harness_version=__version__,
                protocol=self._protocol,
                batch_size=self.plan.spec.batch_size,
                # the other tasks the suite reads (shifted tasks, OOD sets): their data
                input_fingerprints=facts.input_fingerprints,
                headline=facts.task_summary.headline,
                group_labels=facts.task_summary.group_labels,
                group_notes=facts.task_summary.group_notes,
                class_names=facts.task_summary.class_names,
            )
            cached = self._cached(job, key, store)
            if cached is not None:
                return cached
            description = ModelDescription.model_validate(facts.description)
            threads = choose_threads(
                requested=self.threads,
                parameters=description.parameters,
                device_type=self.device.type,
                budget=self.budget,
            )
            log.info("%s: %d thread(s): %s", job.label, threads.threads, threads.reason)
            header = JobHeader(
                key=key,
                run_id=store.run_dir.name,
                model=job.model,
                task=job.task,
                suite=job.suite,
                suite_version=suite.version,
                suite_config=suite.config.model_dump(mode="json"),
                suite_config_hash=suite.config_hash,
                task_summary=facts.task_summary,
                model_description=description,
                model_origin=self.plan.models[job.model].origin,
                seed=self.plan.spec.seed,
                device=self.device.type,
                harness_version=__version__,
                started=_now(),
                **_said(protocol=self._protocol, input_fingerprints=facts.input_fingerprints),
                threads=threads.threads,
            )
            if facts.refusal is not None:  # the model cannot serve the task
                seconds = time.perf_counter() - started
                message, detail = facts.refusal.message, facts.refusal.detail
                return JobOutcome(job, JobStatus.FAILED, seconds, message, key, detail=detail)
            # a model that cannot be built as asked (e.g. an int8 variant without Linear layers)
            reason = facts.skip_reason
            if reason is not None:
                record = header.finish(
                    JobStatus.SKIPPED, reason=reason, seconds=time.perf_counter() - started
                )
                path = store.write_job(record=record, table=None, metrics=[], artifacts={})
                return JobOutcome(job, JobStatus.SKIPPED, record.seconds, reason, key, path.name)
            shards = None
            if is_shardable(suite):
                shards = plan_shards(
                    facts.samples,
                    batch_size=self.plan.spec.batch_size,
                    shards=self.execution.shards,
                    shard_size=self.execution.shard_size,
                )
            # a Ray worker rebuilds the model and task from their files: it checks they are still
            # the ones keyed here (weights replaced since, another copy on its node)
            keyed = None
            if executor.kind == "ray":
                keyed = Keyed(
                    identity=facts.identity,
                    description=facts.description,
                    task_fingerprint=facts.task_summary.fingerprint,
                    input_fingerprints=facts.input_fingerprints,
                )
            return _PendingJob(index, job, key, header, started, shards, threads.threads, keyed)
        except HarnessError as err:  # the store (disk full), the description
            return JobOutcome(job, JobStatus.FAILED, time.perf_counter() - started, str(err), key)
        except Exception as err:  # the runner is the one place that records per-job failures
            return _bug_outcome(job, err, started, key)

    def _cached(self, job: Job, key: str, store: RunStore) -> JobOutcome | None:
        """A finished job with this key: in this run folder (resume), else in another run folder
        of the same results folder (the job cache), copied here. None: the job must run."""
        cached = store.completed(job.model, job.task, job.suite, key)
        if cached is not None:
            message = "results with the same key exist; skipped"
            return _reused(job, key, cached.record, message, cached.path.name)
        dirname = store.job_dirname(job.model, job.task, job.suite, key)
        source = job_cache.find_reusable(self.out_dir, store, dirname, key)
        if source is None:
            return self._from_result_cache(job, key, store, dirname)
        path = job_cache.adopt(store, source)
        origin = source.path.parent.parent.name
        message = f"reused the results of run {origin} (same key; not rerun)"
        return _reused(job, key, source.record, message, path.name)

    # -- the result cache shared by every results folder (harness/store/result_cache.py) -----
    def _cache_key(self, job: Job, key: str) -> str:
        if self._cache_context is None:
            device = device_info(self.device)
            device.pop("torch_threads", None)  # this process's setting, not the machine
            self._cache_context = {
                "code": code_digest(),
                "packages": package_versions(),
                "libraries": library_versions(),
                "device": device,
            }
        return entry_key(
            job_key=key,
            model=job.model,
            task=job.task,
            suite=job.suite,
            context=self._cache_context,
        )

    def _from_result_cache(
        self, job: Job, key: str, store: RunStore, dirname: str
    ) -> JobOutcome | None:
        """The job's results copied from the shared result cache (None: a miss, or no cache)."""
        if self.cache is None:
            return None
        record = self.cache.restore(
            key=self._cache_key(job, key),
            job_key=key,
            names=_names(job),
            store=store,
            dirname=dirname,
        )
        if record is None:
            return None
        message = f"reused the results of run {record.run_id} from the result cache (same key)"
        return _reused(job, key, record, message, dirname)

    def _remember(self, job: Job, key: str, path: Path, *, hosts: set[str]) -> None:
        """Store a job this run computed in the shared result cache; a cache that cannot be
        written is logged once and left alone for the rest of the run (the results are kept).

        Only a job computed on this machine: the cache key holds this machine's device (CPU or
        GPU model, CPU count), so a job whose units ran on other Ray nodes (`hosts`) would be
        served to a later run here as if measured here (another machine's timings, or another
        GPU's last bits)."""
        if self.cache is None:
            return
        elsewhere = sorted(h for h in hosts if h != this_host())
        if elsewhere:
            log.info(
                "%s: not stored in the result cache: computed on %s, not this machine",
                job.label,
                ", ".join(elsewhere),
            )
            return
        try:
            self.cache.save(key=self._cache_key(job, key), job_dir=path)
        except (OSError, HarnessError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            log.warning(
                "result cache %s cannot be written (%s); not used for the rest of this run",
                self.cache.root,
                reason,
            )
            self.cache = None

    def _collect(self, executor: Executor, state: _RunState) -> bool:
        """Take one finished unit; write its job when it was the last one. True: stop the run."""
        got = executor.next_done()
        state.latch.check()  # a signal during the unit: the job in flight stays absent
        job = state.pending[got.unit.index]
        if job.done:
            return False  # a late shard of a job that already failed
        job.hosts.add(got.host)
        if got.unit.shard is not None and self.events.unit_finished:
            self.events.unit_finished(job.index, len(self.plan.jobs), got)
        if got.result is None:
            job.done = True
            seconds = time.perf_counter() - job.started
            return state.finish(
                job.index,
                JobOutcome(
                    job.job,
                    JobStatus.FAILED,
                    seconds,
                    got.message,
                    job.key,
                    detail=got.detail,
                    threads=job.threads,
                ),
            )
        if got.unit.shard is not None:
            assert got.result.table is not None, "a shardable suite returns a table"
            job.tables[got.unit.shard.index] = got.result.table
            job.input_notes += got.input_notes  # the first shard's (with_notes keeps each once)
            if len(job.tables) < got.unit.shard.count:
                return False
        job.done = True
        return state.finish(job.index, self._write(job, got.result, state.store))

    def _write(self, job: _PendingJob, whole: SuiteResult, store: RunStore) -> JobOutcome:
        """Merge shards if any, attach group columns and write the job folder atomically."""
        try:
            suite = self.plan.suites[job.job.suite]
            task = self.task(job.job.task)  # loaded here once its worker read it within the limit
            if task.fingerprint != job.header.task_summary.fingerprint:
                # read here after the job ran (in its worker, under a time limit): an edit of
                # the task's files in between would store the new file's group columns beside
                # the predictions on the old rows, under the old data's key
                raise HarnessError(
                    f"task {task.name!r} changed during the run: its files as read now to store "
                    f"job {job.job.label} are not those the job ran on; nothing was stored; "
                    "rerun once its files stay the same"
                )
            result = whole
            if job.shards is not None:
                # the merge recomputes metrics (BLAS products among them) with the job's threads,
                # so a sharded job's numbers equal the whole job's to the last bit
                with using_threads(job.threads):
                    result = merge_result(suite, job.tables, task, self._context())
                result = result.with_notes(job.input_notes)
            table = result.table.with_groups(task.groups()) if result.table is not None else None
            seconds = time.perf_counter() - job.started
            record = job.header.finish(
                JobStatus.COMPLETED,
                seconds=seconds,
                finished=_now(),
                # a group column left out of the table says why (harness groups shows it)
                notes=[*result.notes, *task.group_problems.values(), *task.load_notes],
                shards=len(job.shards) if job.shards is not None else None,
            )
            path = store.write_job(
                record=record,
                table=table,
                metrics=result.metrics,
                artifacts=result.artifacts,
                arrays=result.arrays,
            )
            self._remember(job.job, job.key, path, hosts=job.hosts)
            return JobOutcome(
                job.job,
                JobStatus.COMPLETED,
                seconds,
                "; ".join(result.notes),
                job.key,
                path.name,
                threads=job.threads,
            )
        except HarnessError as err:
            return JobOutcome(
                job.job, JobStatus.FAILED, time.perf_counter() - job.started, str(err), job.key
            )
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as err:  # the runner is the one place that records per-job failures
            return _bug_outcome(job.job, err, job.started, job.key)


def _reused(job: Job, key: str, record: JobRecord, message: str, dirname: str) -> JobOutcome:
    """The outcome of a job whose stored result (this run's, another run's or the result
    cache's) is reused: cached, or, when the stored job was skipped, skipped with its stored
    reason, so a rerun's manifest, first screen and report still say why the suite did not
    apply."""
    if record.status == JobStatus.SKIPPED:
        return JobOutcome(job, JobStatus.SKIPPED, 0.0, record.reason or message, key, dirname)
    return JobOutcome(job, JobStatus.CACHED, 0.0, message, key, dirname)


def _bug_outcome(job: Job, err: Exception, started: float, key: str | None) -> JobOutcome:
    log.error("job %s failed:\n%s", job.label, traceback.format_exc())
    return JobOutcome(
        job,
        JobStatus.FAILED,
        time.perf_counter() - started,
        f"{type(err).__name__}: {err}",
        key,
        detail=traceback.format_exc(),
    )


def _said(**fields: Any) -> dict[str, Any]:
    """The optional header fields that say something: None and empty ones stay unset, so
    job.json has no key for them (as before the fields existed)."""
    return {name: value for name, value in fields.items() if value is not None and value != {}}


def _names(job: Job) -> tuple[str, str, str]:
    return job.model, job.task, job.suite


def _job_entry(o: JobOutcome) -> JobEntry:
    entry = JobEntry(
        model=o.job.model,
        task=o.job.task,
        suite=o.job.suite,
        status=o.status,
        seconds=round(o.seconds, 4),
        message=o.message,
        key=o.key,
        dir=o.path,
    )
    optional = {"traceback": o.detail, "threads": o.threads}
    return entry.replace(**{k: v for k, v in optional.items() if v is not None})


def with_resolved_device(plan: Plan, device_type: str) -> Plan:
    """The plan with `device: auto` replaced by the device it resolved to on this machine.

    The spec hash (hence the run folder) then says where the numbers were computed: `harness run`
    and `harness run --device cpu` on a CPU machine are the same run, and a gate against a
    baseline run with `--device cpu` compares like with like.
    """
    if plan.spec.device != "auto":
        return plan
    return replace(plan, spec=plan.spec.model_copy(update={"device": device_type}))
