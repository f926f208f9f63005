"""`harness parity`: check that two adapters of one model agree on a task (exit 1 when not)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from harness.cli.arguments import (
    add_width_argument,
    csv_list,
    number_flag,
    output_width,
    path_arg,
    spec_flag,
    text,
)
from harness.cli.plans import load_plan

if TYPE_CHECKING:
    from harness.run.parity import ParityReport


def add_parser(sub: Any) -> None:
    par = sub.add_parser("parity", help="check that two adapters of one model agree on a task")
    par.add_argument("spec", type=path_arg, help="spec YAML defining both models and the task")
    par.add_argument("--models", type=csv_list, required=True, help="exactly two models: a,b")
    par.add_argument("--task", type=text, required=True, help="the task to compare on")
    par.add_argument(
        "--atol",
        type=number_flag(float, minimum=0),
        default=1e-4,
        help="max |probability difference| of any class (default 1e-4)",
    )
    par.add_argument(
        "--limit",
        type=spec_flag("RunSpec", "limit"),
        help="compare on a seeded label-stratified sample of N samples",
    )
    par.add_argument("--format", choices=["table", "json"], default="table")
    add_width_argument(par)
    par.set_defaults(handler=parity_command)


def _compare(args: argparse.Namespace) -> ParityReport:
    """Load the task and both adapters and compare them (errors propagate)."""
    from harness.core.errors import HarnessError, ModelLoadError, SpecError
    from harness.run.environment import resolve_device
    from harness.run.model_adapter import build_model_adapter
    from harness.run.parity import compare
    from harness.run.quiet import quiet_library_progress

    if len(args.models) != 2:
        raise SpecError(f"--models needs exactly two model names (a,b), got {len(args.models)}")
    if args.models[0] == args.models[1]:
        raise SpecError(
            f"--models names {args.models[0]!r} twice; parity compares two different models "
            "(a model compared with itself always passes)"
        )
    args.tasks = [args.task]
    plan = load_plan(args, args.spec)
    for name in args.models:  # as `harness run` pairs no such job (a zoo model's tasks too)
        wanted = plan.models[name].spec.tasks if name in plan.models else None
        if wanted is not None and args.task not in wanted:
            raise SpecError(
                f"model {name!r} is not for task {args.task!r} "
                f"(its tasks: {', '.join(wanted) or '[], none'}); "
                "parity compares two models on a task both are for"
            )
    # transformers' "Loading weights" bars, as `harness run` silences them
    quiet_library_progress(
        transformers=any(m.spec.adapter.startswith("hf") for m in plan.models.values())
    )
    device = resolve_device(plan.spec.device)
    task = (
        plan.tasks[args.task]
        .load()
        .subset(
            args.limit or plan.spec.limit, seed=plan.spec.seed, purpose="limit", per_source=True
        )
    )
    adapters = []
    for name in args.models:
        try:
            adapter = build_model_adapter(plan.models[name], device=device, base_dir=plan.base_dir)
        except HarnessError as err:  # which of the two: a run's job label says, here nothing
            if repr(name) in str(err):
                raise
            raise ModelLoadError(f"model {name!r}: {err}") from err
        adapter.check_task(task)
        adapters.append(adapter)
    return compare(adapters[0], adapters[1], task, atol=args.atol, batch_size=plan.spec.batch_size)


def parity_command(args: argparse.Namespace) -> int:
    import json

    from harness.core.errors import HarnessError

    try:
        report = _compare(args)
    except (HarnessError, KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # data or a model the harness could not read: one line, not a dump
        if getattr(args, "debug", False):
            raise
        cause = str(err).strip().splitlines()[0][:300] if str(err).strip() else ""
        raise HarnessError(
            f"parity of {','.join(args.models)} on task {args.task!r} failed: "
            f"{type(err).__name__}: {cause} (rerun with --debug for the traceback)"
        ) from err
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2))
        return 0 if report.passed else 1
    from harness.present.escaping import terminal_text
    from harness.present.tables import wrap

    width = output_width(args.width)
    verdict = "PASS" if report.passed else "FAIL"
    samples = f"{report.n} sample{'' if report.n == 1 else 's'}"
    lines = [
        f"parity {report.model_a} vs {report.model_b} on {report.task} ({samples}): {verdict}",
        f"  disagreements:          {report.disagreements}",
    ]
    if report.ties:
        lines.append(f"  ties broken differently: {report.ties} (classes within atol)")
    lines += [
        f"  max |prob diff|:        {report.max_abs_prob_diff:.3g} (atol {report.atol:g})",
        f"  max |logit diff|:       {report.max_abs_logit_diff:.3g} (not compared)",
    ]
    if report.first_disagreements:
        lines.append(f"  first disagreeing ids:  {', '.join(report.first_disagreements)}")
    for line in lines:
        print(wrap(terminal_text(line), width, indent=" " * 26))
    return 0 if report.passed else 1
