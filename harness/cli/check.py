"""`harness check`: the CI gate; fails on significant regressions against a baseline run."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from harness.cli.arguments import add_width_argument, output_width


def add_parser(sub: Any) -> None:
    chk = sub.add_parser(
        "check", help="CI gate: fail on significant regressions against a baseline"
    )
    chk.add_argument("--baseline", type=Path, required=True, help="baseline run folder")
    chk.add_argument("--current", type=Path, required=True, help="current run folder")
    chk.add_argument("--policy", type=Path, help="policy YAML (tolerances, floors, alpha)")
    chk.add_argument("--junit", type=Path, help="also write JUnit XML here")
    chk.add_argument("--format", choices=["table", "md"], default="table")
    add_width_argument(chk)
    chk.set_defaults(handler=check_command)


def check_command(args: argparse.Namespace) -> int:
    from harness.analysis.check import load_run, run_check
    from harness.analysis.check_headline import headline_checks
    from harness.analysis.check_policy import load_policy
    from harness.present.check_view import render_markdown, render_table
    from harness.present.junit import render_junit

    policy = load_policy(args.policy)
    report = run_check(
        args.baseline, args.current, policy, policy_source=str(args.policy or "(defaults)")
    )
    headline = headline_checks(report, load_run(args.current, "current"))
    if args.format == "md":
        text = render_markdown(report, headline=headline)
    else:
        text = render_table(report, width=output_width(args.width), headline=headline)
    sys.stdout.write(text.rstrip("\n") + "\n")
    if args.junit:
        args.junit.parent.mkdir(parents=True, exist_ok=True)
        args.junit.write_text(render_junit(report))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(render_markdown(report, headline=headline) + "\n")
    return report.exit_code
