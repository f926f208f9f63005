"""`harness report`: write the static HTML report site (and its Markdown summary)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli.arguments import add_results_argument


def add_parser(sub: Any) -> None:
    rep = sub.add_parser("report", help="write a static HTML report site (and a Markdown summary)")
    add_results_argument(rep)
    rep.add_argument("--out", type=Path, required=True, help="folder for the site (index.html)")
    rep.add_argument(
        "--allow-partial",
        action="store_true",
        help="publish incomplete results (unfinished or failed runs, missing job folders), "
        "marked PARTIAL",
    )
    rep.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace) -> int:
    from harness.present.site import build_site

    index = build_site(args.results, args.out, allow_partial=args.allow_partial)
    print(f"report: {index}", file=sys.stderr)
    return 0
