"""Benchmark: the shift suite's corruption sweep end to end, and the share of it in `corrupt`.

    python benchmarks/bench_shift_suite.py [--n 256] [--size 224] [--severities 3]
                                           [--only brightness contrast ...] [--repeats 2]

Runs `ShiftSuite.run` (clean rows, every cell, the no-op check, metrics with 200 bootstrap
resamples) on ``--n`` photo crops held in memory (a task whose batches come from one tensor, so
no decoding is timed), scored by a tiny model (a 16 x 16 average pool and a linear layer, so the
model is a small part), one torch thread, batch size 256 (the suite's step). Prints the best
wall time of ``--repeats`` runs, per image and cell, and the time spent inside `corrupt` (the
rest is the suite: bounds maps, the no-op check, prediction, rows and metrics).

To compare two commits, run this file from both checkouts (e.g. a `git worktree` of the older
one, with this file copied in), alternately, and compare the ratios.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import harness.suites.shift.image_corruptions as corruptions_package  # noqa: E402
from benchmarks.bench_corruptions import photo_crops  # noqa: E402
from harness.adapters.torch_module import TorchModuleAdapter  # noqa: E402
from harness.core.suite import RunContext  # noqa: E402
from harness.core.task import Batch, Task  # noqa: E402
from harness.suites.shift import ShiftSuite  # noqa: E402


@dataclass(frozen=True, kw_only=True, eq=False)
class _InMemory(Task):
    """A task whose batches are slices of one tensor (nothing decoded or formatted)."""

    images: torch.Tensor

    def batches(self, batch_size: int) -> Iterator[Batch]:
        for start in range(0, len(self), batch_size):
            stop = min(len(self), start + batch_size)
            ids = [f"p{i}" for i in range(start, stop)]
            yield Batch(ids, self.images[start:stop], torch.arange(start, stop) % 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--severities", type=int, nargs="+", default=[3])
    parser.add_argument("--only", nargs="+", default=None, help="corruptions (default: all 19)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    n, size = args.n, args.size
    images = torch.tensor(photo_crops(n, size), dtype=torch.float32)
    images = images.permute(0, 3, 1, 2).div(255.0).contiguous()
    rows = {
        "sample_id": [f"p{i}" for i in range(n)],
        "input": [0.0] * n,
        "label": (np.arange(n) % 10).tolist(),
    }
    task = _InMemory(
        name="photos",
        modality="image",
        num_classes=10,
        class_names=tuple(str(i) for i in range(10)),
        input_shape=(3, size, size),
        bounds=(0.0, 1.0),
        data=datasets.Dataset.from_dict(rows),
        images=images,
    )
    pool = max(1, size // 14)
    model = torch.nn.Sequential(
        torch.nn.AvgPool2d(pool), torch.nn.Flatten(), torch.nn.Linear(3 * (size // pool) ** 2, 10)
    )
    adapter = TorchModuleAdapter.from_module(
        model,
        name="tiny",
        device=torch.device("cpu"),
        bounds=(0.0, 1.0),
        input_shape=(3, size, size),
        modality="image",
    )
    corruptions = args.only or "all"
    cfg = {"corruptions": corruptions, "severities": args.severities, "gallery_samples": 0}
    ctx = RunContext(seed=0, bootstrap_resamples=200, batch_size=256)
    spent = [0.0]
    original = corruptions_package.corrupt  # what perturbations.apply calls

    def timed(*a: object, **k: object) -> torch.Tensor:
        start = time.perf_counter()
        try:
            return original(*a, **k)  # type: ignore[arg-type]
        finally:
            spent[0] += time.perf_counter() - start

    best, best_corrupt = float("inf"), 0.0
    for _ in range(args.repeats):
        suite = ShiftSuite(cfg)  # a fresh instance: no cached corrupted inputs
        spent[0] = 0.0
        corruptions_package.corrupt = timed  # type: ignore[assignment]
        start = time.perf_counter()
        suite.run(adapter, task, ctx)
        wall = time.perf_counter() - start
        corruptions_package.corrupt = original
        if wall < best:
            best, best_corrupt = wall, spent[0]
    cells = (19 if corruptions == "all" else len(corruptions)) * len(args.severities)
    print(f"n={n} size={size} cells={cells} threads=1 torch={torch.__version__}")
    print(
        f"shift suite: {best:.2f} s ({best / n / cells * 1e3:.3f} ms per image and cell), "
        f"of which corrupt {best_corrupt:.2f} s ({best_corrupt / best:.0%}); "
        f"the rest {best - best_corrupt:.2f} s"
    )


if __name__ == "__main__":
    main()
