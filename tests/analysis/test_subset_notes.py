"""A suite that evaluated part of a task says so on the board (a board's n is the task's)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from harness.analysis.leaderboard import _subset_notes
from harness.core.subsets import is_subset_note, subset_note


def _job(model: str, suite: str, *notes: str) -> Any:
    return (None, SimpleNamespace(record=SimpleNamespace(model=model, suite=suite, notes=notes)))


def test_one_line_per_suite_when_every_model_says_it_else_the_models_that_do() -> None:
    shift = subset_note(300, 719, "max_samples=300")
    adv = subset_note(200, 719, "max_samples=200")
    assert shift == (  # the shift suite's wording before boards read it: old results count too
        "evaluated on a seeded label-stratified subset of 300 of 719 samples (max_samples=300)"
    )
    per_cell = subset_note(70, 90, "max_samples=7 per cell", strata="label and cell")
    assert per_cell == (
        "evaluated on a seeded subset of 70 of 90 rows, stratified by label and cell "
        "(max_samples=7 per cell)"
    )
    assert is_subset_note(per_cell)
    assert is_subset_note(shift) and not is_subset_note("preset fast (CI loops): ...")
    jobs = [
        _job("a", "shift", "other note", shift),
        _job("b", "shift", shift),
        _job("a", "adversarial", adv),
        _job("b", "adversarial", "black-box attacks only"),
        _job("a", "accuracy"),
    ]
    assert _subset_notes(jobs) == [f"adversarial: {adv} (a)", f"shift: {shift}"]
    assert _subset_notes([_job("a", "accuracy", "other note")]) == []
