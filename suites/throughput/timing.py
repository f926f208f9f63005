"""Timing loops: warm-up, then repeated timed iterations, synchronised with the device.

On CPU each iteration is timed with `clock` (perf_counter). On CUDA each iteration is bracketed by
CUDA events on the current stream and the host waits for the end event, so asynchronous launches
are never mistaken for speed; a device-wide synchronised wall clock over all iterations is kept as
a cross-check for work enqueued on other streams.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True, kw_only=True)
class Timing:
    """Seconds per warm-up and per timed iteration, plus the synchronised wall time of all."""

    warmup_s: list[float]
    times_s: list[float]
    wall_s: float
    method: str


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_iterations(
    fn: Callable[[], object],
    *,
    warmup: int,
    iters: int,
    device: torch.device,
    clock: Callable[[], float] = time.perf_counter,
) -> Timing:
    """Call `fn` `warmup` times untimed-for-results, then `iters` timed times."""
    warm: list[float] = []
    for _ in range(warmup):
        t0 = clock()
        fn()
        synchronize(device)
        warm.append(clock() - t0)
    if device.type == "cuda":
        return _time_cuda(fn, iters=iters, device=device, clock=clock, warm=warm)
    times: list[float] = []
    w0 = clock()
    for _ in range(iters):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return Timing(
        warmup_s=warm, times_s=times, wall_s=clock() - w0, method="perf_counter per iteration"
    )


def _time_cuda(
    fn: Callable[[], object],
    *,
    iters: int,
    device: torch.device,
    clock: Callable[[], float],
    warm: list[float],
) -> Timing:
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    torch.cuda.synchronize(device)
    w0 = clock()
    with torch.cuda.device(device):
        for start, end in zip(starts, ends, strict=True):
            start.record()
            fn()
            end.record()
            end.synchronize()  # iterations do not overlap: each one's latency is its own
    torch.cuda.synchronize(device)
    wall = clock() - w0
    times = [s.elapsed_time(e) / 1e3 for s, e in zip(starts, ends, strict=True)]
    return Timing(
        warmup_s=warm, times_s=times, wall_s=wall, method="CUDA events per iteration, synchronised"
    )


def untimed_work(
    times_s: list[float], wall_s: float, *, tolerance: float = 0.25, slack_s: float = 2e-3
) -> bool:
    """True when the synchronised wall clock far exceeds the summed iteration times.

    That happens when a model enqueues work the per-iteration timer cannot see (another CUDA
    stream): the numbers are then too optimistic and get a reliability flag.
    """
    return wall_s > sum(times_s) * (1 + tolerance) + slack_s


CACHED = "cached_outputs"
FRESH_RATIO = 3.0
"""The quickest call on fresh inputs taking more than this many times the repeated batch's
median call (plus `slack_s`) means the timed calls were answered from a cache."""


def cached_outputs(
    times_s: list[float],
    fresh_s: list[float],
    *,
    repeat_s: list[float] | None = None,
    ratio: float = FRESH_RATIO,
    slack_s: float = 5e-5,
) -> bool:
    """True when all but the quickest of the calls on inputs the model had not seen
    (`forward.fresh_batch`: the same cost to a model that computes) take far longer than the
    median timed call on the repeated batch: the model answered the repeated batch from a
    cache, and the timings are the cache's. Not the median: on a busy machine another process
    can delay a few of the fresh calls (a 25 us call took 157 us in the median of 5 once), but
    a cache slows them all. Not the quickest either: a memo keyed by `id(x)` or `x.data_ptr()`
    can meet a fresh batch that took the id or address of an input it saw earlier (1 of 5
    calls measured), and answering that one from its cache hid it.

    `repeat_s`: calls on the repeated batch made between the fresh ones, the same way (one at
    a time, between other work); the fresh calls must be that much slower than their median
    too. On a busy machine such calls can run far slower than back-to-back ones (2 torch
    threads on 2 shared cores: 20-60 ms against a 0.7 ms median, 4 of 25 conditions of a
    model that caches nothing), and the repeated ones are then as slow; a cache answers them
    quickly (each follows a call on the repeated batch: a one-entry memo hits it)."""
    if not times_s or not fresh_s:
        return False
    floor = fresh_floor_s(fresh_s)
    if repeat_s and floor <= ratio * float(np.median(repeat_s)) + slack_s:
        return False
    return floor > ratio * float(np.median(times_s)) + slack_s


def fresh_floor_s(fresh_s: list[float]) -> float:
    """The fresh calls' time that `cached_outputs` compares: the second quickest (the only
    one, with a single call)."""
    ordered = sorted(fresh_s)
    return ordered[1] if len(ordered) > 1 else ordered[0]
