"""L-inf PGD through the harness's adversarial suite vs a hand-written torch PGD loop.

Same model (zoo digits-cnn, parameters frozen in both), steps, Madry step size, restarts, uniform
random start and batch (the whole task in one batch); A and B are interleaved in one process
(round r runs A-B, round r+1 B-A) and reported as a time ratio (harness / hand-written) plus
robust accuracies. Both sides include a clean forward pass. The harness side additionally does
what a trustworthy evaluation needs and is counted honestly: per-sample seeded random starts,
keeping the first adversarial iterate of every step, the fresh re-verification forward pass of
every changed candidate (bounds, budget, finiteness checks), the sample table and the metric
records (bootstrap CIs off: `bootstrap_resamples` 0). Validity checks are off (`checks: false`).
Usage: python benchmarks/bench_pgd.py [--device cpu|cuda] [--repeats 6] [--samples 719] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from harness.core.suite import RunContext
from harness.data.builtin import digits
from harness.run.api import _resolve_adapter
from harness.suites.adversarial import AdversarialSuite


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
    ap.add_argument("--repeats", type=int, default=6)
    ap.add_argument("--samples", type=int, default=719)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--restarts", type=int, default=1)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch intra-op threads (0: torch's default); 1 is far less noisy on a loaded box",
    )
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
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
    cpu: dict[str, list[float]] = {"harness": [], "hand": []}
    accs: dict[str, list[float]] = {"harness": [], "hand": []}
    for r in range(args.repeats + 1):  # first round is warm-up
        for which in ("harness", "hand") if r % 2 == 0 else ("hand", "harness"):
            sync(device)
            t, c = time.perf_counter(), time.process_time()
            if which == "harness":
                res = suite.run(adapter, task, ctx)
                acc = next(m.value for m in res.metrics if m.headline)
            else:
                torch.manual_seed(r)
                acc = hand_pgd(model, x, y, args.eps, args.steps, args.restarts)
            sync(device)
            if r > 0:
                times[which].append(time.perf_counter() - t)
                cpu[which].append(time.process_time() - c)
                accs[which].append(acc)
    th, tb = statistics.median(times["harness"]), statistics.median(times["hand"])
    pairs = [a / b for a, b in zip(times["harness"], times["hand"], strict=True)]
    cpairs = [a / b for a, b in zip(cpu["harness"], cpu["hand"], strict=True)]
    print(
        f"device={device} n={len(task)} steps={args.steps} restarts={args.restarts} eps={args.eps} "
        f"threads={torch.get_num_threads()} repeats={args.repeats} (+1 warm-up round)"
    )
    print(f"harness suite (incl. clean pass, verification, table, CIs off): median {th:.3f} s")
    print(f"hand-written PGD loop (incl. clean pass):                       median {tb:.3f} s")
    print(f"time ratio harness/hand (medians) = {th / tb:.2f}")
    print(
        f"per-round wall ratios {[round(p, 2) for p in pairs]} -> median "
        f"{statistics.median(pairs):.2f}; per-round process-CPU ratios "
        f"{[round(p, 2) for p in cpairs]} -> median {statistics.median(cpairs):.2f}"
    )
    print(
        f"robust acc harness {statistics.mean(accs['harness']):.4f} vs hand "
        f"{statistics.mean(accs['hand']):.4f} (mean over repeats; hand varies with its seed)"
    )


if __name__ == "__main__":
    main()
