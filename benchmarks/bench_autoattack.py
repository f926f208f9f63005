"""The adversarial suite's presets vs AutoAttack (torchattacks 3.5.1) on the zoo's four CNNs at their
headline budgets: same model, samples, budget, device and thread count, in one process.

AutoAttack is run as the original "standard" version (Croce & Hein 2020): APGD-CE (100 steps, 1
restart), APGD-T (100 steps, 9 target classes), FAB-T (100 steps, 9 target classes) and Square
(5000 queries, p_init 0.8, the schedule not rescaled), each on the samples the previous attacks left
standing. torchattacks' own `AutoAttack` class leaves every attack at 10 steps, so the attacks are
built here with the original settings. The harness side is the whole suite as a user runs it
(`preset: standard` or `fast`, validity checks on, intervals on): clean pass, cascade,
re-verification of every candidate, checks, escalation if a flag fires, table, records.

Models and budgets (the headline threat models): digits-cnn and digits-cnn-adv at L-inf 0.1 on all
719 digits test samples (where the zoo's models differ), mnist-cnn and mnist-cnn-adv at L-inf 0.3
on all 1,000 mnist test samples (MNIST's classical budget). Per model the three sides run
interleaved (AutoAttack, standard, fast; reversed for every other model) and are timed in process
CPU time, one thread. Each finished model appends one JSON line to `--out` (so a long run can be
split over processes, one model each or, with `--only`, one side each, and read back with
`--summary`, which joins the sides of one model), and prints robust accuracies, differences
against AutoAttack with the paired counts (samples only one side breaks), CPU-time ratios and
each side's CPU time by stage (AutoAttack: per attack; the suite: per stage it announces).

On a GPU the cost of these small CNNs is per kernel launch, not per sample, so the batch size
sets it: `--batch-size N` gives both sides the same one (AutoAttack's survivors in chunks of N,
as fra31/auto-attack's `bs`; the suite's `batch_size`), and wall time is the measure there (CPU
time misses the device's work; both are recorded).

Usage: python benchmarks/bench_autoattack.py [--models digits-cnn ...] [--out FILE]
       [--only autoattack standard fast] [--samples N] [--threads 1] [--reverse]
       [--device cpu|cuda] [--batch-size N]
       python benchmarks/bench_autoattack.py --summary FILE
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchattacks

from harness.core.suite import RunContext
from harness.core.task import Task
from harness.data.builtin import digits, mnist
from harness.run.api import _resolve_adapter
from harness.suites.adversarial import AdversarialSuite

HEADLINE: dict[str, tuple[str, float]] = {
    "digits-cnn": ("digits", 0.1),
    "digits-cnn-adv": ("digits", 0.1),
    "mnist-cnn": ("mnist", 0.3),
    "mnist-cnn-adv": ("mnist", 0.3),
}
SIDES = ("autoattack", "standard", "fast")


def autoattack(model: torch.nn.Module, eps: float, classes: int) -> list[Any]:
    """AutoAttack's standard version with the original settings (100 steps, 5000 queries)."""
    common = {"norm": "Linf", "eps": eps, "seed": 0, "n_restarts": 1}
    return [
        torchattacks.APGD(model, steps=100, loss="ce", **common),
        torchattacks.APGDT(model, steps=100, n_classes=classes, **common),
        torchattacks.FAB(model, steps=100, multi_targeted=True, n_classes=classes, **common),
        torchattacks.Square(model, n_queries=5000, p_init=0.8, resc_schedule=False, **common),
    ]


def run_autoattack(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, batch_size: int | None
) -> tuple[Any, list[str], dict[str, float]]:
    """Per-sample robustness under AutoAttack: each attack on the previous ones' survivors, in
    batches of `batch_size` (None: all survivors at once), as fra31/auto-attack's `bs`; and each
    attack's CPU time."""
    stages: dict[str, float] = {}
    with torch.no_grad():
        robust = model(x).argmax(1) == y
    for attack in autoattack(model, eps, 10):
        idx = robust.nonzero().squeeze(1)
        if len(idx) == 0:
            break
        t = time.process_time()
        step = batch_size or len(idx)
        for chunk in idx.split(step):
            adv = attack(x[chunk], y[chunk]).detach()
            assert float((adv - x[chunk]).abs().amax()) <= eps + 1e-6
            with torch.no_grad():
                robust[chunk[model(adv).argmax(1) != y[chunk]]] = False
        stages[f"{type(attack).__name__} ({len(idx)} samples)"] = time.process_time() - t
    return robust.cpu().numpy(), [], stages


def run_suite(
    adapter: Any, task: Task, preset: str, eps: float, device: torch.device, batch_size: int | None
) -> tuple[Any, list[str], dict[str, float]]:
    """The whole suite; per-sample robustness, flags and the CPU time of each stage it announced
    (the clean pass, each attack of the cascade, the validity checks, escalation rounds, records)."""
    marks: list[tuple[float, str]] = []

    def progress(done: int, stage: str | None = None, total: int | None = None) -> None:
        if stage is not None:
            marks.append((time.process_time(), stage))

    suite = AdversarialSuite({"preset": preset, "epsilons": {"linf": [eps]}})
    start = time.process_time()
    ctx = RunContext(seed=0, device=device, progress=progress)
    res = suite.run(adapter, task, replace(ctx, batch_size=batch_size or ctx.batch_size))
    end = time.process_time()
    stages: dict[str, float] = {}
    bounds = [(start, "setup"), *marks, (end, "")]
    for (t0, label), (t1, _) in zip(bounds, bounds[1:], strict=False):
        stages[label] = stages.get(label, 0.0) + t1 - t0
    frame = res.table.to_pandas()
    rows = frame[frame.condition == f"attack=ensemble/norm=linf/eps={eps:g}"]
    robust = rows.set_index("sample_id").loc[task.sample_ids, "correct"].to_numpy(bool)
    return robust, list(res.artifacts["flags"]), stages


def _sync(device: torch.device) -> None:
    """Wait for queued GPU work, so that wall time covers it (on CUDA, CPU time does not)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_model(name: str, args: argparse.Namespace, flip: bool) -> dict[str, Any]:
    task_name, eps = HEADLINE[name]
    task = (digits if task_name == "digits" else mnist)()
    if args.samples:
        task = task.head(args.samples)
    device = torch.device(args.device)
    x = task.all_inputs().to(device)
    y = torch.as_tensor(task.labels, device=device)
    adapter = _resolve_adapter(name, task, device, Path("."))
    model = adapter.module().eval().requires_grad_(False)
    sides = [s for s in SIDES if s in (args.only or SIDES)]
    out: dict[str, Any] = {
        "model": name,
        "eps": eps,
        "n": len(task),
        "device": str(device),
        "batch_size": args.batch_size,
        "sides": {},
    }
    for side in sides[::-1] if flip else sides:
        _sync(device)
        t, w = time.process_time(), time.perf_counter()
        if side == "autoattack":
            robust, flags, stages = run_autoattack(model, x, y, eps, args.batch_size)
        else:
            robust, flags, stages = run_suite(adapter, task, side, eps, device, args.batch_size)
        _sync(device)
        cpu, wall = time.process_time() - t, time.perf_counter() - w
        out["sides"][side] = {
            "robust": robust.tolist(),
            "cpu": cpu,
            "wall": wall,
            "flags": flags,
            "stages": stages,
        }
        print(
            f"  {name} {side}: robust acc {robust.mean():.4f} cpu {cpu:.1f} s wall {wall:.1f} s",
            flush=True,
        )
    return out


def merged(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (model, eps, n): the sides of records run in separate processes (`--only`)
    joined, a later record's side replacing an earlier one's."""
    out: dict[tuple[str, float, int], dict[str, Any]] = {}
    for rec in records:
        key = (rec["model"], rec["eps"], rec["n"])
        if key not in out:
            out[key] = {**rec, "sides": dict(rec["sides"])}
        else:
            out[key]["sides"].update(rec["sides"])
    return list(out.values())


def summary(records: list[dict[str, Any]]) -> None:
    for rec in merged(records):
        sides = rec["sides"]
        if "autoattack" not in sides:
            continue
        aa = np.array(sides["autoattack"]["robust"])
        aa_cpu = sides["autoattack"]["cpu"]
        for side in ("standard", "fast"):
            if side not in sides:
                continue
            r = np.array(sides[side]["robust"])
            print(
                f"{rec['model']} (eps {rec['eps']:g}, n={rec['n']}) {side}: robust acc "
                f"{r.mean():.4f} vs AutoAttack {aa.mean():.4f} (diff {r.mean() - aa.mean():+.4f}; "
                f"broken only by AutoAttack {int((r & ~aa).sum())}, only by the harness "
                f"{int((aa & ~r).sum())}); CPU {sides[side]['cpu']:.1f} s vs {aa_cpu:.1f} s: "
                f"AutoAttack/harness = {aa_cpu / sides[side]['cpu']:.2f}x; flags "
                f"{sides[side]['flags']}"
            )
            if "wall" in sides[side] and "wall" in sides["autoattack"]:
                aa_wall, wall = sides["autoattack"]["wall"], sides[side]["wall"]
                print(
                    f"  wall {wall:.1f} s vs {aa_wall:.1f} s: AutoAttack/harness = "
                    f"{aa_wall / wall:.2f}x (the measure on a GPU, where CPU time misses "
                    "the device's work)"
                )
        for side, record in sides.items():
            parts = [f"{k} {v:.1f} s" for k, v in record.get("stages", {}).items() if v >= 0.05]
            if parts:
                print(f"  {rec['model']} {side} CPU by stage: " + "; ".join(parts))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=list(HEADLINE), choices=list(HEADLINE))
    ap.add_argument("--samples", type=int, default=0, help="first N samples only (0: all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="both sides attack survivors in batches of this size (default: AutoAttack all at "
        "once, the suite at its default 256; on a GPU, where cost is per launch, give both one)",
    )
    ap.add_argument("--reverse", action="store_true", help="start with the harness")
    ap.add_argument("--only", nargs="+", choices=SIDES, help="run only these sides")
    ap.add_argument("--out", type=Path, help="append one JSON line per model here")
    ap.add_argument("--summary", type=Path, help="print the comparison from an --out file")
    args = ap.parse_args()
    if args.summary:
        summary([json.loads(line) for line in args.summary.read_text().splitlines() if line])
        return
    torch.set_num_threads(args.threads)
    print(
        f"threads={torch.get_num_threads()} torchattacks={torchattacks.__version__} "
        f"torch={torch.__version__}"
    )
    records = []
    for i, name in enumerate(args.models):
        rec = bench_model(name, args, flip=bool((i + args.reverse) % 2))
        records.append(rec)
        if args.out:
            with args.out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
    summary(records)


if __name__ == "__main__":
    main()
