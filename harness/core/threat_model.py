"""A task's headline threat model: the norm and budget its robust accuracy is reported at.

Every catalogue task declares the threat model the literature reports for it (MNIST L-inf 0.3,
CIFAR-10 L-inf 8/255 and L2 0.5, ImageNet L-inf 4/255; harness/data/headlines.py), a
spec can set its own per task (`headline:`), and a task object can carry one (`Task.headline`).
The job stores it with its task summary, so boards, the report, summary.md and `harness check`
headline robust accuracy at that condition and name it, and the adversarial suite can default
to it. A task declares several threat models in order of importance; an empty tuple means none.

Plain data, no torch: the store and every reader import this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ThreatNorm = Literal["linf", "l2"]
NORMS: tuple[ThreatNorm, ...] = ("linf", "l2")
NORM_WORDS: dict[str, str] = {"linf": "L-inf", "l2": "L2"}
EPS_REL_TOL = 1e-4  # stored condition names keep 6 significant digits of eps (0.0313725)
COMMON_DENOMINATORS = (255,)  # image budgets are quoted in pixel levels: 8/255, 4/255


class ThreatModel(BaseModel):
    """A norm ball: perturbations of at most `eps` in `norm`, in the task's input units."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    norm: ThreatNorm
    eps: float = Field(gt=0, allow_inf_nan=False)

    @property
    def label(self) -> str:
        """`L-inf 8/255`, `L2 0.5`."""
        return f"{NORM_WORDS[self.norm]} {eps_text(self.eps)}"

    def matches(self, norm: str, eps: float) -> bool:
        """Whether a record's (norm, eps) is this threat model (eps as stored, 6 digits)."""
        return norm == self.norm and math.isclose(eps, self.eps, rel_tol=EPS_REL_TOL)

    def matches_context(self, context: Mapping[str, Any]) -> bool:
        """Whether a metric record's context (`norm`, `eps`) is this threat model."""
        threat = ThreatContext.of(context)
        return self.matches(threat.norm, threat.eps)


Headline = tuple[ThreatModel, ...]


@dataclass(frozen=True)
class ThreatContext:
    """The norm and budget a metric record's context names (its `norm` and `eps`): "" and NaN
    where it names none or an unreadable budget. The one parser of those two context keys."""

    norm: str
    eps: float

    @classmethod
    def of(cls, context: Mapping[str, Any]) -> ThreatContext:
        try:
            eps = float(context.get("eps", "nan"))
        except (TypeError, ValueError):
            eps = math.nan
        return cls(str(context.get("norm", "")), eps)

    @property
    def words(self) -> str:
        """`L-inf 0.1` (the norm alone without a budget)."""
        words = NORM_WORDS.get(self.norm, self.norm)
        return f"{words} {eps_text(self.eps)}" if not math.isnan(self.eps) else words


TEXT_THREATS: dict[str, str] = {"char": "character edits", "word": "word substitutions"}


@dataclass(frozen=True, order=True)
class TextThreatContext:
    """The text threat model and budget a metric record's context names: `threat` (char or
    word), `words` (the share of a text's words that may change) and `edits` (per changed word,
    char only). The one parser of those context keys on the results side."""

    threat: str
    words: float
    edits: int

    @classmethod
    def of(cls, context: Mapping[str, Any]) -> TextThreatContext | None:
        """None where the context names no text threat model or an unreadable budget."""
        threat = str(context.get("threat", ""))
        if threat not in TEXT_THREATS:
            return None
        try:
            words = float(context.get("words", "nan"))
            edits = int(context.get("edits", 1))
        except (TypeError, ValueError):
            return None
        if not math.isfinite(words) or words <= 0:
            return None
        return cls(threat, words, edits)

    @property
    def label(self) -> str:
        """`character edits to 20% of words (1 per word)`, `word substitutions of 10% of words`."""
        share = f"{self.words * 100:.4g}% of words"
        if self.threat == "char":
            return f"{TEXT_THREATS['char']} to {share} ({self.edits} per word)"
        return f"{TEXT_THREATS[self.threat]} of {share}"


def eps_text(eps: float) -> str:
    """A budget as people write it: `0.3`, `0.5`, and `8/255` for pixel-level fractions."""
    short = f"{eps:.4g}"
    if math.isclose(float(short), eps, rel_tol=1e-9):
        return short
    for denominator in COMMON_DENOMINATORS:
        levels = eps * denominator
        if round(levels) >= 1 and abs(levels - round(levels)) < EPS_REL_TOL * max(levels, 1.0):
            return f"{round(levels)}/{denominator}"
    return f"{eps:.6g}"


def parse_eps(value: float | int | str) -> float:
    """A positive finite budget from a number or an `a/b` fraction such as `"8/255"`
    (a ValueError saying what is wrong otherwise)."""
    if isinstance(value, bool):
        raise ValueError(f"a budget is a number or a fraction like '8/255' (got {value!r})")
    if isinstance(value, str):
        try:
            eps = float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError):
            raise ValueError(
                f"cannot read budget {value!r}; write a number (0.1) or a fraction (8/255)"
            ) from None
    else:
        eps = float(value)
    if not math.isfinite(eps) or eps <= 0:
        raise ValueError(f"a budget must be a positive finite number (got {value!r})")
    return eps


def headline_from_mapping(budgets: Mapping[Any, float | int | str], *, key: str) -> Headline:
    """`{linf: 8/255, l2: 0.5}` (norm -> budget, most important first) as threat models (a
    ValueError naming `key` and the norm otherwise)."""
    out: list[ThreatModel] = []
    for norm, value in budgets.items():
        if norm not in NORMS:
            raise ValueError(f"{key}.{norm}: unknown norm; known norms: {', '.join(NORMS)}")
        try:
            eps = parse_eps(value)
        except ValueError as err:
            raise ValueError(f"{key}.{norm}: {err}") from None
        out.append(ThreatModel(norm=norm, eps=eps))
    return tuple(out)


def headline_text(headline: Headline) -> str:
    """`L-inf 8/255, L2 0.5`; `none` for a task without one."""
    return ", ".join(t.label for t in headline) or "none"


def headline_budget(
    headline: Headline, attacked: Mapping[Any, list[float]]
) -> tuple[ThreatNorm, float] | None:
    """The first headline threat model among the budgets a run attacks (norm -> epsilons), as
    that run's own (norm, eps); None when it attacks none of them."""
    for threat in headline:
        for eps in attacked.get(threat.norm, []):
            if threat.matches(threat.norm, eps):
                return threat.norm, eps
    return None
