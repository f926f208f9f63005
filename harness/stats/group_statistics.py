"""Per-group statistics of one grouping, as arrays over all groups at once.

From a condition's per-sample columns (`Columns`) and each sample's group index (`codes`, G
groups): every group's successes and trials of each rate metric (`group_rates`: accuracy,
selection rate, TPR, FPR, clean accuracy), each group's own values (`point_values`: the numbers
fairlearn's `MetricFrame.by_group` gives, bit for bit), the same metrics on many bootstrap
resamples at once (`group_stats` from index rows drawn within groups by `stratified_indices`,
`counted_group_stats` from draw counts) and the disparities between the groups
(`disparity_values`). NaN where a metric is undefined; `harness.stats.groups` turns these into
a breakdown with intervals and notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.core.sample_table import numpy_column
from harness.core.seeding import rng
from harness.stats import tie_breaks
from harness.stats.calibration import confidence_bins, counted_sums
from harness.stats.group_intervals import Rate

CLEAN_CORRECT = "clean_correct"  # optional column: the same sample's correctness when clean
TIED = tie_breaks.COLUMN  # optional column: the argmax tie-break decides the row
CLEAN_TIED = "clean_label_tied"  # optional column: the same for the sample's clean row


class _RowKeys:
    """Keys (R, n) in [0, size), offset by row once, for the several bincounts of one matrix."""

    def __init__(self, keys: np.ndarray, size: int) -> None:
        self.rows, self.size = keys.shape[0], size
        self.flat = (keys + (np.arange(self.rows, dtype=np.int64) * size)[:, None]).ravel()

    def count(self, weights: np.ndarray | None) -> np.ndarray:
        """Per-row bincount, weighted by `weights` (R, n) -> (R, size) float64."""
        w = None if weights is None else weights.ravel().astype(np.float64)
        total = np.bincount(self.flat, weights=w, minlength=self.rows * self.size)
        return total.reshape(self.rows, self.size).astype(np.float64)


def stratified_indices(
    codes: np.ndarray, g: int, *, resamples: int, seed: int, name: str
) -> np.ndarray:
    """(resamples, n) bootstrap indices drawn within each group, so group sizes stay fixed.

    Resampling within groups keeps every non-empty group non-empty in every resample (the
    comparison is between the groups as observed); seeded by the run seed and `name`.
    """
    gen = rng(seed, "bootstrap", "groups", name, len(codes))
    parts = []
    for i in range(g):
        members = np.flatnonzero(codes == i)
        if len(members):
            parts.append(members[gen.integers(0, len(members), size=(resamples, len(members)))])
    return np.concatenate(parts, axis=1)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


@dataclass(frozen=True)
class Columns:
    """The per-sample arrays a breakdown needs."""

    label: np.ndarray
    prediction: np.ndarray
    correct: np.ndarray
    confidence: np.ndarray
    clean_correct: np.ndarray | None
    positive: int
    # rows whose label ties another class at the top (`label_tied`, harness.stats.tie_breaks),
    # and the same for the sample's clean row (`clean_label_tied`); None where not stored
    tied: np.ndarray | None = None
    clean_tied: np.ndarray | None = None

    @classmethod
    def of(cls, frame: pd.DataFrame, positive: int) -> Columns:
        def read(column: str, dtype: type) -> np.ndarray:
            """`frame[column].to_numpy(dtype)`, a numpy column's array read without a Series."""
            values = numpy_column(frame, column, dtype)
            return frame[column].to_numpy(dtype) if values is None else values

        clean = read(CLEAN_CORRECT, bool) if CLEAN_CORRECT in frame.columns else None

        def optional(column: str) -> np.ndarray | None:
            return read(column, bool) if column in frame.columns else None

        return cls(
            label=read("label", np.int64),
            prediction=read("prediction", np.int64),
            correct=read("correct", bool),
            confidence=read("confidence", np.float64),
            clean_correct=clean,
            positive=positive,
            tied=optional(TIED),
            clean_tied=optional(CLEAN_TIED) if clean is not None else None,
        )


def group_rates(c: Columns, codes: np.ndarray, g: int, binary: bool) -> dict[str, Rate]:
    """Successes and trials per group of every rate metric (accuracy, selection rate, TPR...)."""
    by_group = _RowKeys(codes[None, :], g)

    def count(mask: np.ndarray | None) -> np.ndarray:
        return by_group.count(None if mask is None else mask[None, :])[0]

    n = count(None)
    out = {"acc": Rate(count(c.correct), n)}
    if binary:
        pred_pos, true_pos = c.prediction == c.positive, c.label == c.positive
        positives = count(true_pos)
        out["selection_rate"] = Rate(count(pred_pos), n)
        out["tpr"] = Rate(count(pred_pos & true_pos), positives)
        out["fpr"] = Rate(count(pred_pos & ~true_pos), n - positives)
    if c.clean_correct is not None:
        out["clean_acc"] = Rate(count(c.clean_correct), n)
    return out


_BLOCK = 1 << 20
"""Index entries (resample rows x samples) per block of `group_stats`: its temporaries are a few
times the block's, not the whole index matrix's (2,000 resamples of 50,000 samples: 6.6 GB)."""


EVERY_STAT = frozenset({"acc", "ece", "rates", "clean"})
"""What `group_stats` computes: accuracy, ECE, the binary rates (selection rate, TPR, FPR) and
the clean accuracy with its drop."""

DISPARITY_STATS: dict[str, frozenset[str]] = {
    "worst_group_acc": frozenset({"acc"}),
    "group_acc_gap": frozenset({"acc"}),
    "group_ece_gap": frozenset({"ece"}),
    "demographic_parity_difference": frozenset({"rates"}),
    "demographic_parity_ratio": frozenset({"rates"}),
    "equalized_odds_difference": frozenset({"rates"}),
    "equalized_odds_ratio": frozenset({"rates"}),
    "equal_opportunity_difference": frozenset({"rates"}),
    "worst_group_acc_drop": frozenset({"acc", "clean"}),
    "group_acc_drop_gap": frozenset({"acc", "clean"}),
}
"""The parts of `group_stats` each disparity reads (`disparity_values`)."""


def group_stats(
    c: Columns,
    codes: np.ndarray,
    g: int,
    idx: np.ndarray,
    binary: bool,
    bins: int,
    parts: frozenset[str] = EVERY_STAT,
) -> dict[str, np.ndarray]:
    """Per-group metrics for each resample row of `idx`: name -> (R, G) (NaN where undefined);
    only the `parts` asked for (`EVERY_STAT`; one disparity's resamples need one or two:
    `DISPARITY_STATS`, and ECE's bins cost more than accuracy's counts).

    Rows are taken in blocks of about `_BLOCK` entries; each row's numbers are computed from its
    own entries alone, in the same order, so they are the same bit for bit."""
    rows = max(1, _BLOCK // max(1, idx.shape[1]))
    if idx.shape[0] <= rows:
        return _group_stats(c, codes, g, idx, binary, bins, parts)
    blocks = [
        _group_stats(c, codes, g, idx[start : start + rows], binary, bins, parts)
        for start in range(0, idx.shape[0], rows)
    ]
    return {name: np.concatenate([block[name] for block in blocks]) for name in blocks[0]}


def _group_stats(
    c: Columns,
    codes: np.ndarray,
    g: int,
    idx: np.ndarray,
    binary: bool,
    bins: int,
    parts: frozenset[str],
) -> dict[str, np.ndarray]:
    keys = codes[idx]
    by_group = _RowKeys(keys, g)
    cnt = by_group.count(None)
    out = {"n": cnt}
    if parts & {"acc", "clean"}:
        out["acc"] = _ratio(by_group.count(c.correct[idx]), cnt)
    if "ece" in parts:
        conf_bin = confidence_bins(c.confidence, bins)[idx]
        by_bin = _RowKeys(keys * bins + conf_bin, g * bins)
        conf_sum = by_bin.count(c.confidence[idx]).reshape(-1, g, bins)
        corr_sum = by_bin.count(c.correct[idx]).reshape(-1, g, bins)
        out["ece"] = _ratio(np.abs(corr_sum - conf_sum).sum(axis=2), cnt)
    if binary and "rates" in parts:
        pred_pos = c.prediction == c.positive
        true_pos = c.label == c.positive
        pos = by_group.count(true_pos[idx])
        out["selection_rate"] = _ratio(by_group.count(pred_pos[idx]), cnt)
        out["tpr"] = _ratio(by_group.count((pred_pos & true_pos)[idx]), pos)
        out["fpr"] = _ratio(by_group.count((pred_pos & ~true_pos)[idx]), cnt - pos)
    if c.clean_correct is not None and "clean" in parts:
        out["clean_acc"] = _ratio(by_group.count(c.clean_correct[idx]), cnt)
        out["acc_drop"] = out["clean_acc"] - out["acc"]
    return out


def _nanmax(values: np.ndarray) -> np.ndarray:
    """Each row's `np.nanmax` (NaN for a row of NaN), without its warning: the reduction
    numpy's own runs for a float array."""
    return np.asarray(np.fmax.reduce(values, axis=1))


def _nanmin(values: np.ndarray) -> np.ndarray:
    """Each row's `np.nanmin` (NaN for a row of NaN), as `_nanmax`."""
    return np.asarray(np.fmin.reduce(values, axis=1))


def _spread(values: np.ndarray, active: np.ndarray) -> dict[str, np.ndarray]:
    """max - min, min / max, min and max over the active groups of each row; NaN when undefined.

    Undefined when fewer than two groups are active or any active group's value is undefined:
    a disparity that skipped such a group would claim a fairness nobody measured.
    """
    masked = np.where(active, values, np.nan)
    bad = (active & np.isnan(values)).any(axis=1) | (active.sum(axis=1) < 2)
    hi, lo = _nanmax(masked), _nanmin(masked)
    hi[bad] = np.nan
    lo[bad] = np.nan
    ratio = np.divide(lo, hi, out=np.full_like(lo, np.nan), where=hi > 0)
    return {"diff": hi - lo, "ratio": ratio, "min": lo, "max": hi}


def disparity_values(stats: dict[str, np.ndarray], binary: bool) -> dict[str, np.ndarray]:
    """Disparity metrics per row: name -> (R,)."""
    active = stats["n"] > 0
    out: dict[str, np.ndarray] = {}
    if "acc" in stats:
        acc = _spread(stats["acc"], active)
        # worst group needs only one non-empty group
        worst = _nanmin(np.where(active, stats["acc"], np.nan))
        out = {"worst_group_acc": worst, "group_acc_gap": acc["diff"]}
    if "ece" in stats:
        out["group_ece_gap"] = _spread(stats["ece"], active)["diff"]
    if binary and "selection_rate" in stats:
        sel = _spread(stats["selection_rate"], active)
        tpr = _spread(stats["tpr"], active)
        fpr = _spread(stats["fpr"], active)
        out["demographic_parity_difference"] = sel["diff"]
        out["demographic_parity_ratio"] = sel["ratio"]
        out["equalized_odds_difference"] = np.fmax(tpr["diff"], fpr["diff"])
        out["equalized_odds_difference"][np.isnan(tpr["diff"]) | np.isnan(fpr["diff"])] = np.nan
        out["equalized_odds_ratio"] = np.fmin(tpr["ratio"], fpr["ratio"])
        out["equalized_odds_ratio"][np.isnan(tpr["ratio"]) | np.isnan(fpr["ratio"])] = np.nan
        out["equal_opportunity_difference"] = tpr["diff"]
    if "acc_drop" in stats:
        drop = _spread(stats["acc_drop"], active)
        out["worst_group_acc_drop"] = _nanmax(np.where(active, stats["acc_drop"], np.nan))
        out["group_acc_drop_gap"] = drop["diff"]
    return out


def point_values(
    c: Columns, codes: np.ndarray, g: int, binary: bool, bins: int
) -> dict[str, np.ndarray]:
    """Each group's metrics on its own samples: name -> (1, G); NaN where undefined (every
    metric of an empty group, a TPR without positives, an FPR without negatives) and n = 0 for
    an empty group. The numbers fairlearn's `MetricFrame.by_group` gives for these metrics
    (n, accuracy, ECE, selection rate, TPR, FPR, clean accuracy, their drop), bit for bit
    (tests/analysis/test_groups.py compares them): rates are counts over counts, and a group's
    ECE sums (correct - confidence) per bin in the order of its samples, as fairlearn's call on
    the group's rows does."""

    def count(mask: np.ndarray | None = None) -> np.ndarray:
        weights = None if mask is None else mask.astype(np.float64)
        return np.bincount(codes, weights=weights, minlength=g).astype(np.float64)

    n = count()
    present = n > 0

    def ratio(num: np.ndarray, den: np.ndarray, defined: np.ndarray) -> np.ndarray:
        ok = defined & (den > 0)
        return np.divide(num, den, out=np.full(g, np.nan), where=ok)

    hit = c.correct.astype(np.float64)
    gaps = np.bincount(
        codes * bins + confidence_bins(c.confidence, bins),
        weights=hit - c.confidence,
        minlength=g * bins,
    ).reshape(g, bins)
    # each group's row of bins summed on its own (one contiguous row: the sum of the group's
    # own slice, bit for bit), over its size
    ece = np.divide(np.abs(gaps).sum(axis=1), n, out=np.full(g, np.nan), where=present)
    out = {"n": n, "acc": ratio(count(c.correct), n, present), "ece": ece}
    if binary:
        pred_pos, true_pos = c.prediction == c.positive, c.label == c.positive
        positives = count(true_pos)
        out["selection_rate"] = ratio(count(pred_pos), n, present)
        out["tpr"] = ratio(count(pred_pos & true_pos), positives, present)
        out["fpr"] = ratio(count(pred_pos & ~true_pos), n - positives, present)
    if c.clean_correct is not None:
        out["clean_acc"] = ratio(count(c.clean_correct), n, present)
        out["acc_drop"] = out["clean_acc"] - out["acc"]
    return {k: v[None, :] for k, v in out.items()}


def counted_group_stats(
    c: Columns, codes: np.ndarray, g: int, counts_t: np.ndarray, bins: int
) -> dict[str, np.ndarray]:
    """`group_stats`' bootstrapped metrics (ECE, and the accuracy drop when the table has the
    clean outcomes) from the draw counts of resamples drawn within groups
    (`stratified_indices`, `calibration.resample_counts`, sample i on row i): (R, G) each.
    Counts are exact either way; a group's ECE sums its confidences sample by sample
    (count x value) instead of draw by draw, so it can differ from `group_stats` in the last
    bits."""
    rows = np.arange(len(codes))
    keys = codes * bins + confidence_bins(c.confidence, bins)
    hit = c.correct.astype(np.float64)
    corr, conf = counted_sums(keys, [hit, c.confidence], g * bins, counts_t, rows)
    # drawn within groups: every resample holds each group's size
    sizes = np.bincount(codes, minlength=g).astype(np.float64)
    per_group = np.broadcast_to(sizes, (counts_t.shape[1], g))
    gaps = np.abs(corr.reshape(-1, g, bins) - conf.reshape(-1, g, bins)).sum(axis=2)
    out = {"ece": _ratio(gaps, per_group)}
    if c.clean_correct is not None:
        clean, right = counted_sums(
            codes, [c.clean_correct.astype(np.float64), hit], g, counts_t, rows
        )
        out["acc_drop"] = _ratio(clean, per_group) - _ratio(right, per_group)
    return out
