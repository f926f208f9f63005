"""Intervals for means over classes: balanced accuracy (mean per-class recall) and macro-F1.

Both are means of K per-class rates, so their sampling noise comes mostly from the smallest
classes and they sit at 1 for a model that gets every sample right. A percentile bootstrap gives
[1, 1] there (every resample is perfect: 0.39 coverage at n=50, p=0.99, 10 classes). Here they get
Wilson's score interval at an effective sample size, as a proportion of n_eff independent trials:

- the stratified effective n, n_s = K^2 / sum_k 1/m_k over the K classes in the mean, with m_k the
  class's trials (its samples for balanced accuracy; the mean of its samples and its predictions
  for macro-F1). With equal recalls this is exactly the variance of the mean of K independent
  binomial rates, and it does not vanish when every sample is right: a balanced 50-sample,
  10-class subset that is all right gets [0.929, 1], as top-1 does;
- reduced, where that is wider, to Kish's n_eff = v(1 - v) / var from the linearised (delta-method)
  variance over the samples, computed on the confusion matrix smoothed as Wilson smooths a
  proportion (z^2/2 pseudo-hits and z^2/2 pseudo-errors per class, the errors spread over the other
  classes): uneven recalls, with the rare classes the worse ones, are noisier than n_s says;
- times Korn & Graubard's (z / t_df)^2 with a Welch-Satterthwaite df over the classes (few
  samples in the classes that carry the variance: a wider interval).

Macro-F1 follows scikit-learn's label set (classes with samples or predictions; the note names a
class with neither, which is left out). A class that is
predicted but has no samples scores F1 = 0 in the sample although its population F1 may be
anything: the upper bound allows 1 for each such class (1/K each) and the record says so.
Balanced accuracy averages the classes that have samples (scikit-learn's definition); a class
without samples has no recall and is named in the note. Coverage over n in {30, 50, 200, 1000},
accuracy 0.5-0.99, 2 and 10 classes, balanced and imbalanced: `benchmarks/interval_coverage.py
--class-means` (docs/statistics.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from harness.stats.intervals import ALPHA, wilson_ci, z_value

ClassMetric = Literal["balanced_acc", "macro_f1"]
CLASS_METRICS: tuple[ClassMetric, ...] = ("balanced_acc", "macro_f1")
METHOD = (
    "Wilson score interval at the stratified effective n over classes (reduced where the "
    "per-class variances say so, df-adjusted), 95%"
)


@dataclass(frozen=True, kw_only=True)
class ClassMean:
    """A mean over classes with its interval; `value` None (with the reason) when undefined."""

    value: float | None
    ci: tuple[float, float] | None
    n_eff: float | None  # the effective n of the Wilson interval
    classes: int  # classes in the mean
    note: str | None = None


def confusion_matrix(labels: ArrayLike, predictions: ArrayLike, num_classes: int) -> np.ndarray:
    """(K, K) counts, rows the labels and columns the predictions."""
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(predictions, dtype=np.int64)
    k = max(int(num_classes), int(y.max(initial=-1)) + 1, int(p.max(initial=-1)) + 1)
    return np.bincount(y * k + p, minlength=k * k).reshape(k, k).astype(np.float64)


def _present(c: np.ndarray, metric: ClassMetric) -> np.ndarray:
    rows = c.sum(axis=1)
    return rows > 0 if metric == "balanced_acc" else (rows + c.sum(axis=0)) > 0


def _rates(c: np.ndarray, metric: ClassMetric, present: np.ndarray) -> np.ndarray:
    """Each present class's recall (balanced accuracy) or F1 (macro-F1); 0 elsewhere."""
    tp = np.diagonal(c)
    trials = c.sum(axis=1) if metric == "balanced_acc" else c.sum(axis=1) + c.sum(axis=0)
    hits = tp if metric == "balanced_acc" else 2.0 * tp
    return np.divide(hits, trials, out=np.zeros(len(tp)), where=present & (trials > 0))


def _smoothed(c: np.ndarray, present: np.ndarray, z: float) -> np.ndarray:
    """The confusion matrix with z^2/2 pseudo-hits and z^2/2 pseudo-errors in each row that has
    samples, the errors spread evenly over the other classes of the mean (the next class when
    there is none), each row then scaled back to its samples: Wilson's smoothing of each class's
    rate, so the variance of a class that is all right is not 0."""
    k = len(c)
    rows = c.sum(axis=1) > 0
    half = z * z / 2.0
    out = c.copy()
    others = np.broadcast_to(present, (k, k)).copy()
    np.fill_diagonal(others, False)
    count = others.sum(axis=1)
    lonely = rows & (count == 0)
    others[lonely, (np.flatnonzero(lonely) + 1) % k] = True
    count = others.sum(axis=1)
    share = np.divide(half, count, out=np.zeros(k), where=rows & (count > 0))
    out += others * share[:, None]
    out[rows, rows] += half
    # back to each class's own number of samples: the pseudo-counts shape the rates, they are
    # not extra samples (they would shrink the variance by n / (n + z^2))
    totals = out.sum(axis=1)
    out *= np.divide(c.sum(axis=1), totals, out=np.zeros(k), where=totals > 0)[:, None]
    return out


def _influence(c: np.ndarray, metric: ClassMetric, present: np.ndarray) -> np.ndarray:
    """(K, K): the change of the mean per sample added to each cell (delta method, counts)."""
    k = len(c)
    kp = float(present.sum())
    rate = _rates(c, metric, present)
    if metric == "balanced_acc":
        trials = c.sum(axis=1)
        inv = np.divide(1.0, trials, out=np.zeros(k), where=present & (trials > 0))
        phi = (np.eye(k) - rate[:, None]) * inv[:, None]
        return phi / kp
    trials = c.sum(axis=1) + c.sum(axis=0)
    g = np.divide(1.0, trials, out=np.zeros(k), where=present & (trials > 0))
    fg = rate * g
    phi = 2.0 * np.diag(g) - fg[:, None] - fg[None, :]
    return phi / kp


def _variance(c: np.ndarray, phi: np.ndarray) -> tuple[float, np.ndarray]:
    """The multinomial delta-method variance sum_cells c (phi - mean)^2 and each row's part."""
    mean = float((c * phi).sum() / c.sum())
    per_row = (c * (phi - mean) ** 2).sum(axis=1)
    return float(per_row.sum()), per_row


def _df_factor(per_row: np.ndarray, samples: np.ndarray, alpha: float) -> float:
    """(z / t_df)^2 with the Welch-Satterthwaite df of the per-class variance parts."""
    from scipy import stats as scipy_stats  # here, not at start-up (stats/distributions.py)

    used = samples > 0
    denom = float(np.sum(per_row[used] ** 2 / np.maximum(samples[used] - 1.0, 1.0)))
    total = float(per_row[used].sum())
    if denom <= 0 or total <= 0:
        return 1.0
    df = max(1.0, total * total / denom)
    return (z_value(alpha) / float(scipy_stats.t.ppf(1.0 - alpha / 2.0, df))) ** 2


def _stratified_n(c: np.ndarray, metric: ClassMetric, present: np.ndarray) -> float:
    rows = c.sum(axis=1)
    trials = rows if metric == "balanced_acc" else (rows + c.sum(axis=0)) / 2.0
    kp = float(present.sum())
    return kp * kp / float(np.sum(1.0 / trials[present]))


def class_mean(c: np.ndarray, metric: ClassMetric, *, alpha: float = ALPHA) -> ClassMean:
    """Balanced accuracy or macro-F1 of the confusion matrix `c` with its interval (module
    docstring)."""
    present = _present(c, metric)
    kp = int(present.sum())
    if c.sum() <= 0 or kp == 0:
        return ClassMean(value=None, ci=None, n_eff=None, classes=0, note="undefined: no samples")
    value = float(_rates(c, metric, present)[present].mean())
    z = z_value(alpha)
    smooth = _smoothed(c, present, z)
    v = float(_rates(smooth, metric, present)[present].mean())
    var, per_row = _variance(smooth, _influence(smooth, metric, present))
    n_s = _stratified_n(c, metric, present)
    n_eff = min(n_s, v * (1.0 - v) / var) if var > 0 else n_s
    n_eff *= _df_factor(per_row, c.sum(axis=1), alpha)
    ci = wilson_ci(value * n_eff, n_eff, alpha=alpha)
    assert ci is not None
    note = _note(c, metric, present)
    if metric == "macro_f1":
        orphans = int((present & (c.sum(axis=1) == 0)).sum())
        ci = (ci[0], min(1.0, ci[1] + orphans / kp))
    return ClassMean(value=value, ci=ci, n_eff=n_eff, classes=kp, note=note)


def _note(c: np.ndarray, metric: ClassMetric, present: np.ndarray) -> str | None:
    """What the mean leaves out or cannot estimate, in words (None: nothing)."""
    k = len(c)
    rows = c.sum(axis=1)
    if metric == "balanced_acc":
        missing = np.flatnonzero(rows == 0)
        if not len(missing):
            return None
        return (
            f"over the {int(present.sum())} of {k} classes with samples; no recall for class(es) "
            + ", ".join(map(str, missing[:10]))
            + (" ..." if len(missing) > 10 else "")
        )
    parts: list[str] = []
    unseen = np.flatnonzero(~present)
    if len(unseen):  # scikit-learn's default label set; labels=range(k) would count them as 0
        parts.append(
            f"over the {int(present.sum())} of {k} classes with samples or predictions "
            "(scikit-learn's f1_score(average='macro') label set); class(es) "
            + ", ".join(map(str, unseen[:10]))
            + (" ..." if len(unseen) > 10 else "")
            + " have neither and are left out"
        )
    orphans = np.flatnonzero(present & (rows == 0))
    if len(orphans):
        parts.append(
            f"{len(orphans)} class(es) predicted but without samples ("
            + ", ".join(map(str, orphans[:10]))
            + (" ..." if len(orphans) > 10 else "")
            + "): F1 0 here, unknown in the population; the interval's upper end allows up to 1 "
            "for each"
        )
    return "; ".join(parts) if parts else None


def balanced_accuracy(
    labels: ArrayLike, predictions: ArrayLike, num_classes: int, *, alpha: float = ALPHA
) -> ClassMean:
    """Mean per-class recall over the classes with samples, with its interval."""
    return class_mean(
        confusion_matrix(labels, predictions, num_classes), "balanced_acc", alpha=alpha
    )


def macro_f1(
    labels: ArrayLike, predictions: ArrayLike, num_classes: int, *, alpha: float = ALPHA
) -> ClassMean:
    """Mean per-class F1 over classes with samples or predictions, with its interval."""
    return class_mean(confusion_matrix(labels, predictions, num_classes), "macro_f1", alpha=alpha)
