"""The measurement of one model: every condition of the sweep, as plain JSON-able data.

This runs in-process or inside an isolated subprocess (see `isolation`) and returns raw timings:
per condition the call times of every round (`round_times_s`, the layout
`harness.stats.timing` reads back) and how the model was executed (`execution`: batched, or
one sample at a time for adapters that do not batch); statistics and metric records are computed
by the caller (`records`). Out-of-memory ends a batch size sweep and is recorded as a result with
status `oom`, never a crash.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from harness.core.adapter import ModelAdapter
from harness.core.byte_sizes import size_text
from harness.core.errors import HarnessError
from harness.core.model_calls import model_failure, out_of_memory
from harness.suites.throughput.conditions import Condition, skip_reason
from harness.suites.throughput.config import ThroughputConfig
from harness.suites.throughput.flops import flops_per_sample
from harness.suites.throughput.forward import (
    Samples,
    TimedForward,
    make_batch,
    prepared_forward,
    uses_module,
)
from harness.suites.throughput.hardware import environment, load_average
from harness.suites.throughput.memory import (
    MB,
    available_host_bytes,
    read_peak_mb,
    reset_peak,
    resident_mb,
)
from harness.suites.throughput.timing import time_iterations

log = logging.getLogger(__name__)
SCHEMA = 4  # 2: round_times_s, execution; 3: fresh_times_s; 4: repeat_times_s
FLOP_SAMPLES = 4  # batch size of the single forward pass whose FLOPs are counted
FRESH_CALLS = 5  # calls on inputs the model has not seen, after the rounds (timing.cached_outputs)
INPUT_COPIES = 2  # a batch's inputs held at once: the batch and a fresh or staged copy of it


def is_oom(err: BaseException) -> bool:
    """Out of memory on any device: torch's OOM error or the CPU allocator's message."""
    if isinstance(err, torch.OutOfMemoryError):
        return True
    text = str(err).lower()
    return isinstance(err, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


def batch_sizes(config: ThroughputConfig, device: torch.device) -> list[int]:
    if config.batch_sizes == "auto":
        cap = config.max_batch_for(device.type)
        return [1 << i for i in range(cap.bit_length()) if (1 << i) <= cap]
    return list(config.batch_sizes)


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """`cpu_threads` during the measurement: torch's intra-op threads and, through
    threadpoolctl, the BLAS and OpenMP pools numpy and scikit-learn use (with torch's alone,
    a numpy model's matrix products ran on 2 BLAS threads in records saying threads=1)."""
    old = torch.get_num_threads()
    if n is None:
        yield
        return
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(old)


def _count_flops(adapter: ModelAdapter, samples: Samples, device: torch.device) -> float | None:
    """FLOPs per sample from a batch of `FLOP_SAMPLES` (or one sample, for a model that fails on
    that batch: its smaller batch sizes are still measured; a model that fails on one sample
    fails here)."""
    k = min(FLOP_SAMPLES, len(samples))
    chunk = fixed_batch(adapter)
    for size in dict.fromkeys((k, 1)):
        cond = Condition(batch_size=size, precision="fp32", variant="eager", copy_mode="device")
        # a program fixed at batch N computes every pass on N rows, the last one padded: its
        # FLOPs are per row computed (N x the passes), not per row of the batch
        rows = size if chunk is None else -(-size // chunk) * chunk
        try:
            with prepared_forward(adapter, make_batch(samples, size), cond, device) as fn:
                return flops_per_sample(fn, rows)
        except Exception as err:
            if size == 1:
                raise model_failed(adapter, size, err) from err
            _release(device)
    return None


def model_failed(adapter: ModelAdapter, batch_size: int, err: Exception) -> Exception:
    """The one line of a model whose forward pass raised where the suite cannot go on (its
    first batch size), naming the model as the accuracy suite's `calling_model` does; an
    error of the harness's own (a ModelOutputError from `check_rows`) and out of memory are
    left as they are."""
    if isinstance(err, HarnessError) or out_of_memory(err):
        return err
    return model_failure(
        adapter.name, f"its forward pass in the throughput suite (batch size {batch_size})", err
    )


def measure(
    adapter: ModelAdapter,
    samples: Samples,
    config: ThroughputConfig,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Measure every condition of `config` on `adapter` with batches built from `samples`."""
    device = adapter.device
    module_path = uses_module(adapter, samples)
    ndim = samples.ndim - 1 if isinstance(samples, torch.Tensor) else None
    with _threads(config.cpu_threads):
        env = environment(device)
        fps = _count_flops(adapter, samples, device)
        entries: list[dict[str, Any]] = []
        failures: list[Exception] = []  # sweeps whose first batch size failed
        for precision in config.precisions:
            for variant in config.variants:
                for copy_mode in config.copy_modes:
                    reason = skip_reason(
                        precision=precision,
                        variant=variant,
                        copy_mode=copy_mode,
                        device=device,
                        module_path=module_path,
                        input_ndim=ndim,
                    )
                    if reason is not None:
                        entries.append(
                            {
                                "batch_size": None,
                                "precision": precision,
                                "variant": variant,
                                "copy_mode": copy_mode,
                                "status": "skipped",
                                "reason": reason,
                            }
                        )
                        continue
                    swept, failure = _sweep(
                        adapter, samples, config, device, clock, precision, variant, copy_mode
                    )
                    entries += swept
                    failures += [failure] if failure is not None else []
        if failures and not any(e["status"] == "ok" for e in entries):
            raise failures[0]  # nothing measured: the job fails on the first failure's line
        env["load_average_end"] = load_average()
    return {
        "schema": SCHEMA,
        "environment": env,
        "path": "module" if module_path else "logits",
        "weights": weights_type(adapter) if module_path else graph_type(adapter),
        "weights_mb": weights_mb(adapter) if module_path else None,
        "flops_per_sample": fps,
        "flops_note": None if fps is not None else "no torch matmul/conv ops were counted",
        "conditions": entries,
    }


# torch float types a module can hold its weights in -> the precision names of the conditions
_PRECISION_OF = {torch.float16: "fp16", torch.bfloat16: "bf16", torch.float64: "fp64"}


def weights_type(adapter: ModelAdapter) -> str | None:
    """The precision of the module's own weights when they are all of one float type other than
    float32 (a user's `model.half()`: it then runs in that type whatever `precision` says, the
    adapter casting its inputs); None for float32, mixed or no floating-point weights."""
    types = {p.dtype for p in adapter.module().parameters() if p.is_floating_point()}
    if len(types) != 1:
        return None
    (dtype,) = types
    return _PRECISION_OF.get(dtype) if dtype != torch.float32 else None


# an ONNX graph's input element type (`describe()["input_type"]`) -> the precision it runs in
_GRAPH_PRECISION = {"tensor(float16)": "fp16", "tensor(double)": "fp64"}


def graph_type(adapter: ModelAdapter) -> str | None:
    """The precision of a graph timed through `logits` that takes float16 or double inputs (an
    ONNX export of `model.half()`: the adapter casts the float32 inputs, and it runs in that
    type whatever `precision` says); None otherwise. Its records sat in the fp32 column of
    float32 models."""
    return _GRAPH_PRECISION.get(str(adapter.describe().get("input_type")))


def weights_mb(adapter: ModelAdapter) -> float:
    """MiB of the module's parameters and buffers (each tensor once)."""
    module = adapter.module()
    tensors = {id(t): t for t in (*module.parameters(), *module.buffers())}
    return sum(t.numel() * t.element_size() for t in tensors.values()) / MB


def _sweep(
    adapter: ModelAdapter,
    samples: Samples,
    config: ThroughputConfig,
    device: torch.device,
    clock: Callable[[], float],
    precision: Any,
    variant: Any,
    copy_mode: Any,
) -> tuple[list[dict[str, Any]], Exception | None]:
    """One (precision, variant, copy mode) over the batch sizes; stops growing at OOM. With
    the entries, the one-line failure of a model that raised at the sweep's first batch size
    (None otherwise): its condition is an `error` entry, and the job fails on it only when no
    other condition was measured (a model that fails under bf16 alone keeps its fp32 numbers)."""
    entries: list[dict[str, Any]] = []
    failure: Exception | None = None
    oom_at: int | None = None
    failed_at: int | None = None
    auto = config.batch_sizes == "auto"
    for b in batch_sizes(config, device):
        cond = Condition(batch_size=b, precision=precision, variant=variant, copy_mode=copy_mode)
        base = cond.to_dict()
        if oom_at is not None and b > oom_at:
            entries.append(
                {
                    **base,
                    "status": "oom",
                    "reason": f"not run: batch size {oom_at} already ran out of memory",
                }
            )
            continue
        if failed_at is not None:
            entries.append(
                {**base, "status": "error", "reason": f"not run: batch size {failed_at} failed"}
            )
            continue
        short = _host_memory_short(samples, b)
        if short is not None:
            entries.append({**base, "status": "oom", "reason": short})
            oom_at = b
            if auto:
                break
            continue
        try:
            entries.append({**base, **_measure_one(adapter, samples, cond, config, device, clock)})
        except Exception as err:  # OOM, compile and larger-batch failures become results
            if is_oom(err):
                log.info("out of memory at %s: %s", cond.label, err)
                entries.append(
                    {
                        **base,
                        "status": "oom",
                        "reason": f"out of memory: {str(err).splitlines()[0][:200]}",
                    }
                )
                oom_at = b
                _release(device)
                if auto:
                    break
                continue
            if variant == "compile":
                entries.append(
                    {
                        **base,
                        "status": "error",
                        "reason": f"torch.compile failed: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}",
                    }
                )
                break
            if not any(e["status"] == "ok" for e in entries):
                failure = model_failed(adapter, b, err)
                if failure is not err:
                    failure.__cause__ = err
            # a model that runs smaller batches only, or fails in this condition alone: keep
            # what ran, name the size that failed
            first = str(err).splitlines()[0][:200] if str(err) else ""
            entries.append(
                {
                    **base,
                    "status": "error",
                    "reason": f"the model failed at batch size {b}: {type(err).__name__}: {first}",
                }
            )
            failed_at = b
            _release(device)
    return entries, failure


def _host_memory_short(samples: Samples, batch_size: int) -> str | None:
    """Why a batch is not built, when its inputs alone (`INPUT_COPIES` of them) need more host
    memory than is available: allocated anyway, the kernel may hand the pages out and its OOM
    killer end the run (and what else runs beside it) once they are touched. None otherwise,
    and for inputs on a device. Texts count their strings' mean size (the fresh copy makes new
    strings) and the batch list's reference to each."""
    if not len(samples):
        return None
    if isinstance(samples, torch.Tensor):
        if samples.device.type != "cpu":
            return None
        per_sample = samples[0].numel() * samples.element_size()
    else:
        per_sample = sum(sys.getsizeof(t) for t in samples) // len(samples) + 8
    available = available_host_bytes()
    need = INPUT_COPIES * batch_size * per_sample
    if available is None or need <= available:
        return None
    return (
        f"not run: batch size {batch_size} needs {size_text(need)} of host memory for its "
        f"inputs alone, and {size_text(available)} are available"
    )


def _release(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _measure_one(
    adapter: ModelAdapter,
    samples: Samples,
    cond: Condition,
    config: ThroughputConfig,
    device: torch.device,
    clock: Callable[[], float],
) -> dict[str, Any]:
    batch = make_batch(samples, cond.batch_size)
    counted = adapter.count_tokens(batch) if isinstance(batch, list) else None  # texts only
    tokens = int(counted) if counted is not None else None
    with prepared_forward(adapter, batch, cond, device) as fn:
        memory_method = reset_peak(device)
        resident = resident_mb(device)
        rounds = []
        for r in range(config.rounds):
            warmup = config.warmup_iters if r == 0 else 0
            rounds.append(
                time_iterations(
                    fn, warmup=warmup, iters=config.timed_iters, device=device, clock=clock
                )
            )
        peak = read_peak_mb(device)
        # after the peak: its inputs are not the model's
        fresh, repeat = _fresh_times(fn, device, clock)
        nonfinite = fn.nonfinite_rows()
    return {
        "status": "ok",
        "reason": None,
        "warmup_s": rounds[0].warmup_s,
        "times_s": [t for timing in rounds for t in timing.times_s],
        "round_times_s": [timing.times_s for timing in rounds],
        "wall_s": sum(timing.wall_s for timing in rounds),
        "fresh_times_s": fresh,
        "repeat_times_s": repeat,
        "timing_method": rounds[0].method,
        "execution": execution(adapter, batch),
        "peak_memory_mb": peak,
        "memory_method": memory_method,
        "resident_mb": resident,
        "tokens_per_batch": tokens,
        "threads": runtime_threads(adapter),
        "nonfinite_rows": nonfinite,
    }


def runtime_threads(adapter: ModelAdapter) -> int:
    """The threads the model ran on: torch's intra-op count, or the count its adapter's runtime
    is set to whatever the job's (an ONNX model's `threads:`, `describe()["threads"]`); an
    ONNX model at `threads: 3` was recorded at threads=1, in the one-thread models' column."""
    fixed = adapter.describe().get("threads")
    if isinstance(fixed, int) and not isinstance(fixed, bool) and fixed > 0:
        return fixed
    return torch.get_num_threads()


def _fresh_times(
    fn: TimedForward, device: torch.device, clock: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """Seconds of `FRESH_CALLS` calls, each on inputs the model has not seen before (built
    between the calls, untimed), and of as many calls on the repeated batch, each after a
    fresh call and one call on the repeated batch (a one-entry memo's miss), for
    `timing.cached_outputs`. Calls one at a time between other work can run far slower than
    back-to-back ones on a busy machine (2 torch threads on 2 shared cores: 20-60 ms against
    0.7 ms), so the fresh calls are compared with repeated ones made the same way."""
    fresh: list[float] = []
    repeat: list[float] = []
    for step in range(1, FRESH_CALLS + 1):
        fn.use_fresh(step)
        fresh += time_iterations(fn, warmup=0, iters=1, device=device, clock=clock).times_s
        fn.use_repeated()
        repeat += time_iterations(fn, warmup=1, iters=1, device=device, clock=clock).times_s
    return fresh, repeat


PER_SAMPLE = "one sample at a time"
IN_CHUNKS = "in chunks of"


def fixed_batch(adapter: ModelAdapter) -> int | None:
    """The batch size a model's graph is fixed at, which its adapter feeds in chunks of that
    size: an ONNX input exported without a dynamic batch axis (`describe()["input_shape"]`
    starts with an int) or a `torch.export` program exported without dynamic shapes
    (`describe()["batch"]`); None otherwise."""
    described = adapter.describe()
    shape = described.get("input_shape")
    if (
        described.get("adapter") == "onnx"
        and isinstance(shape, list)
        and shape
        and type(shape[0]) is int
        and shape[0] > 0
    ):
        return int(shape[0])
    batch = described.get("batch")
    if described.get("adapter") in ("torchscript", "torch") and type(batch) is int and batch > 0:
        return batch
    return None


def execution(adapter: ModelAdapter, batch: Samples) -> str:
    """How a timed call really runs the model: one pass over the batch, or sample by sample."""
    chunk = fixed_batch(adapter)
    if uses_module(adapter, batch):
        if chunk is not None:  # the module feeds its program chunks of the exported size
            return (
                f"{IN_CHUNKS} {chunk}: the program's batch dimension is fixed at {chunk} "
                "(exported without dynamic shapes), so each forward pass of the torch module "
                "runs the batch in passes of that size (the last one padded)"
            )
        return "batched: one forward pass of the torch module per call"
    if adapter.capabilities.batching:
        return "batched: one adapter.logits call per batch"
    if chunk is not None and chunk > 1:
        return (
            f"{IN_CHUNKS} {chunk}: the graph's batch dimension is fixed at {chunk}, so each "
            "call runs the batch in passes of that size (the last one padded)"
        )
    return (
        f"{PER_SAMPLE}: the adapter does not batch (capabilities.batching is false), so each "
        "call evaluates the batch's samples one by one"
    )
