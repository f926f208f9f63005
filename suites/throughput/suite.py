"""`throughput` suite: samples/s and median latency over timing rounds with the interval of the
median, latency percentiles, peak memory, FLOP/s and percent of peak, per device, batch size,
precision, variant and copy mode; unstable timing is flagged (`unstable_timing`).

There is no per-sample outcome, so the result has no table; per-iteration timings, the
environment and every condition's status go into the artifacts.
"""

from __future__ import annotations

from typing import Any

import torch

from harness.core.adapter import ModelAdapter
from harness.core.board_notes import caveat_note
from harness.core.errors import DatasetError, SpecError
from harness.core.machine import affinity_count
from harness.core.suite import RunContext, Suite, SuiteResult
from harness.core.task import Task
from harness.suites.throughput.board import BOARD
from harness.suites.throughput.config import ThroughputConfig
from harness.suites.throughput.forward import Samples
from harness.suites.throughput.isolation import IsolationUnavailableError, measure_isolated
from harness.suites.throughput.measure import measure
from harness.suites.throughput.records import build_records

BASE_SAMPLES = 256  # distinct task samples that batches are built from (repeated when larger)


def base_samples(task: Task, *, seed: int) -> Samples:
    """`BASE_SAMPLES` samples of the task as the model takes them: a seeded label-stratified
    subset (`Task.subset`, by label x cell on a corruption set), so text lengths and cells are
    represented. Only those rows are read and decoded: a streamed task is never materialised."""
    rows = task.subset(BASE_SAMPLES, seed=seed, purpose="throughput")
    if task.modality == "text":
        return [s for batch in rows.batches(BASE_SAMPLES) for s in batch.inputs]
    return rows.all_inputs()


class ThroughputSuite(Suite):
    name = "throughput"
    # 2: timing rounds, median with its interval, unstable_timing, execution notes; batches built
    # from a seeded stratified subset of the task (not its first rows); 3: a single timing
    # round is checked for stability by its two halves; 4: cached_outputs catches a memo keyed
    # by id or address, notes on CPU peak memory's start and the weights, a p99 from fewer than
    # 101 calls, a model timed through its adapter; ONNX / scikit-learn at the job's threads;
    # 5: an ONNX model's records carry its session's `threads: N` and a float16 graph's weights;
    # 6: a torch.export program fixed at batch N says it runs in chunks of N, and its FLOPs per
    # sample leave out the padding rows of its last chunk
    # 7: a model returning fewer rows than its batch is not timed at that size; `cached_outputs`
    # compares fresh calls with repeated ones made the same way (a slow machine was a cache);
    # `cpu_threads` sets the BLAS and OpenMP pools too
    version = "7"
    description = "samples/s (CI), latency p50/p90/p99, peak memory, FLOP/s and % of peak per batch size and precision"
    config_model = ThroughputConfig
    metrics = BOARD.metrics

    def skip_reason(self, adapter: ModelAdapter, task: Task) -> str | None:
        if len(task) == 0:
            return f"task {task.name!r} has no samples to build batches from"
        return None

    def isolated(self, device: torch.device) -> bool:
        assert isinstance(self.config, ThroughputConfig)
        mode = self.config.isolation
        return mode == "subprocess" or (mode == "auto" and device.type == "cuda")

    def run(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        assert isinstance(self.config, ThroughputConfig)
        if len(task) == 0:
            raise DatasetError(f"task {task.name!r} has no samples to build batches from")
        samples = base_samples(task, seed=ctx.seed)
        notes: list[str] = _oversubscribed(self.config.cpu_threads, adapter.device)
        result: dict[str, Any] | None = None
        if self.isolated(adapter.device):
            try:
                result = measure_isolated(adapter, samples, self.config)
            except IsolationUnavailableError as err:
                if self.config.isolation == "subprocess":
                    raise
                notes.append(f"measured in-process: {err}")
        if result is None:
            result = measure(adapter, samples, self.config)
            result["isolation"] = "inprocess"
        _refuse_nothing_measured(result)
        notes += _busy_machine(result.get("environment") or {}, adapter.device)
        specs = {s.name: s for s in self.metrics}
        records, more = build_records(
            suite=self.name,
            specs=specs,
            measurement=result,
            config=self.config,
            seed=ctx.seed,
            resamples=ctx.bootstrap_resamples,
        )
        return SuiteResult(
            table=None, metrics=records, artifacts={"measurement": result}, notes=notes + more
        )


def _oversubscribed(threads: int | None, device: torch.device) -> list[str]:
    """A note when `cpu_threads` asks for more threads than the cores this process may use:
    the timing then measures threads sharing cores, not what that many cores would give."""
    cores = affinity_count()
    if threads is None or device.type != "cpu" or threads <= cores:
        return []
    return [
        caveat_note(
            f"cpu_threads {threads} is above the {cores} CPU core(s) this process may use: the timing "
            f"measures {threads} threads sharing {cores} core(s) (oversubscribed), not what "
            f"{threads} cores would give; set suites.throughput.cpu_threads to at most {cores}"
        )
    ]


def _busy_machine(env: dict[str, Any], device: torch.device) -> list[str]:
    """A note when the 1-minute load average at the start or end of a CPU measurement was more
    than one above the cores this process may use: other work shared the cores, so the timings
    are slower than a quiet machine gives. Such timings are steadily slow rather than unstable,
    so the rounds' spread (`unstable_timing`) does not catch it. The margin of one: the average
    counts this process's own threads (as many as the cores after a job that used them all, the
    1-minute average lagging) and a daemon's moment, which a quiet machine has too."""
    cores = affinity_count()
    loads = [
        (when, env[f"load_average_{when}"][0])
        for when in ("start", "end")
        if env.get(f"load_average_{when}")
    ]
    if device.type != "cpu" or not loads or max(load for _, load in loads) <= cores + 1:
        return []
    said = " and ".join(f"{load:g} at the {when}" for when, load in loads)
    return [
        caveat_note(
            f"busy machine: the 1-minute load average was {said} of the measurement, on the "
            f"{cores} CPU core(s) this process may use (this process's own work included): "
            "other work shared the cores, so the timings are slower than a quiet machine gives; "
            "measure again when it is quieter, without the result cache (a cached job is not "
            "measured again)"
        )
    ]


def _refuse_nothing_measured(measurement: dict[str, Any]) -> None:
    """A config every condition of which is skipped here (`precisions: [fp16]` on a CPU) would
    complete the job with no timing at all, its only trace a note: fail it naming the key."""
    conditions = measurement.get("conditions") or []
    if conditions and all(c.get("status") == "skipped" for c in conditions):
        reasons = dict.fromkeys(
            f"precision={c['precision']}/variant={c['variant']}/copy_mode={c['copy_mode']}: "
            f"{c['reason']}"
            for c in conditions
        )
        raise SpecError(
            "suites.throughput: nothing to measure on this device and model, every condition is "
            f"skipped ({'; '.join(reasons)}); set precisions/variants/copy_modes to one that runs here"
        )
