"""Every flag of every `harness` subcommand is exercised by a test with a value that works.

The parsers are enumerated from `build_parser()`, so a new flag is covered by this test the day
it is added. A flag counts as exercised when one test module outside the hostile value tables
(`tests/reliability/hostile/`, which check that bad values are refused) holds the subcommand's
name and the flag as string literals (`"--flag"`, `"--flag=..."` or a literal containing
`--flag` as a word). Flags of the top-level parser (`--debug`, `-v`, `--version`) need only the
flag. The check is by module, not by call: it catches a flag that no test passes at all.
"""

from __future__ import annotations

import argparse
import ast
import functools
from collections.abc import Iterator
from pathlib import Path

from harness.cli.main import build_parser

TESTS = Path(__file__).resolve().parents[1]


def flags(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(subcommand path, option strings) of every optional argument, help flags left out."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from flags(sub, (*path, name))
        elif action.option_strings and not isinstance(action, argparse._HelpAction):
            yield path, tuple(action.option_strings)


def literal_words(source: str) -> set[str]:
    """Every string literal of a module, and each of its whitespace-separated words."""
    words: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            words.add(node.value)
            words.update(node.value.split())
    return words


@functools.cache
def _test_modules() -> tuple[frozenset[str], ...]:
    """The literal words of every test module but the hostile tables and this one."""
    here = Path(__file__).resolve()
    return tuple(
        frozenset(literal_words(path.read_text()))
        for path in sorted(TESTS.rglob("*.py"))
        if "hostile" not in path.relative_to(TESTS).parts and path.resolve() != here
    )


def _passes(words: frozenset[str], option: str) -> bool:
    return option in words or any(w.startswith(option + "=") for w in words)


def missing_flags(parser: argparse.ArgumentParser) -> list[str]:
    """`harness <subcommand> <flag>` for every flag no test module passes."""
    modules = _test_modules()
    return [
        " ".join(("harness", *path, options[-1]))
        for path, options in flags(parser)
        if not any(
            all(p in words for p in path) and any(_passes(words, o) for o in options)
            for words in modules
        )
    ]


def test_every_flag_is_exercised_by_a_test() -> None:
    assert len(_test_modules()) > 100  # the walk found the test tree
    every = list(flags(build_parser()))
    assert len(every) > 50 and ((), ("--version",)) in every  # the walk saw the whole CLI
    assert missing_flags(build_parser()) == []


def test_a_flag_no_test_passes_is_reported() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    planted = "--" + "flag-that-no-test-passes"
    sub.choices["run"].add_argument(planted)
    sub.choices["cache"].add_argument("--" + "width-of-nothing")
    assert missing_flags(parser) == [f"harness run {planted}", "harness cache --width-of-nothing"]
