"""A text as a sequence of words and the gaps between them, so one word can change in place.

A word is a run of letters or digits, possibly joined by an apostrophe or hyphen inside ("don't",
"well-made"); everything else (spaces, punctuation) is a gap. `Words.join()` gives the text back
exactly, so an attack edits words without touching the rest, and the verifier can align an
adversarial text with its original word by word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")


@dataclass(frozen=True)
class Words:
    """`gaps[i]` precedes `words[i]`; `gaps[-1]` follows the last word (len(gaps) = n + 1)."""

    words: tuple[str, ...]
    gaps: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.words)

    def join(self) -> str:
        parts = [self.gaps[0]]
        for word, gap in zip(self.words, self.gaps[1:], strict=True):
            parts += [word, gap]
        return "".join(parts)

    def replace(self, index: int, word: str) -> Words:
        words = list(self.words)
        words[index] = word
        return Words(tuple(words), self.gaps)

    def around(self, index: int) -> tuple[str, str]:
        """The text before and after word `index`: `before + w + after` is the text with word
        `index` replaced by `w` (one join for all of a word's candidates)."""
        return self._span(0, index), self._span(index + 1, len(self.words))

    def _span(self, start: int, stop: int) -> str:
        """Words `start` to `stop` (exclusive) with the gap before each and the gap after."""
        parts = [self.gaps[start]]
        for k in range(start, stop):
            parts += [self.words[k], self.gaps[k + 1]]
        return "".join(parts)

    def without(self, index: int) -> str:
        """The text with word `index` and the gap after it left out (word-importance ranking)."""
        words = [w for i, w in enumerate(self.words) if i != index]
        gaps = [g for i, g in enumerate(self.gaps) if i != index + 1]
        return Words(tuple(words), tuple(gaps)).join()


def segment(text: str) -> Words:
    """`text` split into words and gaps (`segment(t).join() == t` for every string t)."""
    words: list[str] = []
    gaps: list[str] = []
    end = 0
    for match in WORD.finditer(text):
        gaps.append(text[end : match.start()])
        words.append(match.group())
        end = match.end()
    gaps.append(text[end:])
    return Words(tuple(words), tuple(gaps))


def is_word(text: str) -> bool:
    """True when `text` is exactly one word (a substitute must not split or merge words)."""
    return WORD.fullmatch(text) is not None
