"""Explicit name -> lazy factory registries for tasks, suites and adapters.

Built-ins are literal `{"name": "module:attr"}` mappings (see `suites/__init__.py`,
`adapters/__init__.py`, `harness/data/catalogue.py`); third parties add entries through the
entry-point groups `harness.suites`, `harness.adapters` and `harness.tasks`. Nothing registers
itself at import time, and nothing is imported until it is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.core import installed
from harness.core.errors import HarnessError, UnknownNameError


@dataclass(frozen=True)
class Entry:
    """One registered name: where its factory lives and where the registration came from."""

    name: str
    target: str  # "package.module:attribute"
    origin: str  # "builtin" or "entry-point <distribution>"


class Registry:
    """Maps names to lazily imported objects; duplicate names raise, unknown names suggest."""

    def __init__(self, kind: str, builtins: Mapping[str, str], entry_point_group: str) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        entries: dict[str, Entry] = {}
        for name, target in builtins.items():
            entries[name] = Entry(name, target, "builtin")
        for ep in installed.entry_points(entry_point_group):
            dist = ep.dist.name if ep.dist is not None else "unknown distribution"
            if ep.name in entries:
                raise HarnessError(
                    f"duplicate {kind} name {ep.name!r}: registered by {entries[ep.name].origin} "
                    f"and by entry point {ep.value!r} of {dist}; uninstall or rename one of them"
                )
            entries[ep.name] = Entry(ep.name, ep.value, f"entry-point {dist}")
        self._entries = entries

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entry(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._entries) from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def load(self, name: str) -> Any:
        """Import and return the object registered under `name`."""
        return load_target(self.entry(name).target)


def reference_problem(target: str) -> str | None:
    """What is wrong with the syntax of a `"package.module:attr.sub"` reference (a factory, a
    callable), without importing anything; None when nothing is. `harness validate` refuses what
    `harness run` could never import."""
    module_name, sep, attr_path = target.partition(":")
    if not sep or not module_name or not attr_path:
        return "expected 'package.module:attribute'"
    for what, path in (("module", module_name), ("attribute", attr_path)):
        bad = next((part for part in path.split(".") if not part.isidentifier()), None)
        if bad is not None:
            return f"{bad!r} in its {what} path is not a Python name; expected 'package.module:attribute'"
    return None


def check_reference(target: str) -> str:
    """`target` when its syntax is that of a reference; else a ValueError saying what is wrong
    (for pydantic fields: `Annotated[str, AfterValidator(check_reference)]`)."""
    problem = reference_problem(target)
    if problem is not None:
        raise ValueError(f"invalid reference: {problem}")
    return target


def load_target(target: str) -> Any:
    """Import `"package.module:attr.sub"` and return the attribute."""
    problem = reference_problem(target)
    if problem is not None:
        raise HarnessError(f"invalid reference {target!r}: {problem}")
    module_name, _sep, attr_path = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            raise HarnessError(
                f"cannot import module {module_name!r} from reference {target!r}: "
                "check the name and that its package is installed"
            ) from err
        raise
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise HarnessError(
                f"module {module_name!r} has no attribute {attr_path!r} (from reference {target!r})"
            ) from None
    return obj
