"""Out-of-distribution detection: scores from logits and threshold-free detection metrics.

Convention (as in Liu et al. 2020, "Energy-based OOD detection"): in-distribution samples are the
positive class and every score is higher for samples that look in-distribution. `msp` is the
maximum softmax probability (Hendrycks & Gimpel 2017); `energy` is the negative free energy
``T * logsumexp(logits / T)`` (higher = more in-distribution). AUPR is therefore AUPR-In, and
FPR at 95% TPR is the fraction of OOD samples accepted at the largest threshold that keeps 95% of
in-distribution samples.
"""

from __future__ import annotations

import numpy as np
import torch

SCORES: tuple[str, ...] = ("msp", "energy")


def msp(logits: torch.Tensor) -> torch.Tensor:
    """Maximum softmax probability per row (float64)."""
    return torch.softmax(logits.double(), dim=1).max(dim=1).values


def energy(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Negative free energy ``T * logsumexp(logits / T)`` per row (float64; higher = more ID)."""
    return temperature * torch.logsumexp(logits.double() / temperature, dim=1)


def _labels_scores(scores_in: np.ndarray, scores_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s_in = np.asarray(scores_in, dtype=np.float64).ravel()
    s_out = np.asarray(scores_out, dtype=np.float64).ravel()
    if len(s_in) == 0 or len(s_out) == 0:
        raise ValueError("OOD metrics need at least one in-distribution and one OOD score")
    if not (np.isfinite(s_in).all() and np.isfinite(s_out).all()):
        raise ValueError("OOD scores must be finite")
    labels = np.concatenate([np.ones(len(s_in)), np.zeros(len(s_out))])
    return labels, np.concatenate([s_in, s_out])


def auroc(scores_in: np.ndarray, scores_out: np.ndarray) -> float:
    """Area under the ROC curve, ID positive: P(score_in > score_out) + 0.5 P(tie)."""
    labels, scores = _labels_scores(scores_in, scores_out)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties (1-based), as the Mann-Whitney U statistic needs
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    n_pos = labels.sum()
    n_neg = len(labels) - n_pos
    u = ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true and false positives at each distinct threshold, highest first."""
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each distinct score
    tps = np.cumsum(y)[last]
    fps = (1 + last) - tps
    return tps, fps


def aupr(scores_in: np.ndarray, scores_out: np.ndarray) -> float:
    """Average precision with ID positive (AUPR-In): sum over thresholds of dRecall * precision."""
    labels, scores = _labels_scores(scores_in, scores_out)
    tps, fps = _curve(labels, scores)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    d_recall = np.diff(np.r_[0.0, recall])
    return float((d_recall * precision).sum())


def fpr_at_tpr(scores_in: np.ndarray, scores_out: np.ndarray, tpr: float = 0.95) -> float:
    """FPR at the largest threshold whose true-positive rate (ID accepted) reaches `tpr`."""
    labels, scores = _labels_scores(scores_in, scores_out)
    tps, fps = _curve(labels, scores)
    rates = tps / tps[-1]
    i = int(np.searchsorted(rates, tpr - 1e-12, side="left"))
    n_neg = len(labels) - labels.sum()
    return float(fps[i] / n_neg)
