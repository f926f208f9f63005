"""Contact sheet: one corruption, ours beside the reference's, on the same photo crops.

Numbers say how strong a corruption is; only a picture says whether it looks like the one users
compare with (frost that looks like scratches, rain that looks like noise). Rows are severities
1-5; each photo crop appears as clean, reference (`imagecorruptions`, for either size; its
random draws are its own, so compare the look, not the pixels) and ours.

    python benchmarks/corruption_sheet.py frost [--size 224] [--n 2] [--out frost_224.png]

Needs the benchmark extras (`pip install imagecorruptions==1.1.2 scikit-image opencv-python`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_corruptions import photo_crops  # noqa: E402
from harness.suites.shift.image_corruptions import CORRUPTIONS, SEVERITIES, corrupt  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corruption", choices=sorted(CORRUPTIONS))
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--n", type=int, default=2, help="photo crops side by side")
    parser.add_argument("--out", type=Path, default=None, help="PNG to write")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "tests" / "suites" / "shift"))
    from PIL import Image
    from reference_corruptions import load_reference

    reference = load_reference()
    images = photo_crops(args.n, args.size)
    batch = torch.tensor(images, dtype=torch.float32).permute(0, 3, 1, 2).div(255.0)
    seeds = torch.arange(args.n, dtype=torch.int64) * 7919 + 1
    rows = []
    for severity in SEVERITIES:
        ours = corrupt(batch, args.corruption, severity, seeds, regime="imagenet", scale=1.0)
        ours8 = (ours.permute(0, 2, 3, 1).numpy() * 255.0).round().clip(0, 255).astype(np.uint8)
        cells = []
        for image, mine in zip(images, ours8, strict=True):
            theirs = getattr(reference, args.corruption)(Image.fromarray(image), severity)
            theirs8 = np.uint8(np.clip(np.asarray(theirs, dtype=np.float64), 0, 255))
            cells += [image, theirs8[..., :3], mine]
        rows.append(np.concatenate(cells, axis=1))
    sheet = Image.fromarray(np.concatenate(rows, axis=0))
    if args.size < 96:  # small crops are enlarged so that the texture can be seen
        zoom = 96 // args.size + 1
        sheet = sheet.resize((sheet.width * zoom, sheet.height * zoom), Image.NEAREST)
    out = args.out or Path(f"{args.corruption}_{args.size}.png")
    sheet.save(out)
    print(
        f"{out}: rows are severities {SEVERITIES[0]}-{SEVERITIES[-1]}; per crop: clean, "
        f"reference (imagecorruptions), ours ({args.size} px, ImageNet-C parameters)"
    )


if __name__ == "__main__":
    main()
