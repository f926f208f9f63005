"""Defaults and argument types shared by the subcommands (no business logic here)."""

from __future__ import annotations

import argparse
import shutil
import sys
from importlib.resources import files
from pathlib import Path

DEFAULT_OUT = Path("results")
DEFAULT_WIDTH = 100  # terminal output when stdout is not a terminal (logs, files)


def quickstart_spec_path() -> Path:
    """The embedded quickstart spec (`harness run` without a spec)."""
    return Path(str(files("zoo") / "quickstart.yaml"))


def csv_list(value: str | None) -> list[str] | None:
    """`a,b,c` -> ["a", "b", "c"] (a comma-separated list of names)."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return items


def positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {n}")
    return n


def non_negative_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a non-negative integer, got {value!r}"
        ) from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {n}")
    return n


def duration(value: str) -> float:
    """`600`, `90s`, `10m`, `2h` -> seconds (a positive duration)."""
    from harness.config.spec import parse_duration

    try:
        return parse_duration(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_width_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--width",
        type=non_negative_int,
        help=f"fit the output to this many characters per line (default: the terminal's width, "
        f"{DEFAULT_WIDTH} when not a terminal; 0: no limit)",
    )


def output_width(value: int | None) -> int | None:
    """The width terminal output fits: `--width`, else the terminal's (COLUMNS wins), else
    DEFAULT_WIDTH; None for `--width 0` (no limit)."""
    if value is not None:
        return value or None
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def add_results_argument(parser: argparse.ArgumentParser) -> None:
    """The optional results folder positional of the read-only commands."""
    parser.add_argument(
        "results", nargs="?", type=Path, default=DEFAULT_OUT, help="results folder or run folder"
    )


def importable(folder: Path) -> None:
    """Let `module:factory` references in a spec import modules from `folder` (like `python -m`)."""
    entry = str(folder)
    if entry not in sys.path:
        sys.path.insert(0, entry)
