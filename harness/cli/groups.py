"""`harness groups`: group breakdowns of stored per-sample tables (fairness x robustness)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harness.cli.arguments import (
    add_results_argument,
    add_width_argument,
    csv_list,
    non_negative_int,
    output_width,
    positive_int,
)


def add_parser(sub: Any) -> None:
    grp = sub.add_parser(
        "groups", help="group breakdown of stored per-sample tables (fairness x robustness)"
    )
    add_results_argument(grp)
    grp.add_argument("--task", help="only this task")
    grp.add_argument("--model", help="only this model")
    grp.add_argument("--suite", help="only this suite's tables")
    grp.add_argument(
        "--condition",
        default="clean",
        help="the condition to break down, e.g. 'attack=ensemble/norm=linf/eps=0.1' "
        "(default: clean); tables without it or without the --by columns are left out",
    )
    grp.add_argument(
        "--by",
        type=csv_list,
        help="group columns, comma-separated; join with & for an intersection (default: each group column)",
    )
    grp.add_argument(
        "--min-group-size", type=positive_int, default=20, help="flag smaller groups (default 20)"
    )
    grp.add_argument(
        "--resamples",
        type=non_negative_int,
        default=1000,
        help="bootstrap resamples (default 1000)",
    )
    grp.add_argument("--format", choices=["table", "md", "csv", "json"], default="table")
    add_width_argument(grp)
    grp.set_defaults(handler=groups_command)


def groups_command(args: argparse.Namespace) -> int:
    """Per-group metrics of any condition in stored tables; torch-free (pandas, fairlearn)."""
    from harness.analysis.stored_groups import GroupQuery, group_notes, stored_group_rows
    from harness.present.escaping import terminal_text
    from harness.present.groups_view import render
    from harness.present.tables import wrap

    query = GroupQuery(
        task=args.task,
        model=args.model,
        suite=args.suite,
        condition=args.condition,
        by=args.by,
        min_group_size=args.min_group_size,
        resamples=args.resamples,
    )
    skipped: list[str] = []
    repeated: list[str] = []
    rows = stored_group_rows(args.results, query, on_skip=skipped.append, on_repeat=repeated.append)
    width = output_width(args.width)
    codings = group_notes(args.results, query)
    text = render(rows, args.format, width=width, codings=codings)
    sys.stdout.write(text.rstrip("\n") + "\n")

    def say(line: str) -> None:
        print(wrap(terminal_text(line), width), file=sys.stderr)

    if skipped:
        names = [m.split(":", 1)[0] for m in skipped]
        shown = "; ".join(names[:3]) + (f"; and {len(names) - 3} more" if len(names) > 3 else "")
        say(
            f"left out {len(names)} table(s) without group columns ({shown}); "
            "--by label gives a by-class view"
        )
    if repeated:
        say(
            f"each condition is shown once per model and task, from the table with the most "
            f"samples of it ({len(repeated)} repeat(s) in other suites' tables left out; "
            "--suite picks a table)"
        )
    return 0
