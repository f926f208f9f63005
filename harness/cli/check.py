"""`harness check`: the CI gate; fails on significant regressions against a baseline run."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from harness.cli.arguments import add_width_argument, output_width, path_arg
from harness.cli.paths import (
    PathArgumentError,
    append_output,
    input_file,
    input_folder,
    os_reason,
    output_file,
    write_output,
)
from harness.core.errors import HarnessError


def add_parser(sub: Any) -> None:
    chk = sub.add_parser(
        "check", help="CI gate: fail on significant regressions against a baseline"
    )
    chk.add_argument("--baseline", type=path_arg, required=True, help="baseline run folder")
    chk.add_argument("--current", type=path_arg, required=True, help="current run folder")
    chk.add_argument("--policy", type=path_arg, help="policy YAML (tolerances, floors, alpha)")
    chk.add_argument("--junit", type=path_arg, help="also write JUnit XML here")
    chk.add_argument("--format", choices=["table", "md"], default="table")
    add_width_argument(chk)
    chk.set_defaults(handler=check_command)


def check_command(args: argparse.Namespace) -> int:
    from harness.present.check_view import render_markdown, render_table
    from harness.present.junit import render_junit
    from harness.run.api_gate import check

    summary = (
        Path(os.environ["GITHUB_STEP_SUMMARY"]) if os.environ.get("GITHUB_STEP_SUMMARY") else None
    )
    for path, what in ((args.junit, "--junit"), (summary, "GITHUB_STEP_SUMMARY")):
        if path is not None:
            output_file(path, what)  # before the gate runs: a bad path is known at once
    if args.junit:
        _refuse_to_replace_other_files(args.junit)
    try:
        baseline = input_folder(args.baseline, "--baseline")
        current = input_folder(args.current, "--current")
        policy = input_file(args.policy, "policy file") if args.policy else None
        gate = check(baseline, current, policy=policy)
    except HarnessError as err:
        _record_refusal(str(err), args.junit, summary)
        raise
    report, headline = gate.report, gate.headline
    if args.format == "md":
        text = render_markdown(report, headline=headline)
    else:
        text = render_table(report, width=output_width(args.width), headline=headline)
    sys.stdout.write(text.rstrip("\n") + "\n")
    if args.junit:
        write_output(args.junit, render_junit(report), "--junit")
    if summary is not None:
        markdown = render_markdown(report, headline=headline) + "\n"
        append_output(summary, markdown, "GITHUB_STEP_SUMMARY")
    return report.exit_code


def _record_refusal(message: str, junit: Path | None, summary: Path | None) -> None:
    """A gate that cannot compare the runs (exit 2) says so in its JUnit report and the step
    summary: the previous gate's report would otherwise be published as this run's tests. The
    refusal's own line is what the user sees; a write that fails here does not replace it."""
    from harness.present.check_view import render_markdown_error
    from harness.present.junit import render_junit_error

    try:
        if junit is not None:
            write_output(junit, render_junit_error(message), "--junit")
        if summary is not None:
            append_output(summary, render_markdown_error(message) + "\n", "GITHUB_STEP_SUMMARY")
    except HarnessError:
        pass


JUNIT_MARK = b"<testsuite"
"""What every JUnit report holds near its start (harness.present.junit writes `<testsuite`)."""


def _refuse_to_replace_other_files(path: Path) -> None:
    """`--junit` replaces a JUnit report (a previous gate's) or an empty file, never another
    file: a policy YAML or a results folder's manifest.json picked by tab completion would be
    lost. One line naming the file; nothing is written."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except FileNotFoundError:
        return
    except OSError as err:
        raise PathArgumentError(f"--junit {path}: cannot read it: {os_reason(err)}") from None
    if head.strip() and JUNIT_MARK not in head:
        raise PathArgumentError(
            f"--junit {path} is a file that is not a JUnit report; it is left as it is: give "
            "another file name, or remove it first to replace it"
        )
