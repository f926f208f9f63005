"""OOD scores and detection metrics against sklearn and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from harness.suites.shift.ood import scores as ood


def _sk(s_in: np.ndarray, s_out: np.ndarray) -> tuple[float, float, float]:
    y = np.r_[np.ones(len(s_in)), np.zeros(len(s_out))]
    s = np.r_[s_in, s_out]
    fpr, tpr, _ = roc_curve(y, s)
    return roc_auc_score(y, s), average_precision_score(y, s), float(fpr[np.argmax(tpr >= 0.95)])


@pytest.mark.parametrize("seed", range(6))
def test_metrics_match_sklearn_including_ties(seed: int) -> None:
    gen = np.random.default_rng(seed)
    s_in = gen.normal(1.0, 1.0, 200 + seed)
    s_out = gen.normal(0.0, 1.0, 150)
    if seed % 2:  # coarse scores: many ties within and across the sets
        s_in, s_out = np.round(s_in, 1), np.round(s_out, 1)
    auroc, aupr, fpr = _sk(s_in, s_out)
    assert ood.auroc(s_in, s_out) == pytest.approx(auroc, abs=1e-12)
    assert ood.aupr(s_in, s_out) == pytest.approx(aupr, abs=1e-12)
    assert ood.fpr_at_tpr(s_in, s_out) == pytest.approx(fpr, abs=1e-12)


def test_hand_computed_case() -> None:
    s_in = np.array([0.9, 0.8, 0.4])
    s_out = np.array([0.7, 0.3])
    # pairs (in > out): 0.9>0.7,0.3; 0.8>0.7,0.3; 0.4>0.3 -> 5 of 6
    assert ood.auroc(s_in, s_out) == pytest.approx(5 / 6)
    # ranked: .9(in) .8(in) .7(out) .4(in) .3(out): precision at each ID hit 1, 1, 3/4
    assert ood.aupr(s_in, s_out) == pytest.approx((1 + 1 + 0.75) / 3)
    # 95% of ID accepted needs threshold 0.4, which accepts the OOD score 0.7: FPR 1/2
    assert ood.fpr_at_tpr(s_in, s_out) == pytest.approx(0.5)
    assert ood.auroc(s_out, s_in) == pytest.approx(1 / 6)  # swapping the sets flips AUROC


def test_scores_from_logits() -> None:
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert ood.msp(logits).tolist() == pytest.approx([np.exp(2) / (np.exp(2) + 2), 1 / 3])
    assert ood.energy(logits).tolist() == pytest.approx([np.log(np.exp(2) + 2), np.log(3)])
    assert ood.energy(logits, 2.0).tolist() == pytest.approx(
        [2 * np.log(np.exp(1) + 2), 2 * np.log(3)]
    )


def test_empty_or_nonfinite_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ood.auroc(np.array([]), np.array([1.0]))
    with pytest.raises(ValueError, match="finite"):
        ood.aupr(np.array([np.nan]), np.array([1.0]))
