"""L-inf PGD through the harness's adversarial suite vs a hand-written torch PGD loop.

Same model (zoo digits-cnn), steps, Madry step size, restarts and batch; A and B are interleaved
in one process and reported as a time ratio (harness / hand-written) plus robust accuracies.
Usage: python benchmarks/bench_pgd.py [--device cpu|cuda] [--repeats 5] [--samples 719]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from harness.api import _resolve_adapter
from harness.builtin_tasks import digits
from harness.suite import RunContext
from suites.adversarial import AdversarialSuite


def hand_pgd(model, x, y, eps, steps, restarts, rel=2.5):
    """Textbook Madry PGD: uniform random start, signed steps, projection; any restart counts."""
    step = rel * eps / steps
    broken = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    for _ in range(restarts):
        xa = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(steps):
            xa.requires_grad_(True)
            loss = torch.nn.functional.cross_entropy(model(xa), y)
            (g,) = torch.autograd.grad(loss, xa)
            xa = torch.min(torch.max(xa.detach() + step * g.sign(), x - eps), x + eps).clamp(0, 1)
        with torch.no_grad():
            broken |= model(xa).argmax(1) != y
    with torch.no_grad():
        clean = model(x).argmax(1) == y
    return float((clean & ~broken).float().mean())


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--samples", type=int, default=719)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--restarts", type=int, default=1)
    ap.add_argument("--eps", type=float, default=0.1)
    args = ap.parse_args()
    device = torch.device(args.device)
    task = digits().head(args.samples)
    adapter = _resolve_adapter("digits-cnn", task, device, None)
    suite = AdversarialSuite(
        {
            "attacks": ["linf_pgd"],
            "epsilons": {"linf": [args.eps]},
            "checks": False,
            "params": {"linf_pgd": {"steps": args.steps, "restarts": args.restarts}},
        }
    )
    ctx = RunContext(seed=0, device=device, batch_size=len(task), bootstrap_resamples=0)
    x = task.all_inputs().to(device)
    y = torch.as_tensor(task.labels, device=device)
    model = adapter.module()
    times: dict[str, list[float]] = {"harness": [], "hand": []}
    accs: dict[str, list[float]] = {"harness": [], "hand": []}
    for r in range(args.repeats + 1):  # first round is warm-up
        for which in ("harness", "hand") if r % 2 == 0 else ("hand", "harness"):
            sync(device)
            t = time.perf_counter()
            if which == "harness":
                res = suite.run(adapter, task, ctx)
                acc = next(m.value for m in res.metrics if m.headline)
            else:
                torch.manual_seed(r)
                acc = hand_pgd(model, x, y, args.eps, args.steps, args.restarts)
            sync(device)
            if r > 0:
                times[which].append(time.perf_counter() - t)
                accs[which].append(acc)
    th, tb = statistics.median(times["harness"]), statistics.median(times["hand"])
    print(
        f"device={device} n={len(task)} steps={args.steps} restarts={args.restarts} eps={args.eps}"
    )
    print(f"harness suite (incl. clean pass, verification, table, CIs off): median {th:.3f} s")
    print(f"hand-written PGD loop:                                          median {tb:.3f} s")
    print(f"time ratio harness/hand = {th / tb:.2f}")
    print(
        f"robust acc harness {statistics.mean(accs['harness']):.4f} vs hand "
        f"{statistics.mean(accs['hand']):.4f} (mean over repeats; hand varies with its seed)"
    )


if __name__ == "__main__":
    main()
