"""Benchmark: this checkout's corruptions against another commit's, interleaved in one process.

    python benchmarks/ab_corruptions.py --base REV [--n 64] [--size 32] [--repeats 3]
                                        [--regime imagenet] [--only NAME ...]

The base commit's `suites/` is exported with `git archive` into a temporary folder and imported
under another package name (`suites_base`), next to this checkout's `suites`. For every
(corruption, severity) both versions run on the same photo crops and seeds, alternately, and the
best of ``--repeats`` is kept per side: machine-wide slowdowns hit both alike, so the new / base
ratio is far steadier than either time on a shared machine. One torch thread. Reports ms per
image per corruption (summed over the severities) and the ratio, then the full sweep.
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_corruptions import photo_crops  # noqa: E402
from harness.suites.shift.image_corruptions import CORRUPTIONS, SEVERITIES, corrupt  # noqa: E402

Corrupt = Callable[..., torch.Tensor]


def export_base(rev: str, folder: Path) -> Corrupt:
    """`corrupt` of commit ``rev``, imported from ``folder`` as the package ``suites_base``."""
    archive = folder / "suites.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", rev, "suites"], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    (folder / "suites").rename(folder / "suites_base")
    # the base's own imports of its suites (`harness.suites` since one namespace, `suites` before)
    pattern = re.compile(r"\b(from|import) (?:harness\.)?suites\b")
    for source in (folder / "suites_base").rglob("*.py"):
        text = source.read_text()
        source.write_text(pattern.sub(r"\1 suites_base", text))
    sys.path.insert(0, str(folder))
    module = importlib.import_module("suites_base.shift.image_corruptions")
    return module.corrupt  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with (e.g. HEAD~3)")
    parser.add_argument("--n", type=int, default=64, help="images per call")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side (best kept)")
    parser.add_argument("--regime", default="imagenet", choices=("imagenet", "cifar"))
    parser.add_argument("--only", nargs="+", default=None, help="a subset of corruptions")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = tuple(args.only) if args.only else CORRUPTIONS
    x = torch.tensor(photo_crops(args.n, args.size), dtype=torch.float32)
    x = x.permute(0, 3, 1, 2).div(255.0).contiguous()
    seeds = torch.arange(args.n, dtype=torch.int64) * 7919 + 1
    options = {"regime": args.regime, "scale": 1.0}
    with tempfile.TemporaryDirectory() as tmp:
        sides: dict[str, Corrupt] = {"base": export_base(args.base, Path(tmp)), "new": corrupt}
        print(f"base={args.base} n={args.n} size={args.size} regime={args.regime} one thread")
        totals = dict.fromkeys(sides, 0.0)
        for name in names:
            spent = dict.fromkeys(sides, 0.0)
            for severity in SEVERITIES:
                best = dict.fromkeys(sides, float("inf"))
                for fn in sides.values():  # warm-up
                    fn(x, name, severity, seeds, **options)
                for _ in range(args.repeats):
                    for side, fn in sides.items():
                        start = time.perf_counter()
                        fn(x, name, severity, seeds, **options)
                        best[side] = min(best[side], time.perf_counter() - start)
                for side in sides:
                    spent[side] += best[side] / args.n * 1e3
            for side in sides:
                totals[side] += spent[side]
            ratio = spent["new"] / spent["base"]
            print(
                f"{name:<20} base {spent['base']:.3f}  new {spent['new']:.3f} ms/img  "
                f"new/base {ratio:.2f}",
                flush=True,
            )
        ratio = totals["new"] / totals["base"]
        print(
            f"{'sweep':<20} base {totals['base']:.3f}  new {totals['new']:.3f} ms/img  "
            f"new/base {ratio:.3f}"
        )


if __name__ == "__main__":
    main()
