"""A spec under a protocol: the protocol's tasks, suite configs and settings filled in.

`apply_protocol` runs on the raw spec mapping before it is validated (and again on every
re-validation, where it finds its own values and changes nothing). A key the spec sets to
something other than the protocol's value is a SpecError naming the key: a protocol's numbers
are only comparable when nothing it fixes was changed.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from harness.config.protocols import Protocol, get_protocol
from harness.core.errors import SpecError

IDS_KEY = "protocol_sample_ids"


def apply_protocol(data: dict[str, Any]) -> dict[str, Any]:
    """`data` (a spec mapping with `protocol:`) with its protocol's tasks, suites and settings."""
    name = data["protocol"]
    if not isinstance(name, str):
        raise SpecError(f"protocol: give a protocol name, got {type(name).__name__}")
    protocol = get_protocol(name)
    _check_tasks(protocol, data.get("tasks"))
    _check_settings(protocol, data)
    _check_ids(protocol, data.get(IDS_KEY))
    return {
        "name": protocol.name,
        **data,
        "tasks": protocol.task_names,
        "suites": _suites(protocol, data.get("suites")),
    }


def _fixed(protocol: Protocol, key: str, value: Any, given: Any) -> SpecError:
    fixed = "none" if value is None else repr(value)
    return SpecError(
        f"{key}: protocol {protocol.name} fixes it to {fixed}, the spec sets {given!r}; drop "
        "the key (the protocol fills it in) or run without the protocol"
    )


def _check_tasks(protocol: Protocol, tasks: Any) -> None:
    if tasks is None:
        return
    if not isinstance(tasks, list | tuple):
        raise SpecError(
            f"tasks: give a list of task names, got {type(tasks).__name__}; protocol "
            f"{protocol.name} fills in [{', '.join(protocol.task_names)}]: leave tasks: out"
        )
    names = [t.get("name") if isinstance(t, dict) else t for t in tasks]
    for i, (task, name) in enumerate(zip(tasks, names, strict=True)):
        keys = sorted(str(k) for k in set(task) - {"name"}) if isinstance(task, dict) else []
        if keys and name in protocol.task_names:  # an inline copy would be replaced unread
            raise SpecError(
                f"tasks[{i}]({name}): protocol {protocol.name} loads its own {name} task; an "
                f"inline entry ({', '.join(keys)}) would not be read: write `tasks: "
                f"[{', '.join(protocol.task_names)}]` or leave tasks: out"
            )
    if names != protocol.task_names:
        raise _fixed(protocol, "tasks", protocol.task_names, names)


def _check_settings(protocol: Protocol, data: dict[str, Any]) -> None:
    for key, value in protocol.settings.items():
        if data.get(key) is not None and data[key] != value:
            raise _fixed(protocol, key, value, data[key])


def _check_ids(protocol: Protocol, ids: Any) -> None:
    wanted = [t for t in protocol.tasks if t.sample_ids]
    if wanted and ids is None:
        raise SpecError(
            f"{IDS_KEY}: protocol {protocol.name} evaluates {wanted[0].ids_hint}; we do not ship "
            f"it: download it and give its path as {IDS_KEY}: <file> (CLI: --protocol-ids <file>)"
        )
    if ids is not None and not wanted:
        raise SpecError(f"{IDS_KEY}: protocol {protocol.name} evaluates no listed images; drop it")


def _suites(protocol: Protocol, given: Any) -> dict[str, Any]:
    """The protocol's suites, each config the spec's keys plus the protocol's fixed ones."""
    given = given or {}
    if not isinstance(given, dict):
        raise SpecError(f"suites: protocol {protocol.name} fills in the suites; drop suites:")
    for suite in given:
        if suite not in protocol.suites:
            raise SpecError(
                f"suites.{suite}: protocol {protocol.name} runs only "
                f"{', '.join(protocol.suites)}; run other suites in a spec without the protocol"
            )
    suites: dict[str, Any] = {}
    for suite, fixed in protocol.suites.items():
        config = given.get(suite) or {}
        if not isinstance(config, dict):
            raise SpecError(f"suites.{suite}: a suite's config is a mapping")
        for key, value in fixed.items():
            if key in config and not _same(config[key], value):
                raise _fixed(protocol, f"suites.{suite}.{key}", value, config[key])
        suites[suite] = {**config, **fixed}
    return suites


def _same(given: Any, fixed: Any) -> bool:
    """Whether a spec's value is the protocol's: numbers by value, a fraction string such as
    `"8/255"` read as its number (`0.03137254901960784` is the protocol's `8/255`); the
    protocol's own spelling is what runs."""
    if isinstance(given, dict) and isinstance(fixed, dict):
        return given.keys() == fixed.keys() and all(_same(given[k], fixed[k]) for k in fixed)
    if isinstance(given, list) and isinstance(fixed, list):
        return len(given) == len(fixed) and all(map(_same, given, fixed))
    a, b = _number(given), _number(fixed)
    if a is not None and b is not None:
        return a == b
    return bool(given == fixed)


def _number(value: Any) -> Fraction | None:
    """`value` as an exact number (an int, a float, a numeric or `a/b` string); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Fraction(value.strip()) if isinstance(value, str) else Fraction(value)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return number.limit_denominator(10**12) if isinstance(value, float) else number
