"""Only the headline detector's AUROC is a headline number, also when a detector's AUROC has no
value: a non-headline detector that gave NaN scores (features NaN on OOD inputs) or one score
for every sample (ODIN of a model with small logits) was marked headline and showed on the board
as its own "undefined" column beside the headline energy."""

from __future__ import annotations

import numpy as np

from harness.core.suite import RunContext
from harness.suites.shift.ood.metrics import ScoredSet, set_metrics, tag_means


def test_a_detector_without_value_is_not_headline() -> None:
    gen = np.random.default_rng(0)
    clean = {
        "sample_id": np.arange(50).astype(str),
        "energy": gen.normal(5, 1, 50),
        "score_knn": gen.normal(0, 1, 50),
        "score_odin": np.full(50, 0.1),
    }
    noise = {
        "sample_id": np.arange(40).astype(str),
        "energy": gen.normal(4, 1, 40),
        "score_knn": np.full(40, np.nan),
        "score_odin": np.full(40, 0.1),
    }
    scored = ScoredSet("uniform_noise", "far", noise)
    detectors = ["energy", "knn", "odin"]
    records = set_metrics(scored, clean, detectors, RunContext(seed=0), "energy")
    records += tag_means([scored], clean, detectors, records, "energy")
    headline = {(r.condition, r.context["score"]) for r in records if r.headline}
    assert headline == {("ood=uniform_noise", "energy"), ("ood_mean=far", "energy")}
    knn = [r for r in records if r.context["score"] == "knn" and r.metric == "ood_auroc"]
    assert knn and all(r.value is None for r in knn)  # still recorded, with its note
