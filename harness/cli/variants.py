"""`harness variants`: compressed variants against their parents (torch-free; docs/variants.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harness.cli.arguments import add_results_argument


def add_parser(sub: Any) -> None:
    var = sub.add_parser(
        "variants",
        help="compressed variants vs their parent: paired deltas, size, where harm concentrates",
    )
    add_results_argument(var)
    var.add_argument("--task", help="only this task")
    var.add_argument("--format", choices=["table", "md", "json"], default="table")
    var.set_defaults(handler=variants_command)


def variants_command(args: argparse.Namespace) -> int:
    """Each variant's change from its parent (torch-free; see docs/variants.md)."""
    from harness.analysis.variant_deltas import compare_variants
    from harness.present.variants_view import render
    from harness.store.run_store import load_jobs

    comparisons = compare_variants(load_jobs(args.results), task=args.task)
    sys.stdout.write(render(comparisons, args.format).rstrip("\n") + "\n")
    return 0
