"""Text perturbations at graded severities 1..5, deterministic from per-sample seeds.

- `typo`: each letter is hit with probability p_s by one of four keyboard typos (swap with the
  next character, delete, duplicate, replace with a QWERTY neighbour).
- `casing`: each word has its case flipped with probability p_s (swapcase).
- `word_dropout`: each word is dropped with probability p_s (at least one word is kept).

Each sample draws from its own `numpy` generator seeded with its seed, so a sample's output does
not depend on the batch it is in, on other samples, or on global RNG state.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TEXT_FAMILIES: tuple[str, ...] = ("typo", "casing", "word_dropout")

TYPO_PROB: tuple[float, ...] = (0.02, 0.05, 0.08, 0.12, 0.18)  # per letter
CASING_PROB: tuple[float, ...] = (0.1, 0.2, 0.35, 0.5, 0.7)  # per word
WORD_DROPOUT_PROB: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2, 0.3)  # per word

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, str]:
    """Letters adjacent on a QWERTY keyboard (same row, and the rows above and below)."""
    pos = {ch: (r, c) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)}
    out: dict[str, str] = {}
    for ch, (r, c) in pos.items():
        out[ch] = "".join(
            o for o, (r2, c2) in pos.items() if o != ch and abs(r2 - r) <= 1 and abs(c2 - c) <= 1
        )
    return out


_NEIGHBOURS = _neighbours()


def _typo(text: str, p: float, gen: np.random.Generator) -> str:
    chars = list(text)
    out: list[str] = []
    i = 0
    while i < len(chars):
        ch = chars[i]
        if ch.isalpha() and gen.random() < p:
            kind = int(gen.integers(4))
            if kind == 0 and i + 1 < len(chars):  # swap with the next character
                out += [chars[i + 1], ch]
                i += 2
                continue
            if kind == 1:  # delete
                i += 1
                continue
            if kind == 2:  # duplicate
                out += [ch, ch]
                i += 1
                continue
            near = _NEIGHBOURS.get(ch.lower(), "")
            if near:  # neighbouring key, keeping the case
                sub = near[int(gen.integers(len(near)))]
                ch = sub.upper() if ch.isupper() else sub
        out.append(ch)
        i += 1
    return "".join(out)


def _casing(text: str, p: float, gen: np.random.Generator) -> str:
    words = text.split(" ")
    flips = gen.random(len(words)) < p
    return " ".join(w.swapcase() if f else w for w, f in zip(words, flips, strict=True))


def _word_dropout(text: str, p: float, gen: np.random.Generator) -> str:
    words = text.split()
    if len(words) <= 1:
        return text
    keep = gen.random(len(words)) >= p
    if not keep.any():
        keep[int(gen.integers(len(words)))] = True
    return " ".join(w for w, k in zip(words, keep, strict=True) if k)


_FAMILIES = {
    "typo": (_typo, TYPO_PROB),
    "casing": (_casing, CASING_PROB),
    "word_dropout": (_word_dropout, WORD_DROPOUT_PROB),
}


def perturb_text(
    texts: Sequence[str], family: str, severity: int, seeds: Sequence[int]
) -> list[str]:
    """Apply text family `family` at `severity` (1..5): one seed per text."""
    fn, probs = _FAMILIES[family]
    p = probs[severity - 1]
    return [
        fn(str(t), p, np.random.default_rng(int(s) & ((1 << 63) - 1)))
        for t, s in zip(texts, seeds, strict=True)
    ]
