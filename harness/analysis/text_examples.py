"""The adversarial suite's stored text examples, as pieces a report can highlight.

The text attacks store, per threat model, a few seeded adversarial texts with their originals and
the character spans of the changed words (artifact `text_examples`). Here each text becomes a
sequence of pieces, each marked edited or not, for the report's gallery. Spans that do not fit
their text (a damaged or hand-edited artifact) leave the text unmarked rather than mis-marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TextPiece:
    text: str
    edited: bool


@dataclass(frozen=True, kw_only=True)
class TextExample:
    threat: str
    condition: str
    attack: str
    sample_id: str
    label: str
    prediction: str
    clean_confidence: float | None
    adversarial_confidence: float | None
    words_changed: int | None
    chars_changed: int | None
    original: tuple[TextPiece, ...]
    adversarial: tuple[TextPiece, ...]


def pieces(text: str, spans: Any) -> tuple[TextPiece, ...]:
    """`text` cut at `spans` ([[start, end], ...], sorted, inside the text) into pieces."""
    ok = isinstance(spans, list) and all(
        isinstance(s, list) and len(s) == 2 and all(isinstance(v, int) for v in s) for s in spans
    )
    flat = [v for s in spans for v in s] if ok else []
    if not ok or flat != sorted(flat) or (flat and (flat[0] < 0 or flat[-1] > len(text))):
        return (TextPiece(text, False),)
    out: list[TextPiece] = []
    pos = 0
    for start, end in spans:
        if start > pos:
            out.append(TextPiece(text[pos:start], False))
        if end > start:
            out.append(TextPiece(text[start:end], True))
        pos = end
    if pos < len(text):
        out.append(TextPiece(text[pos:], False))
    return tuple(out)


def _number(value: Any, kind: type) -> Any:
    return kind(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def text_examples(artifacts: dict[str, Any]) -> list[TextExample]:
    """The stored text examples of an adversarial job (none for image and tabular jobs)."""
    raw = artifacts.get("text_examples")
    if not isinstance(raw, list):
        return []
    out = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        original, adversarial = item.get("original"), item.get("adversarial")
        if not isinstance(original, str) or not isinstance(adversarial, str):
            continue
        out.append(
            TextExample(
                threat=str(item.get("threat", "")),
                condition=str(item.get("condition", "")),
                attack=str(item.get("attack", "")),
                sample_id=str(item.get("sample_id", "")),
                label=str(item.get("label", "")),
                prediction=str(item.get("adversarial_prediction", "")),
                clean_confidence=_number(item.get("clean_confidence"), float),
                adversarial_confidence=_number(item.get("adversarial_confidence"), float),
                words_changed=_number(item.get("words_changed"), int),
                chars_changed=_number(item.get("chars_changed"), int),
                original=pieces(original, item.get("original_spans")),
                adversarial=pieces(adversarial, item.get("adversarial_spans")),
            )
        )
    return out
