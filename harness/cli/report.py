"""`harness report`: write the static HTML report site (and its Markdown summary)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli.arguments import (
    add_results_argument,
    add_width_argument,
    output_width,
    path_arg,
    text,
)
from harness.cli.paths import input_folder, output_folder


def add_parser(sub: Any) -> None:
    rep = sub.add_parser("report", help="write a static HTML report site (and a Markdown summary)")
    add_results_argument(rep)
    rep.add_argument("--out", type=path_arg, required=True, help="folder for the site (index.html)")
    rep.add_argument(
        "--allow-partial",
        action="store_true",
        help="publish incomplete results (unfinished runs, missing job folders), marked PARTIAL",
    )
    rep.add_argument(
        "--compare",
        nargs=2,
        type=text,
        action="append",
        default=[],
        metavar=("MODEL_A", "MODEL_B"),
        help="also write a comparison page of these two models on every task both ran on "
        "(repeatable; each task's first two models are always compared)",
    )
    rep.add_argument(
        "--site-url",
        type=text,
        default=None,
        help="address the site will be published at: summary.md links to its pages there "
        "(default: summary.md links nothing and says where the report folder is)",
    )
    add_width_argument(rep)
    rep.set_defaults(handler=report_command)


def interrupted_report(site: Path, signal_name: str) -> str:
    """The one line of a report stopped by a signal: the site keeps its previous build."""
    return (
        f"error: report interrupted by {signal_name}; {site} keeps its previous build, whole "
        "(the results are untouched: run the same command again to write the report)"
    )


def report_command(args: argparse.Namespace) -> int:
    from harness.present.api_report import report
    from harness.present.escaping import terminal_text
    from harness.present.tables import wrap
    from harness.run.interrupts import exit_code_of, signal_of
    from harness.run.suite_boards import installed_suite_boards

    results = input_folder(args.results, "results folder")
    out = output_folder(args.out, "--out", create=False)  # the site is made under its lock
    try:  # SIGINT, and SIGTERM (harness/cli/main.py), raise KeyboardInterrupt
        site = report(
            results,
            out,
            suite_boards=installed_suite_boards(),
            compare=args.compare,
            site_url=args.site_url,
            allow_partial=args.allow_partial,
            option_names="cli",
        )
    except KeyboardInterrupt as exc:
        print(terminal_text(interrupted_report(out, signal_of(exc))), file=sys.stderr)
        return exit_code_of(signal_of(exc))
    line = f"report: {site.index} (summary for a pull request: {site.summary})"
    print(wrap(terminal_text(line), output_width(args.width)), file=sys.stderr)
    return 0
