"""Defaults and argument types shared by the subcommands (no business logic here)."""

from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any, NoReturn

from harness.core.errors import HarnessError
from harness.core.user_code import add_user_folder

DEFAULT_OUT = Path("results")
DEFAULT_WIDTH = 100  # terminal output when stdout is not a terminal (logs, files)


def quickstart_spec_path() -> Path:
    """The embedded quickstart spec (`harness run` without a spec)."""
    return Path(str(files("harness.zoo") / "quickstart.yaml"))


class UsageError(HarnessError):
    """A command line argparse cannot read (a missing argument, a bad value, an unknown flag)."""


class Parser(argparse.ArgumentParser):
    """argparse, with its errors as one `UsageError` line instead of usage text and exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def text(value: str) -> str:
    """A name or other text flag: text that is valid UTF-8 (argv bytes that are not arrive as
    surrogates, which no name holds and no terminal prints)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(
            f"expected text, not bytes that are not UTF-8 (got {ascii(value)})"
        ) from None
    return value


def nonblank_text(value: str) -> str:
    """A text flag that has no default of its own to fall back on: empty or blank text is
    refused, as `path_arg` refuses an empty path (`--tracking-uri "$URI"` with URI unset would
    otherwise pick the flag's default, another store)."""
    if not value.strip():
        raise argparse.ArgumentTypeError(
            f"empty text ({value!r}; an unset shell variable?); give a value or leave the flag out"
        )
    return text(value)


def path_arg(value: str) -> Path:
    """A path argument. Empty text is refused: `Path("")` is the current folder, so
    `--out "$DIR"` with DIR unset would write results (or a report site) there unasked."""
    if value == "":
        raise argparse.ArgumentTypeError(
            "empty path (an unset shell variable?); give a path, or . for the current folder"
        )
    return Path(value)


def csv_list(value: str | None) -> list[str] | None:
    """`a,b,c` -> ["a", "b", "c"] (a comma-separated list of names)."""
    if value is None:
        return None
    items = [v.strip() for v in text(value).split(",") if v.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return items


def spec_flag(model: str, key: str) -> Callable[[str], Any]:
    """The type of a flag that overrides spec key `key` of `model` ("RunSpec", "ExecutionSpec"):
    its text is read as the YAML value it would be in a spec and checked by that key's own type
    and range, so `--seed true` and `seed: true` get the same line."""

    def parse(value: str) -> Any:
        from harness.config import spec

        try:
            return spec.flag_value(getattr(spec, model), key, text(value))
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return parse


_PLAIN_INT = re.compile(r"0|[1-9][0-9]{0,8}")  # a plain decimal: the same int in YAML 1.1 and 1.2


def number_flag(kind: type[int] | type[float], *, minimum: float) -> Callable[[str], Any]:
    """The type of a numeric flag that is not a spec key: a finite `kind` of at least
    `minimum`, read and checked as spec values are."""

    def parse(value: str) -> Any:
        if kind is int and _PLAIN_INT.fullmatch(value) and int(value) >= minimum:
            return int(value)  # what the spec's reading gives, without importing it
        from harness.config.spec import flag_number

        try:
            return flag_number(text(value), kind, minimum=minimum)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return parse


positive_int = number_flag(int, minimum=1)
non_negative_int = number_flag(int, minimum=0)


def duration(value: str) -> float:
    """`600`, `90s`, `10m`, `2h` -> seconds (a positive duration, as the spec's `timeout:`)."""
    from harness.config.spec import flag_duration

    try:
        return flag_duration(text(value))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def ray_address(value: str) -> str:
    """`--address`: a Ray cluster address of a form Ray reads (as the spec's `execution.address`)."""
    from harness.config.spec import ray_address_problem

    value = text(value)
    problem = ray_address_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def add_width_argument(parser: argparse.ArgumentParser, default: Any = None) -> None:
    """`--width N`; a subcommand's own subparsers pass `argparse.SUPPRESS` so that an absent
    flag does not override the one given before the action."""
    parser.add_argument(
        "--width",
        type=non_negative_int,
        default=default,
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
        "results",
        nargs="?",
        type=path_arg,
        default=DEFAULT_OUT,
        help="results folder or run folder",
    )


def importable(folder: Path) -> None:
    """Let `module:factory` references in a spec import modules from `folder` (like `python -m`),
    for the command's time (`main` opens the scope: harness.core.user_code)."""
    add_user_folder(folder)
