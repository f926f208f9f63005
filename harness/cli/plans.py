"""A spec and the command line's overrides (device, limit, seed, selections) -> a plan."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli.arguments import importable
from harness.cli.paths import input_file

if TYPE_CHECKING:
    from harness.config.plan import Plan
    from harness.config.spec import ExecutionSpec, RunSpec


def protocol_spec(args: argparse.Namespace) -> RunSpec:
    """The spec `harness run --protocol <name> --models ...` runs: the protocol's tasks and
    suites with the user's models (and `--protocol-ids`, the file of ids it may need)."""
    from harness.config.spec import RunSpec
    from harness.core.errors import SpecError

    if args.spec is not None:
        raise SpecError(
            f"--protocol builds its own spec from --models; to run {args.spec} under a "
            f"protocol, write `protocol: {args.protocol}` in it instead"
        )
    if not args.models:
        raise SpecError(f"--protocol {args.protocol}: name the models to evaluate with --models")
    raw: dict[str, object] = {"protocol": args.protocol, "models": model_arguments(args.models)}
    if args.protocol_ids is not None:
        raw["protocol_sample_ids"] = str(args.protocol_ids.resolve())
    return RunSpec.model_validate(raw)


def model_arguments(models: list[str] | None) -> list[str] | None:
    """`--models` with each model file's path (./m.onnx, ./m.skops) made absolute from the
    current folder, where the user typed it (a spec's relative paths resolve from the spec's
    folder); a pickle's path is refused, as `harness.evaluate` refuses it."""
    if models is None:
        return None
    from harness.config.model_file_entry import model_file_entry

    return [
        str(Path(m).resolve())
        if not m.startswith("hf:") and model_file_entry(m, key="--models") is not None
        else m
        for m in models
    ]


_OVERRIDE_FLAGS = {
    "device": "--device",
    "limit": "--limit",
    "seed": "--seed",
    "threads": "--threads",
    "timeout": "--job-timeout",
}


def _refuse_protocol_overrides(spec: RunSpec, overrides: dict[str, object]) -> None:
    """A flag that sets what the spec's protocol fixes, refused naming the flag (validating the
    spec with it named the key as if the spec set it: 'limit: ..., the spec sets 5')."""
    if spec.protocol is None:
        return
    from harness.config.protocols import get_protocol
    from harness.core.errors import SpecError

    protocol = get_protocol(spec.protocol)
    for key, given in overrides.items():
        if key in protocol.settings and given != (fixed := protocol.settings[key]):
            flag = _OVERRIDE_FLAGS[key]
            raise SpecError(
                f"{flag} {given}: protocol {protocol.name} fixes {key} to "
                f"{'none' if fixed is None else repr(fixed)}; drop {flag} (the protocol fills "
                "it in) or run without the protocol"
            )


def load_plan(args: argparse.Namespace, spec_path: Path) -> Plan:
    """The plan of `spec_path` with `--device/--limit/--seed/--threads/--job-timeout` and the
    model/task/suite filters (with `--protocol`, the protocol's spec with `--models`, read from
    the current folder)."""
    from harness.config.spec import RunSpec, load_spec
    from harness.core.errors import SpecError

    # the spec is read (and a bad key refused) before the planner's imports: torch, datasets
    if getattr(args, "protocol", None) is not None:
        if args.protocol_ids is not None:
            input_file(args.protocol_ids, "--protocol-ids file")
        spec = protocol_spec(args)
        spec_path = Path.cwd() / "protocol.yaml"  # where relative paths resolve from
    elif getattr(args, "protocol_ids", None) is not None:
        raise SpecError("--protocol-ids: only used with --protocol <name>")
    else:
        spec = load_spec(input_file(spec_path, "spec file"))
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
        _refuse_protocol_overrides(spec, overrides)
        try:
            spec = RunSpec.model_validate({**spec.model_dump(exclude_unset=True), **overrides})
        except SpecError as err:
            flags = ", ".join(_OVERRIDE_FLAGS[k] for k in overrides)
            raise SpecError(f"command line ({flags}): {err}") from None
    from harness.config.planner import build_plan
    from harness.run.plugins import installed_plugins

    return build_plan(
        spec,
        base_dir=spec_path.resolve().parent,
        plugins=installed_plugins(),
        models=model_arguments(getattr(args, "models", None)),
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
    if getattr(args, "no_cache", False):
        settings["cache"] = False
    if settings["executor"] == "local":
        settings["address"] = None
    return ExecutionSpec.model_validate(settings)
