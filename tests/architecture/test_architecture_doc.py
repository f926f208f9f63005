"""docs/architecture.md is the map of the code: it names every module of the harness's own stages,
and every module file it names exists."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from harness.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
PLUGINS = ("suites", "adapters", "zoo")  # links to the top-level plugin folders, mapped by folder


def _stage_modules() -> list[Path]:
    harness = ROOT / "harness"
    return sorted(
        path
        for path in harness.rglob("*.py")
        if path.name != "__init__.py"
        and path.relative_to(harness).parts[0] not in PLUGINS
        and "__pycache__" not in path.parts
    )


def _subcommands() -> set[str]:
    """The CLI's subcommands: "one module per subcommand" names their modules."""
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {name for action in actions for name in action.choices}


def _named(path: Path, subcommands: set[str]) -> bool:
    dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return (
        f"`{path.name}`" in PAGE
        or f"/{path.name}`" in PAGE
        or f"`{path.stem}`" in PAGE
        or f"`{dotted}" in PAGE
        or (path.parent.name == "cli" and path.stem in subcommands)
    )


def test_every_stage_module_is_named_on_the_page() -> None:
    subcommands = _subcommands()
    unnamed = [
        str(path.relative_to(ROOT)) for path in _stage_modules() if not _named(path, subcommands)
    ]
    assert unnamed == [], f"modules docs/architecture.md does not name: {unnamed}"


def test_every_module_file_the_page_names_exists() -> None:
    names = set(re.findall(r"`([\w/]+\.py)`", PAGE))
    everywhere = {path.name for path in ROOT.glob("*/**/*.py") if ".venv" not in path.parts}
    relative = {str(path.relative_to(ROOT)) for path in ROOT.glob("*/**/*.py")}
    examples = {"adapters.py", "mymodel.py"}  # a user's own file names, not the package's
    missing = [
        name
        for name in sorted(names - examples)
        if (
            "/" in name
            and name not in relative
            and not any(r.endswith("/" + name) for r in relative)
        )
        or ("/" not in name and name not in everywhere)
    ]
    assert missing == [], f"files docs/architecture.md names that do not exist: {missing}"
