"""`harness run`: run a spec (no spec: the embedded quickstart) and print the leaderboard."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.cli.arguments import (
    DEFAULT_OUT,
    csv_list,
    non_negative_int,
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
    run.set_defaults(handler=run_command)


def _events(settings: ExecutionSpec) -> RunEvents:
    """Progress lines on stderr: one per event for concurrent executors, a bar on a terminal."""
    from tqdm import tqdm

    from harness.run.executors import UnitResult
    from harness.run.runner import JobOutcome, RunEvents

    err = sys.stderr
    lines = settings.executor != "local"  # jobs run concurrently: one whole line per event
    bars = not lines and err.isatty()  # a live samples counter per job on a terminal
    bar: list[tqdm] = []

    def started(i: int, total: int, job) -> None:  # noqa: ANN001
        if lines:
            print(f"[{i}/{total}] {job.label} submitted", file=err, flush=True)
        elif bars:
            bar[:] = [
                tqdm(desc=f"[{i}/{total}] {job.label}", unit=" samples", leave=False, file=err)
            ]
        else:
            print(f"[{i}/{total}] {job.label} ...", file=err, end="", flush=True)

    def samples_done(count: int) -> None:
        if bar:
            bar[0].update(count)

    def finished(i: int, total: int, o: JobOutcome) -> None:
        tail = {
            "completed": f"done in {o.seconds:.1f} s",
            "cached": "cached (same key; skipped)",
            "skipped": f"skipped: {o.message}",
            "failed": f"FAILED: {o.message}",
        }[o.status]
        if bar:
            bar.pop().close()
        full = lines or bars
        print(f"[{i}/{total}] {o.job.label}: {tail}" if full else f" {tail}", file=err, flush=True)

    def unit_done(i: int, total: int, u: UnitResult) -> None:
        state = (
            f"done in {u.seconds:.1f} s on {u.host} (pid {u.pid})"
            if u.ok
            else f"FAILED: {u.message}"
        )
        print(f"[{i}/{total}]   {u.unit.label}: {state}", file=err, flush=True)

    return RunEvents(
        job_started=started,
        job_finished=finished,
        unit_finished=unit_done if lines else None,
        samples_done=samples_done if bars else None,
    )


def run_command(args: argparse.Namespace) -> int:
    from harness.analysis.leaderboard import build_boards
    from harness.present.leaderboard_view import render_table
    from harness.run.runner import Runner

    spec_path = args.spec or quickstart_spec_path()
    plan = load_plan(args, spec_path)
    err = sys.stderr
    print(
        f"harness: {len(plan.jobs)} jobs ({len(plan.models)} models × {len(plan.tasks)} tasks × {len(plan.suites)} suites) from {spec_path}",
        file=err,
    )
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
        print(render_table(build_boards(outcome.run_dir)))
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
