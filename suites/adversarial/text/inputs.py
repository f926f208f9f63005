"""What the text attacks accept as input, checked before any query.

A text that cannot be encoded as UTF-8 (a lone surrogate, left by a file read with
`errors="surrogateescape"`) is refused with one line naming the sample; control characters,
texts with no word an attack may change (empty, punctuation or stop words only), texts that
repeat another one and texts the model truncates are attacked as they are and named in a note.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

from harness.core.errors import DatasetError
from harness.suites.adversarial.text.constraints import WordRules
from harness.suites.adversarial.text.words import segment


def check_texts(texts: Sequence[object], sample_ids: Sequence[str], task: str) -> list[str]:
    """The texts as strings; one line naming the first sample that is not UTF-8 text."""
    out = []
    for text, sid in zip(texts, sample_ids, strict=True):
        if not isinstance(text, str):
            raise DatasetError(
                f"task {task!r}: sample {sid!r} is {type(text).__name__}, not text; the "
                "adversarial suite's text attacks need a string per sample"
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            raise DatasetError(
                f"task {task!r}: sample {sid!r} is not valid UTF-8 text (character "
                f"{text[err.start]!r} at position {err.start}); decode the source as UTF-8"
            ) from None
        out.append(text)
    return out


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text)


# scripts written without spaces between words (Thai, Lao, Tibetan, Myanmar, Khmer, Japanese
# kana, CJK ideographs): a run of their letters is one "word" here
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"
)


def input_notes(
    texts: Sequence[str], correct: np.ndarray, rules: WordRules, truncated: int, max_length: object
) -> list[str]:
    """Notes on texts attacked as they are (control characters, nothing to edit, repeated,
    truncated).
    `correct`: clean-correct under every tie-break (a tied text counts as not robust)."""
    notes = []
    control = sum(_has_control(t) for t in texts)
    if control:
        notes.append(
            f"{control} text(s) hold control characters; attacks keep them unchanged (they sit "
            "between words) and edit words only"
        )
    frozen = sum(
        1
        for t, ok in zip(texts, correct, strict=True)
        if ok and not rules.editable(segment(t)).any()
    )
    if frozen:
        notes.append(
            f"{frozen} correctly classified text(s) have no word an attack may change (empty, "
            "punctuation, numbers, stop words or HTML markup only): not attackable under these constraints, "
            "they count as robust"
        )
    unspaced = sum(_UNSPACED.search(t) is not None for t in texts)
    if unspaced:
        notes.append(
            f"{unspaced} text(s) hold a script written without spaces between words (Chinese, "
            "Japanese, Thai...): a word is a run of letters, so a whole unspaced run counts as one "
            "word for the share of words and the edits per word"
        )
    counts = Counter(texts)
    repeats = sum(c - 1 for c in counts.values() if c > 1)
    if repeats:
        held = sum(c > 1 for c in counts.values())
        notes.append(
            f"{repeats} of the {len(texts)} texts attacked repeat another one ({held} texts held "
            "more than once): each copy is attacked with its own seed and counted, and the "
            "intervals treat the copies as independent texts"
        )
    if truncated:
        notes.append(
            f"{truncated} text(s) reach the model's maximum length ({max_length} tokens) and are "
            "truncated by the model: edits past that length cannot change its prediction, and "
            "the share of words is taken over the whole text, so more of the words the model "
            "reads may change"
        )
    return notes
