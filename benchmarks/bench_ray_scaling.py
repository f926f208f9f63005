"""Ray executor: scaling of a sharded CPU-bound sweep (1 vs 2 workers) and fixed cost per job.

    python benchmarks/bench_ray_scaling.py [--rounds 3]

One local Ray cluster (num_cpus=2); every worker runs torch with one thread (cpus_per_job=1).
Scaling: the same two shards of an accuracy job on a CPU-heavy MLP over the digits task, run one
after the other on one worker ("1 worker") or at once on two ("2 workers"), interleaved per round;
efficiency = t(1 worker) / t(2 workers), ideal 2.0. Overhead: a trivial job (16 samples, a linear
model) through Ray (submit + result back, workers warm) against the same unit run in-process.
CPU timings on a shared 2-core machine are noisy: compare ratios, and rerun on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from harness.config.planner import build_plan
from harness.config.spec import ExecutionSpec, parse_spec_text
from harness.core.suite import RunContext
from harness.run.executors.ray_executor import RayExecutor, import_ray
from harness.run.executors.sharding import plan_shards
from harness.run.executors.work import WorkUnit, build_adapter, load_task, run_unit
from harness.run.plugins import installed_plugins

SPEC = """\
name: bench-ray
seed: 0
device: cpu
batch_size: 64
bootstrap_resamples: 0
tasks: [digits]
models:
  - name: heavy
    factory: bench_ray_scaling:heavy_mlp
    input_shape: [1, 8, 8]
  - name: trivial
    factory: bench_ray_scaling:linear
    input_shape: [1, 8, 8]
suites:
  accuracy: {}
"""


def heavy_mlp(width: int = 1536, depth: int = 6) -> nn.Module:
    """A CPU-bound classifier (about 14 M multiply-adds per sample)."""
    gen = torch.Generator().manual_seed(0)
    layers: list[nn.Module] = [nn.Flatten(), nn.Linear(64, width)]
    for _ in range(depth):
        layers += [nn.ReLU(), nn.Linear(width, width)]
    layers += [nn.ReLU(), nn.Linear(width, 10)]
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (1.0 / max(p.shape[-1], 1)) ** 0.5)
    return model


def linear() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))


def timed_units(executor: RayExecutor, units: list[WorkUnit], *, concurrent: bool) -> float:
    start = time.perf_counter()
    if concurrent:
        for unit in units:
            executor.submit(unit)
        results = [executor.next_done() for _ in units]
    else:
        results = []
        for unit in units:
            executor.submit(unit)
            results.append(executor.next_done())
    elapsed = time.perf_counter() - start
    assert all(r.ok for r in results), [r.message for r in results]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--overhead-jobs", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray = import_ray()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            spec = parse_spec_text(SPEC, source="bench")
            plan = build_plan(spec, base_dir=Path(tmp), plugins=installed_plugins())
            executor = RayExecutor(plan, ExecutionSpec(executor="ray"))
            executor.start()
            heavy = next(j for j in plan.jobs if j.model == "heavy")
            trivial = next(j for j in plan.jobs if j.model == "trivial")
            n = len(load_task(plan, "digits"))
            shards = plan_shards(n, batch_size=spec.batch_size, shards=2) or []
            units = [WorkUnit(index=1, job=heavy, shard=s) for s in shards]
            timed_units(executor, units, concurrent=True)  # warm two workers (imports, weights)
            one, two = [], []
            for _ in range(args.rounds):
                one.append(timed_units(executor, units, concurrent=False))
                two.append(timed_units(executor, units, concurrent=True))
            print(
                f"sharded sweep: {n} digits x heavy MLP, {len(units)} shards, 1 thread per worker"
            )
            for i, (a, b) in enumerate(zip(one, two, strict=True), start=1):
                print(
                    f"  round {i}: 1 worker {a:.2f} s, 2 workers {b:.2f} s, speed-up {a / b:.2f}x"
                )
            ratio = statistics.median(a / b for a, b in zip(one, two, strict=True))
            print(f"  median speed-up 2 vs 1 worker: {ratio:.2f}x (target >= 1.6x; ideal 2.0x)")

            small = plan.spec.model_copy(update={"limit": 16})
            small_plan = build_plan(small, base_dir=Path(tmp), plugins=installed_plugins())
            small_exec = RayExecutor(small_plan, ExecutionSpec(executor="ray"))
            small_exec.start()
            unit = WorkUnit(index=1, job=trivial)
            ctx = RunContext(seed=0, batch_size=64, bootstrap_resamples=0)
            ray_times, local_times = [], []
            timed_units(small_exec, [unit], concurrent=False)
            for _ in range(args.overhead_jobs):
                ray_times.append(timed_units(small_exec, [unit], concurrent=False))
                start = time.perf_counter()
                got = run_unit(
                    unit,
                    suite=small_plan.suites["accuracy"],
                    adapter_and_task=lambda: (
                        build_adapter(small_plan, "trivial", torch.device("cpu")),
                        load_task(small_plan, "digits"),
                    ),
                    ctx=ctx,
                )
                local_times.append(time.perf_counter() - start)
                assert got.ok, got.message
            r, loc = statistics.median(ray_times), statistics.median(local_times)
            print(f"trivial job (16 samples, linear model), median of {args.overhead_jobs}:")
            print(
                f"  through Ray {r * 1000:.0f} ms, in-process {loc * 1000:.0f} ms, fixed Ray overhead {(r - loc) * 1000:.0f} ms per job"
            )
            print(
                "  (both rebuild the adapter and load the task; Ray adds scheduling, plan transfer and result return)"
            )
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
