"""The `harness` command line: run, validate, list, leaderboard.

User errors print one line (`error: ...`) and exit 2; `--debug` shows the traceback. A run whose
jobs failed exits 1 after finishing the others; an interrupted run exits 130.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from harness.core.errors import HarnessError

DEFAULT_OUT = Path("results")


def quickstart_spec_path() -> Path:
    return Path(str(files("zoo") / "quickstart.yaml"))


def _csv(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return items


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {n}")
    return n


def _non_negative_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a non-negative integer, got {value!r}"
        ) from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Evaluate classifiers: accuracy, calibration, shift, attacks, fairness, speed.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a spec (no spec: the embedded quickstart)")
    run.add_argument("spec", nargs="?", type=Path, help="spec YAML (default: the quickstart)")
    run.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="results folder (default: results)"
    )
    run.add_argument("--models", type=_csv, help="only these models (comma-separated)")
    run.add_argument("--suites", type=_csv, help="only these suites")
    run.add_argument("--tasks", type=_csv, help="only these tasks")
    run.add_argument("--device", choices=["cpu", "cuda", "auto"], help="override the spec's device")
    run.add_argument(
        "--limit", type=_positive_int, help="evaluate only the first N samples per task"
    )
    run.add_argument("--seed", type=_non_negative_int, help="override the spec's seed")
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
        "--shards", type=_positive_int, help="split each shardable job into N shards over samples"
    )

    val = sub.add_parser("validate", help="check a spec without running it")
    val.add_argument("spec", type=Path)

    lst = sub.add_parser("list", help="show registered tasks, models, suites or adapters")
    lst.add_argument("what", choices=["tasks", "models", "suites", "adapters"])

    lb = sub.add_parser("leaderboard", help="print comparable results")
    lb.add_argument(
        "results", nargs="?", type=Path, default=DEFAULT_OUT, help="results folder or run folder"
    )
    lb.add_argument("--task", help="only this task")
    lb.add_argument("--format", choices=["table", "md", "csv", "json"], default="table")
    lb.add_argument(
        "--all-metrics", action="store_true", help="every metric, not only headline ones"
    )

    rep = sub.add_parser("report", help="write a static HTML report site (and a Markdown summary)")
    rep.add_argument(
        "results", nargs="?", type=Path, default=DEFAULT_OUT, help="results folder or run folder"
    )
    rep.add_argument("--out", type=Path, required=True, help="folder for the site (index.html)")

    chk = sub.add_parser(
        "check", help="CI gate: fail on significant regressions against a baseline"
    )
    chk.add_argument("--baseline", type=Path, required=True, help="baseline run folder")
    chk.add_argument("--current", type=Path, required=True, help="current run folder")
    chk.add_argument("--policy", type=Path, help="policy YAML (tolerances, floors, alpha)")
    chk.add_argument("--junit", type=Path, help="also write JUnit XML here")
    chk.add_argument("--format", choices=["table", "md"], default="table")
    par = sub.add_parser("parity", help="check that two adapters of one model agree on a task")
    par.add_argument("spec", type=Path, help="spec YAML defining both models and the task")
    par.add_argument("--models", type=_csv, required=True, help="exactly two models: a,b")
    par.add_argument("--task", required=True, help="the task to compare on")
    par.add_argument(
        "--atol", type=float, default=1e-4, help="max |log-prob difference| (default 1e-4)"
    )
    par.add_argument("--limit", type=_positive_int, help="compare only the first N samples")
    par.add_argument("--format", choices=["table", "json"], default="table")
    grp = sub.add_parser(
        "groups", help="group breakdown of stored per-sample tables (fairness x robustness)"
    )
    grp.add_argument(
        "results", nargs="?", type=Path, default=DEFAULT_OUT, help="results folder or run folder"
    )
    grp.add_argument("--task", help="only this task")
    grp.add_argument("--model", help="only this model")
    grp.add_argument("--suite", help="only this suite's tables")
    grp.add_argument("--condition", help="only this condition (default: every condition)")
    grp.add_argument(
        "--by",
        type=_csv,
        help="group columns, comma-separated; join with & for an intersection (default: each group column)",
    )
    grp.add_argument(
        "--min-group-size", type=_positive_int, default=20, help="flag smaller groups (default 20)"
    )
    grp.add_argument(
        "--resamples",
        type=_non_negative_int,
        default=1000,
        help="bootstrap resamples (default 1000)",
    )
    grp.add_argument("--format", choices=["table", "md", "csv", "json"], default="table")
    var = sub.add_parser(
        "variants",
        help="compressed variants vs their parent: paired deltas, size, where harm concentrates",
    )
    var.add_argument(
        "results", nargs="?", type=Path, default=DEFAULT_OUT, help="results folder or run folder"
    )
    var.add_argument("--task", help="only this task")
    var.add_argument("--format", choices=["table", "md", "json"], default="table")
    return parser


def _load_plan(args: argparse.Namespace, spec_path: Path):  # noqa: ANN202 - internal
    from harness.config.plan import build_plan
    from harness.config.spec import RunSpec, load_spec

    spec = load_spec(spec_path)
    _importable(spec_path.resolve().parent)
    overrides = {
        k: v
        for k, v in {
            "device": getattr(args, "device", None),
            "limit": getattr(args, "limit", None),
            "seed": getattr(args, "seed", None),
        }.items()
        if v is not None
    }
    if overrides:
        spec = RunSpec.model_validate({**spec.model_dump(exclude_unset=True), **overrides})
    return build_plan(
        spec,
        base_dir=spec_path.resolve().parent,
        models=getattr(args, "models", None),
        tasks=getattr(args, "tasks", None),
        suites=getattr(args, "suites", None),
    )


def _execution(args: argparse.Namespace, spec):  # noqa: ANN001, ANN202 - internal
    """The spec's execution settings with --executor/--address/--shards applied."""
    from harness.config.spec import ExecutionSpec
    from harness.core.errors import SpecError

    settings = (spec.execution or ExecutionSpec()).model_dump()
    if args.executor:
        settings["executor"] = args.executor
    if args.address:
        if settings["executor"] != "ray":
            raise SpecError("--address is the address of a Ray cluster; use it with --executor ray")
        settings["address"] = args.address
    if args.shards:
        settings.update(shards=args.shards, shard_size=None)
    if settings["executor"] == "local":
        settings["address"] = None
    return ExecutionSpec.model_validate(settings)


def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from harness.analysis.leaderboard import build_boards
    from harness.present.leaderboard_view import render_table
    from harness.run.executors import UnitResult
    from harness.run.runner import JobOutcome, RunEvents, Runner

    spec_path = args.spec or quickstart_spec_path()
    plan = _load_plan(args, spec_path)
    err = sys.stderr
    print(
        f"harness: {len(plan.jobs)} jobs ({len(plan.models)} models × {len(plan.tasks)} tasks × {len(plan.suites)} suites) from {spec_path}",
        file=err,
    )

    execution = _execution(args, plan.spec)
    lines = execution.executor != "local"  # jobs run concurrently: one whole line per event
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

    events = RunEvents(
        job_started=started,
        job_finished=finished,
        unit_finished=unit_done if lines else None,
        samples_done=samples_done if bars else None,
    )
    runner = Runner(
        plan,
        out_dir=args.out,
        fail_fast=args.fail_fast,
        events=events,
        execution=execution,
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


def cmd_validate(args: argparse.Namespace) -> int:
    plan = _load_plan(args, args.spec)
    print(f"{args.spec}: valid — {len(plan.jobs)} jobs")
    for job in plan.jobs:
        print(f"  {job.label}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from harness.config.plan import adapter_registry, suite_registry, zoo_registry
    from harness.config.tasks.catalogue import task_registry
    from harness.core.registry import load_target

    rows: list[tuple[str, str, str, str]] = []
    if args.what == "models":
        for name, entry in sorted(zoo_registry().items()):
            rows.append(
                (
                    name,
                    f"{entry.get('adapter', 'torch')} model for {', '.join(entry.get('tasks') or ['any task'])}",
                    "zoo",
                    entry.get("description", ""),
                )
            )
    else:
        reg = {"tasks": task_registry, "suites": suite_registry, "adapters": adapter_registry}[
            args.what
        ]()
        for name in reg.names():
            entry = reg.entry(name)
            obj = load_target(entry.target)
            doc = (
                getattr(obj, "description", "")
                or ((obj.__doc__ or "").strip().splitlines() or [""])[0]
            )
            rows.append((name, args.what.rstrip("s"), entry.origin, doc))
    width = max(len(r[0]) for r in rows) if rows else 4
    for name, kind, origin, doc in rows:
        print(f"{name:<{width}}  {kind:<28}  {origin:<10}  {doc}")
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from harness.analysis.leaderboard import build_boards
    from harness.present.leaderboard_view import (
        render_csv,
        render_json,
        render_markdown,
        render_table,
    )

    boards = build_boards(args.results, task=args.task, all_metrics=args.all_metrics)
    render = {"table": render_table, "md": render_markdown, "csv": render_csv, "json": render_json}[
        args.format
    ]
    sys.stdout.write(render(boards).rstrip("\n") + "\n")
    return 0


def cmd_parity(args: argparse.Namespace) -> int:
    import json

    from harness.core.errors import SpecError
    from harness.run.parity import compare

    if len(args.models) != 2:
        raise SpecError(f"--models needs exactly two model names (a,b), got {len(args.models)}")
    args.tasks = [args.task]
    plan = _load_plan(args, args.spec)
    from harness.run.environment import resolve_device

    device = resolve_device(plan.spec.device)
    task = plan.tasks[args.task].load().head(args.limit or plan.spec.limit)
    adapters = []
    for name in args.models:
        mp = plan.models[name]
        adapter = mp.adapter_cls.build(
            name=name, config=mp.config, device=device, base_dir=plan.base_dir
        )
        check_task = getattr(adapter, "check_task", None)
        if check_task is not None:
            check_task(task)
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


def cmd_report(args: argparse.Namespace) -> int:
    from harness.present.site import build_site

    index = build_site(args.results, args.out)
    print(f"report: {index}", file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import os

    from harness.analysis.check import run_check
    from harness.analysis.check_policy import load_policy
    from harness.present.check_view import render_markdown, render_table
    from harness.present.junit import render_junit

    policy = load_policy(args.policy)
    report = run_check(
        args.baseline, args.current, policy, policy_source=str(args.policy or "(defaults)")
    )
    text = render_markdown(report) if args.format == "md" else render_table(report)
    sys.stdout.write(text.rstrip("\n") + "\n")
    if args.junit:
        args.junit.parent.mkdir(parents=True, exist_ok=True)
        args.junit.write_text(render_junit(report))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(render_markdown(report) + "\n")
    return report.exit_code


def cmd_groups(args: argparse.Namespace) -> int:
    """Per-group metrics of any condition in stored tables; torch-free (pandas, fairlearn)."""
    from pandas.api.types import is_float_dtype

    from harness.analysis.groups import (
        INTERSECTION,
        group_breakdown,
        group_columns_of,
        long_rows,
        with_clean_reference,
    )
    from harness.core.errors import ResultsError
    from harness.present.groups_view import render
    from harness.store.run_store import load_jobs

    wanted = {"task": args.task, "model": args.model, "suite": args.suite}
    found = [
        (m, j)
        for m, j in load_jobs(args.results)
        if j.status == "completed" and "samples.parquet" in j.record.get("files", {})
    ]
    jobs = [
        (m, j) for m, j in found if all(v is None or j.record[k] == v for k, v in wanted.items())
    ]
    if not jobs:
        have = sorted(
            {f"{j.record['model']} x {j.record['task']} x {j.record['suite']}" for _, j in found}
        )
        raise ResultsError(
            f"no stored per-sample tables under {args.results} match {', '.join(f'--{k} {v}' for k, v in wanted.items() if v) or 'the filters'}; available: {'; '.join(have) or '(none)'}"
        )
    rows: list[dict[str, object]] = []
    skipped: list[str] = []
    for manifest, job in jobs:
        table = job.table().frame
        by = (
            [tuple(b.split(INTERSECTION)) for b in args.by]
            if args.by
            else [
                (c,)
                for c in group_columns_of(table)  # continuous ones need bins: name them in --by
                if not is_float_dtype(table[f"group:{c}"])
            ]
        )
        label = f"{job.record['model']} x {job.record['task']} x {job.record['suite']}"
        if not by:
            print(
                f"{label}: skipped (its table has no group columns; pass --by label for a by-class view)",
                file=sys.stderr,
            )
            continue
        conditions = list(dict.fromkeys(table["condition"]))
        if args.condition is not None:
            missing_cols = {c for g in by for c in g if f"group:{c}" not in table.columns}
            if args.condition not in conditions or (args.by and missing_cols):
                # named explicitly: an error; otherwise this table just does not take part
                if args.suite is not None and args.model is not None and args.task is not None:
                    raise ResultsError(
                        f"{label} has no condition {args.condition!r}; its conditions: {', '.join(conditions)}"
                    )
                skipped.append(f"{label}: conditions {', '.join(conditions)}")
                continue
            conditions = [args.condition]
        for condition in conditions:
            breakdown = group_breakdown(
                with_clean_reference(table, condition),
                by,
                num_classes=int(job.record["task_summary"]["num_classes"]),
                seed=int(manifest.get("seed", 0) or 0),
                condition=condition,
                min_group_size=args.min_group_size,
                resamples=args.resamples,
            )
            meta = {
                "model": job.record["model"],
                "task": job.record["task"],
                "suite": job.record["suite"],
            }
            rows += long_rows(meta, breakdown)
    if not rows and skipped:
        raise ResultsError(
            f"no stored table has condition {args.condition!r}"
            + (f" and group columns {', '.join(args.by)}" if args.by else "")
            + f"; tables and their conditions: {'; '.join(skipped)[:600]}"
        )
    if not rows:
        raise ResultsError(
            "no group breakdown to show: no selected table has group columns; pass --by"
        )
    sys.stdout.write(render(rows, args.format).rstrip("\n") + "\n")
    return 0


def cmd_variants(args: argparse.Namespace) -> int:
    """Each variant's change from its parent (torch-free; see docs/variants.md)."""
    from harness.analysis.variant_deltas import compare_variants
    from harness.present.variants_view import render
    from harness.store.run_store import load_jobs

    comparisons = compare_variants(load_jobs(args.results), task=args.task)
    sys.stdout.write(render(comparisons, args.format).rstrip("\n") + "\n")
    return 0


COMMANDS = {
    "parity": cmd_parity,
    "run": cmd_run,
    "validate": cmd_validate,
    "list": cmd_list,
    "leaderboard": cmd_leaderboard,
    "report": cmd_report,
    "check": cmd_check,
    "groups": cmd_groups,
    "variants": cmd_variants,
}


def _importable(folder: Path) -> None:
    """Let `module:factory` references in a spec import modules from `folder` (like `python -m`)."""
    entry = str(folder)
    if entry not in sys.path:
        sys.path.insert(0, entry)


def main(argv: Sequence[str] | None = None) -> int:
    _importable(Path.cwd())
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return COMMANDS[args.command](args)
    except HarnessError as err:
        if args.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as exc:
        from harness.run.interrupts import exit_code_of, signal_of

        print(f"error: interrupted by {signal_of(exc)}", file=sys.stderr)
        return exit_code_of(signal_of(exc))


if __name__ == "__main__":
    sys.exit(main())
