"""Benchmark: the full 19-corruption sweep, ours (batched torch) vs the `imagecorruptions` reference.

Both run in one process on the same images, interleaved per corruption (reference, ours, reference,
ours, ...) so that machine-wide slowdowns hit both alike; we report ms per image and the ratio.

    python benchmarks/bench_corruptions.py [--n 64] [--size 32] [--severity 3] [--repeats 2]
                                           [--device cpu|cuda] [--skip-reference] [--threads 1]

The reference needs `pip install imagecorruptions==1.1.2` (patched in-process for numpy 2).
Our corruptions use the ImageNet-C parameter table with scale 1 here, i.e. exactly the reference's
parameters, so both sides do the same work at any --size.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from suites.shift.image_corruptions import CORRUPTIONS, corrupt  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _images(n: int, size: int) -> np.ndarray:
    """Smooth synthetic RGB images with edges (uint8, N x H x W x 3), deterministic."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        f = rng.uniform(2, 8, size=3)
        ph = rng.uniform(0, 6, size=3)
        img = np.stack(
            [0.5 + 0.4 * np.sin(f[c] * (xx + (c - 1) * yy) + ph[c]) for c in range(3)], axis=-1
        )
        a, b = sorted(rng.integers(0, size, size=2))
        img[a : b + 1, a : b + 1] = rng.uniform(0, 1, size=3)
        out[i] = np.clip(img * 255, 0, 255).astype(np.uint8)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="images per corruption")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels (>= 32)")
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds (best is kept)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (default 1: the reference is single-threaded, and spinning "
        "thread pools collapse on a shared 2-core box)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available to torch here")
    images = _images(args.n, args.size)
    batch = torch.tensor(images, dtype=torch.float32).permute(0, 3, 1, 2).div(255.0)
    batch = batch.contiguous().to(device)
    seeds = torch.arange(args.n, dtype=torch.int64, device=device) * 7919 + 1

    ref = None
    if not args.skip_reference:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "suites" / "shift"))
        from PIL import Image  # noqa: PLC0415
        from reference_corruptions import load_reference  # noqa: PLC0415

        ref = load_reference()
        pil_images = [Image.fromarray(im) for im in images]

    def run_ours(name: str) -> float:
        _sync(device)
        t0 = time.perf_counter()
        corrupt(batch, name, args.severity, seeds, regime="imagenet", scale=1.0)
        _sync(device)
        return time.perf_counter() - t0

    def run_ref(name: str) -> float:
        fn = getattr(ref, name)
        np.random.seed(0)
        t0 = time.perf_counter()
        for im in pil_images:
            np.uint8(fn(im, args.severity))
        return time.perf_counter() - t0

    print(
        f"device={device} torch={torch.__version__} threads={torch.get_num_threads()} "
        f"n={args.n} size={args.size} severity={args.severity} repeats={args.repeats}"
    )
    for name in CORRUPTIONS:  # warm-up (kernels, caches, lazy imports)
        run_ours(name)
    print(f"{'corruption':<20}{'ref ms/img':>12}{'ours ms/img':>13}{'speed-up':>10}")
    total_ref = total_ours = 0.0
    for name in CORRUPTIONS:
        best_ref = best_ours = float("inf")
        for _ in range(args.repeats):
            if ref is not None:
                best_ref = min(best_ref, run_ref(name))
            best_ours = min(best_ours, run_ours(name))
        ours_ms = best_ours / args.n * 1e3
        total_ours += ours_ms
        if ref is not None:
            ref_ms = best_ref / args.n * 1e3
            total_ref += ref_ms
            print(f"{name:<20}{ref_ms:>12.3f}{ours_ms:>13.3f}{ref_ms / ours_ms:>9.1f}x")
        else:
            print(f"{name:<20}{'-':>12}{ours_ms:>13.3f}{'-':>10}")
    if ref is not None:
        ratio = total_ref / total_ours
        print(f"{'TOTAL':<20}{total_ref:>12.3f}{total_ours:>13.3f}{ratio:>9.1f}x")
        print(
            f"\nfull 19-corruption sweep (severity {args.severity}, {args.size}x{args.size}): "
            f"reference {total_ref:.2f} ms/img on cpu, ours {total_ours:.3f} ms/img on {device} "
            f"-> {ratio:.1f}x faster (target >= 20x)"
        )
    else:
        print(f"{'TOTAL':<20}{'-':>12}{total_ours:>13.3f}")
        print(
            f"\nfull 19-corruption sweep (severity {args.severity}, {args.size}x{args.size}): "
            f"ours {total_ours:.3f} ms/img on {device} (reference skipped)"
        )


if __name__ == "__main__":
    main()
