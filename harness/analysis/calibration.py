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


def ece(
    confidence: np.ndarray, correct: np.ndarray, idx: np.ndarray, n_bins: int = ECE_BINS
) -> np.ndarray:
    """Expected calibration error (top-label, equal-width bins) per resample."""
    bins = confidence_bins(confidence, n_bins)[idx]
    conf_sum = _per_row_bincount(bins, confidence[idx], n_bins)
    corr_sum = _per_row_bincount(bins, correct[idx].astype(np.float64), n_bins)
    return np.abs(corr_sum - conf_sum).sum(axis=1) / idx.shape[1]


def balanced_accuracy(
    labels: np.ndarray, correct: np.ndarray, idx: np.ndarray, k: int
) -> np.ndarray:
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


def reliability_diagram(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS
) -> list[dict[str, float | int | None]]:
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


def classification_stats(
    labels: np.ndarray,
    predictions: np.ndarray,
    confidence: np.ndarray,
    extras: dict[str, np.ndarray],
    idx: np.ndarray,
    k: int,
    n_bins: int = ECE_BINS,
) -> dict[str, np.ndarray]:
    """Every accuracy-suite statistic per resample row of `idx`, in one pass.

    Returns top1_acc, balanced_acc, macro_f1, ece and the mean of each `extras` column (nll,
    brier, top5_correct...), with the same definitions as the single-metric functions above.
    A resample is summarised by how often it drew each sample (one bincount per row, W of shape
    (r, n)); every count and sum the metrics need is then one matrix product W @ F, where F holds
    per-sample one-hot columns (confusion cell, ECE bin x correct, confidence per bin) and the
    extras. With many classes (k*k > 1024) the confusion cells are replaced by label, prediction
    and hit one-hots.
    """
    n = idx.shape[1]
    correct = labels == predictions
    rows = np.arange(n)
    small = k * k <= 1024
    bins = confidence_bins(confidence, n_bins)
    blocks: list[np.ndarray] = []
    if small:
        cells = np.zeros((n, k * k))
        cells[rows, labels * k + predictions] = 1.0
        blocks.append(cells)
    else:
        for codes, weights in ((labels, None), (predictions, None), (labels, correct)):
            onehot = np.zeros((n, k))
            onehot[rows, codes] = 1.0 if weights is None else weights
            blocks.append(onehot)
    ece_cols = np.zeros((n, 2 * n_bins))
    ece_cols[rows, bins] = confidence  # confidence sum per bin
    ece_cols[rows, n_bins + bins] = correct  # hits per bin
    blocks.append(ece_cols)
    names = list(extras)
    blocks.append(np.stack([extras[name] for name in names], axis=1) if names else np.zeros((n, 0)))
    features = np.concatenate(blocks, axis=1)
    counts = _per_row_bincount(idx, None, n)  # (r, n): how often each sample was drawn
    sums = counts @ features
    col = 0
    if small:
        confusion = sums[:, : k * k].reshape(-1, k, k)
        tp = np.diagonal(confusion, axis1=1, axis2=2)
        label_counts = confusion.sum(axis=2)
        pred_counts = confusion.sum(axis=1)
        col = k * k
    else:
        label_counts, pred_counts, tp = (sums[:, i * k : (i + 1) * k] for i in range(3))
        col = 3 * k
    conf_sum = sums[:, col : col + n_bins]
    hit_sum = sums[:, col + n_bins : col + 2 * n_bins]
    col += 2 * n_bins
    present = label_counts > 0.5
    recall = np.divide(tp, label_counts, out=np.zeros(tp.shape), where=present)
    denom = label_counts + pred_counts
    f1_present = denom > 0.5
    f1 = np.divide(2 * tp, denom, out=np.zeros(tp.shape), where=f1_present)
    out = {
        "top1_acc": hit_sum.sum(axis=1) / n,
        "balanced_acc": recall.sum(axis=1) / present.sum(axis=1),
        "macro_f1": f1.sum(axis=1) / f1_present.sum(axis=1),
        "ece": np.abs(hit_sum - conf_sum).sum(axis=1) / n,
    }
    for i, name in enumerate(names):
        out[name] = sums[:, col + i] / n
    return out
