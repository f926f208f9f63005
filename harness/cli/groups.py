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
    spec_flag,
    text,
)
from harness.cli.paths import input_folder


def add_parser(sub: Any) -> None:
    grp = sub.add_parser(
        "groups", help="group breakdown of stored per-sample tables (fairness x robustness)"
    )
    add_results_argument(grp)
    grp.add_argument("--task", type=text, help="only this task")
    grp.add_argument("--model", type=text, help="only this model")
    grp.add_argument("--suite", type=text, help="only this suite's tables")
    grp.add_argument(
        "--run",
        help="only this run (its id, the run folder's name); without it, every run of the "
        "folder, each row naming its run",
    )
    grp.add_argument(
        "--condition",
        type=text,
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
        type=spec_flag("RunSpec", "bootstrap_resamples"),
        default=1000,
        help="bootstrap resamples of each group's accuracy drop under --condition (default "
        "1000; the clean condition draws none: its intervals are closed-form)",
    )
    grp.add_argument(
        "--positive-label",
        type=non_negative_int,
        help="binary tasks: the class selection rate, TPR and FPR count as positive (default: "
        "the fairness suite's positive_label in the same run, else 1)",
    )
    grp.add_argument("--format", choices=["table", "md", "csv", "json"], default="table")
    add_width_argument(grp)
    grp.add_argument(
        "--allow-partial",
        action="store_true",
        help="break down incomplete results (unfinished runs, missing job folders), marked PARTIAL",
    )
    grp.set_defaults(handler=groups_command)


def groups_command(args: argparse.Namespace) -> int:
    """Per-group metrics of any condition in stored tables; torch-free (pandas, numpy)."""
    from harness.analysis.setting_words import CLI_WORDS
    from harness.analysis.stored_groups import GroupQuery
    from harness.present.escaping import md_text, terminal_text
    from harness.present.groups_view import render
    from harness.present.tables import wrap
    from harness.run.api_groups import breakdown

    query = GroupQuery(
        task=args.task,
        model=args.model,
        suite=args.suite,
        run=args.run,
        condition=args.condition,
        by=args.by,
        min_group_size=args.min_group_size,
        resamples=args.resamples,
        positive_label=args.positive_label,
        words=CLI_WORDS,
    )
    results = input_folder(args.results, "results folder")
    found = breakdown(results, query, allow_partial=args.allow_partial)
    width = output_width(args.width)
    codings = {**found.codings, **found.positives, **found.bounds}
    shown_text = render(found.rows, args.format, width=width, codings=codings)
    partial = found.partial and found.partial.replace("(allow_partial)", "(with --allow-partial)")
    if partial is not None and args.format == "table":
        sys.stdout.write(wrap(terminal_text(partial), width) + "\n\n")
    elif partial is not None and args.format == "md":
        sys.stdout.write(md_text(partial) + "\n\n")
    sys.stdout.write(shown_text.rstrip("\n") + "\n")

    def say(line: str) -> None:
        print(wrap(terminal_text(line), width), file=sys.stderr)

    if partial is not None and args.format in ("csv", "json"):  # their rows have no notes
        say(partial)

    if args.format in ("csv", "json"):  # their rows have no notes: which class is positive
        for task, note in sorted({**found.positives, **found.bounds}.items()):
            say(f"{task}: {note}")
    for line in found.source_notes(CLI_WORDS):
        say(line)
    return 0
