"""Calibration and classification metrics on per-sample arrays, vectorised over bootstrap resamples.

Each function takes an index matrix `idx` of shape (R, n) (one row per resample; a single row of
`arange(n)` gives the point estimate) and returns R values, so point estimates and bootstrap
intervals share one implementation.
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15


def confidence_bins(confidence: np.ndarray, n_bins: int = ECE_BINS) -> np.ndarray:
    """Equal-width bins over (0, 1]: bin b holds confidences in (b/n_bins, (b+1)/n_bins]."""
    return np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)


def _per_row_bincount(keys: np.ndarray, weights: np.ndarray | None, size: int) -> np.ndarray:
    """bincount of `keys` (R, n) in [0, size) per row -> (R, size)."""
    r = keys.shape[0]
    offset = (np.arange(r, dtype=np.int64) * size)[:, None]
    flat = (keys + offset).ravel()
    w = None if weights is None else weights.ravel()
    return np.bincount(flat, weights=w, minlength=r * size).reshape(r, size)


def ece(confidence: np.ndarray, correct: np.ndarray, idx: np.ndarray, n_bins: int = ECE_BINS) -> np.ndarray:
    """Expected calibration error (top-label, equal-width bins) per resample."""
    bins = confidence_bins(confidence, n_bins)[idx]
    conf_sum = _per_row_bincount(bins, confidence[idx], n_bins)
    corr_sum = _per_row_bincount(bins, correct[idx].astype(np.float64), n_bins)
    return np.abs(corr_sum - conf_sum).sum(axis=1) / idx.shape[1]


def balanced_accuracy(labels: np.ndarray, correct: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """Mean per-class recall over the classes present in each resample (sklearn's definition)."""
    label_counts = _per_row_bincount(labels[idx], None, k)
    hit_counts = _per_row_bincount(labels[idx], correct[idx].astype(np.float64), k)
    present = label_counts > 0
    recall = np.divide(hit_counts, label_counts, out=np.zeros_like(hit_counts), where=present)
    return recall.sum(axis=1) / present.sum(axis=1)


def macro_f1(labels: np.ndarray, predictions: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """Macro F1 over classes present in labels or predictions (sklearn's default label set)."""
    correct = (labels == predictions).astype(np.float64)
    tp = _per_row_bincount(labels[idx], correct[idx], k)
    label_counts = _per_row_bincount(labels[idx], None, k)
    pred_counts = _per_row_bincount(predictions[idx], None, k)
    denom = label_counts + pred_counts
    present = denom > 0
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=present)
    return f1.sum(axis=1) / present.sum(axis=1)


def reliability_diagram(confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS) -> list[dict[str, float | int | None]]:
    """Per-bin count, mean confidence and accuracy (None for empty bins)."""
    bins = confidence_bins(confidence, n_bins)
    rows: list[dict[str, float | int | None]] = []
    for b in range(n_bins):
        mask = bins == b
        count = int(mask.sum())
        rows.append(
            {
                "bin_lower": b / n_bins,
                "bin_upper": (b + 1) / n_bins,
                "count": count,
                "mean_confidence": float(confidence[mask].mean()) if count else None,
                "accuracy": float(correct[mask].mean()) if count else None,
            }
        )
    return rows
