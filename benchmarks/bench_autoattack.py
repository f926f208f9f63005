"""The adversarial suite's presets vs AutoAttack (torchattacks 3.5.1), same model, samples, budget,
device and thread count, in one process.

AutoAttack is run as the original "standard" version (Croce & Hein 2020): APGD-CE (100 steps, 1
restart), APGD-T (100 steps, 9 target classes), FAB-T (100 steps, 9 target classes) and Square
(5000 queries, p_init 0.8, the schedule not rescaled), each on the samples the previous attacks left
standing (torchattacks' `MultiAttack`). torchattacks' own `AutoAttack` class leaves every attack
at 10 steps, so the attacks are built here with the original settings. The harness side is the
whole suite as a user runs it (`preset: standard` or `fast`, validity checks on, bootstrap
intervals on): clean pass, cascade, re-verification of every candidate, checks, table, records.

Per model, the three runs are interleaved (AA, standard, fast for the first model; fast, standard,
AA for the second) and timed in process CPU time; the script prints robust accuracies, the
differences against AutoAttack (with the samples only one side broke) and the CPU-time ratios.

Usage: python benchmarks/bench_autoattack.py [--models digits-cnn digits-cnn-adv] [--eps 0.1]
       [--samples 719] [--threads 1] [--device cpu] [--reverse]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torchattacks

from harness.config.tasks.builtin import digits
from harness.core.suite import RunContext
from harness.run.api import _resolve_adapter
from suites.adversarial import AdversarialSuite


def autoattack(model: torch.nn.Module, eps: float, classes: int) -> torchattacks.MultiAttack:
    """AutoAttack's standard version with the original settings (100 steps, 5000 queries)."""
    common = {"norm": "Linf", "eps": eps, "seed": 0, "n_restarts": 1}
    return torchattacks.MultiAttack(
        [
            torchattacks.APGD(model, steps=100, loss="ce", **common),
            torchattacks.APGDT(model, steps=100, n_classes=classes, **common),
            torchattacks.FAB(model, steps=100, multi_targeted=True, n_classes=classes, **common),
            torchattacks.Square(model, n_queries=5000, p_init=0.8, resc_schedule=False, **common),
        ]
    )


def run_autoattack(model, x, y, eps, classes) -> np.ndarray:
    """Per-sample robustness under AutoAttack (clean-correct and not broken)."""
    with torch.no_grad():
        correct = model(x).argmax(1) == y
    adv = autoattack(model, eps, classes)(x, y)
    with torch.no_grad():
        robust = correct & (model(adv).argmax(1) == y)
    assert float((adv.detach() - x).abs().amax()) <= eps + 1e-6
    return robust.cpu().numpy()


def run_suite(adapter, task, preset, eps, device) -> tuple[np.ndarray, list[str]]:
    suite = AdversarialSuite({"preset": preset, "epsilons": {"linf": [eps]}})
    ctx = RunContext(seed=0, device=device)
    res = suite.run(adapter, task, ctx)
    frame = res.table.to_pandas()
    rows = frame[frame.condition == f"attack=ensemble/norm=linf/eps={eps:g}"]
    robust = rows.set_index("sample_id").loc[task.sample_ids, "correct"].to_numpy(bool)
    return robust, list(res.artifacts["flags"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["digits-cnn", "digits-cnn-adv"])
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--samples", type=int, default=719)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--reverse", action="store_true", help="start with the harness (fast, standard, AA)"
    )
    ap.add_argument(
        "--only",
        nargs="+",
        choices=["autoattack", "standard", "fast"],
        help="run only these sides (e.g. to split a slow comparison over processes)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    task = digits().head(args.samples)
    x = task.all_inputs().to(device)
    y = torch.as_tensor(task.labels, device=device)
    print(
        f"device={device} threads={torch.get_num_threads()} n={len(task)} eps={args.eps} "
        f"torchattacks={torchattacks.__version__} torch={torch.__version__}"
    )
    for i, name in enumerate(args.models):
        adapter = _resolve_adapter(name, task, device, Path("."))
        model = adapter.module().eval().requires_grad_(False)
        order = [w for w in ("autoattack", "standard", "fast") if w in (args.only or [w])]
        robust: dict[str, np.ndarray] = {}
        cpu: dict[str, float] = {}
        flags: dict[str, list[str]] = {}
        for which in order if (i + args.reverse) % 2 == 0 else order[::-1]:
            t = time.process_time()
            if which == "autoattack":
                robust[which] = run_autoattack(model, x, y, args.eps, task.num_classes)
                flags[which] = []
            else:
                robust[which], flags[which] = run_suite(adapter, task, which, args.eps, device)
            cpu[which] = time.process_time() - t
            print(f"  {name} {which}: robust acc {robust[which].mean():.4f} cpu {cpu[which]:.1f} s")
        if "autoattack" not in robust:
            continue
        aa = robust["autoattack"]
        for which in (w for w in ("standard", "fast") if w in robust):
            r = robust[which]
            print(
                f"{name} preset {which}: robust acc {r.mean():.4f} vs AutoAttack {aa.mean():.4f} "
                f"(diff {r.mean() - aa.mean():+.4f}; broken only by AutoAttack {int((r & ~aa).sum())}, "
                f"only by the harness {int((aa & ~r).sum())}); CPU {cpu[which]:.1f} s vs "
                f"{cpu['autoattack']:.1f} s: AutoAttack/harness = "
                f"{cpu['autoattack'] / cpu[which]:.2f}x; flags {flags[which]}"
            )


if __name__ == "__main__":
    main()
