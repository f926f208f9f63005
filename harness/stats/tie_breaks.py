"""Ties at the top of a model's scores: samples whose correctness the tie-break decides.

A prediction is the argmax of the scores, and numpy's (like torch's) argmax gives a tie to the
lowest class index. When a sample's label shares the top score with another class, whether it
counts as correct depends on that arbitrary rule: a constant model "scores" top-1 equal to the
share of class 0. Quantised or half-precision outputs, models that saturate and nearest-neighbour
classifiers with few neighbours tie often.

Per sample, `decided_by_tie` says whether the tie-break decides if the label is among the top
`k` (top-1: the label holds the top score together with another class). Over a table,
`tie_range` gives the lowest and the highest top-k accuracy any tie-break could give; a number
whose range is wider than half its 95% interval carries `FLAG` (the tie-break moves it more than
its own sampling uncertainty), and any tie that decides a sample gets a note with the range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLAG = "tied_scores"
COLUMN = "label_tied"
"""Per-sample column: the tie-break decides whether the label is the top-1 prediction."""
TOP5_COLUMN = "label_tied_top5"
"""Per-sample column (tasks with more than five classes): the tie-break decides top-5."""


def decided_by_tie(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> np.ndarray:
    """Per row of a (samples, classes) score matrix: whether the label is among the top `k`
    under some tie-break and not under every one (more than `k` classes score at least the
    label's score, and fewer than `k` score above it)."""
    n = len(labels)
    if n == 0:
        return np.zeros(0, dtype=bool)
    label_score = scores[np.arange(n), labels][:, None]
    above = (scores > label_score).sum(axis=1)
    at_least = (scores >= label_score).sum(axis=1)
    return (above < k) & (at_least > k)


@dataclass(frozen=True)
class TieRange:
    """How many samples the tie-break decides, and the accuracy over every tie-break."""

    tied: int
    n: int
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low

    def moves_more_than(self, ci: tuple[float, float] | None) -> bool:
        """Whether any tie-break could move the number by more than half its interval (with no
        interval: whether it moves at all)."""
        if self.tied == 0 or not self.width > 0:
            return False
        if ci is None:
            return True
        return self.width > (ci[1] - ci[0]) / 2

    def note(self, what: str, metric: str | None = None) -> str | None:
        """`what`: the ties' kind (top-1, top-5); `metric`: the number's name (default: the
        `what` accuracy)."""
        if self.tied == 0:
            return None
        return (
            f"{self._tied_words(what)}, and over every tie-break the "
            f"{metric or what + ' accuracy'} lies in [{self.low:.4g}, {self.high:.4g}]"
        )

    def best_note(self, what: str, metric: str, best: float) -> str | None:
        """The note of a number whose range is not given, only its value with every tie broken
        toward the label (`best`: its highest)."""
        if self.tied == 0:
            return None
        return f"{self._tied_words(what)}; broken toward the label, {metric} would be {best:.4g}"

    def _tied_words(self, what: str) -> str:
        return (
            f"{self.tied} of {self.n} samples tie their label's score with another class's "
            f"({what}); ties go to the lowest class index"
        )


def tie_range(correct: np.ndarray, tied: np.ndarray) -> TieRange:
    """The accuracy range over tie-breaks: every tied sample counted wrong, then right."""
    n = len(correct)
    if n == 0:
        return TieRange(tied=0, n=0, low=0.0, high=0.0)
    hits = int(correct.sum())
    tied_hits = int((tied & correct).sum())
    tied_misses = int((tied & ~correct).sum())
    return TieRange(
        tied=tied_hits + tied_misses,
        n=n,
        low=(hits - tied_hits) / n,
        high=(hits + tied_misses) / n,
    )


def balanced_tie_range(
    correct: np.ndarray, tied: np.ndarray, labels: np.ndarray, k: int
) -> TieRange:
    """Balanced accuracy's range over tie-breaks: each class's recall over its own samples, every
    tied sample counted wrong, then right (a per-sample choice, so both ends are reached);
    averaged over the classes present, as `calibration.classification_stats` does."""
    n = len(correct)
    counts = np.bincount(labels, minlength=k)
    present = counts > 0
    if n == 0 or not present.any():
        return TieRange(tied=0, n=0, low=0.0, high=0.0)
    hits = np.bincount(labels, weights=correct, minlength=k)
    tied_hits = np.bincount(labels, weights=tied & correct, minlength=k)
    tied_misses = np.bincount(labels, weights=tied & ~correct, minlength=k)
    low = ((hits - tied_hits)[present] / counts[present]).mean()
    high = ((hits + tied_misses)[present] / counts[present]).mean()
    return TieRange(tied=int(tied.sum()), n=n, low=float(low), high=float(high))


def best_macro_f1(labels: np.ndarray, predictions: np.ndarray, tied: np.ndarray, k: int) -> float:
    """Macro-F1 with every tie broken toward the label: its highest value over tie-breaks (a
    tied sample predicted right adds a true positive to its class and takes a false positive
    from another, and a class predicted only through wrong ties leaves the average). F1 is
    averaged over the classes in the labels or the predictions, as scikit-learn's is."""
    best = np.where(tied, labels, predictions)
    tp = np.bincount(labels[best == labels], minlength=k).astype(np.float64)
    denom = np.bincount(labels, minlength=k) + np.bincount(best, minlength=k)
    present = denom > 0
    return float((2 * tp[present] / denom[present]).mean())
