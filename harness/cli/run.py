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
    output_width,
    path_arg,
    quickstart_spec_path,
    ray_address,
    spec_flag,
    text,
)
from harness.cli.paths import output_folder
from harness.cli.plans import execution, load_plan
from harness.core.errors import HarnessError

if TYPE_CHECKING:
    from harness.cli.progress_display import ProgressDisplay
    from harness.config.spec import ExecutionSpec
    from harness.run.runner import RunOutcome


def add_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run a spec (no spec: the embedded quickstart)")
    run.add_argument("spec", nargs="?", type=path_arg, help="spec YAML (default: the quickstart)")
    run.add_argument(
        "--out", type=path_arg, default=DEFAULT_OUT, help="results folder (default: results)"
    )
    run.add_argument(
        "--models",
        type=csv_list,
        help="only these models (comma-separated); a zoo name, hf:<id> or a ./m.onnx or "
        "./m.skops path the spec lacks is added",
    )
    run.add_argument("--suites", type=csv_list, help="only these suites")
    run.add_argument("--tasks", type=csv_list, help="only these tasks")
    run.add_argument("--device", choices=["cpu", "cuda", "auto"], help="override the spec's device")
    run.add_argument(
        "--limit",
        type=spec_flag("RunSpec", "limit"),
        help="evaluate a seeded label-stratified sample of N samples per task (same for every model)",
    )
    run.add_argument("--seed", type=spec_flag("RunSpec", "seed"), help="override the spec's seed")
    run.add_argument(
        "--protocol",
        type=text,
        help="run a protocol preset (`harness list protocols`) on --models; see docs/protocols.md",
    )
    run.add_argument(
        "--protocol-ids",
        type=path_arg,
        help="the file of image ids a protocol evaluates (e.g. RobustBench's ImageNet list)",
    )
    run.add_argument("--fail-fast", action="store_true", help="stop at the first failing job")
    run.add_argument(
        "--no-cache",
        action="store_true",
        help="neither read nor write the shared result cache (docs/cache.md); results already "
        "in --out are still reused",
    )
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
        type=ray_address,
        help="Ray cluster address for --executor ray (default: start a local Ray cluster)",
    )
    run.add_argument(
        "--shards",
        type=spec_flag("ExecutionSpec", "shards"),
        help="split each shardable job into N shards over samples",
    )
    add_width_argument(run)
    run.add_argument(
        "--report",
        type=path_arg,
        metavar="FOLDER",
        help="also write the HTML report (and summary.md) of this run into FOLDER",
    )
    run.add_argument(
        "--threads",
        type=spec_flag("RunSpec", "threads"),
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


def _display(settings: ExecutionSpec, width: int | None) -> ProgressDisplay:
    """Progress on stderr: a live line on a terminal, plain lines in logs (progress_display.py),
    every line within `width` (None: no limit)."""
    from harness.cli.progress_display import ProgressDisplay

    err = sys.stderr
    return ProgressDisplay(
        err,
        live=err.isatty(),
        concurrent=settings.executor != "local",
        width=lambda: width or 1 << 20,
    )


def _end(args: argparse.Namespace, outcome: RunOutcome) -> int | None:
    """The headline per task, skipped jobs once per reason, and where the rest is
    (present/run_end_view.py); the report when --report asks for it. Returns the exit code of
    a report stopped by a signal (its one line said), else None."""
    from harness.analysis.headline import headline_board, read_outcomes
    from harness.analysis.leaderboard import build_boards
    from harness.core.manifest import JobStatus
    from harness.present.escaping import terminal_text
    from harness.present.run_end_view import run_end_text
    from harness.run.suite_boards import installed_suite_boards

    try:
        suite_boards = installed_suite_boards()
        boards = build_boards(outcome.run_dir, allow_partial=True, suite_boards=suite_boards)
    except HarnessError as exc:
        done = (JobStatus.COMPLETED, JobStatus.CACHED)
        reason = str(exc)
        if outcome.failed and not any(o.status in done for o in outcome.outcomes):
            # every failure gets its own error line below: not all of them again in this one
            reason = "no job completed"
        print(f"(no leaderboard: {reason})", file=sys.stderr)
        return None
    report = None
    if args.report is not None:
        from harness.cli.report import interrupted_report
        from harness.present.site import build_site
        from harness.run.interrupts import exit_code_of, signal_of

        try:  # SIGINT, and SIGTERM (harness/cli/main.py), raise KeyboardInterrupt
            site = build_site(
                outcome.run_dir, args.report, suite_boards=suite_boards, allow_partial=True
            )
        except KeyboardInterrupt as exc:
            print(terminal_text(interrupted_report(args.report, signal_of(exc))), file=sys.stderr)
            return exit_code_of(signal_of(exc))
        report = str(site)
    outcomes = read_outcomes(outcome.run_dir)
    skipped = [(o.job.suite, o.message) for o in outcome.outcomes if o.status == JobStatus.SKIPPED]
    text = run_end_text(
        [headline_board(b, outcomes) for b in boards],
        run_dir=str(outcome.run_dir),
        width=output_width(args.width),
        skipped=skipped,
        report=report,
    )
    print(text)
    return None


def _refuse_shared_report_folder(report: Path, out: Path) -> None:
    """A report folder that is the results folder, lies in its `runs/` or holds it: the run's
    results would make it a folder 'no report wrote' after every job had run, or mix the
    report's pages with results. A folder beside `runs/` (`results/report`, the README's) is
    one of its own: a run writes only under `runs/`."""
    import os

    site, results = Path(os.path.realpath(report)), Path(os.path.realpath(out))
    runs = results / "runs"
    if site == results:
        where = "is the results folder"
    elif site == runs or runs in site.parents:
        where = "is inside the runs folder of the results folder"
    elif site in results.parents:
        where = "holds the results folder"
    else:
        return
    raise HarnessError(
        f"--report {report} {where} --out {out}: a report is written into a folder of its own, "
        "apart from the results it reads; choose another --report"
    )


def run_command(args: argparse.Namespace) -> int:
    from harness.present.escaping import terminal_text
    from harness.present.tables import wrap
    from harness.run.runner import Runner

    width = output_width(args.width)

    def say(line: str) -> None:
        print(wrap(terminal_text(line), width), file=sys.stderr)

    spec_path = args.spec or quickstart_spec_path()
    output_folder(args.out, "--out", create=False)  # the runner makes it, under its lock
    if args.report is not None:  # before the run, not after it
        from harness.present.site_folder import refuse_foreign_folder

        # a file, a device or a dangling link there failed only after every job had run
        output_folder(args.report, "--report", create=False)
        _refuse_shared_report_folder(args.report, args.out)
        refuse_foreign_folder(args.report, flag="--report")
    plan = load_plan(args, spec_path)
    origin = "--protocol" if args.protocol else str(spec_path)
    if plan.protocol is not None:
        origin += f", protocol {plan.protocol.ref.label}"
    counts = (
        f"{_count(len(plan.jobs), 'job')} ({_count(len(plan.models), 'model')} × "
        f"{_count(len(plan.tasks), 'task')} × {_count(len(plan.suites), 'suite')})"
    )
    settings = execution(args, plan.spec)
    display = _display(settings, width)
    runner = Runner(
        plan,
        out_dir=args.out,
        fail_fast=args.fail_fast,
        events=display.events(),
        execution=settings,
        wait_lock=args.wait_lock,
    )
    # the run folder first: one another process holds is refused before the plan and its cost
    # are printed, which read as a run that started
    with runner.claim():
        say(f"harness: {counts} from {origin}")
        for line in plan.suite_summaries():
            say(f"  {line}")
        with display.beside_logs():  # log records and warnings never land on the progress line
            try:
                outcome = runner.run()
            except BaseException as exc:  # its error line starts a line of its own
                display.stopped("interrupted" if isinstance(exc, KeyboardInterrupt) else "stopped")
                raise
        if outcome.interrupted:
            display.stopped("interrupted")
    say(f"results: {outcome.run_dir}")
    stopped = _end(args, outcome)  # the exit code of a report stopped by a signal
    # errors stay one line each, unwrapped: a script or a reader greps for them
    if outcome.interrupted:
        print(
            f"error: run interrupted by {outcome.signal}; rerun the same command to resume "
            "(finished jobs are kept)",
            file=sys.stderr,
        )
    for o in outcome.failed:
        print(f"error: job {o.job.label} failed: {o.message}", file=sys.stderr)
    if outcome.failed:
        say(
            f"{len(outcome.failed)} of {len(outcome.outcomes)} jobs failed; see "
            f"{outcome.run_dir / 'manifest.json'}"
        )
    return outcome.exit_code if stopped is None else stopped


def _count(n: int, noun: str) -> str:
    """`1 job`, `2 jobs`: the plan line of a one-model, one-task spec read "1 jobs (1 models ...)"."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
