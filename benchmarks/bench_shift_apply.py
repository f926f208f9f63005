"""Benchmark: what the shift suite's path adds to a corruption, at the suite's batch step.

    python benchmarks/bench_shift_apply.py [--n 256] [--size 224] [--repeats 3]
                                           [--only brightness contrast ...]

The suite corrupts a task's images through `suites.shift.perturbations.apply`, which maps images
from the task's bounds to [0, 1] and back around `corrupt`. Interleaved per corruption (severity
3, one torch thread, photo crops, best of ``--repeats``), three ways:

- ``corrupt``: `image_corruptions.corrupt` alone (the floor);
- ``recycled``: `corrupt` writing into one buffer reused from call to call (``out=``), as the
  suite does with the batch its cache evicted (`CorruptionCache.recycled`): no fresh output to map
  and fault in;
- ``apply``: `perturbations.apply` on a task with bounds (0, 1) and on one with bounds (-1, 1);
- ``fresh maps``: the maps as the suite wrote them before (``(x - low) / (high - low)`` and
  ``y * (high - low) + low``, each a fresh full-batch tensor), the baseline.

Prints ms per batch and the ratios to ``corrupt``. Then the suite's other per-cell pass over the
batch, the no-op check's change sum (`suites.shift.sweep.change_sum`, in chunks), against the
one-shot float64 formula it replaced, interleaved.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_corruptions import photo_crops  # noqa: E402
from harness.data.builtin import digits  # noqa: E402
from harness.suites.shift import perturbations  # noqa: E402
from harness.suites.shift.image_corruptions import corrupt  # noqa: E402
from harness.suites.shift.sweep import change_sum as _change_sum  # noqa: E402

DEFAULT = ("brightness", "contrast", "pixelate", "jpeg_compression", "gaussian_noise", "fog")


def interleaved_best(ways: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """The best wall time of each way over `repeats` rounds, the ways alternating in each round
    (a machine-wide slowdown hits them alike)."""
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(repeats):
        for way, call in ways.items():
            start = time.perf_counter()
            call()
            best[way] = min(best[way], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="images per batch (the suite's step)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="+", default=list(DEFAULT))
    args = parser.parse_args()
    torch.set_num_threads(1)
    images = torch.tensor(photo_crops(args.n, args.size), dtype=torch.float32)
    unit = images.permute(0, 3, 1, 2).div(255.0).contiguous()
    signed = unit * 2.0 - 1.0
    seeds = torch.arange(args.n, dtype=torch.int64)
    shape = (3, args.size, args.size)
    task01 = dataclasses.replace(digits(), input_shape=shape, bounds=(0.0, 1.0))
    task11 = dataclasses.replace(digits(), input_shape=shape, bounds=(-1.0, 1.0))

    buffer = torch.empty_like(unit)

    def fresh_maps(name: str) -> torch.Tensor:
        low, high = -1.0, 1.0
        out = corrupt((signed - low) / (high - low), name, 3, seeds)
        return out * (high - low) + low

    print(
        f"n={args.n} size={args.size} severity=3 threads=1 repeats={args.repeats} "
        f"torch={torch.__version__}"
    )
    print(
        f"{'corruption':18s} {'corrupt':>9s} {'recycled':>9s} {'apply 0..1':>11s} "
        f"{'apply -1..1':>12s} {'fresh maps':>11s}   ratios to corrupt (ms per batch)"
    )
    for name in args.only:
        ways: dict[str, Callable[[], object]] = {
            "corrupt": lambda name=name: corrupt(unit, name, 3, seeds),
            "recycled": lambda name=name: corrupt(unit, name, 3, seeds, out=buffer),
            "apply01": lambda name=name: perturbations.apply(unit, name, 3, seeds, task01),
            "apply11": lambda name=name: perturbations.apply(signed, name, 3, seeds, task11),
            "fresh": lambda name=name: fresh_maps(name),
        }
        best = interleaved_best(ways, args.repeats)
        base = best["corrupt"]
        ms = {k: v * 1e3 for k, v in best.items()}
        print(
            f"{name:18s} {ms['corrupt']:9.1f} {ms['recycled']:9.1f} {ms['apply01']:11.1f} "
            f"{ms['apply11']:12.1f} {ms['fresh']:11.1f}   {best['recycled'] / base:.2f} / "
            f"{best['apply01'] / base:.2f} / {best['apply11'] / base:.2f} / "
            f"{best['fresh'] / base:.2f}"
        )

    corrupted = corrupt(unit, "contrast", 3, seeds)
    sums: dict[str, Callable[[], object]] = {
        "chunks": lambda: _change_sum(unit, corrupted, task01),
        "one shot": lambda: float((corrupted.double() - unit.double()).abs().sum()),
    }
    best = interleaved_best(sums, args.repeats)
    print(
        f"no-op check's change sum per cell: chunks {best['chunks'] * 1e3:.1f} ms, one shot "
        f"{best['one shot'] * 1e3:.1f} ms ({best['chunks'] / best['one shot']:.2f}x the time)"
    )


if __name__ == "__main__":
    main()
