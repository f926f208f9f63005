"""Benchmark: where the time of JPEG compression goes, ours against `imagecorruptions`.

Our JPEG on the CPU is libjpeg itself, through the same Pillow calls as the reference, so that the
corrupted images are bit-identical to CIFAR-10-C / ImageNet-C's. The reference is handed 8-bit
PIL images and returns 8-bit pixels; `corrupt` takes and returns float tensors. This splits one
(corruption, severity) call into its parts, each timed alone on the same photo crops, one thread,
interleaved round by round (best of ``--repeats``), in ms per image:

- ``reference``: `imagecorruptions.jpeg_compression` on a PIL image, then `np.uint8` (what
  `bench_corruptions.py` times);
- ``ours``: `corrupt(..., "jpeg_compression", ...)` on the float batch;
- ``codec``: only the libjpeg round trip of 8-bit images as `corrupt` calls it (Pillow's encoder
  and decoder, the channel planes interleaved for it and split again), with the planes ready;
- ``libjpeg``: Pillow's encoder and decoder alone, on 8-bit PIL images made beforehand, the
  decoded image left in Pillow (no planes, no bytes out): the work any exact JPEG does;
- ``to_8bit`` / ``to_float``: only the conversions around it (float -> rounded 8-bit levels, and
  back to float / 255), as `jpeg_libjpeg` does them, on the whole batch.

``codec + to_8bit + to_float`` is the least an exact float-in, float-out JPEG can cost with this
codec; when it exceeds ``reference``, no reordering of our code makes JPEG faster than the
reference at that size (docs/corruptions.md, "JPEG at 224 px"). ``reference - libjpeg`` is what
the reference spends around the codec (Pillow's save / open in Python, the 8-bit copy out): the
whole budget that float conversions and plane layouts would have to fit in for parity.

    python benchmarks/bench_jpeg_floor.py [--n 16] [--size 224] [--quality 15] [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_corruptions import photo_crops  # noqa: E402
from harness.suites.shift.image_corruptions import corrupt  # noqa: E402
from harness.suites.shift.image_corruptions.jpeg import _pillow_jpeg  # noqa: E402

# imagecorruptions' severities 1..5 for jpeg_compression
QUALITY_OF_SEVERITY = {25: 1, 18: 2, 15: 3, 10: 4, 7: 5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="images per call")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--quality", type=int, default=15, choices=sorted(QUALITY_OF_SEVERITY))
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (best is kept)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    severity = QUALITY_OF_SEVERITY[args.quality]

    from PIL import Image

    images = photo_crops(args.n, args.size)
    pil_images = [Image.fromarray(im) for im in images]
    batch = torch.tensor(images, dtype=torch.float32).permute(0, 3, 1, 2).div(255.0).contiguous()
    seeds = torch.arange(args.n, dtype=torch.int64)
    planes = torch.mul(batch, 255.0).round_().clamp_(0.0, 255.0).to(torch.uint8).numpy()
    decoded = np.empty_like(planes)
    levels = torch.empty_like(batch)
    to_float_out = np.empty(planes.shape, dtype=np.float32)
    codec = _pillow_jpeg("RGB", args.quality)

    def reference() -> None:
        for im in pil_images:  # imagecorruptions.jpeg_compression, then np.uint8 as the bench
            buffer = io.BytesIO()
            im.save(buffer, "JPEG", quality=args.quality)
            np.uint8(Image.open(buffer))

    def ours() -> None:
        corrupt(batch, "jpeg_compression", severity, seeds, regime="imagenet", scale=1.0)

    def codec_only() -> None:
        for i in range(args.n):
            codec.round_trip(planes[i], decoded[i])

    size, mode, config = pil_images[0].size, codec.mode, codec.config or ()

    def libjpeg() -> None:
        for im in pil_images:
            data = im.tobytes("jpeg", (mode, *config))
            Image.frombytes(mode, size, data, "jpeg", mode, "")

    def to_8bit() -> None:  # as jpeg_libjpeg converts (here on the whole batch at once)
        torch.mul(batch, 255.0, out=levels).clamp_(0.0, 255.0)
        np.rint(levels.numpy(), out=decoded, casting="unsafe")

    def to_float() -> None:
        np.divide(decoded, np.float32(255.0), out=to_float_out)

    parts: dict[str, Callable[[], None]] = {
        "reference": reference,
        "ours": ours,
        "codec": codec_only,
        "libjpeg": libjpeg,
        "to_8bit": to_8bit,
        "to_float": to_float,
    }
    best = dict.fromkeys(parts, float("inf"))
    for fn in parts.values():
        fn()  # warm-up
    for _ in range(args.repeats):
        for name, fn in parts.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    ms = {name: seconds / args.n * 1e3 for name, seconds in best.items()}
    print(
        f"jpeg_compression quality {args.quality} (severity {severity}), {args.size}x{args.size}, "
        f"n={args.n}, one thread, best of {args.repeats}, torch {torch.__version__}"
    )
    for name, value in ms.items():
        print(f"{name:<12}{value:>9.3f} ms/img")
    print(
        f"around libjpeg: the reference {ms['reference'] - ms['libjpeg']:.3f} ms/img, ours "
        f"{ms['ours'] - ms['libjpeg']:.3f}"
    )
    floor = ms["codec"] + ms["to_8bit"] + ms["to_float"]
    print(
        f"floor (codec + conversions) {floor:.3f} ms/img = {ms['reference'] / floor:.2f}x the "
        f"reference's speed at best; ours {ms['reference'] / ms['ours']:.2f}x"
    )


if __name__ == "__main__":
    main()
