"""`harness run`: run a spec (no spec: the embedded quickstart) and print the leaderboard."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.cli.arguments import (
    DEFAULT_OUT,
    add_width_argument,
    csv_list,
    duration,
    non_negative_int,
    output_width,
    positive_int,
    quickstart_spec_path,
)
from harness.cli.plans import execution, load_plan
from harness.core.errors import HarnessError

if TYPE_CHECKING:
    from harness.config.spec import ExecutionSpec
    from harness.run.runner import RunEvents


def add_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run a spec (no spec: the embedded quickstart)")
    run.add_argument("spec", nargs="?", type=Path, help="spec YAML (default: the quickstart)")
    run.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="results folder (default: results)"
    )
    run.add_argument("--models", type=csv_list, help="only these models (comma-separated)")
    run.add_argument("--suites", type=csv_list, help="only these suites")
    run.add_argument("--tasks", type=csv_list, help="only these tasks")
    run.add_argument("--device", choices=["cpu", "cuda", "auto"], help="override the spec's device")
    run.add_argument(
        "--limit",
        type=positive_int,
        help="evaluate a seeded label-stratified sample of N samples per task (same for every model)",
    )
    run.add_argument("--seed", type=non_negative_int, help="override the spec's seed")
    run.add_argument(
        "--protocol",
        help="run a protocol preset (`harness list protocols`) on --models; see docs/protocols.md",
    )
    run.add_argument(
        "--protocol-ids",
        type=Path,
        help="the file of image ids a protocol evaluates (e.g. RobustBench's ImageNet list)",
    )
    run.add_argument("--fail-fast", action="store_true", help="stop at the first failing job")
    run.add_argument(
        "--wait-lock",
        action="store_true",
        help="if another process is writing this run folder, wait for it instead of refusing (docs/reliability.md)",
    )
    run.add_argument(
        "--executor",
        choices=["local", "ray"],
        help="where jobs run (default: the spec's execution.executor, else local; see docs/ray.md)",
    )
    run.add_argument(
        "--address",
        help="Ray cluster address for --executor ray (default: start a local Ray cluster)",
    )
    run.add_argument(
        "--shards", type=positive_int, help="split each shardable job into N shards over samples"
    )
    add_width_argument(run)
    run.add_argument(
        "--threads",
        type=positive_int,
        help="CPU threads per job (default: the spec's threads:, else chosen per job: one for "
        "small models; docs/throughput.md)",
    )
    run.add_argument(
        "--job-timeout",
        type=duration,
        metavar="DURATION",
        help="stop a job that runs longer (e.g. 600, 90s, 10m, 2h), record it as failed and go "
        "on (default: the spec's timeout:, else none)",
    )
    run.set_defaults(handler=run_command)


def _events(settings: ExecutionSpec) -> RunEvents:
    """Progress on stderr: a live line on a terminal, plain lines in logs (progress_display.py)."""
    from harness.cli.progress_display import ProgressDisplay

    err = sys.stderr
    display = ProgressDisplay(err, live=err.isatty(), concurrent=settings.executor != "local")
    return display.events()


def run_command(args: argparse.Namespace) -> int:
    from harness.analysis.leaderboard import build_boards
    from harness.present.leaderboard_view import render_table
    from harness.run.runner import Runner

    spec_path = args.spec or quickstart_spec_path()
    plan = load_plan(args, spec_path)
    err = sys.stderr
    origin = "--protocol" if args.protocol else str(spec_path)
    if plan.protocol is not None:
        origin += f", protocol {plan.protocol.ref.label}"
    print(
        f"harness: {len(plan.jobs)} jobs ({len(plan.models)} models × {len(plan.tasks)} tasks × {len(plan.suites)} suites) from {origin}",
        file=err,
    )
    for suite in plan.suites.values():
        for line in suite.plan_summary():
            print(f"  {suite.name}: {line}", file=err)
    settings = execution(args, plan.spec)
    runner = Runner(
        plan,
        out_dir=args.out,
        fail_fast=args.fail_fast,
        events=_events(settings),
        execution=settings,
        wait_lock=args.wait_lock,
    )
    outcome = runner.run()
    print(f"results: {outcome.run_dir}", file=err)
    try:
        boards = build_boards(outcome.run_dir, allow_partial=True)  # marked if partial
        print(render_table(boards, width=output_width(args.width)))
    except HarnessError as exc:
        print(f"(no leaderboard: {exc})", file=err)
    if outcome.interrupted:
        print(
            f"error: run interrupted by {outcome.signal}; rerun the same command to resume (finished jobs are kept)",
            file=err,
        )
    for o in outcome.failed:
        print(f"error: job {o.job.label} failed: {o.message}", file=err)
    if outcome.failed:
        print(
            f"{len(outcome.failed)} of {len(outcome.outcomes)} jobs failed; see {outcome.run_dir / 'manifest.json'}",
            file=err,
        )
    return outcome.exit_code
