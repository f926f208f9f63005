"""`harness.evaluate(model, data=(x, y), suites=["accuracy"])` vs a plain `torch.inference_mode()`
loop over the same in-memory tensors: time ratio and peak extra memory.

The same small CNN and the same 10,000 x 3 x 32 x 32 float32 tensors (123 MB), measured
interleaved in one process (A, B, A, B...). The loop slices the tensor batch by batch and counts
correct predictions; `evaluate` does everything a user's call does: wraps the module, checks the
data (finite, within bounds), builds the task over a view of the tensor, runs the accuracy suite
(every metric with 1,000-resample bootstrap intervals; a third variant without them separates the
suite's statistics from the data path) and builds the per-sample table. Peak
extra memory is the process's resident set size sampled every 2 ms during a call, minus the size
before it; reported against the size of the data (the target: at most one extra copy).

    OMP_NUM_THREADS=1 python benchmarks/bench_in_memory.py [--n 10000] [--reps 5] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

import harness

PAGE = os.sysconf("SC_PAGE_SIZE")


def make_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 8 * 8, 10),
    )


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def peak_extra(call: Callable[[], Any]) -> tuple[Any, float, int]:
    """(result, seconds, peak RSS above the RSS before the call, in bytes)."""
    gc.collect()
    before = rss()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    try:
        out = call()
    finally:
        seconds = time.perf_counter() - t0
        done.set()
        sampler.join()
    return out, seconds, max(peak[0], rss()) - before


def loop(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(x), batch_size):
            correct += int((model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum())
    return correct / len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(args.n, 3, 32, 32, generator=gen)
    y = torch.randint(0, 10, (args.n,), generator=gen)
    model = make_cnn().eval()
    data_mb = x.numel() * 4 / 2**20

    def evaluate(resamples: int = 1000) -> float:
        result = harness.evaluate(
            model,
            data=(x, y),
            suites=["accuracy"],
            device="cpu",
            batch_size=args.batch_size,
            bootstrap_resamples=resamples,
        )
        return result.metric("top1_acc").value

    def baseline() -> float:
        return loop(model, x, y, args.batch_size)

    # warm-up (imports, first-call allocations), then memory on the first measured call of each
    harness.evaluate(model, data=(x[:512], y[:512]), suites=["accuracy"], device="cpu")
    baseline()
    _, _, mem_base = peak_extra(baseline)
    _, _, mem_eval = peak_extra(evaluate)
    t_base, t_eval, t_plain = [], [], []
    for _ in range(args.reps):
        acc_b, seconds, _ = peak_extra(baseline)
        t_base.append(seconds)
        acc_e, seconds, _ = peak_extra(evaluate)
        t_eval.append(seconds)
        _, seconds, _ = peak_extra(lambda: evaluate(0))
        t_plain.append(seconds)
        assert abs(acc_b - acc_e) < 1e-9, (acc_b, acc_e)
    ratios = [e / b for e, b in zip(t_eval, t_base, strict=True)]
    plain = [e / b for e, b in zip(t_plain, t_base, strict=True)]
    print(
        f"n={args.n} x 3x32x32 float32 ({data_mb:.0f} MB) batch={args.batch_size} "
        f"threads={torch.get_num_threads()} reps={args.reps}"
    )
    print(
        f"inference loop : median {statistics.median(t_base):.3f} s  {[round(t, 3) for t in t_base]}"
    )
    print(
        f"evaluate       : median {statistics.median(t_eval):.3f} s  {[round(t, 3) for t in t_eval]}"
    )
    print(
        f"ratio evaluate/loop: median {statistics.median(ratios):.3f}  "
        f"per rep {[round(r, 3) for r in ratios]}  (target <= 1.10)"
    )
    print(
        f"ratio without bootstrap intervals (bootstrap_resamples=0): median "
        f"{statistics.median(plain):.3f}  per rep {[round(r, 3) for r in plain]}"
    )
    print(
        f"peak extra RSS: loop {mem_base / 2**20:.0f} MB, evaluate {mem_eval / 2**20:.0f} MB "
        f"(data {data_mb:.0f} MB); evaluate beyond the loop: "
        f"{(mem_eval - mem_base) / (x.numel() * 4):.2f} x the data (target <= 1 extra copy)"
    )


if __name__ == "__main__":
    main()
