"""Benchmark: the throughput suite against a minimal hand-written measurement loop.

Same model, same batch, same process, interleaved rounds (suite, hand loop, suite, ...), so
machine-wide slowdowns hit both alike. Reports samples/s of each and the ratio (target: within
5%); on CUDA also against the hand loop synchronised after every step, as timm's benchmark.py
times (the suite's latencies are per call, so it synchronises per call too; a pipelined block
of launches is faster where a call is a fraction of a millisecond). Then the planted
missing-sync check: a model that enqueues slow work and returns at once must be measured as
slow. On CUDA that model calls `torch.cuda._sleep` (asynchronous GPU work, its duration
measured with CUDA events: the spin's clock differs between cards); a naive perf_counter loop
without synchronisation is shown beside it. On CPU the planted model sleeps (the only way to
"enqueue" slow work there).

    python benchmarks/bench_throughput.py [--device cpu|cuda] [--batch-size 256] [--width 1024]
                                          [--depth 4] [--iters 30] [--warmup 10] [--rounds 5]
                                          [--precision fp32|fp16|bf16] [--threads N]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.adapters.torch_module import TorchModuleAdapter  # noqa: E402
from harness.suites.throughput.conditions import AUTOCAST_DTYPES  # noqa: E402
from harness.suites.throughput.config import ThroughputConfig  # noqa: E402
from harness.suites.throughput.measure import measure  # noqa: E402
from harness.suites.throughput.peaks import lookup_peak  # noqa: E402


def mlp(width: int, depth: int) -> nn.Module:
    """A compute-dominated model: `depth` square Linear+ReLU layers and a 10-class head."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, 10))


class EnqueuesSlowWork(nn.Module):
    """Returns immediately while slow work runs on: GPU spin kernel, or a CPU sleep."""

    def __init__(self, width: int, seconds: float) -> None:
        super().__init__()
        self.head = nn.Linear(width, 10)
        self.seconds = seconds

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_cuda:
            torch.cuda._sleep(int(self.seconds * 1.4e9))  # ~seconds at ~1.4 GHz SM clock
        else:
            time.sleep(self.seconds)
        return self.head(x)


def hand_loop(
    net: nn.Module,
    x: torch.Tensor,
    *,
    warmup: int,
    iters: int,
    precision: str,
    per_step_sync: bool = False,
) -> float:
    """Minimal reference: warm-up, then `iters` forwards; samples/s. Default: one timed block
    (CUDA events around it, launches pipelined). `per_step_sync`: every step synchronised and
    timed on its own, as timm's benchmark.py does (and the suite, whose latencies are per call)."""
    dtype = AUTOCAST_DTYPES.get(precision)
    dev = x.device

    def step() -> None:
        autocast = (
            torch.autocast(dev.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            net(x)

    for _ in range(warmup):
        step()
    if dev.type == "cuda" and per_step_sync:
        torch.cuda.synchronize(dev)
        seconds = 0.0
        for _ in range(iters):
            t0 = time.perf_counter()
            step()
            torch.cuda.synchronize(dev)
            seconds += time.perf_counter() - t0
    elif dev.type == "cuda":
        torch.cuda.synchronize(dev)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            step()
        end.record()
        end.synchronize()
        seconds = start.elapsed_time(end) / 1e3
    else:
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        seconds = time.perf_counter() - t0
    return x.shape[0] * iters / seconds


def sleep_seconds(cycles: int, device: torch.device) -> float:
    """How long `torch.cuda._sleep(cycles)` keeps this GPU busy: its clock is not the same on
    every card (1.4 GHz gives 20 ms on some, 14 ms on an H200 at 1.98 GHz)."""
    torch.cuda._sleep(cycles)
    torch.cuda.synchronize(device)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    torch.cuda._sleep(cycles)
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1e3


def naive_unsynced(net: nn.Module, x: torch.Tensor, iters: int) -> float:
    """The missing-sync bug: perf_counter around asynchronous launches; samples/s."""
    t0 = time.perf_counter()
    with torch.inference_mode():
        for _ in range(iters):
            net(x)
    seconds = time.perf_counter() - t0
    if x.is_cuda:
        torch.cuda.synchronize(x.device)
    return x.shape[0] * iters / seconds


def suite_throughput(
    adapter: TorchModuleAdapter, x: torch.Tensor, config: ThroughputConfig
) -> tuple[float, dict]:
    result = measure(adapter, x.cpu(), config)
    entry = next(e for e in result["conditions"] if e["status"] == "ok")
    return x.shape[0] / statistics.fmean(entry["times_s"]), result


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="fp32")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    adapter = TorchModuleAdapter.from_module(
        mlp(args.width, args.depth),
        name="mlp",
        device=device,
        input_shape=(args.width,),
        modality="tabular",
    )
    x = torch.rand(args.batch_size, args.width)
    x_dev = x.to(device)
    config = ThroughputConfig(
        batch_sizes=[args.batch_size],
        precisions=[args.precision],
        warmup_iters=args.warmup,
        timed_iters=args.iters,
    )
    ours, ref, synced = [], [], []
    result: dict = {}

    def reference() -> None:
        common = {"warmup": args.warmup, "iters": args.iters, "precision": args.precision}
        ref.append(hand_loop(adapter.module(), x_dev, **common))
        if device.type == "cuda":
            synced.append(hand_loop(adapter.module(), x_dev, per_step_sync=True, **common))

    for i in range(args.rounds):  # alternate which side goes first, so order effects cancel
        if i % 2:
            reference()
        got, result = suite_throughput(adapter, x, config)
        ours.append(got)
        if not i % 2:
            reference()
    env = result["environment"]
    print(
        f"device: {env['device_name']} ({device.type}), torch {env['torch']}, threads {env['torch_threads']}"
    )
    print(
        f"model: MLP width {args.width} depth {args.depth}, batch {args.batch_size}, {args.precision}"
    )
    print("round  suite samples/s  hand-loop samples/s  ratio")
    for i, (a, b) in enumerate(zip(ours, ref, strict=True)):
        print(f"{i:5d}  {a:15.1f}  {b:19.1f}  {a / b:5.3f}")
    ratios = [a / b for a, b in zip(ours, ref, strict=True)]
    med = statistics.median(ratios)
    print(
        f"median ratio suite/hand-loop: {med:.3f} ({'within' if abs(med - 1) <= 0.05 else 'OUTSIDE'} 5%)"
    )
    if synced:  # on a GPU: the same loop with every step synchronised (timm's benchmark.py)
        med_sync = statistics.median(a / b for a, b in zip(ours, synced, strict=True))
        pipelined = statistics.median(b / c for b, c in zip(synced, ref, strict=True))
        print(
            f"median ratio suite/hand-loop synchronised per step (timm's way): {med_sync:.3f} "
            f"({'within' if abs(med_sync - 1) <= 0.05 else 'OUTSIDE'} 5%); the per-step sync "
            f"itself costs the hand loop {100 * (1 - pipelined):.0f}% at this call size"
        )
    fps = result["flops_per_sample"]
    peak = lookup_peak(device.type, env["device_name"], args.precision)
    achieved = fps * statistics.median(ours) / 1e12
    pct = (
        f"{100 * achieved / peak.tflops:.1f}% of {peak.tflops:g}"
        if peak.tflops
        else f"unknown ({peak.source})"
    )
    print(f"FLOPs/sample {fps:.3g}; achieved {achieved:.3f} TFLOP/s; peak: {pct}")

    # planted missing-sync check
    seconds = 0.02
    slow = TorchModuleAdapter.from_module(
        EnqueuesSlowWork(args.width, seconds),
        name="slow",
        device=device,
        input_shape=(args.width,),
        modality="tabular",
    )
    small = ThroughputConfig(batch_sizes=[args.batch_size], warmup_iters=2, timed_iters=5)
    res = measure(slow, x, small)
    p50 = statistics.median(next(e for e in res["conditions"] if e["status"] == "ok")["times_s"])
    naive = naive_unsynced(slow.module(), x_dev, 5)
    if device.type == "cuda":  # what the spin kernel really takes on this card
        seconds = sleep_seconds(int(seconds * 1.4e9), device)
    print(
        f"planted slow model ({seconds * 1e3:.1f} ms of enqueued work per call): suite p50 "
        f"{p50 * 1e3:.1f} ms -> {'measured as slow: OK' if p50 >= 0.8 * seconds else 'MISSED'}; "
        f"naive unsynchronised loop: {args.batch_size / naive * 1e3:.2f} ms per batch"
    )


if __name__ == "__main__":
    main()
