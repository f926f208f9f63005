"""Cost of running model code in its own room: every `logits` call reads its own copy of its inputs
(`harness.core.model_calls.private_inputs`) against the path without the copy, for every suite.

Zoo models on digits and mnist (and diabetes for fairness: digits and mnist have no group
columns), each suite job run through `CheckedAdapter` as the runner runs it, A (no copy) then B
(copy) in pairs, alternating which goes first, in one process with one thread (a short job
gets more pairs); reports per job the median of the pairs' time ratios B/A and checks that both
give the same per-sample table. A second table gives the copy's
cost per call against the model's forward pass alone, at batch 1, 64 and 256.

    python benchmarks/bench_model_isolation.py [--reps 7] [--limit 300]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import harness.core.model_calls as model_calls
from harness.config.planner import build_plan
from harness.config.spec import RunSpec
from harness.core.model_calls import CheckedAdapter
from harness.core.suite import RunContext, Suite
from harness.run.executors.work import load_task
from harness.run.model_adapter import build_model_adapter
from harness.run.plugins import installed_plugins

SUITES: dict[str, dict[str, Any]] = {
    "accuracy": {},
    "shift": {"severities": [1, 3], "max_samples": 200},
    "adversarial": {"preset": "fast", "epsilons": {"linf": [0.1]}, "max_samples": 40},
    "throughput": {"batch_sizes": [1, 64], "warmup_iters": 2, "timed_iters": 10},
    "fairness": {"group_by": ["sex"]},
}
MIN_SAMPLE_S = 0.5  # per round of pairs, each side runs a short job at least this long
JOBS = [  # (model, task, suites)
    ("digits-mlp", "digits", ["accuracy", "shift", "adversarial", "throughput"]),
    ("digits-cnn", "digits", ["accuracy", "shift", "adversarial", "throughput"]),
    ("mnist-cnn", "mnist", ["accuracy", "shift", "adversarial", "throughput"]),
    ("diabetes-mlp", "diabetes", ["fairness"]),
]


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _same(a: Any, b: Any) -> bool:
    if a.table is None or b.table is None:
        return a.table is None and b.table is None
    return bool(a.table.frame.equals(b.table.frame))


def _identity(inputs: Any) -> Any:
    return inputs


def _repeat(fn: Callable[[torch.Tensor], object], x: torch.Tensor, calls: int) -> float:
    """Seconds for `calls` calls of fn(x)."""
    t0 = time.perf_counter()
    for _ in range(calls):
        fn(x)
    return time.perf_counter() - t0


def _run(suite: Suite, checked: CheckedAdapter, task: Any, ctx: RunContext, private: Any) -> Any:
    """One suite job with `private` as the input copy (identity: the path without the copy)."""
    copy = model_calls.private_inputs
    model_calls.private_inputs = private
    try:
        return suite.run(checked, task, ctx)
    finally:
        model_calls.private_inputs = copy


def suite_ratios(reps: int, limit: int) -> None:
    spec = RunSpec.model_validate(
        {
            "tasks": ["digits", "mnist", "diabetes"],
            "models": [m for m, _, _ in JOBS],
            "suites": SUITES,
            "limit": limit,
            "batch_size": 256,
            "bootstrap_resamples": 0,
        }
    )
    plan = build_plan(spec, base_dir=Path.cwd(), plugins=installed_plugins())
    ctx = RunContext(seed=0, batch_size=256, bootstrap_resamples=0)
    cpu = torch.device("cpu")
    copy = model_calls.private_inputs
    print(f"{'model':<13} {'task':<9} {'suite':<12} {'A no copy':>10} {'B copy':>10} {'B/A':>6}")
    for model, task_name, suites in JOBS:
        adapter = build_model_adapter(plan.models[model], device=cpu, base_dir=plan.base_dir)
        task = load_task(plan, task_name)
        for name in suites:
            suite: Suite = plan.suites[name]
            checked = CheckedAdapter(adapter, task)
            a, b = _run(suite, checked, task, ctx, _identity), _run(suite, checked, task, ctx, copy)
            same = name == "throughput" or _same(a, b)  # timings differ run to run
            # A and B run one after the other, alternating who goes first, in pairs; a short job
            # gets more pairs (at least MIN_SAMPLE_S of each per round), so the machine's drift
            # cancels in the median of the pairs' ratios
            once, _ = _timed(lambda: _run(suite, checked, task, ctx, copy))  # noqa: B023
            pairs = reps * max(1, math.ceil(MIN_SAMPLE_S / max(once, 1e-6)))
            t_a: list[float] = []
            t_b: list[float] = []
            for rep in range(pairs):
                pair = [(t_a, _identity), (t_b, copy)]
                for times, private in pair if rep % 2 == 0 else pair[::-1]:
                    times.append(_timed(lambda p=private: _run(suite, checked, task, ctx, p))[0])  # type: ignore[misc]  # noqa: B023
            ratio = statistics.median(b_ / a_ for a_, b_ in zip(t_a, t_b, strict=True))
            print(
                f"{model:<13} {task_name:<9} {name:<12} {statistics.median(t_a):>9.3f}s "
                f"{statistics.median(t_b):>9.3f}s {ratio:>6.3f}{'' if same else '  TABLES DIFFER'}"
            )


def per_call(reps: int) -> None:
    spec = RunSpec.model_validate(
        {"tasks": ["digits", "mnist"], "models": ["digits-mlp", "digits-cnn", "mnist-cnn"]}
        | {"suites": {"accuracy": {}}}
    )
    plan = build_plan(spec, base_dir=Path.cwd(), plugins=installed_plugins())
    print(f"\n{'model':<13} {'batch':>5} {'forward':>11} {'copy':>9} {'copy/forward':>13}")
    for model, shape in (("digits-mlp", (1, 8, 8)), ("digits-cnn", (1, 8, 8))) + (
        ("mnist-cnn", (1, 28, 28)),
    ):
        adapter = build_model_adapter(
            plan.models[model], device=torch.device("cpu"), base_dir=plan.base_dir
        )
        for batch in (1, 64, 256):
            x = torch.rand(batch, *shape)
            calls = max(20, 20000 // batch)
            forward, copied = [], []
            for _ in range(reps + 1):  # the first round warms up and is dropped
                forward.append(_repeat(adapter.logits, x, calls))
                copied.append(_repeat(torch.Tensor.clone, x, calls))
            forward, copied = forward[1:], copied[1:]
            f, c = statistics.median(forward) / calls, statistics.median(copied) / calls
            print(f"{model:<13} {batch:>5} {f * 1e6:>9.1f}us {c * 1e6:>7.2f}us {c / f:>12.2%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    suite_ratios(args.reps, args.limit)
    per_call(args.reps)


if __name__ == "__main__":
    main()
