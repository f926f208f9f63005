"""Benchmark: peak memory of one `corrupt` call on a large CPU batch, in chunks vs whole.

`corrupt` splits a CPU batch into chunks of at most `apply.CPU_CHUNK_ELEMENTS` values
(`apply.LARGE_CHUNKS` for defocus blur and spatter; the same bits; docs/corruptions.md).
Each measurement runs in a fresh subprocess (peak RSS is per process): random images of ``--n``
x 3 x ``--size`` x ``--size`` are made, then one corruption at ``--severity`` (ImageNet
parameters at scale 1); the peak RSS above the footprint with the input already made is
reported, with the chunks as shipped (A) and with the chunk limits lifted so the whole batch
goes in one call (B), alternating A and B per corruption. The output alone is
``n x 3 x size x size x 4`` bytes (154 MB for 256 images at 224 px).

    OMP_NUM_THREADS=1 python benchmarks/bench_corruption_memory.py [--n 256] [--size 224]
        [--severity 3] [--only zoom_blur frost ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.suites.shift.image_corruptions import CORRUPTIONS  # noqa: E402

_CHILD = """
import json, resource, sys
sys.path.insert(0, {root!r})
import torch
torch.set_num_threads(1)
from harness.suites.shift.image_corruptions import apply, corrupt
if {whole}:
    apply.CPU_CHUNK_ELEMENTS = 1 << 62
    apply.LARGE_CHUNKS = {{}}
x = torch.rand({n}, 3, {size}, {size}, generator=torch.Generator().manual_seed(0))
seeds = torch.arange({n}, dtype=torch.int64)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
corrupt(x, {name!r}, {severity}, seeds, regime="imagenet", scale=1.0)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"peak_mb": (after - before) / 1024}}))
"""


def peak_mb(name: str, n: int, size: int, severity: int, whole: bool) -> float:
    """Peak RSS (MB) above the input's footprint of one call, in a fresh interpreter."""
    code = _CHILD.format(root=str(ROOT), whole=whole, n=n, size=size, name=name, severity=severity)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["peak_mb"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="images per call (the suite's step)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument("--only", nargs="+", default=None, help="a subset of corruptions")
    args = parser.parse_args()
    names = tuple(args.only) if args.only else CORRUPTIONS
    output_mb = args.n * 3 * args.size * args.size * 4 / 2**20
    print(f"n={args.n} size={args.size} severity={args.severity}: output {output_mb:.0f} MB")
    print(f"{'corruption':<20}{'chunks MB':>11}{'whole MB':>10}{'ratio':>8}")
    for name in names:
        chunked = peak_mb(name, args.n, args.size, args.severity, whole=False)
        whole = peak_mb(name, args.n, args.size, args.severity, whole=True)
        ratio = chunked / whole if whole > 0 else float("nan")
        print(f"{name:<20}{chunked:>11.0f}{whole:>10.0f}{ratio:>7.2f}x", flush=True)


if __name__ == "__main__":
    main()
