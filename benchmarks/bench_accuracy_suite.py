"""Harness accuracy-suite evaluation vs a hand-written `torch.inference_mode()` loop.

Same CNN, same 20k 3x32x32 inputs (compute dominates), measured interleaved in one process:
the baseline loops over pre-batched tensors and counts correct predictions; the harness reads the
task from Arrow (explicit Array3D features), runs the model, computes every accuracy-suite metric
with 95% bootstrap intervals and builds the per-sample table. Reports the median time ratio.

    python benchmarks/bench_accuracy_suite.py [--n 20000] [--reps 5] [--batch-size 256] [--device cpu]
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
from harness.core.suite import RunContext
from harness.core.task import SAMPLE_ID, Task
from harness.suites.accuracy import AccuracySuite


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


def make_task(n: int) -> Task:
    gen = np.random.default_rng(0)
    images = gen.random((n, 3, 32, 32), dtype=np.float32)
    labels = gen.integers(0, 10, n)
    features = datasets.Features(
        {
            SAMPLE_ID: datasets.Value("string"),
            "input": datasets.Array3D(shape=(3, 32, 32), dtype="float32"),
            "label": datasets.Value("int64"),
        }
    )
    data = datasets.Dataset.from_dict(
        {SAMPLE_ID: [f"s{i}" for i in range(n)], "input": images, "label": labels},
        features=features,
    )
    return Task(
        name="bench",
        modality="image",
        num_classes=10,
        class_names=tuple(map(str, range(10))),
        input_shape=(3, 32, 32),
        bounds=(0.0, 1.0),
        data=data,
    )


def baseline(
    model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]], device: torch.device
) -> float:
    correct = 0
    with torch.inference_mode():
        for x, y in batches:
            correct += int((model(x.to(device)).argmax(1) == y.to(device)).sum())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return correct / sum(len(y) for _, y in batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    model = make_cnn().eval().to(device)
    task = make_task(args.n)
    x_all = task.all_inputs()
    y_all = torch.as_tensor(task.labels)
    batches = [
        (x_all[i : i + args.batch_size], y_all[i : i + args.batch_size])
        for i in range(0, args.n, args.batch_size)
    ]
    adapter = TorchModuleAdapter.from_module(
        model, name="cnn", device=device, input_shape=(3, 32, 32)
    )
    suite = AccuracySuite({})
    ctx = RunContext(seed=0, device=device, batch_size=args.batch_size, bootstrap_resamples=1000)

    baseline(model, batches[:4], device)  # warm-up both paths
    suite.run(adapter, task.head(1024), ctx)
    t_base, t_harness = [], []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        acc_b = baseline(model, batches, device)
        t_base.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        res = suite.run(adapter, task, ctx)
        t_harness.append(time.perf_counter() - t0)
    acc_h = next(m.value for m in res.metrics if m.metric == "top1_acc")
    assert abs(acc_h - acc_b) < 1e-9, (acc_h, acc_b)
    ratios = [h / b for h, b in zip(t_harness, t_base, strict=True)]
    print(
        f"device={device} n={args.n} batch={args.batch_size} threads={torch.get_num_threads()} reps={args.reps}"
    )
    print(
        f"baseline loop  : median {statistics.median(t_base):.3f} s  {[round(t, 3) for t in t_base]}"
    )
    print(
        f"harness suite  : median {statistics.median(t_harness):.3f} s  {[round(t, 3) for t in t_harness]}"
    )
    print(
        f"ratio harness/baseline: median {statistics.median(ratios):.3f}  per rep {[round(r, 3) for r in ratios]}  (target <= 1.10)"
    )


if __name__ == "__main__":
    main()
