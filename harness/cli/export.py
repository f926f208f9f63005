"""`harness export`: stored results into an MLflow tracking store or Hugging Face model cards."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli.arguments import (
    UsageError,
    add_results_argument,
    add_width_argument,
    nonblank_text,
    output_width,
    path_arg,
)
from harness.cli.paths import input_folder, output_folder


def add_parser(sub: Any) -> None:
    exp = sub.add_parser(
        "export",
        help="export results to MLflow runs or Hugging Face model-index cards",
        description="MLflow: each harness run and each of its jobs as an MLflow run (params, "
        "metrics with intervals, flags as tags, the per-sample table as an artifact); "
        "re-exporting the same results adds nothing twice. model-index: a model card per "
        "model with its model-index (docs/export.md).",
    )
    add_results_argument(exp)
    exp.add_argument("--to", choices=["mlflow", "model-index"], required=True)
    exp.add_argument(
        "--tracking-uri",
        type=nonblank_text,
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in "
        "the current folder, artifacts in mlruns/ beside it)",
    )
    exp.add_argument(
        "--experiment", type=nonblank_text, help="MLflow experiment (default: harness)"
    )
    exp.add_argument(
        "--report",
        type=path_arg,
        help="report site to log with each run (default: RESULTS/report when it holds one)",
    )
    exp.add_argument(
        "--out", type=path_arg, help="model-index: folder for the cards (<model>/README.md)"
    )
    exp.add_argument(
        "--all-metrics",
        action="store_true",
        help="model-index: every metric, not only headline ones",
    )
    exp.add_argument(
        "--allow-partial",
        action="store_true",
        help="export incomplete results (unfinished runs, missing job folders), tagged partial",
    )
    add_width_argument(exp)
    exp.set_defaults(handler=export_command)


# the flags each target takes (the others are refused, not silently ignored)
_ONLY_FOR = {
    "tracking_uri": "mlflow",
    "experiment": "mlflow",
    "report": "mlflow",
    "out": "model-index",
    "all_metrics": "model-index",
}


def export_command(args: argparse.Namespace) -> int:
    for name, target in _ONLY_FOR.items():
        if target != args.to and getattr(args, name) not in (None, False):
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} applies to --to {target} only, not --to {args.to}")
    results = input_folder(args.results, "results folder")
    if args.to == "mlflow":
        return _to_mlflow(args, results)
    if args.out is None:
        raise UsageError("--to model-index needs --out DIR (the folder for the model cards)")
    from harness.export.model_index import export_model_index
    from harness.run.suite_boards import installed_suite_boards

    cards = export_model_index(
        results,
        output_folder(args.out, "--out", create=False),  # made with its first card
        all_metrics=args.all_metrics,
        allow_partial=args.allow_partial,
        suite_boards=installed_suite_boards(),  # which numbers have a chance level
    )
    for card in cards:
        _say(args, f"{card.path}  ({card.results} result(s) for {card.model})")
    # a model-index entry needs a value: say which numbers a card leaves out (a card showing
    # worst_group_acc alone read as if the disparities were never measured)
    undefined = [f"{card.model} × {item}" for card in cards for item in card.undefined]
    if undefined:
        shown = "; ".join(undefined[:SHOWN_FAILED])
        more = (
            f"; and {len(undefined) - SHOWN_FAILED} more" if len(undefined) > SHOWN_FAILED else ""
        )
        what = "metric(s)" if args.all_metrics else "headline metric(s)"
        _say(args, f"left out: {len(undefined)} {what} without a value: {shown}{more}")
    _say_left_out(args, results)
    return 0


def _to_mlflow(args: argparse.Namespace, results: Path) -> int:
    from harness.export.mlflow_export import DEFAULT_EXPERIMENT, export_mlflow, shown_uri
    from harness.run.suite_boards import installed_suite_boards

    report = input_folder(args.report, "--report") if args.report is not None else None
    done = export_mlflow(
        results,
        tracking_uri=args.tracking_uri,
        experiment=args.experiment or DEFAULT_EXPERIMENT,
        report=report,
        allow_partial=args.allow_partial,
        suite_boards=installed_suite_boards(),  # which numbers have a chance level
    )
    _say(
        args,
        f"mlflow: {done.logged} job run(s) logged, {done.kept} already there"
        + (f", {done.replaced} unfinished one(s) logged again" if done.replaced else "")
        + (
            f", {done.superseded} other run(s) of the same jobs marked superseded"
            if done.superseded
            else ""
        )
        + f"; experiment {done.experiment!r} ({done.experiment_id})"
        + f" at {shown_uri(done.tracking_uri)}"
        + (f"; report {done.report}" if done.report else ""),
    )
    _say_left_out(args, results)
    return 0


def _say_left_out(args: argparse.Namespace, results: Path) -> None:
    """The failed jobs the export left out (no number to export), one line: a failed model is
    otherwise simply absent from the export."""
    from harness.export.exported_jobs import failed_jobs

    failed = failed_jobs(results)
    if failed:
        shown = "; ".join(m.describe() for m in failed[:SHOWN_FAILED])
        more = f"; and {len(failed) - SHOWN_FAILED} more" if len(failed) > SHOWN_FAILED else ""
        _say(args, f"left out: {len(failed)} failed job(s), not exported: {shown}{more}")


SHOWN_FAILED = 5


def _say(args: argparse.Namespace, line: str) -> None:
    """One line of the command's output, escaped for the terminal and fitted to --width."""
    from harness.present.escaping import terminal_text
    from harness.present.tables import wrap

    sys.stdout.write(wrap(terminal_text(line), output_width(args.width)) + "\n")
