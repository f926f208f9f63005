"""Text threat models and their budgets.

- `char`: character edits inside words (swap of neighbouring letters, substitution, deletion,
  insertion); budget: the share of words touched and the edits per touched word, counted as the
  optimal-string-alignment distance (a swap of neighbours is one edit).
- `word`: whole-word substitutions; budget: the share of words replaced.

A share p allows ceil(p * n) touched words in a text of n words (TextAttack's
`MaxWordsPerturbed(max_percent=p)` rule), so a one-word review can always have its word touched.
Every budget is part of the condition name, so two budgets never share a column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from harness.core.errors import ConfigError

Threat = Literal["char", "word"]
THREATS: tuple[Threat, ...] = ("char", "word")


@dataclass(frozen=True, order=True)
class TextBudget:
    """One budget of one threat model: share of words touched, edits per touched word."""

    threat: Threat
    words: float  # share of the text's words that may change, in (0, 1]
    edits: int = 1  # char: edit distance per touched word; word: always 1 (one substitution)

    def max_words(self, n_words: int) -> int:
        """Words of an n-word text that may change under this budget."""
        return math.ceil(round(self.words * n_words, 9))

    @property
    def label(self) -> str:
        """`words=0.1/edits=1` (char) or `words=0.1` (word): the budget part of a condition."""
        share = f"words={self.words:.6g}"
        return f"{share}/edits={self.edits}" if self.threat == "char" else share


def check_share(value: float, *, key: str) -> float:
    """A share of words in (0, 1]; 0 allows no edit and above 1 means nothing."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{key}: give a share of words in (0, 1] (got {value!r})")
    if value <= 0 or value > 1:
        raise ConfigError(
            f"{key}: a share of words must be in (0, 1] (got {value!r}): 0 allows no edit, "
            "1 allows every word to change"
        )
    return float(value)


def check_edits(value: int, *, key: str) -> int:
    """Edits per touched word: a positive integer (0 allows no edit)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"{key}: edits per word must be a positive integer (got {value!r}); 0 allows no edit"
        )
    return value


def text_condition(attack: str, budget: TextBudget) -> str:
    """`attack=<name>/words=<share>[/edits=<k>]`: one text attack at one budget."""
    return f"attack={attack}/{budget.label}"


def text_ensemble_condition(budget: TextBudget) -> str:
    """`attack=ensemble/threat=<char|word>/words=<share>[/edits=<k>]`: the worst case."""
    return f"attack=ensemble/threat={budget.threat}/{budget.label}"
