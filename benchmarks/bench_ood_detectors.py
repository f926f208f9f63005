"""Every default OOD detector of one model and task against the clean-accuracy pass on the same
samples, measured interleaved in one process.

    python benchmarks/bench_ood_detectors.py [--model mnist-seen-cnn] [--task mnist-seen]
        [--fit-samples 1000] [--reps 5]

Samples: the task's test split, the OOD sets of the quickstart's open-set benchmark
(mnist-unseen, natural-patches) and 300 uniform-noise inputs. A: the clean-accuracy pass, the
model's logits of every sample in batches of 256. B: the shift suite's detectors on the same
samples: fitting (the features of a seeded stratified `--fit-samples` of the train split in one
forward pass, then Mahalanobis, RMD, KNN, SHE, ViM, ReAct, ASH, DICE fitted), then one forward
pass per batch that returns logits and features together (the `features` hook) and every
detector's score. Prints the medians, B / A, and B's parts.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from harness.adapters.torch_module import TorchModuleAdapter, TorchModuleConfig
from harness.config.tasks.catalogue import task_registry
from harness.core.suite import RunContext
from harness.suites.shift.config import OODConfig
from harness.suites.shift.ood.detectors import build_bank
from harness.zoo import zoo_models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mnist-seen-cnn")
    parser.add_argument("--task", default="mnist-seen")
    parser.add_argument("--ood", default="mnist-unseen,natural-patches")
    parser.add_argument("--fit-samples", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    spec = {k: v for k, v in zoo_models()[args.model].items() if k not in ("tasks", "description")}
    spec.pop("adapter", None)
    config = TorchModuleConfig.model_validate(spec)
    from pathlib import Path

    adapter = TorchModuleAdapter.build(
        name=args.model, config=config, device=torch.device("cpu"), base_dir=Path(".")
    )
    registry = task_registry()
    task = registry.load(args.task)()
    inputs = [task.all_inputs()] + [registry.load(n)().all_inputs() for n in args.ood.split(",")]
    low, high = task.bounds or (0.0, 1.0)
    inputs.append(
        low
        + (high - low)
        * torch.rand(300, *task.input_shape, generator=torch.Generator().manual_seed(0))
    )
    samples = torch.cat(inputs)
    ctx = RunContext(seed=0, batch_size=256)
    cfg = OODConfig(fit_samples=args.fit_samples)

    def clean() -> None:
        for start in range(0, len(samples), 256):
            adapter.logits(samples[start : start + 256])

    def detectors() -> tuple[float, float]:
        t0 = time.perf_counter()
        bank = build_bank(adapter, task, ctx, cfg, 1.0)
        fit = time.perf_counter() - t0
        for start in range(0, len(samples), 256):
            batch = samples[start : start + 256]
            out = bank.outputs(adapter, task, batch, ctx, "bench")
            bank.scores(adapter, task, batch, out, ctx)
        return fit, time.perf_counter() - t0 - fit

    a_times, b_times, fits, scoring = [], [], [], []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        clean()
        a_times.append(time.perf_counter() - t0)
        fit, score = detectors()
        b_times.append(fit + score)
        fits.append(fit)
        scoring.append(score)
    a, b = statistics.median(a_times), statistics.median(b_times)
    print(
        f"{len(samples)} samples ({len(task)} test + OOD), fit subset {args.fit_samples} of the train split"
    )
    print(f"A clean-accuracy pass: {a:.3f} s")
    print(
        f"B every default detector: {b:.3f} s = fitting {statistics.median(fits):.3f} s + forward with features and scoring {statistics.median(scoring):.3f} s"
    )
    print(
        f"B / A = {b / a:.2f} (fitting {statistics.median(fits) / a:.2f}, scoring pass {statistics.median(scoring) / a:.2f})"
    )


if __name__ == "__main__":
    main()
