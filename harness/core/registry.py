"""Explicit name -> lazy factory registries for tasks, suites and adapters.

Built-ins are literal `{"name": "module:attr"}` mappings (see `suites/__init__.py`,
`adapters/__init__.py`, `harness/config/tasks/catalogue.py`); third parties add entries through the
entry-point groups `harness.suites`, `harness.adapters` and `harness.tasks`. Nothing registers
itself at import time, and nothing is imported until it is asked for.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
        for ep in importlib.metadata.entry_points(group=entry_point_group):
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


def load_target(target: str) -> Any:
    """Import `"package.module:attr.sub"` and return the attribute."""
    module_name, sep, attr_path = target.partition(":")
    if not sep or not module_name or not attr_path:
        raise HarnessError(f"invalid reference {target!r}: expected 'package.module:attribute'")
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
