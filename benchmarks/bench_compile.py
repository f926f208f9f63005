"""Compiled against eager forward and gradient passes of the zoo's adversarially trained CNNs.

The adversarial suite's CPU time is mostly the model's passes (docs/adversarial.md, "Speed: why
`standard` costs what AutoAttack costs"); this measures whether compiling the model would make
them cheaper: `torch.compile(model)` (inductor) against the module itself, same inputs, the two
sides alternating in one process, process CPU time per pass (best of the rounds), forward under
`inference_mode` (Square's passes) and forward + input gradient (APGD's and FAB-T's). It also
prints how far the compiled logits are from the module's and whether every argmax is the same.

Usage: python benchmarks/bench_compile.py [--batch 600] [--rounds 3] [--calls 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file

from harness.zoo.architectures import digits_cnn, mnist_cnn

WEIGHTS = Path(__file__).resolve().parent.parent / "zoo" / "weights"
MODELS = {
    "digits-cnn-adv": (digits_cnn, (1, 8, 8)),
    "mnist-cnn-adv": (mnist_cnn, (1, 28, 28)),
}


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Process CPU seconds per call of `fn`."""
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls


def gradient(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x).sum(), x)
    return grad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print("| model | pass | eager ms | compiled ms | eager / compiled |")
    print("|---|---|---|---|---|")
    for name, (factory, shape) in MODELS.items():
        module = factory()
        module.load_state_dict(load_file(WEIGHTS / f"{name}.safetensors"))
        module.eval().requires_grad_(False)
        compiled = torch.compile(module)
        x = torch.rand(args.batch, *shape)
        with torch.inference_mode():
            ref, out = module(x), compiled(x)
        same = bool((ref.argmax(1) == out.argmax(1)).all())
        gap = float((ref - out).abs().max())
        for _ in range(3):  # warm-up (compiles the gradient graph too)
            gradient(compiled, x)
        best: dict[tuple[str, str], float] = {}
        for r in range(args.rounds):
            sides = [("eager", module), ("compiled", compiled)]
            for side, model in sides if r % 2 == 0 else sides[::-1]:
                with torch.inference_mode():
                    fwd = per_call(lambda m=model, x=x: m(x), args.calls)
                grad = per_call(lambda m=model, x=x: gradient(m, x), args.calls)
                for what, t in (("forward", fwd), ("forward + gradient", grad)):
                    best[(side, what)] = min(best.get((side, what), t), t)
        for what in ("forward", "forward + gradient"):
            eager, comp = best[("eager", what)], best[("compiled", what)]
            print(
                f"| {name} | {what} | {eager * 1e3:.1f} | {comp * 1e3:.1f} | {eager / comp:.2f}x |"
            )
        print(f"({name}: logits within {gap:.1e}, argmax {'the same' if same else 'DIFFERS'})")


if __name__ == "__main__":
    main()
