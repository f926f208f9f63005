"""Where candidate edits come from: character edits, or substitute words from an offline source.

Word sources (`word_source` in the spec):
- `embedding`: nearest neighbours by cosine similarity in the model's own input-embedding matrix,
  restricted to whole-word tokens (the adapter's `word_vectors()` hook; `hf-text` models have it).
  It reads the model's weights, so it needs a model that exposes them.
- `synonyms`: a JSON file the user gives, `{"word": ["substitute", ...]}`: works for any model,
  `callable` ones included, and is the way to bring curated sets (counter-fitted neighbours,
  WordNet synonyms) in offline.
A source that cannot be had is one line saying which and how to provide it (`ConfigError`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.core.adapter import WordVectors
from harness.core.errors import ConfigError
from harness.core.local_files import not_a_file
from harness.suites.adversarial.text.edits import char_candidates
from harness.suites.adversarial.text.words import Words, is_word


@dataclass(frozen=True, kw_only=True)
class CharEdits:
    """Up to `count` character-edit variants of the word, each within `edits` edits."""

    count: int
    edits: int

    def __call__(self, words: Words, index: int, gen: np.random.Generator) -> list[str]:
        return char_candidates(words.words[index], gen, count=self.count, edits=self.edits)


def _cased_like(word: str, like: str) -> str:
    """`word` in the case of `like`: all capitals, lower case or capitalised; a word of mixed
    case ("iPhone") keeps the substitute's own (a table's "BAD" put no capitals in a "good")."""
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like.islower():
        return word.lower()
    if like[:1].isupper() and (len(like) == 1 or like[1:].islower()):
        return word[:1].upper() + word[1:].lower()
    return word


@dataclass(kw_only=True)
class Substitutes:
    """Substitute words from a fixed table, cased like the word they replace."""

    table: dict[str, list[str]]
    count: int

    def __call__(self, words: Words, index: int, gen: np.random.Generator) -> list[str]:
        word = words.words[index]
        subs = self.table.get(word.lower(), [])
        out = [_cased_like(s, word) for s in subs if s.lower() != word.lower() and is_word(s)]
        return list(dict.fromkeys(out))[: self.count]


@dataclass(kw_only=True)
class EmbeddingNeighbours:
    """The `count` nearest whole-word tokens to the word in the input-embedding matrix whose
    cosine similarity is at least `min_cosine` (computed once per word, then cached)."""

    vectors: WordVectors
    count: int
    min_cosine: float
    _unit: np.ndarray = field(init=False, repr=False)
    _index: dict[str, int] = field(init=False, repr=False)
    _cache: dict[str, list[str]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        v = np.asarray(self.vectors.vectors, dtype=np.float32)
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        self._unit = v / np.where(norms > 0, norms, 1.0)
        self._index = {w: i for i, w in enumerate(self.vectors.words)}

    def neighbours(self, word: str) -> list[str]:
        key = word.lower()
        if key not in self._cache:
            i = self._index.get(key)
            if i is None:
                self._cache[key] = []
            else:
                sims = self._unit @ self._unit[i]
                sims[i] = -np.inf
                top = np.argsort(-sims, kind="stable")[: self.count]
                self._cache[key] = [
                    self.vectors.words[j] for j in top if sims[j] >= self.min_cosine
                ]
        return self._cache[key]

    def __call__(self, words: Words, index: int, gen: np.random.Generator) -> list[str]:
        word = words.words[index]
        return [_cased_like(n, word) for n in self.neighbours(word) if n != word.lower()]


def synonyms_table(path: Path, *, key: str) -> dict[str, list[str]]:
    """The `{"word": [...]}` table of a synonyms file, refused with one line when unusable."""
    what = not_a_file(path, "synonyms file")
    if what is not None:
        raise ConfigError(
            f"{key}: {what}: {path}; give a JSON file mapping each word to its substitutes, "
            'e.g. {"good": ["fine", "great"]}'
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{key}: synonyms file {path} is not UTF-8 JSON ({err})") from None
    ok = isinstance(raw, dict) and all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(s, str) for s in v)
        for k, v in raw.items()
    )
    if not ok:
        raise ConfigError(
            f"{key}: synonyms file {path} must map each word to a list of substitute words "
            '(e.g. {"good": ["fine", "great"]})'
        )
    return {k.lower(): list(v) for k, v in raw.items()}


def unusable_synonyms_note(table: dict[str, list[str]], path: Path) -> str | None:
    """The note counting a synonyms file's entries that are not one word ("very good",
    "look_at"): the attacks replace one word by one word, so they are never used."""
    keys = [k for k in table if not is_word(k)]
    subs = [s for k, v in table.items() if is_word(k) for s in v if not is_word(s)]
    if not keys and not subs:
        return None
    total = sum(len(v) for k, v in table.items() if is_word(k))
    parts = []
    if subs:
        parts.append(f"{len(subs)} of its {total} substitutes (e.g. {subs[0]!r})")
    if keys:
        parts.append(f"{len(keys)} of its {len(table)} words (e.g. {keys[0]!r})")
    return (
        f"synonyms file {path.name}: {' and '.join(parts)} are not one word (a run of letters "
        "or digits, inner apostrophes and hyphens allowed) and are never used: the word-level "
        "attack replaces one word by one word"
    )


def no_word_vectors(model: str, attacks: Sequence[str] = ()) -> ConfigError:
    """The line for `word_source: embedding` on a model without an input-embedding matrix; with
    `attacks`, the word attacks that were all the spec asked for, so nothing could run."""
    if attacks:
        return ConfigError(
            f"suites.adversarial.text.attacks: {', '.join(attacks)} cannot run on model "
            f"{model!r}: word_source 'embedding' needs the input-embedding matrix of the model, "
            "which its adapter does not expose (hf-text models do); give word_source: synonyms "
            "with synonyms_file: <JSON word -> substitutes>, or add char_greedy to attacks"
        )
    return ConfigError(
        f"suites.adversarial.text.word_source: 'embedding' needs the input-embedding matrix of "
        f"model {model!r}, which its adapter does not expose (hf-text models do); give "
        "word_source: synonyms with synonyms_file: <JSON word -> substitutes> instead"
    )
