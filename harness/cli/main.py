"""The `harness` command line: one module per subcommand, each parsing, calling and printing.

User errors print one line (`error: ...`) and exit 2, and so do a command line argparse cannot
read and a read or write the operating system refused; `--debug` shows the traceback. A run whose
jobs failed exits 1 after finishing the others. SIGINT (Ctrl-C) and SIGTERM stop any command with
one line and exit 130 or 143 (an interrupted run keeps its finished jobs).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.cli import (
    cache,
    check,
    export,
    groups,
    leaderboard,
    parity,
    report,
    run,
    validate,
    variants,
)
from harness.cli import list as list_command
from harness.cli.arguments import Parser, UsageError, quickstart_spec_path
from harness.cli.paths import os_reason
from harness.cli.version import VersionAction, VersionRequested, version_text
from harness.core.errors import HarnessError
from harness.core.user_code import user_code
from harness.present.escaping import terminal_text
from harness.run.interrupts import interruptible
from harness.run.quiet import quiet_library_progress

__all__ = ["build_parser", "main", "quickstart_spec_path"]

# in the order `harness --help` lists them
SUBCOMMANDS = (
    run,
    validate,
    list_command,
    leaderboard,
    report,
    check,
    parity,
    groups,
    variants,
    export,
    cache,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="harness",
        description="Evaluate classifiers: accuracy, calibration, shift, attacks, fairness, speed.",
    )
    parser.add_argument(
        "--version",
        action=VersionAction,
        help="print the harness, torch and Python versions and the device, and exit",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in SUBCOMMANDS:
        command.add_parser(sub)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """`parser.parse_args`, with arguments no parser took refused by the (sub)command they were
    given to (`harness run: unrecognized arguments: --workers (see harness run --help)`):
    argparse refuses them at the top level, whose help lists no flag of any subcommand."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        _chosen(parser, args).error(f"unrecognized arguments: {' '.join(extras)}")
    return args


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost subcommand parser `args` were read by (`harness cache prune`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            name = getattr(args, action.dest, None)
            if isinstance(name, str) and name in action.choices:
                return _chosen(action.choices[name], args)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; `sys.path` and the user's modules are as they were afterwards (a
    process that calls `main` for several specs gets each spec's own `mymodel`)."""
    with user_code(Path.cwd()):
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = _parse(parser, argv)
    except UsageError as err:  # one line, as every other user error; `--help` still exits 0
        print(f"error: {terminal_text(err)}", file=sys.stderr)
        return err.exit_code
    except VersionRequested:
        print(version_text())
        return 0
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # datasets' own bars ("Generating test split", "Map") for every command, unless --verbose;
    # sets an environment variable only: no heavy import here
    quiet_library_progress()
    try:
        with interruptible() as latch:  # SIGTERM as Ctrl-C in every command: one line, exit 143
            code: int = args.handler(args)
            if code == 0:  # it finished: a signal whose exception was lost still ends it
                latch.check()  # as interrupted (harness.core.signals)
        sys.stdout.flush()  # a reader that closed the pipe is seen here, not at exit
        return code
    except HarnessError as err:
        if args.debug:
            raise
        # one line whatever names it quotes (a model named "x\ny"): control characters escaped
        print(f"error: {terminal_text(err)}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as exc:
        from harness.run.interrupts import exit_code_of, signal_of

        print(f"error: interrupted by {signal_of(exc)}", file=sys.stderr)
        return exit_code_of(signal_of(exc))
    except BrokenPipeError:
        # The reader of our output went away (`harness validate spec.yaml | head -1`): stop
        # quietly, as other command-line tools do; what was already written stays written.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        return BROKEN_PIPE_EXIT
    except OSError as err:
        # the machine refused a read or a write the checks before it could not foresee (a disk
        # that filled up, a folder that vanished): one line naming the path, not a traceback
        if args.debug:
            raise
        where = f": {err.filename}" if err.filename is not None else ""
        print(f"error: {os_reason(err)}{where}", file=sys.stderr)
        return OS_ERROR_EXIT


OS_ERROR_EXIT = 2
"""Exit status when the operating system refused a read or a write (a user's problem to fix, as
every other `error:` line)."""

BROKEN_PIPE_EXIT = 141
"""Exit status when standard output's reader closed the pipe: 128 + SIGPIPE, what a shell reports
for a process that SIGPIPE killed."""


if __name__ == "__main__":
    sys.exit(main())
