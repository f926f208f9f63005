"""`harness validate`: check a spec (and build its plan) without running it.

It also says which code the spec would run (model factories, callables, pickles, remote code):
a spec is as trusted as a Python script (docs/reliability.md). Validating imports none of it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.cli.arguments import add_width_argument, output_width, path_arg
from harness.cli.plans import load_plan

if TYPE_CHECKING:
    from harness.config.plan import Plan


def add_parser(sub: Any) -> None:
    val = sub.add_parser("validate", help="check a spec without running it")
    val.add_argument("spec", type=path_arg)
    add_width_argument(val)
    val.set_defaults(handler=validate_command)


def validate_command(args: argparse.Namespace) -> int:
    width = output_width(args.width)
    plan = load_plan(args, args.spec)  # a bad key is refused before the planner's imports

    from harness.config.trust import code_uses
    from harness.present.escaping import terminal_text
    from harness.present.tables import wrap
    from harness.run.plugins import adapter_registry

    def say(line: str) -> None:
        print(wrap(terminal_text(line), width))

    _executor_installed(plan)
    say(f"{args.spec}: valid — {len(plan.jobs)} jobs")
    for job in plan.jobs:
        say(f"  {job.label}")
    for line in plan.suite_summaries():  # what `harness run` prints before its first job
        say(line)
    for line in plan.unchecked:  # settings naming columns that only loading a task can check
        say(line)
    _network(plan, say)
    uses = code_uses(plan, adapter_registry())
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


def _executor_installed(plan: Plan) -> None:
    """A spec asking for the Ray executor on a machine without Ray fails as `harness run` would
    (without importing Ray: finding it is enough)."""
    import importlib.util

    from harness.core.errors import MissingDependencyError

    execution = plan.spec.execution
    if execution is not None and execution.executor == "ray":
        try:
            found = importlib.util.find_spec("ray") is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise MissingDependencyError("ray", "ray", "execution.executor: ray (distributed runs)")


def _network(plan: Plan, say: Callable[[str], None]) -> None:
    """The entries that read from the Hugging Face hub, whether each is cached, and whether the
    hub can be reached (harness/config/network.py)."""
    from harness.config.network import network_needs
    from harness.data.hub_access import hub_status

    needs = network_needs(plan)
    if not needs:
        say("network: none needed (every task and model is local or built in)")
        return
    status = hub_status()
    reach = "reachable" if status.reachable else f"NOT reachable: {status.reason}"
    missing = sum(n.cached is None for n in needs)
    say(
        f"network: {len(needs)} entr{'y' if len(needs) == 1 else 'ies'} read from the Hugging "
        f"Face hub ({reach}); {missing} not cached"
        + ("" if status.reachable or not missing else ": those jobs will fail until cached")
    )
    for need in needs:
        say(f"  {need.line()}")
