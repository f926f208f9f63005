"""`harness variants`: compressed variants against their parents (torch-free; docs/variants.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harness.cli.arguments import add_results_argument, add_width_argument, output_width, text
from harness.cli.paths import input_folder


def add_parser(sub: Any) -> None:
    var = sub.add_parser(
        "variants",
        help="compressed variants vs their parent: paired deltas, size, where harm concentrates",
    )
    add_results_argument(var)
    var.add_argument("--task", type=text, help="only this task")
    var.add_argument("--format", choices=["table", "md", "json"], default="table")
    add_width_argument(var)
    var.add_argument(
        "--allow-partial",
        action="store_true",
        help="compare incomplete results (unfinished runs, missing job folders), marked PARTIAL",
    )
    var.set_defaults(handler=variants_command)


def variants_command(args: argparse.Namespace) -> int:
    """Each variant's change from its parent (torch-free; see docs/variants.md)."""
    from harness.present.variants_view import render
    from harness.run.api_variants import variants

    results = input_folder(args.results, "results folder")
    comparisons = variants(
        results, task=args.task, allow_partial=args.allow_partial, option_names="cli"
    )
    text = render(comparisons, args.format, width=output_width(args.width))
    sys.stdout.write(text.rstrip("\n") + "\n")
    return 0
