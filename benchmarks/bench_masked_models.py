"""The adversarial suite on masked zoo models: flagged, then escalated to the truth?

Each model is a zoo CNN's honest forward pass with a gradient that misleads: another network's
gradient (BPDA with a wrong surrogate; optionally with its classes rolled, so it points the wrong
way) or no gradient at all (a detached input, straight-through gone wrong). Their true robust
accuracy is the forward network's own, so AutoAttack's number on that network (torchattacks 3.5.1,
`bench_autoattack.py --out FILE`, per sample) is an upper bound on it: the escalated number
should be at most AutoAttack's, with the masking flags kept. The suite runs as users run it
(`preset: standard` or `fast`, validity checks, escalation, records), on every digits test sample
at L-inf 0.1, one thread, timed in process CPU time.

Usage: python benchmarks/bench_masked_models.py --autoattack AA.jsonl [--models NAME ...]
           [--presets standard fast] [--out FILE]
       python benchmarks/bench_masked_models.py --autoattack AA.jsonl --summary FILE

The masked models are built by tests/suites/adversarial/models.py (the tests use the same ones).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.data.builtin import digits
from harness.run.api import evaluate
from tests.suites.adversarial import models as M

EPS = 0.1
MODELS: dict[str, tuple[str, Callable[[], torch.nn.Module]]] = {
    # name: (the honest forward network, the masked model)
    "digits-cnn<-digits-mlp": ("digits-cnn", lambda: M.zoo_surrogate("digits-cnn", "digits-mlp")),
    "digits-cnn-adv<-digits-cnn": (
        "digits-cnn-adv",
        lambda: M.zoo_surrogate("digits-cnn-adv", "digits-cnn"),
    ),
    "digits-cnn-adv<-digits-mlp": (
        "digits-cnn-adv",
        lambda: M.zoo_surrogate("digits-cnn-adv", "digits-mlp"),
    ),
    "digits-cnn<-digits-cnn-adv(rolled 3)": (
        "digits-cnn",
        lambda: M.zoo_surrogate("digits-cnn", "digits-cnn-adv", roll=3),
    ),
    "digits-cnn(zero gradient)": (
        "digits-cnn",
        lambda: M.zero_grad_network("digits-cnn"),
    ),
}


def run(name: str, preset: str) -> dict[str, Any]:
    task = digits()
    model = MODELS[name][1]()
    adapter = TorchModuleAdapter.from_module(model, name="masked", input_shape=(1, 8, 8))
    config = {"preset": preset, "epsilons": {"linf": [EPS]}}
    start = time.process_time()
    out = evaluate(
        adapter, task=task, suites={"adversarial": config}, device="cpu", bootstrap_resamples=0
    )
    cpu = time.process_time() - start
    res = out.results["adversarial"]
    frame = res.table.to_pandas()
    rows = frame[frame.condition == f"attack=ensemble/norm=linf/eps={EPS:g}"]
    robust = rows.set_index("sample_id").loc[task.sample_ids, "correct"].to_numpy(bool)
    checks = {
        c["flag"]: {"bad": c["bad"], "n": c["n"], "critical": c["critical"]}
        for c in res.artifacts["checks"]
        if c["raised"]
    }
    esc = res.artifacts["escalation"] or {}
    return {
        "model": name,
        "preset": preset,
        "robust": robust.tolist(),
        "cpu": cpu,
        "flags": list(res.artifacts["flags"]),
        "checks": checks,
        "escalation": esc,
    }


def autoattack(path: Path) -> dict[str, np.ndarray]:
    """Per-sample AutoAttack robustness by zoo model, from bench_autoattack.py's --out file."""
    out: dict[str, np.ndarray] = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec["eps"] == EPS and "autoattack" in rec["sides"]:
            out[rec["model"]] = np.array(rec["sides"]["autoattack"]["robust"])
    return out


def summary(records: list[dict[str, Any]], aa: dict[str, np.ndarray]) -> None:
    for rec in records:
        r = np.array(rec["robust"])
        honest = MODELS[rec["model"]][0]
        head = f"{rec['model']} {rec['preset']}: robust acc {r.mean():.4f} ({r.sum()}/{len(r)})"
        if honest in aa:
            a = aa[honest]
            head += (
                f" vs AutoAttack on {honest} {a.mean():.4f} (diff {r.mean() - a.mean():+.4f}; "
                f"broken only by AutoAttack {int((r & ~a).sum())}, only by the suite "
                f"{int((a & ~r).sum())})"
            )
        print(f"{head}; CPU {rec['cpu']:.1f} s; flags {rec['flags']}")
        for flag, c in rec["checks"].items():
            print(f"  {flag}: {c['bad']} of {c['n']} (threshold {c['critical']})")
        esc = rec["escalation"]
        for step in esc.get("rounds", []):
            print(
                f"  round {step['round']} {step['attack']} ({step['settings']}): "
                f"{step['broken']} of {step['samples']} broken"
            )
        if esc:
            print(f"  stopped: {esc['stopped']}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--presets", nargs="+", default=["standard", "fast"])
    ap.add_argument("--autoattack", type=Path, help="bench_autoattack.py --out file")
    ap.add_argument("--out", type=Path, help="append one JSON line per model and preset here")
    ap.add_argument("--summary", type=Path, help="print the comparison from an --out file")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    aa = autoattack(args.autoattack) if args.autoattack else {}
    if args.summary:
        lines = args.summary.read_text().splitlines()
        summary([json.loads(line) for line in lines if line], aa)
        return
    torch.set_num_threads(args.threads)
    records = []
    for name in args.models:
        for preset in args.presets:
            rec = run(name, preset)
            records.append(rec)
            if args.out:
                with args.out.open("a") as fh:
                    fh.write(json.dumps(rec) + "\n")
            summary([rec], aa)
    if len(records) > 1:
        summary(records, aa)


if __name__ == "__main__":
    main()
