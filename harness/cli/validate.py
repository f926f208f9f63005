"""`harness validate`: check a spec (and build its plan) without running it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli.plans import load_plan


def add_parser(sub: Any) -> None:
    val = sub.add_parser("validate", help="check a spec without running it")
    val.add_argument("spec", type=Path)
    val.set_defaults(handler=validate_command)


def validate_command(args: argparse.Namespace) -> int:
    plan = load_plan(args, args.spec)
    print(f"{args.spec}: valid — {len(plan.jobs)} jobs")
    for job in plan.jobs:
        print(f"  {job.label}")
    return 0
