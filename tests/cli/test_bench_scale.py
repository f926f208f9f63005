"""The scale benchmark's start-up of each command is what that command's handler imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from benchmarks.bench_scale import COMMAND_IMPORTS

CLI = Path(__file__).resolve().parents[2] / "harness" / "cli"


def _handler_imports(command: str) -> set[str]:
    """The harness modules imported inside the functions of harness/cli/<command>.py (its
    handler's imports, made when the command runs, not when the CLI starts)."""
    tree = ast.parse((CLI / f"{command}.py").read_text())
    found: set[str] = set()
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef):
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("harness."):
                    found.add(node.module or "")
                elif isinstance(node, ast.Import):
                    found |= {a.name for a in node.names if a.name.startswith("harness.")}
    return found


@pytest.mark.parametrize("command", sorted(COMMAND_IMPORTS))
def test_startup_imports_are_the_handlers(command: str) -> None:
    # a start-up importing more than the command does takes work off its time (the report's
    # plotting modules were taken off the gate's), one importing less adds imports to it
    assert set(COMMAND_IMPORTS[command]) == _handler_imports(command)
