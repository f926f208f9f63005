"""Cost of checking every model call: an accuracy-suite job on a bare adapter vs the runner's
`CheckedAdapter` (its probe forward plus the check of every `logits` output).

Same small MLP and same digits-sized task (a model this small makes the per-call overhead as
visible as it can be), measured interleaved in one process, A then B then A...; reports the
median time ratio and checks that both give the same per-sample table.

    python benchmarks/bench_checked_adapter.py [--n 2000] [--reps 15] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import statistics
import time

import datasets
import numpy as np
import torch
from torch import nn

from harness.adapters.torch_module import TorchModuleAdapter
from harness.core.model_calls import CheckedAdapter
from harness.core.suite import RunContext
from harness.core.task import SAMPLE_ID, Task
from harness.suites.accuracy import AccuracySuite


def make_task(n: int) -> Task:
    gen = np.random.default_rng(0)
    features = datasets.Features(
        {
            SAMPLE_ID: datasets.Value("string"),
            "input": datasets.Array3D(shape=(1, 8, 8), dtype="float32"),
            "label": datasets.Value("int64"),
        }
    )
    data = datasets.Dataset.from_dict(
        {
            SAMPLE_ID: [f"s{i}" for i in range(n)],
            "input": gen.random((n, 1, 8, 8), dtype=np.float32),
            "label": gen.integers(0, 10, n),
        },
        features=features,
    )
    return Task(
        name="bench",
        modality="image",
        num_classes=10,
        class_names=tuple(map(str, range(10))),
        input_shape=(1, 8, 8),
        bounds=(0.0, 1.0),
        data=data,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    adapter = TorchModuleAdapter.from_module(model, name="mlp", input_shape=(1, 8, 8))
    task = make_task(args.n)
    suite = AccuracySuite({})
    ctx = RunContext(seed=0, batch_size=args.batch_size, bootstrap_resamples=0)

    def bare() -> object:
        return suite.run(adapter, task, ctx)

    def checked() -> object:
        guarded = CheckedAdapter(adapter, task)
        guarded.probe()
        return suite.run(guarded, task, ctx)

    a, b = bare(), checked()  # warm-up, and the same table both ways
    assert a.table.frame.equals(b.table.frame)  # type: ignore[attr-defined]
    t_bare, t_checked = [], []
    for _ in range(args.reps):
        for fn, times in ((bare, t_bare), (checked, t_checked)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    ratios = [c / b for c, b in zip(t_checked, t_bare, strict=True)]
    print(
        f"n={args.n} batch={args.batch_size} reps={args.reps} calls/job={-(-args.n // args.batch_size)}"
    )
    print(f"  bare adapter    median {statistics.median(t_bare) * 1e3:.1f} ms")
    print(f"  CheckedAdapter  median {statistics.median(t_checked) * 1e3:.1f} ms")
    print(f"  median ratio checked/bare: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
