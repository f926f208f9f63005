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


def _task_rows() -> list[tuple[str, ...]]:
    """Every registered task with its modality, access (offline or network) and size, read from
    the catalogue without loading any data (entry-point tasks say what their object says)."""
    from harness.config.tasks.catalogue import BUILTIN_INFO, task_registry
    from harness.core.registry import load_target

    reg = task_registry()
    rows: list[tuple[str, ...]] = [("name", "modality", "access", "size", "origin", "description")]
    for name in reg.names():
        entry = reg.entry(name)
        info = BUILTIN_INFO.get(name) if entry.origin == "builtin" else None
        if info is not None:
            rows.append((name, info.modality, info.access, info.size, "builtin", info.description))
            continue
        obj = load_target(entry.target)
        access = getattr(obj, "access", None)
        where = {"public": "network", "gated": "network, gated", "local files": "local files"}
        rows.append(
            (
                name,
                str(getattr(obj, "modality", "?")),
                where.get(access, "unknown") if isinstance(access, str) else "unknown",
                str(getattr(obj, "size", "")),
                "hub" if entry.origin == "builtin" else entry.origin,
                getattr(obj, "description", "")
                or ((obj.__doc__ or "").strip().splitlines() or [""])[0],
            )
        )
    return rows


def list_command(args: argparse.Namespace) -> int:
    if args.what == "tasks":
        table = _task_rows()
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
        for row in table:
            cells = [f"{cell:<{w}}" for cell, w in zip(row, widths, strict=False)]
            print("  ".join([*cells, row[-1]]).rstrip())
        return 0
    rows = _zoo_rows() if args.what == "models" else _registry_rows(args.what)
    width = max(len(r[0]) for r in rows) if rows else 4
    for name, kind, origin, doc in rows:
        print(f"{name:<{width}}  {kind:<28}  {origin:<10}  {doc}")
    return 0
