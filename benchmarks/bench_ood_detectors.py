"""Every default OOD detector of one model and task against the clean-accuracy pass on the same
samples, measured interleaved in one process, at two evaluation sizes.

    OMP_NUM_THREADS=1 python benchmarks/bench_ood_detectors.py [--model mnist-seen-cnn]
        [--task mnist-seen] [--fit-samples 1000] [--reps 5] [--repeat 1,5] [--no-odin]

Samples: the task's test split, the OOD sets of the quickstart's open-set benchmark
(mnist-unseen, natural-patches) and 300 uniform-noise inputs, tiled `--repeat` times (each value
one evaluation size: 1 is the quickstart's 1,800 samples, 5 an evaluation five times as large on
the same model; the fit subset is the same size whatever the evaluation's, as on CIFAR-size
benchmarks where the test and OOD sets outnumber it). A: the clean-accuracy pass, the model's
logits of every sample in batches of 256. B: the shift suite's default detectors on the same
samples, as the suite runs them: `build_bank` (the seeded stratified `--fit-samples` of the
train split chosen and read, its logits and features in one forward pass, then Mahalanobis,
RMD, KNN, SHE, ViM, ReAct, ASH, DICE fitted), then one forward pass per batch that returns
logits and features together (`Bank.outputs`) and every detector's score (`Bank.scores`, plus
the four logit scores every row has). C: ODIN on the same samples (not a default detector: a
forward, a backward and a second forward pass per batch).

Prints, per size, the medians of `--reps` interleaved rounds: A, B / A with B's parts (fitting:
choosing and reading the subset, its forward pass, each detector's fit; the forward with
features; each detector's scoring), the floor that B's forward passes alone set (1 + fit
samples / samples, the fit's forward pass being as costly per sample as the clean pass) and
(B + C) / A. Every part is timed by wrapping the function the suite calls, not by a copy of it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import datasets
import torch
from threadpoolctl import threadpool_limits

from harness.adapters.torch_module import TorchModuleAdapter, TorchModuleConfig
from harness.core.suite import RunContext
from harness.data.catalogue import task_registry
from harness.suites.shift.config import OODConfig
from harness.suites.shift.ood import detectors as bank_module
from harness.suites.shift.ood.base import Detector
from harness.suites.shift.ood.odin import odin_scores
from harness.suites.shift.ood.scores import score_columns
from harness.zoo import zoo_models

BATCH = 256

Clock = dict[str, float]


def _timed(clock: Clock, key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            clock[key] = clock.get(key, 0.0) + time.perf_counter() - t0

    return run


def _instrument(clock: Clock, adapter: Any) -> None:
    """Wrap what `build_bank`, `Bank.outputs` and `Bank.scores` call, adding to `clock`:
    the fit subset's choice, its outputs (reading + forward), each forward with features, each
    detector's fit and score."""
    make, fit_task, fit_data = bank_module.make, bank_module.fit_task, bank_module._fit_data

    def timed_make(name: str, cfg: OODConfig, temperature: float) -> Detector:
        detector = make(name, cfg, temperature)
        detector.fit = _timed(clock, f"fit:{name}", detector.fit)  # type: ignore[method-assign]
        detector.score = _timed(clock, f"score:{name}", detector.score)  # type: ignore[method-assign]
        return detector

    bank_module.make = timed_make  # type: ignore[assignment]
    bank_module.fit_task = _timed(clock, "fit subset", fit_task)
    bank_module._fit_data = _timed(clock, "fit outputs", fit_data)
    adapter.features = _timed(clock, "features forward", adapter.features)


def _size(
    adapter: Any, task: Any, samples: torch.Tensor, clock: Clock, args: argparse.Namespace
) -> dict[str, float]:
    """Medians over `--reps` rounds of A, B's parts, C and the round's B / A. Within a round
    the fit comes first (as in the suite), then each batch is run by A, B and C in turn, the
    order alternating between rounds: the load of the shared machine changes by the second,
    and this way A and B see the same load."""
    ctx = RunContext(seed=0, batch_size=BATCH)
    cfg = OODConfig(fit_samples=args.fit_samples)
    batches = [samples[start : start + BATCH] for start in range(0, len(samples), BATCH)]
    rounds: dict[str, list[float]] = defaultdict(list)
    for round_ in range(args.reps):
        clock.clear()
        t0 = time.perf_counter()
        bank = bank_module.build_bank(adapter, task, ctx, cfg, 1.0)
        fit = time.perf_counter() - t0
        rounds["fit"].append(fit)
        rounds["fit forward"].append(clock.get("features forward", 0.0))
        rounds["fit subset"].append(clock["fit subset"])
        rounds["fit read"].append(clock["fit outputs"] - clock.get("features forward", 0.0))
        for key, value in clock.items():
            if key.startswith("fit:"):
                rounds[key].append(value)
        spent: dict[str, float] = defaultdict(float)
        clock.clear()
        for batch in batches:
            steps: list[tuple[str, Callable[[], object]]] = [
                ("A", partial(adapter.logits, batch)),
                ("B", partial(_detect, bank, adapter, task, batch, ctx, spent)),
            ]
            if not args.no_odin:
                steps.append(("C", partial(_odin, adapter, task, batch)))
            for name, step in steps if round_ % 2 == 0 else reversed(steps):
                t0 = time.perf_counter()
                step()
                spent[name] += time.perf_counter() - t0
        for key in ("A", "C", "forward", "scoring"):
            if key in spent:
                rounds[key].append(spent[key])
        rounds["B / A"].append((fit + spent["B"]) / spent["A"])
        for key, value in clock.items():
            if key.startswith("score:"):
                rounds[key].append(value)
    med = {key: statistics.median(values) for key, values in rounds.items()}
    med["B / A low"], med["B / A high"] = min(rounds["B / A"]), max(rounds["B / A"])
    return med


def _detect(
    bank: Any, adapter: Any, task: Any, batch: torch.Tensor, ctx: RunContext, spent: Clock
) -> None:
    """One batch as the suite's clean pass runs it with detectors: one forward pass with
    features, the four logit score columns every row has, every detector's column."""
    t0 = time.perf_counter()
    out = bank.outputs(adapter, task, batch, ctx, "bench")
    t1 = time.perf_counter()
    score_columns(out.logits, 1.0)
    bank.scores(adapter, task, batch, out, ctx)
    spent["forward"] += t1 - t0
    spent["scoring"] += time.perf_counter() - t1


def _odin(adapter: Any, task: Any, batch: torch.Tensor) -> None:
    odin_scores(adapter.module(), batch, temperature=1000.0, epsilon=0.0014, bounds=task.bounds)


def _report(med: dict[str, float], n: int, n_fit: int, repeat: int, reps: int) -> None:
    a = med["A"]
    b = med["fit"] + med["forward"] + med["scoring"]  # the parts' medians, as printed below
    detector_fits = {k[4:]: v for k, v in med.items() if k.startswith("fit:")}
    scores = {k[6:]: v for k, v in med.items() if k.startswith("score:")}
    parts = ("fit subset", "fit read", "fit forward")
    rest = med["fit"] - sum(med[p] for p in parts) - sum(detector_fits.values())
    print(f"\n{n} samples (x{repeat}), fit subset {n_fit} of the train split; medians of {reps}")
    print(f"A clean-accuracy pass: {a:.3f} s")
    print(
        f"B every default detector: {b:.3f} s; B / A = {med['B / A']:.2f} (median of the "
        f"rounds' ratios, {med['B / A low']:.2f}-{med['B / A high']:.2f}; of the medians "
        f"{b / a:.2f}, without fitting "
        f"{(b - med['fit']) / a:.2f}); floor of B's forward passes 1 + {n_fit}/{n} = "
        f"{1 + n_fit / n:.2f}"
    )
    print(
        f"  fitting {med['fit'] / a:.3f} A = choosing the subset {med['fit subset'] / a:.3f} + "
        f"reading it {med['fit read'] / a:.3f} + its forward {med['fit forward'] / a:.3f} + "
        f"detector fits {sum(detector_fits.values()) / a:.3f} + rest {rest / a:.3f}"
    )
    print("    " + ", ".join(f"{k} {v / a:.3f}" for k, v in detector_fits.items()))
    print(f"  forward with features {med['forward'] / a:.3f} A")
    print(
        f"  scoring {med['scoring'] / a:.3f} A (the four logit score columns and each "
        f"detector's), of which the detectors' `score` {sum(scores.values()) / a:.3f}:"
    )
    print("    " + ", ".join(f"{k} {v / a:.3f}" for k, v in scores.items()))
    if "C" in med:
        print(f"C ODIN: {med['C'] / a:.2f} A; (B + C) / A = {(b + med['C']) / a:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mnist-seen-cnn")
    parser.add_argument("--task", default="mnist-seen")
    parser.add_argument("--ood", default="mnist-unseen,natural-patches")
    parser.add_argument("--fit-samples", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument(
        "--repeat", default="1,5", help="evaluation sizes: tile the samples this many times"
    )
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
    base = torch.cat(inputs)
    n_fit = min(args.fit_samples, len(task.train) if task.train is not None else 0)
    clock: Clock = {}
    _instrument(clock, adapter)
    with threadpool_limits(limits=1):  # numpy's BLAS too (the KNN search), as the harness does
        for repeat in (int(r) for r in args.repeat.split(",")):
            samples = base.repeat(repeat, *([1] * len(task.input_shape)))
            med = _size(adapter, task, samples, clock, args)
            _report(med, len(samples), n_fit, repeat, args.reps)


if __name__ == "__main__":
    main()
