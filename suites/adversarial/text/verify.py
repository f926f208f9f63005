"""The re-check of every adversarial text before it counts.

`check_edit` aligns a candidate with its original word by word and refuses it, naming the rule it
breaks, when the words or the gaps between them changed (a split, merged, added or dropped word),
more words were touched than the budget allows, a touched word was a stop word, a protected token,
too short or HTML markup, a character edit went over the edits per word, or a substitute is not one word.
`verify_texts` then runs the candidates that pass through a fresh forward pass of the model: a
candidate counts as adversarial only when that pass predicts another label than the true one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from harness.suites.adversarial.text.budget import TextBudget
from harness.suites.adversarial.text.constraints import WordRules
from harness.suites.adversarial.text.edits import osa_distance
from harness.suites.adversarial.text.words import is_word, segment

ScoreFn = Callable[[list[str]], np.ndarray]
# (originals, candidates) -> sentence similarity per pair, when a similarity model is configured
SimilarityFn = Callable[[list[str], list[str]], np.ndarray]


@dataclass(frozen=True)
class EditSize:
    words: int  # words touched
    chars: int  # character edits over the touched words (optimal string alignment)


def check_edit(
    original: str, candidate: str, budget: TextBudget, rules: WordRules
) -> tuple[EditSize, str | None]:
    """The size of the edit and the first rule it breaks (None: within budget and rules)."""
    a, b = segment(original), segment(candidate)
    if len(a) != len(b) or a.gaps != b.gaps:
        return EditSize(0, 0), "words_or_gaps_changed"
    touched = [i for i, (x, y) in enumerate(zip(a.words, b.words, strict=True)) if x != y]
    dists = [osa_distance(a.words[i], b.words[i]) for i in touched]
    size = EditSize(len(touched), int(sum(dists)))
    if len(touched) > budget.max_words(len(a)):
        return size, "over_word_budget"
    frozen = rules.frozen_reasons(a)
    for i, dist in zip(touched, dists, strict=True):
        reason = frozen[i]
        if reason is not None:
            return size, reason
        if not is_word(b.words[i]):
            return size, "not_one_word"
        if budget.threat == "char" and dist > budget.edits:
            return size, "over_edit_budget"
    return size, None


@dataclass(frozen=True)
class VerifiedTexts:
    """Per candidate: within budget and rules, adversarial (valid and label changed), the fresh
    prediction and confidence, the edit size; rejected candidates counted by reason."""

    valid: np.ndarray
    adversarial: np.ndarray
    prediction: np.ndarray
    confidence: np.ndarray
    words: np.ndarray
    chars: np.ndarray
    reasons: dict[str, int]


def verify_texts(
    score: ScoreFn,
    originals: Sequence[str],
    candidates: Sequence[str],
    labels: np.ndarray,
    budget: TextBudget,
    rules: WordRules,
    *,
    clean_prediction: np.ndarray,
    clean_confidence: np.ndarray,
    similarity: SimilarityFn | None = None,
    min_similarity: float = 0.0,
    batch_size: int = 256,
) -> VerifiedTexts:
    """Check every candidate, then one fresh forward pass over the changed, valid ones."""
    originals, candidates = list(originals), list(candidates)
    n = len(candidates)
    valid = np.zeros(n, bool)
    words = np.zeros(n, np.int64)
    chars = np.zeros(n, np.int64)
    reasons: Counter[str] = Counter()
    changed = np.asarray([c != o for c, o in zip(candidates, originals, strict=True)], bool)
    for i in np.flatnonzero(changed):
        size, reason = check_edit(originals[i], candidates[i], budget, rules)
        words[i], chars[i] = size.words, size.chars
        if reason is None:
            valid[i] = True
        else:
            reasons[reason] += 1
    if similarity is not None and valid.any():
        idx = np.flatnonzero(valid)
        sims = similarity([originals[i] for i in idx], [candidates[i] for i in idx])
        low = idx[sims < min_similarity]
        valid[low] = False
        if len(low):
            reasons["below_similarity"] += len(low)
    prediction = np.asarray(clean_prediction, np.int64).copy()
    confidence = np.asarray(clean_confidence, np.float64).copy()
    idx = np.flatnonzero(valid)
    for start in range(0, len(idx), batch_size):
        rows = idx[start : start + batch_size]
        probs = np.asarray(score([candidates[i] for i in rows]), dtype=np.float64)
        finite = np.isfinite(probs).all(axis=1)  # NaN or inf: rejected, never a success
        if not finite.all():
            valid[rows[~finite]] = False
            reasons["non_finite_logits"] += int((~finite).sum())
        prediction[rows[finite]] = probs[finite].argmax(1)
        confidence[rows[finite]] = probs[finite].max(1)
    words[~valid], chars[~valid] = 0, 0
    adversarial = valid & (prediction != np.asarray(labels))
    return VerifiedTexts(
        valid=valid,
        adversarial=adversarial,
        prediction=prediction,
        confidence=confidence,
        words=words,
        chars=chars,
        reasons=dict(reasons),
    )
