"""The command synopses the docs print (a code block opening `harness <command> [`) list every
option the command's parser takes, and no option it does not."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from harness.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["fairness.md", "variants.md"]


def _options(command: str) -> set[str]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {
        option
        for action in sub.choices[command]._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }


def _synopses(page: str) -> list[tuple[str, str]]:
    """(command, the synopsis's text) of each synopsis on the page."""
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```\n(harness [a-z]+ \[.*?)```", text, flags=re.S):
        command = block.split()[1]
        found.append((command, block))
    return found


@pytest.mark.parametrize("page", PAGES)
def test_synopsis_lists_every_option(page: str) -> None:
    synopses = _synopses(page)
    assert synopses, page
    for command, block in synopses:
        listed = set(re.findall(r"--[a-z][a-z-]*", block))
        assert listed == _options(command), (page, command)
