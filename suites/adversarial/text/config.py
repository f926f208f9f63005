"""`suites.adversarial.text`: the text threat models, their budgets, constraints and presets.

```yaml
suites:
  adversarial:
    preset: fast                      # or standard: candidates per word and queries per sample
    text:
      char: {words: [0.1, 0.2], edits: 1}   # share of words touched, edits per touched word
      word: {words: [0.1, 0.2]}             # share of words replaced
      word_source: embedding          # or synonyms (with synonyms_file)
```
`resolve_text` checks every budget (a share of words in (0, 1], at least one edit), the attack
names and parameters, and turns the preset into the search settings; every mistake is one line
naming its key (`ConfigError`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.core.errors import ConfigError
from harness.suites.adversarial.text.budget import (
    THREATS,
    TextBudget,
    Threat,
    check_edits,
    check_share,
)
from harness.suites.adversarial.text.constraints import (
    DEFAULT_PROTECTED,
    WordRules,
    protected_pattern,
)

KEY = "suites.adversarial.text"

# Per preset: candidates tried per word (character edits; substitute words) and the queries
# each sample may spend, the clean text included. `standard` follows TextAttack's recipes (4 edits
# per word, one of each kind, as DeepWordBug; 50 neighbours as TextFooler) with a generous query
# budget; `fast` is for CI.
TEXT_PRESETS: dict[str, dict[str, int]] = {
    "standard": {"char_candidates": 4, "word_candidates": 50, "query_budget": 2000},
    "fast": {"char_candidates": 4, "word_candidates": 15, "query_budget": 300},
}
ATTACK_THREATS: dict[str, Threat] = {"char_greedy": "char", "word_greedy": "word"}


class CharBudgets(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: list[float] = Field(default_factory=lambda: [0.1, 0.2])
    edits: int = 1


class WordBudgets(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: list[float] = Field(default_factory=lambda: [0.1, 0.2])


class TextConfig(BaseModel):
    """The text part of the adversarial suite's config (docs/adversarial.md, "Text models")."""

    model_config = ConfigDict(extra="forbid")
    attacks: list[str] = Field(default_factory=lambda: list(ATTACK_THREATS))
    char: CharBudgets | None = Field(default_factory=CharBudgets)
    word: WordBudgets | None = Field(default_factory=WordBudgets)
    # word importance: None = the attacks' own ("edit": each word's first candidate edit);
    # "unk" is DeepWordBug's, "delete" TextFooler's
    ranking: Literal["edit", "delete", "unk"] | None = None
    unk_token: str = "[UNK]"
    word_source: Literal["embedding", "synonyms"] = "embedding"
    synonyms_file: str | None = None
    min_cosine: float = Field(default=0.5, ge=-1.0, le=1.0)
    stop_words: bool = True
    protected_pattern: str | None = DEFAULT_PROTECTED
    min_word_length: int = Field(default=1, ge=1)
    similarity_model: str | None = None
    min_similarity: float = Field(default=0.8, ge=-1.0, le=1.0)
    char_candidates: int | None = Field(default=None, ge=1)
    word_candidates: int | None = Field(default=None, ge=1)
    query_budget: int | None = Field(default=None, ge=2)
    examples: int = Field(default=8, ge=0)


@dataclass(frozen=True, kw_only=True)
class TextPlan:
    """What the text attacks run: budgets per threat (ascending), attacks per threat (cascade
    order), the word rules and the search settings the preset and overrides give."""

    budgets: dict[Threat, list[TextBudget]]
    attacks: dict[Threat, list[str]]
    rules: WordRules
    ranking: Literal["edit", "delete", "unk"] | None
    unk_token: str
    char_candidates: int
    word_candidates: int
    query_budget: int
    word_source: Literal["embedding", "synonyms"]
    synonyms_file: Path | None
    min_cosine: float
    similarity_model: str | None
    min_similarity: float
    examples: int

    def describe(self) -> dict[str, Any]:
        return {
            "budgets": {t: [b.label for b in bs] for t, bs in self.budgets.items()},
            "attacks": self.attacks,
            "ranking": self.ranking,
            "char_candidates": self.char_candidates,
            "word_candidates": self.word_candidates,
            "query_budget": self.query_budget,
            "word_source": self.word_source,
            "min_cosine": self.min_cosine,
            "stop_words": bool(self.rules.stop_words),
            "protected_pattern": self.rules.protected.pattern if self.rules.protected else None,
            "similarity_model": self.similarity_model,
            "min_similarity": self.min_similarity if self.similarity_model else None,
        }


def _budgets(cfg: TextConfig) -> dict[Threat, list[TextBudget]]:
    budgets: dict[Threat, list[TextBudget]] = {}
    if cfg.char is not None:
        edits = check_edits(cfg.char.edits, key=f"{KEY}.char.edits")
        shares = [check_share(w, key=f"{KEY}.char.words") for w in cfg.char.words]
        budgets["char"] = _distinct([TextBudget("char", s, edits) for s in shares], "char")
    if cfg.word is not None:
        shares = [check_share(w, key=f"{KEY}.word.words") for w in cfg.word.words]
        budgets["word"] = _distinct([TextBudget("word", s) for s in shares], "word")
    return {t: b for t, b in budgets.items() if b}


def _distinct(budgets: list[TextBudget], threat: Threat) -> list[TextBudget]:
    """The budgets, sorted, a repeated one once; two shares whose condition names are one
    (0.2 and 0.20000000001 are both `words=0.2`) are refused: their rows would collide."""
    named: dict[str, TextBudget] = {}
    for b in sorted(set(budgets)):
        other = named.setdefault(b.label, b)
        if other != b:
            raise ConfigError(
                f"{KEY}.{threat}.words: {other.words!r} and {b.words!r} both name the budget "
                f"{b.label!r}; give shares that differ within 6 significant digits"
            )
    return list(named.values())


def _attacks(cfg: TextConfig, budgets: dict[Threat, list[TextBudget]]) -> dict[Threat, list[str]]:
    attacks: dict[Threat, list[str]] = {t: [] for t in THREATS}
    for name in cfg.attacks:
        threat = ATTACK_THREATS.get(name)
        if threat is None and _is_image_attack(name):
            raise ConfigError(
                f"{KEY}.attacks: {name!r} is an image and tabular attack: list it under "
                "suites.adversarial.attacks (text tasks take char_greedy, word_greedy)"
            )
        if threat is None:
            close = difflib.get_close_matches(name, list(ATTACK_THREATS), n=1, cutoff=0.4)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"{KEY}.attacks: unknown text attack {name!r}; {hint}known: "
                f"{', '.join(ATTACK_THREATS)}"
            )
        if threat not in budgets:
            raise ConfigError(
                f"{KEY}.{threat}: attack {name!r} is a {threat}-level attack but no {threat} "
                "budgets are given"
            )
        attacks[threat].append(name)
    if not any(attacks.values()):
        raise ConfigError(f"{KEY}.attacks: give at least one text attack")
    return {t: a for t, a in attacks.items() if a}


def _is_image_attack(name: str) -> bool:
    """Whether `name` is an image and tabular attack (the catalogue is imported when asked:
    it loads every attack class)."""
    from harness.core.errors import UnknownNameError
    from harness.suites.adversarial.attacks import resolve_attack

    try:
        resolve_attack(name)
    except UnknownNameError:
        return False
    return True


def _local_or_hub(source: str | None, base_dir: Path | None) -> str | None:
    """A similarity model folder relative to the spec's folder (as `synonyms_file` and a model's
    `path` are), when it is there or written as a path (`./`, `../`, `~`); else a hub id."""
    if source is None:
        return None
    local = Path(source).expanduser()
    if not local.is_absolute() and base_dir is not None:
        local = base_dir / local
    if local.exists() or source.startswith((".", "/", "~")):
        return str(local)
    return source


def resolve_text(cfg: TextConfig, preset: str, base_dir: Path | None = None) -> TextPlan:
    """The checked plan of `cfg` under `preset` (`custom` uses `standard`'s search settings)."""
    budgets = _budgets(cfg)
    attacks = _attacks(cfg, budgets)
    settings = TEXT_PRESETS.get(preset, TEXT_PRESETS["standard"])
    synonyms = None
    if cfg.synonyms_file and cfg.word_source != "synonyms":
        raise ConfigError(
            f"{KEY}.synonyms_file: given, but word_source is {cfg.word_source!r} (the default), "
            "which draws substitutes from the model's input embeddings and never reads the "
            "file; set word_source: synonyms to use it, or drop synonyms_file"
        )
    given = cfg.model_fields_set
    # `similarity_model: null` written beside it (the docs' template) says the encoder is off
    if "min_similarity" in given and "similarity_model" not in given:
        raise ConfigError(
            f"{KEY}.min_similarity: given, but no similarity_model, so no candidate text is "
            "compared with the original and the threshold is never applied; set "
            "similarity_model to a sentence encoder folder (or a cached hub id), or drop "
            "min_similarity"
        )
    if "min_cosine" in given and cfg.word_source == "synonyms":
        raise ConfigError(
            f"{KEY}.min_cosine: given, but word_source is 'synonyms': substitutes come from "
            "synonyms_file as listed and min_cosine (the embedding neighbours' floor) is never "
            "applied; drop min_cosine, or use word_source: embedding"
        )
    if cfg.word_source == "synonyms" and "word" in attacks:
        if not cfg.synonyms_file:
            raise ConfigError(
                f"{KEY}.synonyms_file: word_source 'synonyms' needs a JSON file mapping each "
                'word to its substitutes, e.g. {"good": ["fine", "great"]}'
            )
        synonyms = Path(cfg.synonyms_file).expanduser()
        if not synonyms.is_absolute() and base_dir is not None:
            synonyms = base_dir / synonyms
    rules = WordRules(
        stop_words=WordRules().stop_words if cfg.stop_words else frozenset(),
        protected=protected_pattern(cfg.protected_pattern, key=f"{KEY}.protected_pattern"),
        min_length=cfg.min_word_length,
    )
    return TextPlan(
        budgets={t: budgets[t] for t in attacks},
        attacks=attacks,
        rules=rules,
        ranking=cfg.ranking,
        unk_token=cfg.unk_token,
        char_candidates=cfg.char_candidates or settings["char_candidates"],
        word_candidates=cfg.word_candidates or settings["word_candidates"],
        query_budget=cfg.query_budget or settings["query_budget"],
        word_source=cfg.word_source,
        synonyms_file=synonyms,
        min_cosine=cfg.min_cosine,
        similarity_model=_local_or_hub(cfg.similarity_model, base_dir),
        min_similarity=cfg.min_similarity,
        examples=cfg.examples,
    )
