"""Benchmark: the full 19 x 5 corruption sweep, ours (batched torch) vs the `imagecorruptions`
reference, on the same photo crops.

Both run in one process on the same images, interleaved per (corruption, severity): reference,
ours, reference, ours... so that machine-wide slowdowns hit both alike. ``--repeats`` runs the
whole sweep that many times and keeps each (corruption, severity)'s best time per side, so a
slowdown of a few seconds on a shared machine spoils one round of a cell, not all of them. We
report ms per image per corruption (summed over the severities), the per-corruption ratios and
the full-sweep ratio.

    python benchmarks/bench_corruptions.py [--n 16] [--size 224] [--severities 1 2 3 4 5]
                                           [--repeats 1] [--device cpu|cuda] [--skip-reference]
                                           [--threads 1]

The images are crops of scikit-image's sample photos (astronaut, coffee, chelsea, rocket...),
resized with PIL's area filter to --size. The reference needs `pip install
imagecorruptions==1.1.2` (patched in-process for numpy 2). Our corruptions use the ImageNet-C
parameter table with scale 1 here, i.e. exactly the reference's parameters, so both sides do the
same work at any --size; the reference gets a PIL image and returns uint8, ours takes a float batch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.suites.shift.image_corruptions import CORRUPTIONS, SEVERITIES, corrupt  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "cat")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def photo_crops(n: int, size: int, seed: int = 0) -> np.ndarray:
    """``n`` square crops of scikit-image's sample photos, resized to ``size`` (uint8 NHWC)."""
    import skimage.data
    from PIL import Image

    gen = np.random.default_rng(seed)
    photos = [getattr(skimage.data, name)() for name in PHOTOS]
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        photo = photos[i % len(photos)]
        side = int(gen.integers(min(photo.shape[:2]) // 2, min(photo.shape[:2]) + 1))
        top = int(gen.integers(0, photo.shape[0] - side + 1))
        left = int(gen.integers(0, photo.shape[1] - side + 1))
        crop = Image.fromarray(photo[top : top + side, left : left + side])
        out[i] = np.asarray(crop.resize((size, size), Image.BOX))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="images per (corruption, severity)")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels (>= 32)")
    parser.add_argument("--severities", type=int, nargs="+", default=list(SEVERITIES))
    parser.add_argument("--repeats", type=int, default=1, help="timed rounds (best is kept)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--only", nargs="+", default=None, help="a subset of corruptions")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads, and OpenCV's for the reference (default 1: both sides on "
        "one thread)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available to torch here")
    names = tuple(args.only) if args.only else CORRUPTIONS
    images = photo_crops(args.n, args.size)
    batch = torch.tensor(images, dtype=torch.float32).permute(0, 3, 1, 2).div(255.0)
    batch = batch.contiguous().to(device)
    seeds = torch.arange(args.n, dtype=torch.int64, device=device) * 7919 + 1

    ref = None
    if not args.skip_reference:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "suites" / "shift"))
        from PIL import Image
        from reference_corruptions import load_reference

        ref = load_reference()
        pil_images = [Image.fromarray(im) for im in images]
        # The reference's OpenCV calls get the same thread budget as ours (OpenCV's own pool
        # otherwise runs one worker per core, so the reference would not be one-threaded).
        import cv2

        cv2.setNumThreads(args.threads if args.threads > 1 else 0)

    def run_ours(name: str, severity: int) -> float:
        _sync(device)
        t0 = time.perf_counter()
        corrupt(batch, name, severity, seeds, regime="imagenet", scale=1.0)
        _sync(device)
        return time.perf_counter() - t0

    def run_ref(name: str, severity: int) -> float:
        fn = getattr(ref, name)
        np.random.seed(severity)
        t0 = time.perf_counter()
        for im in pil_images:
            np.uint8(fn(im, severity))
        return time.perf_counter() - t0

    print(
        f"device={device} torch={torch.__version__} threads={torch.get_num_threads()} "
        f"n={args.n} size={args.size} severities={args.severities} repeats={args.repeats}"
    )
    for name in names:  # warm-up (kernels, caches, lazy imports)
        run_ours(name, args.severities[0])
    cells = [(name, severity) for name in names for severity in args.severities]
    best_ref = dict.fromkeys(cells, float("inf"))
    best_ours = dict.fromkeys(cells, float("inf"))
    for _ in range(args.repeats):  # whole rounds: a slow spell hits one round of a cell
        for cell in cells:
            if ref is not None:
                best_ref[cell] = min(best_ref[cell], run_ref(*cell))
            best_ours[cell] = min(best_ours[cell], run_ours(*cell))
    print(f"{'corruption':<20}{'ref ms/img':>12}{'ours ms/img':>13}{'speed-up':>10}")
    totals = {"ref": 0.0, "ours": 0.0}
    ratios: dict[str, float] = {}
    for name in names:
        ref_s = sum(best_ref[(name, sev)] for sev in args.severities) if ref is not None else 0.0
        ours_s = sum(best_ours[(name, sev)] for sev in args.severities)
        ours_ms, ref_ms = ours_s / args.n * 1e3, ref_s / args.n * 1e3
        totals["ours"] += ours_ms
        totals["ref"] += ref_ms
        if ref is not None:
            ratios[name] = ref_ms / ours_ms
            print(f"{name:<20}{ref_ms:>12.3f}{ours_ms:>13.3f}{ratios[name]:>9.2f}x", flush=True)
        else:
            print(f"{name:<20}{'-':>12}{ours_ms:>13.3f}{'-':>10}", flush=True)
    sweep = f"{len(names)} x {len(args.severities)} sweep ({args.size}x{args.size}, n={args.n})"
    if ref is None:
        print(f"\n{sweep}: ours {totals['ours']:.3f} ms/img on {device} (reference skipped)")
        return
    ratio = totals["ref"] / totals["ours"]
    print(f"{'TOTAL':<20}{totals['ref']:>12.3f}{totals['ours']:>13.3f}{ratio:>9.2f}x")
    slowest = min(ratios, key=ratios.__getitem__)
    print(
        f"\n{sweep}: reference {totals['ref']:.2f} ms/img on cpu, ours {totals['ours']:.3f} "
        f"ms/img on {device} -> {ratio:.1f}x faster; slowest corruption {slowest} "
        f"{ratios[slowest]:.2f}x"
    )


if __name__ == "__main__":
    main()
