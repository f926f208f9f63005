"""What the torch adapter's `LogitsField` (adapters/logits_field.py) adds to one forward call.

    python benchmarks/bench_logits_field.py [--device cpu|cuda] [--width 256] [--batch 1]

Times, interleaved in one process, a small MLP called directly and behind `LogitsField` (as the
torch adapter runs every module, so that a transformers `ModelOutput` gives its logits), and a
`torch.nn.Identity` both ways (the wrapper's own cost, without the model's). On a GPU each call
is timed with CUDA events over 2,000 calls; on the CPU with the best of 9 repeats of 20,000
calls. Prints per-call microseconds and the ratio.
"""

from __future__ import annotations

import argparse
import timeit

import torch

from harness.adapters.logits_field import LogitsField


def per_call_us(fn: object, x: torch.Tensor, device: str) -> float:
    call = fn  # a module or the wrapper
    with torch.inference_mode():
        for _ in range(50):
            call(x)  # type: ignore[operator]
        if device == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            for _ in range(2000):
                call(x)  # type: ignore[operator]
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 2000 * 1000
        best = min(timeit.repeat(lambda: call(x), number=20000, repeat=9))  # type: ignore[operator]
        return best / 20000 * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(args.width, args.width), torch.nn.ReLU(), torch.nn.Linear(args.width, 10)
    )
    x = torch.randn(args.batch, args.width, device=args.device)
    for name, module in (("mlp", mlp.to(args.device).eval()), ("identity", torch.nn.Identity())):
        wrapped = LogitsField(module, model=name)
        raw, field = [], []
        for _ in range(3):  # interleaved rounds
            raw.append(per_call_us(module, x, args.device))
            field.append(per_call_us(wrapped, x, args.device))
        r, f = min(raw), min(field)
        print(f"{name}: direct {r:.2f} us, behind LogitsField {f:.2f} us per call ({f / r:.3f}x)")


if __name__ == "__main__":
    main()
