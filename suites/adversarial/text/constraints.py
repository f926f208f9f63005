"""Which words an attack may change, and the similarity a changed sentence must keep.

A word is frozen when it is a stop word (English function words: changing them rarely changes the
meaning a person reads, but often the model's output), when it matches the protected pattern
(numbers by default; entities by a user pattern), when it is shorter than `min_length`
letters, or when it is part of HTML markup (a tag such as `<br />`, a comment, a character
entity such as `&amp;`: letters no reader sees as a word, which IMDB-style texts hold). Every edit is checked against the same rules again by the verifier, so a candidate that
breaks one is rejected and counted, never scored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from harness.core.errors import ConfigError
from harness.suites.adversarial.text.words import Words

# English stop words: pronouns, determiners, auxiliaries, prepositions, conjunctions, negations
# and their contractions' parts (the set of NLTK's English list, lower case).
_STOP_WORD_TEXT = """
    a about above after again against ain all am an and any are aren aren't as at be because been
    before being below between both but by can couldn couldn't d did didn didn't do does doesn
    doesn't doing don don't down during each few for from further had hadn hadn't has hasn hasn't
    have haven haven't having he he'd he'll he's her here hers herself him himself his how i i'd
    i'll i'm i've if in into is isn isn't it it'd it'll it's its itself just ll m ma me mightn
    mightn't more most mustn mustn't my myself needn needn't no nor not now o of off on once only
    or other our ours ourselves out over own re s same shan shan't she she'd she'll she's should
    should've shouldn shouldn't so some such t than that that'll the their theirs them themselves
    then there these they they'd they'll they're they've this those through to too under until up
    ve very was wasn wasn't we we'd we'll we're we've were weren weren't what when where which
    while who whom why will with won won't wouldn wouldn't y you you'd you'll you're you've your
    yours yourself yourselves
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORD_TEXT.split())
DEFAULT_PROTECTED = r"\d"  # words holding a digit: numbers, years, prices
# HTML markup: comments, tags (a letter or "/" after "<", so "a < b" is no tag), entities
MARKUP = re.compile(
    r"<!--.*?-->|</?[A-Za-z][^<>]*>|&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);", re.S
)


def markup_words(words: Words) -> np.ndarray:
    """Boolean mask of the words of `words` that lie in HTML markup (`MARKUP`)."""
    mask = np.zeros(len(words), dtype=bool)
    text = words.join()
    if "<" not in text and "&" not in text:
        return mask
    spans = [m.span() for m in MARKUP.finditer(text)]
    pos = 0
    for i, (gap, word) in enumerate(zip(words.gaps, words.words, strict=False)):
        start = pos + len(gap)
        pos = start + len(word)
        mask[i] = any(s < pos and start < e for s, e in spans)
    return mask


@dataclass(frozen=True, kw_only=True)
class WordRules:
    """The per-word constraints: stop words, protected pattern, minimum length."""

    stop_words: frozenset[str] = STOP_WORDS
    protected: re.Pattern[str] | None = re.compile(DEFAULT_PROTECTED)
    min_length: int = 1

    def frozen_reason(self, word: str) -> str | None:
        """Why `word` may not change ("stop_word", "protected", "short"), or None."""
        if word.lower().replace("\u2019", "'") in self.stop_words:
            return "stop_word"
        if self.protected is not None and self.protected.search(word):
            return "protected"
        if sum(ch.isalpha() for ch in word) < self.min_length:
            return "short"
        return None

    def frozen_reasons(self, words: Words) -> list[str | None]:
        """Why each word of `words` may not change: `frozen_reason`, or "markup" for a word
        inside an HTML tag, comment or entity (None: it may change)."""
        markup = markup_words(words)
        return [
            self.frozen_reason(w) or ("markup" if m else None)
            for w, m in zip(words.words, markup, strict=True)
        ]

    def editable(self, words: Words) -> np.ndarray:
        """Boolean mask of the words of `words` an attack may change."""
        return np.asarray([r is None for r in self.frozen_reasons(words)], dtype=bool)


def protected_pattern(pattern: str | None, *, key: str) -> re.Pattern[str] | None:
    """The compiled protected-token pattern; a bad regular expression is one line naming `key`."""
    if pattern is None or pattern == "":
        return None
    try:
        return re.compile(pattern)
    except re.error as err:
        raise ConfigError(f"{key}: not a valid regular expression ({err}): {pattern!r}") from None
