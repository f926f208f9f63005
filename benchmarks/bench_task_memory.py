"""Peak memory of a 224 px image task: streamed batches vs the old materialising loader.

Builds a synthetic image folder of `--n` 224x224 JPEG files (50,000 by default; hard links to a
pool of distinct encoded images, so the folder costs little disk) in a temporary directory, then
measures, each in a fresh subprocess (peak RSS is per process), alternating A and B:

- A (streamed, this harness): `load_task` on the folder, the task fingerprint (a content hash of
  every file's bytes), and one full pass over `task.batches(batch_size)`;
- B (materialising, the loader before streaming): every image decoded to float32 CHW, stacked
  into one array and stored as an `Array3D` Arrow dataset, then one pass over it. B holds
  `n x 3 x 224 x 224 x 4` bytes (30 GB at 50,000), so it is measured at `--materialised-n` sizes
  and its per-image slope is extrapolated.

Reports the peak RSS above the process's footprint after imports, the batch-size bound
(`batch_size x 3 x 224 x 224 x 4` bytes per decoded batch), and the ratio.

    OMP_NUM_THREADS=1 python benchmarks/bench_task_memory.py [--n 50000] [--batch-size 256]
        [--materialised-n 100 200 400] [--transform none|imagenet-eval]

Measured (docs/tasks.md): at n=50,000 and batch 256 the streamed task peaked at 364 MB (2.5
decoded batches of 147 MB, flat in n), the materialising loader at 4.04 MB per image (197 GB
extrapolated to 50,000; the float32 split it keeps is 28 GB): 554x.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZE = 224
CLASSES = 10
POOL = 64


def rss_mb(field: str) -> float:
    """VmRSS (current) or VmHWM (peak) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{field} not in /proc/self/status")


def build_folder(root: Path, n: int) -> None:
    """`root/c<k>/<i>.jpg`: n files, hard links to POOL distinct 224 px JPEGs."""
    from PIL import Image

    gen = np.random.default_rng(0)
    pool = root / "_pool"  # ignored by the loader (folders starting with "_")
    pool.mkdir(parents=True)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    for p in range(POOL):
        base = (np.sin(xx / (7 + p)) + np.cos(yy / (5 + p % 9))) * 60 + 128
        rgb = np.stack([base, base[::-1], base.T], axis=-1) + gen.normal(0, 12, (SIZE, SIZE, 3))
        buffer = io.BytesIO()
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
        (pool / f"{p}.jpg").write_bytes(buffer.getvalue())
    for k in range(CLASSES):
        (root / f"c{k}").mkdir()
    for i in range(n):
        os.link(pool / f"{i % POOL}.jpg", root / f"c{i % CLASSES}" / f"{i:06d}.jpg")


def measure_streamed(folder: str, batch_size: int, transform: str) -> dict[str, float]:
    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec

    before = rss_mb("VmRSS")
    start = time.perf_counter()
    spec = {"name": "bench", "source": folder, "modality": "image"}
    if transform != "none":
        spec["transform"] = transform
    task = load_task(TaskSpec.model_validate(spec), base_dir=Path.cwd())
    fingerprint_start = time.perf_counter()
    _ = task.fingerprint
    pass_start = time.perf_counter()
    total, seen = 0.0, 0
    for batch in task.batches(batch_size):
        total += float(batch.inputs.mean())  # type: ignore[union-attr]
        seen += len(batch)
    end = time.perf_counter()
    return {
        "n": seen,
        "peak_mb": rss_mb("VmHWM") - before,
        "load_s": fingerprint_start - start,
        "fingerprint_s": pass_start - fingerprint_start,
        "pass_s": end - pass_start,
    }


def measure_materialised(folder: str, n: int, batch_size: int) -> dict[str, float]:
    """The loader before streaming: decode everything to one float32 array, then Array3D."""
    import datasets
    import torch
    from PIL import Image

    before = rss_mb("VmRSS")
    start = time.perf_counter()
    files = sorted(Path(folder).glob("c*/*.jpg"))[:n]
    arrays = []
    for f in files:
        with Image.open(f) as image:
            hwc = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        arrays.append(np.transpose(hwc, (2, 0, 1)))
    stacked = np.stack(arrays)
    data = datasets.Dataset.from_dict(
        {"input": stacked, "label": np.arange(len(files)) % CLASSES},
        features=datasets.Features(
            {
                "input": datasets.Array3D(shape=(3, SIZE, SIZE), dtype="float32"),
                "label": datasets.Value("int64"),
            }
        ),
    )
    del arrays, stacked
    view = data.with_format("torch", columns=["input"], dtype=torch.float32)
    total = 0.0
    for s in range(0, len(data), batch_size):
        total += float(view[s : s + batch_size]["input"].mean())
    return {
        "n": len(files),
        "peak_mb": rss_mb("VmHWM") - before,
        "load_s": time.perf_counter() - start,
    }


def child(args: argparse.Namespace) -> None:
    if args.mode == "streamed":
        out = measure_streamed(args.folder, args.batch_size, args.transform)
    else:
        out = measure_materialised(args.folder, args.child_n, args.batch_size)
    print(json.dumps(out))


def run_child(mode: str, folder: Path, batch_size: int, n: int, transform: str) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--folder",
        str(folder),
        "--batch-size",
        str(batch_size),
        "--child-n",
        str(n),
        "--transform",
        transform,
    ]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--materialised-n", type=int, nargs="+", default=[100, 200, 400])
    parser.add_argument("--transform", choices=["none", "imagenet-eval"], default="none")
    parser.add_argument("--child", choices=["streamed", "materialised"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--child-n", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.child and len(set(args.materialised_n)) < 2:
        parser.error("--materialised-n needs at least two sizes (their slope is extrapolated)")
    if args.child:
        args.mode = args.child
        child(args)
        return
    bound_mb = args.batch_size * 3 * SIZE * SIZE * 4 / 2**20
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        t0 = time.perf_counter()
        build_folder(folder, args.n)
        print(f"built {args.n} x {SIZE} px JPEG files in {time.perf_counter() - t0:.0f} s")
        rows = []
        for m in args.materialised_n:  # interleaved: B at one size, then A on a task that size
            small = Path(tmp) / f"small{m}"
            build_folder(small, m)
            rows.append(
                ("materialised", run_child("materialised", small, args.batch_size, m, "none"))
            )
            rows.append(
                ("streamed", run_child("streamed", small, args.batch_size, m, args.transform))
            )
        rows.append(
            ("streamed", run_child("streamed", folder, args.batch_size, args.n, args.transform))
        )
    mat = [r for kind, r in rows if kind == "materialised"]
    slope = np.polyfit([r["n"] for r in mat], [r["peak_mb"] for r in mat], 1)
    big = rows[-1][1]
    print(f"batch size {args.batch_size}: one decoded batch = {bound_mb:.0f} MB")
    print(f"{'path':<14}{'n':>8}{'peak MB':>10}{'time s':>9}")
    for kind, r in rows:
        seconds = r["load_s"] + r.get("fingerprint_s", 0.0) + r.get("pass_s", 0.0)
        print(f"{kind:<14}{int(r['n']):>8}{r['peak_mb']:>10.0f}{seconds:>9.1f}")
    extrapolated = slope[0] * args.n + slope[1]
    held = args.n * 3 * SIZE * SIZE * 4 / 2**30
    print(
        f"materialising: peak {slope[0]:.2f} MB per image -> {extrapolated / 1024:.0f} GB at "
        f"n={args.n} (linear fit over n={args.materialised_n}); the float32 split it keeps "
        f"is {held:.1f} GB"
    )
    print(
        f"streamed at n={args.n}: peak {big['peak_mb']:.0f} MB = {big['peak_mb'] / bound_mb:.2f}x "
        f"one decoded batch; materialising / streamed = {extrapolated / big['peak_mb']:.0f}x; "
        f"fingerprint {big['fingerprint_s']:.0f} s, pass {big['pass_s']:.0f} s "
        f"({big['n'] / big['pass_s']:.0f} images/s)"
    )


if __name__ == "__main__":
    main()
