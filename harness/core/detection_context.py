"""The OOD detector a detection record's context names: `DetectionContext`, the one parser of it.

The shift suite writes its OOD detection metrics (`ood_auroc`, `ood_fpr95`...) with `score`: the
detector whose score they rank (`msp`, `energy`, `knn`...), and stores each detector's score in a
column of its per-sample table (`score_column`). The report's OOD section, the paired tests and
the caveats read them back through this form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SCORE_PREFIX = "score_"
"""Table column prefix of a detector's score on clean and OOD rows (`score_knn`...); the logit
scores in `OWN_COLUMNS` keep their own columns on every row, and `neg_entropy` is minus the
`entropy` column."""
OWN_COLUMNS = frozenset({"msp", "energy", "max_logit"})


@dataclass(frozen=True)
class DetectionContext:
    """`detector`: the detector a record's `score` names; None where it names none."""

    detector: str | None

    @classmethod
    def of(cls, context: Mapping[str, object]) -> DetectionContext:
        score = context.get("score")
        return cls(None if score is None else str(score))


def score_column(detector: str) -> tuple[str, float]:
    """The table column of a detector's score and its sign (score = sign * column; higher =
    more in-distribution)."""
    if detector == "neg_entropy":
        return "entropy", -1.0
    if detector in OWN_COLUMNS:
        return detector, 1.0
    return SCORE_PREFIX + detector, 1.0
