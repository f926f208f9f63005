"""Leaderboards, headline rankings, group tables and gate reports stay what they were, bit for
bit, on fixed results folders (tests/analysis/pinned_outputs.py says what each pin holds and how
to rewrite one when a change moves a number on purpose)."""

from __future__ import annotations

import pytest

from tests.analysis.pinned_outputs import CASES, PINS, QUICKSTART_CASES, SCALE_CASES


def _same(name: str) -> None:
    got = CASES[name].compute()
    want = (PINS / name).read_text()
    assert got == want, f"{name} moved: python -m tests.analysis.pinned_outputs --write {name}"


@pytest.mark.parametrize("name", [c.name for c in SCALE_CASES])
def test_scale12_outputs_are_pinned(name: str) -> None:
    _same(name)


@pytest.mark.slow  # the committed quickstart baseline: about 50 s in all
@pytest.mark.parametrize("name", [c.name for c in QUICKSTART_CASES])
def test_quickstart_baseline_outputs_are_pinned(name: str) -> None:
    _same(name)
