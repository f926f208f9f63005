"""`harness leaderboard`: comparable results as a terminal table, Markdown, CSV or JSON."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harness.cli.arguments import add_results_argument, add_width_argument, output_width, text
from harness.cli.paths import input_folder


def add_parser(sub: Any) -> None:
    lb = sub.add_parser("leaderboard", help="print comparable results")
    add_results_argument(lb)
    lb.add_argument("--task", type=text, help="only this task")
    lb.add_argument("--format", choices=["table", "md", "csv", "json"], default="table")
    lb.add_argument(
        "--all-metrics", action="store_true", help="every metric, not only headline ones"
    )
    add_width_argument(lb)
    lb.add_argument(
        "--allow-partial",
        action="store_true",
        help="publish incomplete results (unfinished runs, missing job folders), marked PARTIAL",
    )
    lb.set_defaults(handler=leaderboard_command)


def leaderboard_command(args: argparse.Namespace) -> int:
    from harness.analysis.leaderboard import boardless_failures, build_boards
    from harness.present.escaping import md_text, terminal_text
    from harness.present.leaderboard_view import (
        render_csv,
        render_json,
        render_markdown,
        render_table,
    )
    from harness.present.tables import wrap
    from harness.run.suite_boards import installed_suite_boards

    root = input_folder(args.results, "results folder")
    boards = build_boards(
        root,
        task=args.task,
        all_metrics=args.all_metrics,
        allow_partial=args.allow_partial,
        suite_boards=installed_suite_boards(),
    )
    if args.format == "table":
        text = render_table(boards, width=output_width(args.width))
    else:
        text = {"md": render_markdown, "csv": render_csv, "json": render_json}[args.format](boards)
    sys.stdout.write(text.rstrip("\n") + "\n")
    # tasks whose every job failed have no board to note it under: said after the boards
    # (on stderr for CSV and JSON, whose stdout is read by programs)
    notes = boardless_failures(root, boards, args.task)
    if not notes:
        return 0
    if args.format == "table":
        width = output_width(args.width)
        lines = [wrap(terminal_text(note), width) for note in notes]
        sys.stdout.write("\n" + "\n".join(lines) + "\n")
    elif args.format == "md":
        sys.stdout.write("".join(f"\n> {md_text(note)}\n" for note in notes))
    else:
        sys.stderr.write("\n".join(terminal_text(note) for note in notes) + "\n")
    return 0
