"""`harness parity`: check that two adapters of one model agree on a task (exit 1 when not)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli.arguments import csv_list, positive_int
from harness.cli.plans import load_plan


def add_parser(sub: Any) -> None:
    par = sub.add_parser("parity", help="check that two adapters of one model agree on a task")
    par.add_argument("spec", type=Path, help="spec YAML defining both models and the task")
    par.add_argument("--models", type=csv_list, required=True, help="exactly two models: a,b")
    par.add_argument("--task", required=True, help="the task to compare on")
    par.add_argument(
        "--atol", type=float, default=1e-4, help="max |log-prob difference| (default 1e-4)"
    )
    par.add_argument(
        "--limit",
        type=positive_int,
        help="compare on a seeded label-stratified sample of N samples",
    )
    par.add_argument("--format", choices=["table", "json"], default="table")
    par.set_defaults(handler=parity_command)


def parity_command(args: argparse.Namespace) -> int:
    import json

    from harness.core.errors import SpecError
    from harness.run.model_adapter import build_model_adapter
    from harness.run.parity import compare

    if len(args.models) != 2:
        raise SpecError(f"--models needs exactly two model names (a,b), got {len(args.models)}")
    args.tasks = [args.task]
    plan = load_plan(args, args.spec)
    from harness.run.environment import resolve_device

    device = resolve_device(plan.spec.device)
    task = (
        plan.tasks[args.task]
        .load()
        .subset(args.limit or plan.spec.limit, seed=plan.spec.seed, purpose="limit")
    )
    adapters = []
    for name in args.models:
        adapter = build_model_adapter(plan.models[name], device=device, base_dir=plan.base_dir)
        adapter.check_task(task)
        adapters.append(adapter)
    report = compare(
        adapters[0], adapters[1], task, atol=args.atol, batch_size=plan.spec.batch_size
    )
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        verdict = "PASS" if report.passed else "FAIL"
        print(
            f"parity {report.model_a} vs {report.model_b} on {report.task} ({report.n} samples): {verdict}"
        )
        print(f"  disagreements:          {report.disagreements}")
        print(f"  max |logit diff|:       {report.max_abs_logit_diff:.3g}")
        print(
            f"  max |log-prob diff|:    {report.max_abs_log_prob_diff:.3g} (atol {report.atol:g})"
        )
        if report.first_disagreements:
            print(f"  first disagreeing ids:  {', '.join(report.first_disagreements)}")
    return 0 if report.passed else 1
