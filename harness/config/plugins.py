"""The plugins a plan resolves names through: suites, adapters and zoo models, handed in.

The spec side never imports a plugin (an import-linter contract): suites, adapters and the zoo
stand above it, and the run stage binds the installed ones (`harness.run.plugins`: the built-ins
and what other packages register through entry points) and hands them to the planner. A test
can hand it others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.core.registry import Registry


@dataclass(frozen=True)
class Plugins:
    """What the planner looks names up in."""

    suites: Registry  # suite name -> Suite subclass
    adapters: Registry  # adapter kind -> adapter class
    # zoo model name -> its model spec (fresh dicts; read when called, not when bound)
    zoo_models: Callable[[], dict[str, dict[str, Any]]]
    # `hf:<repo id>[@revision]` -> its model spec (revision pinned), and -> its model name
    hub_model_spec: Callable[[str], dict[str, Any]]
    hub_model_name: Callable[[str], str]
