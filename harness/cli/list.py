"""`harness list`: the registered tasks, zoo models, suites or adapters and where they come from."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    lst = sub.add_parser("list", help="show registered tasks, models, suites or adapters")
    lst.add_argument("what", choices=["tasks", "models", "suites", "adapters"])
    lst.set_defaults(handler=list_command)


def _zoo_rows() -> list[tuple[str, str, str, str]]:
    from harness.config.plan import zoo_registry

    rows = []
    for name, entry in sorted(zoo_registry().items()):
        rows.append(
            (
                name,
                f"{entry.get('adapter', 'torch')} model for {', '.join(entry.get('tasks') or ['any task'])}",
                "zoo",
                entry.get("description", ""),
            )
        )
    return rows


def _registry_rows(what: str) -> list[tuple[str, str, str, str]]:
    from harness.config.plan import adapter_registry, suite_registry
    from harness.config.tasks.catalogue import task_registry
    from harness.core.registry import load_target

    reg = {"tasks": task_registry, "suites": suite_registry, "adapters": adapter_registry}[what]()
    rows = []
    for name in reg.names():
        entry = reg.entry(name)
        obj = load_target(entry.target)
        doc = (
            getattr(obj, "description", "") or ((obj.__doc__ or "").strip().splitlines() or [""])[0]
        )
        rows.append((name, what.rstrip("s"), entry.origin, doc))
    return rows


def list_command(args: argparse.Namespace) -> int:
    rows = _zoo_rows() if args.what == "models" else _registry_rows(args.what)
    width = max(len(r[0]) for r in rows) if rows else 4
    for name, kind, origin, doc in rows:
        print(f"{name:<{width}}  {kind:<28}  {origin:<10}  {doc}")
    return 0
