"""Run a `harness` command in a child Python with torch (and everything that needs it) blocked
from import: the results side (leaderboard, report, check, groups, variants) must work there.
The suites' torch-free boards (`harness.core.suite_board`) and the config models they declare pass:
boards and the report read them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    BLOCKED = {"torch", "torchvision", "harness.suites", "harness.adapters", "harness.zoo", "foolbox", "datasets"}

    def board(name):
        # boards and the report read each suite's torch-free board: the suites' tables, a suite's
        # package (its __init__ loads the suite class lazily), its board, the config model its
        # board declares and its cross-model hook (torch itself stays blocked)
        parts = name.split(".")
        return parts[:2] == ["harness", "suites"] and (
            len(parts) <= 3 or parts[-1] in ("board", "config") or "cross_model" in parts[3:]
        )

    def blocked(name):
        return not board(name) and any(name == b or name.startswith(b + ".") for b in BLOCKED)

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if blocked(name):
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, Blocker())
    from harness.cli import main
    code = main(sys.argv[1:])
    leaked = sorted(m for m in sys.modules if blocked(m))
    assert not leaked, leaked
    sys.exit(code)
    """
)


def run_without_torch(*args: str) -> subprocess.CompletedProcess[str]:
    """`harness <args>` in a child process that cannot import torch."""
    return subprocess.run(
        [sys.executable, "-c", BLOCKER, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
