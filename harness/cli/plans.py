"""A spec and the command line's overrides (device, limit, seed, selections) -> a plan."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli.arguments import importable

if TYPE_CHECKING:
    from harness.config.plan import Plan
    from harness.config.spec import ExecutionSpec, RunSpec


def load_plan(args: argparse.Namespace, spec_path: Path) -> Plan:
    """The plan of `spec_path` with `--device/--limit/--seed/--threads/--job-timeout` and the
    model/task/suite filters."""
    from harness.config.plan import build_plan
    from harness.config.spec import RunSpec, load_spec

    spec = load_spec(spec_path)
    importable(spec_path.resolve().parent)
    overrides = {
        k: v
        for k, v in {
            "device": getattr(args, "device", None),
            "limit": getattr(args, "limit", None),
            "seed": getattr(args, "seed", None),
            "threads": getattr(args, "threads", None),
            "timeout": getattr(args, "job_timeout", None),
        }.items()
        if v is not None
    }
    if overrides:
        spec = RunSpec.model_validate({**spec.model_dump(exclude_unset=True), **overrides})
    return build_plan(
        spec,
        base_dir=spec_path.resolve().parent,
        models=getattr(args, "models", None),
        tasks=getattr(args, "tasks", None),
        suites=getattr(args, "suites", None),
    )


def execution(args: argparse.Namespace, spec: RunSpec) -> ExecutionSpec:
    """The spec's execution settings with --executor/--address/--shards applied."""
    from harness.config.spec import ExecutionSpec
    from harness.core.errors import SpecError

    settings = (spec.execution or ExecutionSpec()).model_dump()
    if args.executor:
        settings["executor"] = args.executor
    if args.address:
        if settings["executor"] != "ray":
            raise SpecError("--address is the address of a Ray cluster; use it with --executor ray")
        settings["address"] = args.address
    if args.shards:
        settings.update(shards=args.shards, shard_size=None)
    if settings["executor"] == "local":
        settings["address"] = None
    return ExecutionSpec.model_validate(settings)
