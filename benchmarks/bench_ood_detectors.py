"""Every default OOD detector of one model and task against the clean-accuracy pass on the same
samples, measured interleaved in one process.

    python benchmarks/bench_ood_detectors.py [--model mnist-seen-cnn] [--task mnist-seen]
        [--fit-samples 1000] [--reps 5] [--repeat 1] [--no-odin]

Samples: the task's test split, the OOD sets of the quickstart's open-set benchmark
(mnist-unseen, natural-patches) and 300 uniform-noise inputs, tiled `--repeat` times (a larger
evaluation on the same model; the fit is the same size whatever the evaluation's). A: the
clean-accuracy pass, the model's logits of every sample in batches of 256. B: the shift suite's
default detectors on the same samples: fitting (a seeded stratified `--fit-samples` of the train
split read, its features in one forward pass, then Mahalanobis, RMD, KNN, SHE, ViM, ReAct, ASH,
DICE fitted), then one forward pass per batch that returns logits and features together (the
`features` hook) and every detector's score. C: ODIN on the same samples (not a default
detector: a forward, a backward and a second forward pass per batch). Prints the medians, B / A
with B's parts, the floor that B's forward passes alone set (1 + fit samples / samples, the fit's
forward pass being as costly per sample as the clean pass), and (B + C) / A.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import datasets
import torch

from harness.adapters.torch_module import TorchModuleAdapter, TorchModuleConfig
from harness.core.suite import RunContext
from harness.data.catalogue import task_registry
from harness.suites.shift.config import OODConfig
from harness.suites.shift.ood.detectors import build_bank
from harness.suites.shift.ood.odin import odin_scores
from harness.zoo import zoo_models

BATCH = 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mnist-seen-cnn")
    parser.add_argument("--task", default="mnist-seen")
    parser.add_argument("--ood", default="mnist-unseen,natural-patches")
    parser.add_argument("--fit-samples", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=1, help="tile the samples this many times")
    parser.add_argument("--no-odin", action="store_true", help="leave out C (ODIN)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    datasets.disable_progress_bars()
    spec = {k: v for k, v in zoo_models()[args.model].items() if k not in ("tasks", "description")}
    spec.pop("adapter", None)
    config = TorchModuleConfig.model_validate(spec)
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
    samples = torch.cat(inputs).repeat(args.repeat, *([1] * len(task.input_shape)))
    ctx = RunContext(seed=0, batch_size=BATCH)
    cfg = OODConfig(fit_samples=args.fit_samples)
    batches = [samples[start : start + BATCH] for start in range(0, len(samples), BATCH)]

    def clean() -> None:
        for batch in batches:
            adapter.logits(batch)

    def detectors() -> tuple[float, float, float]:
        t0 = time.perf_counter()
        bank = build_bank(adapter, task, ctx, cfg, 1.0)
        t1 = time.perf_counter()
        outs = [bank.outputs(adapter, task, batch, ctx, "bench") for batch in batches]
        t2 = time.perf_counter()
        for batch, out in zip(batches, outs, strict=True):
            bank.scores(adapter, task, batch, out, ctx)
        return t1 - t0, t2 - t1, time.perf_counter() - t2

    def odin() -> None:
        module = adapter.module()
        for batch in batches:
            odin_scores(module, batch, temperature=1000.0, epsilon=0.0014, bounds=task.bounds)

    times: dict[str, list[float]] = {"A": [], "fit": [], "forward": [], "scores": [], "C": []}
    for _ in range(args.reps):
        t0 = time.perf_counter()
        clean()
        times["A"].append(time.perf_counter() - t0)
        fit, forward, scores = detectors()
        times["fit"].append(fit)
        times["forward"].append(forward)
        times["scores"].append(scores)
        if not args.no_odin:
            t0 = time.perf_counter()
            odin()
            times["C"].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items() if v}
    a = med["A"]
    b = med["fit"] + med["forward"] + med["scores"]
    n_fit = min(args.fit_samples, len(task.train) if task.train is not None else 0)
    print(
        f"{len(samples)} samples ({len(task)} test + OOD, x{args.repeat}), fit subset {n_fit} "
        f"of the train split; medians of {args.reps}"
    )
    print(f"A clean-accuracy pass: {a:.3f} s")
    print(
        f"B every default detector: {b:.3f} s = fitting {med['fit']:.3f} s + forward with "
        f"features {med['forward']:.3f} s + scoring {med['scores']:.3f} s"
    )
    print(
        f"B / A = {b / a:.2f} (fitting {med['fit'] / a:.2f}, forward with features "
        f"{med['forward'] / a:.2f}, scoring {med['scores'] / a:.2f}); without fitting "
        f"{(b - med['fit']) / a:.2f}; floor of B's forward passes 1 + {n_fit}/{len(samples)} "
        f"= {1 + n_fit / len(samples):.2f}"
    )
    if "C" in med:
        print(
            f"C ODIN: {med['C']:.3f} s = {med['C'] / a:.2f} A; (B + C) / A = "
            f"{(b + med['C']) / a:.2f}"
        )


if __name__ == "__main__":
    main()
