"""Character edits inside a word and the distance that budgets them.

Four edit kinds, as in DeepWordBug (Gao et al. 2018): swap two neighbouring letters, substitute a
letter, delete a letter, insert a letter, each in the first two thirds of the word (where it
splits a subword tokenizer's stem). Edits touch letters only (never digits, apostrophes or
hyphens) and keep the word one word, so an edited text has the same words and gaps as its
original. The distance is the optimal string alignment distance (Levenshtein plus the swap of two
neighbours as one edit), so each of the four kinds costs exactly one edit.
"""

from __future__ import annotations

import string
from collections.abc import Callable

import numpy as np

from harness.suites.adversarial.text.words import is_word

EDIT_KINDS: tuple[str, ...] = ("swap", "substitute", "delete", "insert")
_LETTERS = string.ascii_lowercase


def osa_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    neighbouring characters, each one edit (no substring edited twice)."""
    if a == b:
        return 0
    rows, cols = len(a) + 1, len(b) + 1
    d = [[0] * cols for _ in range(rows)]
    for i in range(rows):
        d[i][0] = i
    for j in range(cols):
        d[0][j] = j
    for i in range(1, rows):
        for j in range(1, cols):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def _cased(letter: str, like: str) -> str:
    return letter.upper() if like.isupper() else letter


def _early(spots: list[int], word: str) -> list[int]:
    """The spots in the first two thirds of the word (all of them when none is there).

    Subword tokenizers keep a word's known prefix or stem as one token when the edit comes late
    ("goodx" -> "good", "##x"), so a late edit leaves the model most of the word; one in the
    first two thirds breaks the stem apart. No tokenizer is read: the reasoning holds for
    WordPiece, BPE and unigram vocabularies alike (measured on rt-bert: benchmarks/NOTES.md)."""
    early = [i for i in spots if 3 * i <= 2 * (len(word) - 1)]
    return early or spots


def _swap(word: str, gen: np.random.Generator) -> str | None:
    spots = [
        i
        for i in range(len(word) - 1)
        if word[i].isalpha() and word[i + 1].isalpha() and word[i] != word[i + 1]
    ]
    if not spots:
        return None
    spots = _early(spots, word)
    i = spots[int(gen.integers(len(spots)))]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _substitute(word: str, gen: np.random.Generator) -> str | None:
    spots = [i for i, ch in enumerate(word) if ch.isalpha()]
    if not spots:
        return None
    spots = _early(spots, word)
    i = spots[int(gen.integers(len(spots)))]
    choices = [c for c in _LETTERS if c != word[i].lower()]
    return word[:i] + _cased(choices[int(gen.integers(len(choices)))], word[i]) + word[i + 1 :]


def _delete(word: str, gen: np.random.Generator) -> str | None:
    spots = [i for i, ch in enumerate(word) if ch.isalpha()]
    if len(word) < 2 or not spots:
        return None
    spots = _early(spots, word)
    i = spots[int(gen.integers(len(spots)))]
    return word[:i] + word[i + 1 :]


def _insert(word: str, gen: np.random.Generator) -> str | None:
    # a position next to at least one letter: the inserted letter joins that letter's run
    spots = [
        i
        for i in range(len(word) + 1)
        if (i > 0 and word[i - 1].isalpha()) or (i < len(word) and word[i].isalpha())
    ]
    if not spots:
        return None
    spots = _early(spots, word)
    i = spots[int(gen.integers(len(spots)))]
    like = word[i - 1] if i > 0 else word[i]
    return word[:i] + _cased(_LETTERS[int(gen.integers(26))], like) + word[i:]


_EDITS: dict[str, Callable[[str, np.random.Generator], str | None]] = {
    "swap": _swap,
    "substitute": _substitute,
    "delete": _delete,
    "insert": _insert,
}


def char_candidates(
    word: str, gen: np.random.Generator, *, count: int, edits: int, tries: int = 4
) -> list[str]:
    """Up to `count` distinct words within `edits` edits of `word` (at least one), drawn from
    `gen`: the edit kinds in turn (swap, substitute, delete, insert, swap...), each candidate
    made of `edits` random edits of its kind or later kinds, each in the first two thirds of the
    word. The first candidate (a swap) is the search's probe of the word's importance."""
    out: list[str] = []
    seen = {word}
    kinds = EDIT_KINDS
    for attempt in range(count * tries):
        if len(out) >= count:
            break
        cand: str | None = word
        for step in range(edits):
            kind = kinds[(attempt + step) % len(kinds)]
            nxt = _EDITS[kind](cand, gen) if cand is not None else None
            cand = nxt if nxt is not None else cand
        if cand is None or cand in seen or not is_word(cand):
            continue
        # one edit that changed the word is at distance 1: only several edits need the check
        if edits == 1 or 1 <= osa_distance(word, cand) <= edits:
            seen.add(cand)
            out.append(cand)
    return out
