"""`harness validate`: check a spec (and build its plan) without running it.

It also says which code the spec would run (model factories, callables, pickles, remote code):
a spec is as trusted as a Python script (docs/reliability.md). Validating imports none of it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli.arguments import add_width_argument, output_width
from harness.cli.plans import load_plan


def add_parser(sub: Any) -> None:
    val = sub.add_parser("validate", help="check a spec without running it")
    val.add_argument("spec", type=Path)
    add_width_argument(val)
    val.set_defaults(handler=validate_command)


def validate_command(args: argparse.Namespace) -> int:
    from harness.config.trust import code_uses
    from harness.present.escaping import terminal_text
    from harness.present.tables import wrap

    width = output_width(args.width)

    def say(line: str) -> None:
        print(wrap(terminal_text(line), width))

    plan = load_plan(args, args.spec)
    say(f"{args.spec}: valid — {len(plan.jobs)} jobs")
    for job in plan.jobs:
        say(f"  {job.label}")
    uses = code_uses(plan)
    if not uses:
        say("code: this spec runs no code of its own (no factory, callable, pickle or remote code)")
        return 0
    say(
        f"code: running this spec imports or runs code from {len(uses)} place(s) — trust it as you "
        "would a Python script (validate imported none of it):"
    )
    for use in uses:
        say(f"  {use.line()}")
    return 0
