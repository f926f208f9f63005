"""`harness list`: the registered tasks, zoo models, suites, adapters or protocol presets and where they come from.

Listing imports nothing it lists: each entry's one-line description is read from its source
(a class's `description` or docstring, a function's docstring) without running the module, so
`harness list` answers in a fraction of a second and never imports torch or datasets. An entry
whose source cannot be read (a compiled extension) is listed without a description.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib.util
from pathlib import Path
from typing import Any

from harness.cli.arguments import add_width_argument, output_width


def add_parser(sub: Any) -> None:
    lst = sub.add_parser(
        "list", help="show registered tasks, models, suites, adapters or protocol presets"
    )
    lst.add_argument("what", choices=["tasks", "models", "suites", "adapters", "protocols"])
    add_width_argument(lst)
    lst.set_defaults(handler=list_command)


def _zoo_rows() -> list[tuple[str, str, str, str]]:
    from harness.zoo import zoo_models

    rows = []
    for name, entry in sorted(zoo_models().items()):
        rows.append(
            (
                name,
                f"{entry.get('adapter', 'torch')} model for {', '.join(entry.get('tasks') or ['any task'])}",
                "zoo",
                entry.get("description", ""),
            )
        )
    return rows


def _source(module: str) -> Path | None:
    """The source file of `module`, found on disk below its top-level package (whose own
    `__init__` is the only code that runs: a subpackage's `__init__` may import torch)."""
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        return Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    for base in spec.submodule_search_locations or []:
        folder = Path(base).joinpath(*rest)
        for candidate in (folder.with_suffix(".py"), folder / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


@functools.cache  # a suite's description and version are read from one parse
def _definition(module: str, attr: str, depth: int = 0) -> ast.AST | None:
    """The class or function `attr` of `module`, from its source (following one re-export)."""
    path = _source(module)
    if path is None:
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name == attr:
            return node
        if isinstance(node, ast.ImportFrom) and node.module and depth < 2:
            source = next((a.name for a in node.names if (a.asname or a.name) == attr), None)
            if source is not None:
                return _definition(node.module, source, depth + 1)
    return None


def _class_string(node: ast.ClassDef, name: str) -> str | None:
    """The string a class body assigns to `name` (`description = "..."`), if it does."""
    for stmt in node.body:
        if (
            isinstance(stmt, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        ):
            return stmt.value.value
    return None


def describe_target(target: str) -> str:
    """The first line of a registered object's `description` or docstring, read statically."""
    module, _, attr = target.partition(":")
    node = _definition(module, attr)
    if node is None:
        return ""
    if isinstance(node, ast.ClassDef):
        described = _class_string(node, "description")
        if described is not None:
            return described
    assert isinstance(node, ast.ClassDef | ast.FunctionDef)
    return ((ast.get_docstring(node) or "").strip().splitlines() or [""])[0]


def target_version(target: str) -> str:
    """A registered suite class's `version` (what its jobs' keys and boards carry), read
    statically; "" where the source does not say it as a string."""
    module, _, attr = target.partition(":")
    node = _definition(module, attr)
    if not isinstance(node, ast.ClassDef):
        return ""
    return _class_string(node, "version") or ""


def _adapter_rows() -> list[tuple[str, str, str, str]]:
    from harness.run.plugins import adapter_registry

    reg = adapter_registry()
    rows = []
    for name in reg.names():
        entry = reg.entry(name)
        rows.append((name, "adapter", entry.origin, describe_target(entry.target)))
    return rows


def _suite_rows() -> list[tuple[str, ...]]:
    """Every registered suite with its version: a new version moves its numbers, so cached
    jobs of an older one rerun and boards never mix the two."""
    from harness.run.plugins import suite_registry

    reg = suite_registry()
    rows: list[tuple[str, ...]] = [("name", "version", "origin", "description")]
    for name in reg.names():
        entry = reg.entry(name)
        version = target_version(entry.target) or "?"
        rows.append((name, version, entry.origin, describe_target(entry.target)))
    return rows


def _task_rows() -> list[tuple[str, ...]]:
    """Every registered task with its modality, access (offline or network), headline threat
    model and size, read from the catalogue without loading any data (entry-point tasks say
    what their object says)."""
    from harness.core.registry import load_target
    from harness.core.threat_model import headline_text
    from harness.data.catalogue import BUILTIN_INFO, task_registry
    from harness.data.headlines import HEADLINES

    reg = task_registry()
    rows: list[tuple[str, ...]] = [
        ("name", "modality", "access", "headline", "origin", "size", "description")
    ]
    for name in reg.names():
        entry = reg.entry(name)
        builtin = entry.origin == "builtin"
        headline = headline_text(HEADLINES.get(name, ())) if builtin else "set by the task"
        info = BUILTIN_INFO.get(name) if builtin else None
        if info is not None:
            rows.append(
                (name, info.modality, info.access, headline, "builtin", info.size, info.description)
            )
            continue
        obj = load_target(entry.target)
        access = getattr(obj, "access", None)
        where = {"public": "network", "gated": "network, gated", "local files": "local files"}
        rows.append(
            (
                name,
                str(getattr(obj, "modality", "?")),
                where.get(access, "unknown") if isinstance(access, str) else "unknown",
                headline,
                "hub" if builtin else entry.origin,
                str(getattr(obj, "size", "")),
                getattr(obj, "description", "")
                or ((obj.__doc__ or "").strip().splitlines() or [""])[0],
            )
        )
    return rows


def _protocol_rows() -> list[tuple[str, ...]]:
    """Every protocol preset: what it reproduces, its tasks and suites, and the access its
    tasks need (from the task catalogue, nothing loaded)."""
    from harness.config.protocols import PROTOCOLS

    access = {row[0]: row[2] for row in _task_rows()[1:]}
    rows: list[tuple[str, ...]] = [("name", "tasks", "suites", "access", "reproduces")]
    for p in PROTOCOLS.values():
        needs = sorted({access.get(t, "unknown") for t in p.task_names})
        if p.needs_sample_ids:
            needs.append("your id list")
        rows.append(
            (
                f"{p.name} v{p.version}",
                ", ".join(p.task_names),
                ", ".join(p.suites),
                "; ".join(needs),
                f"{p.description} [{p.source}]",
            )
        )
    return rows


def _print_table(rows: list[tuple[str, ...]], width: int | None, keep: int) -> None:
    """The rows (the first is the header) fitted to `width`: the last column wraps under
    itself, or each row becomes a record with its first `keep` cells on one line."""
    from harness.present.tables import Table, fit_text

    table = Table(rows[0], rows[1:])
    text = fit_text(table, width, keep=keep, align="left", gap=2)
    print("\n".join(line.rstrip() for line in text.splitlines()))


def list_command(args: argparse.Namespace) -> int:
    width = output_width(args.width)
    if args.what in ("tasks", "protocols"):
        rows = _task_rows() if args.what == "tasks" else _protocol_rows()
        _print_table(rows, width, keep=5 if args.what == "tasks" else 1)
        return 0
    if args.what == "suites":
        _print_table(_suite_rows(), width, keep=3)
        return 0
    found = _zoo_rows() if args.what == "models" else _adapter_rows()
    _print_table([("name", "kind", "origin", "description"), *found], width, keep=3)
    return 0
