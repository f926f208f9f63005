"""A score that saturates (MSP of an over-confident model: 1.0 in float64 for every test input
and 34 of 40 noise inputs) ties test and OOD samples: the AUROC counts each tie half and FPR@95
is read at the threshold every tied test sample passes. A digits MLP with its last layer x20
got MSP AUROC 0.575 and FPR@95 0.85 on uniform noise (85% of the pairs tied, the threshold
accepting 100% of the test set) with no word on either; scikit-learn gives the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from harness.core.suite import RunContext
from harness.suites.shift.ood.metrics import ScoredSet, set_metrics


def _records(s_in: np.ndarray, s_out: np.ndarray) -> dict[str, object]:
    clean = {"sample_id": np.arange(len(s_in)).astype(str), "msp": s_in}
    noise = {"sample_id": np.arange(len(s_out)).astype(str), "msp": s_out}
    records = set_metrics(
        ScoredSet("noise", "far", noise), clean, ["msp"], RunContext(seed=0), "msp"
    )
    return {r.metric: r for r in records}


def test_saturated_scores_say_they_tie_and_where_the_threshold_lies() -> None:
    gen = np.random.default_rng(0)
    s_in = np.ones(80)
    s_out = np.r_[np.ones(34), gen.uniform(0.5, 0.99, 6)]
    records = _records(s_in, s_out)
    auroc, fpr = records["ood_auroc"], records["ood_fpr_at_95_tpr"]
    y = np.r_[np.ones(80), np.zeros(40)]
    assert auroc.value == pytest.approx(roc_auc_score(y, np.r_[s_in, s_out])) == 0.575  # type: ignore[attr-defined]
    f, t, _ = roc_curve(y, np.r_[s_in, s_out])
    assert fpr.value == pytest.approx(f[np.searchsorted(t, 0.95)]) == 0.85  # type: ignore[attr-defined]
    note = auroc.note  # type: ignore[attr-defined]
    assert note is not None and "85% of the test-OOD pairs" in note, note
    assert "80 of 80 test and 34 of 40 OOD" in note, note
    note = fpr.note  # type: ignore[attr-defined]
    assert note is not None and "accepts 100% of the test set" in note, note


def test_scores_without_ties_get_no_tie_note() -> None:
    gen = np.random.default_rng(1)
    records = _records(gen.normal(1, 1, 80), gen.normal(0, 1, 40))
    for r in records.values():
        assert r.note is None or "tie" not in r.note, r.note  # type: ignore[attr-defined]
