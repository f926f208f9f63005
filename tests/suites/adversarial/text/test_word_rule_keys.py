"""The text attacks' word rules from the suite config (`suites.adversarial.text`): `stop_words`
and `min_word_length` decide which words an attack may change, end to end on the planted
bag-of-words model of test_text_suite.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from harness.suites.adversarial.text.budget import TextBudget
from harness.suites.adversarial.text.constraints import WordRules
from harness.suites.adversarial.text.verify import check_edit
from tests.suites.adversarial.text.test_text_suite import _originals, csv, run  # noqa: F401

WORDS = {"word_source": "synonyms", "synonyms_file": "subs.json"}


def _frozen_texts(result: Any) -> int:
    """How many correctly classified texts the run's note says have no word to change."""
    notes = [n for n in result.notes if "have no word an attack may change" in n]
    return int(re.match(r"(\d+) ", notes[0]).group(1)) if notes else 0  # type: ignore[union-attr]


def _robust(result: Any) -> dict[str, float]:
    return {r.condition: r.value for r in result.metrics if r.metric == "robust_acc" and r.headline}


def _edits_keep(result: Any, csv: Path, rules: WordRules) -> int:  # noqa: F811
    """Check every successful adversarial text against `rules`; return how many there are."""
    frame = result.table.frame
    originals = _originals(csv, frame)
    hits = frame[frame["attack_success"]]
    for row in hits.itertuples():
        parts = dict(p.split("=") for p in row.condition.split("/")[1:])
        budget = TextBudget(parts["threat"], float(parts["words"]), int(parts.get("edits", 1)))
        _, reason = check_edit(originals[row.sample_id], row.adversarial_text, budget, rules)
        assert reason is None, (row.sample_id, row.adversarial_text, reason)
    return len(hits)


def test_stop_words_false_lets_attacks_change_stop_words(csv: Path) -> None:  # noqa: F811
    default = run(csv, WORDS)
    assert _frozen_texts(default) == 2  # the empty text, and "the 1999 and the 2000"
    free = run(csv, {**WORDS, "stop_words": False})
    assert _frozen_texts(free) == 1  # "the" and "and" may change now; numbers stay protected
    _edits_keep(free, csv, WordRules(stop_words=frozenset()))


@pytest.mark.parametrize("length", [5, 30])
def test_min_word_length_freezes_shorter_words(csv: Path, length: int) -> None:  # noqa: F811
    default, short = _robust(run(csv, WORDS)), run(csv, {**WORDS, "min_word_length": length})
    hits = _edits_keep(short, csv, WordRules(min_length=length))
    robust = _robust(short)
    assert set(robust) == set(default)
    assert all(robust[c] >= default[c] for c in robust)  # fewer words to change: no more found
    clean = next(r for r in short.metrics if r.metric == "clean_acc")
    if length == 30:  # no word of the task is that long: nothing is attackable
        assert hits == 0 and set(robust.values()) == {clean.value}
        assert _frozen_texts(short) == round(clean.value * clean.n)
    else:
        assert hits > 0 and _frozen_texts(short) > 2
