"""Out-of-distribution detection metrics and their intervals, on plain score arrays (no torch).

Convention (as in Liu et al. 2020): in-distribution (ID) samples are the positive class and every
score is higher for samples that look in-distribution. AUPR is AUPR-In; FPR at 95% TPR is the
fraction of OOD samples accepted at the largest threshold that keeps 95% of ID samples.

Intervals (95%, checked for coverage by seeded simulation in tests/analysis):
- AUROC: the hull of DeLong's interval of the Mann-Whitney statistic on the logit scale (Student
  t, rare-event degrees of freedom) and the Hanley-McNeil score interval (Newcombe 2006); the
  score interval alone when the AUROC is exactly 0 or 1.
- AUPR: the two-sample jackknife variance (exact leave-one-out values in O(N log N)) on the logit
  scale, with a Student t quantile: m - 1 degrees of freedom for the ID set, those of a rare-event
  count for the OOD set (from the kurtosis of its leave-one-out values), Welch-Satterthwaite.
  When the ranking is perfect, or every sample has the same influence (the two sets perfectly
  separated the wrong way, or tied within each set: the jackknife then has no spread and would
  give a zero-width interval), the Wilson interval of AUPR x m successes in m instead. The
  interval also spans the same interval around the jackknife bias-corrected AUPR (the hull of
  the two), which keeps a detector worse than chance covered.
- FPR at 95% TPR: the Wilson interval of the OOD acceptance rate, with its binomial variance
  inflated by the variance the estimated threshold adds (from the exact binomial interval of the
  threshold's rank among the ID scores): a design effect, so the interval neither collapses at 0
  nor ignores the threshold.

The `*_batch` functions compute a statistic for every row of resampled score matrices; the
paired tests of the gate use them (harness.analysis.paired_tests).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import TypeGuard

import numpy as np

from harness.stats.intervals import ALPHA, DEFAULT_RESAMPLES, wilson_bounds, z_value

TPR_LEVEL = 0.95
AUROC_METHOD = (
    "hull of DeLong's logit-scale interval (Student t, rare-event df) and the Hanley-McNeil "
    "score interval, 95%"
)
AUPR_METHOD = (
    "two-sample jackknife on the logit scale, Student t (rare-event df), spanning the "
    "bias-corrected AUPR (Wilson interval over the ID samples when the ranking is perfect or the "
    "jackknife has no spread), 95%"
)
FPR_METHOD = (
    "Wilson interval of the OOD acceptance rate with the threshold's design effect (exact "
    "binomial ranks of the ID quantile), 95%"
)
AUPR_OUT_METHOD = AUPR_METHOD.replace("over the ID samples", "over the OOD samples")
MEAN_AUROC_METHOD = (
    "hull of DeLong's logit-scale interval of the mean AUROC over the sets (the ID placements "
    "shared; Student t, rare-event df) and the Hanley-McNeil score interval, 95%"
)
METHODS = {
    "ood_auroc": AUROC_METHOD,
    "ood_aupr": AUPR_METHOD,
    "ood_aupr_out": AUPR_OUT_METHOD,
    "ood_fpr_at_95_tpr": FPR_METHOD,
}


def holds_chance(ci: tuple[float, float] | None) -> TypeGuard[tuple[float, float]]:
    """Whether an AUROC's interval holds 0.5: one under 0.5 is then at chance (the score cannot
    tell the OOD set from the test set), not below it (ranking the wrong way round)."""
    return ci is not None and ci[0] <= 0.5 <= ci[1]


def cluster_codes(keys: Sequence[Hashable]) -> np.ndarray:
    """Integer codes of a set's clusters (equal keys, equal codes: the copies of one input)."""
    index: dict[Hashable, int] = {}
    return np.asarray([index.setdefault(k, len(index)) for k in keys], dtype=np.int64)


def kish_size(codes: np.ndarray) -> float:
    """Kish's effective size n^2 / sum(c_i^2) of a set whose cluster i holds c_i samples."""
    counts = np.bincount(codes).astype(np.float64)
    return float(len(codes)) ** 2 / float((counts**2).sum())


def _cluster_totals(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Each cluster's sum of the values' deviations from their mean (a cluster's influence)."""
    return np.bincount(codes, weights=values - values.mean())


def _clustered_variance(values: np.ndarray, codes: np.ndarray) -> float:
    """The cluster-robust variance of the mean of `values` over K clusters,
    K / (K - 1) * sum_c (sum_{i in c} (v_i - mean))^2 / n^2 (Obuchowski 1997): with every
    cluster a single sample, var(values, ddof=1) / n."""
    totals = _cluster_totals(values, codes)
    k, n = len(totals), len(values)
    return k / (k - 1) * float((totals**2).sum()) / (n * n)


def _clustered_jackknife(leave_out: np.ndarray, codes: np.ndarray) -> float:
    """The jackknife variance over clusters, linearised: each cluster's influence the sum of its
    samples' leave-one-out influences, (n - 1)^2 / n^2 * K / (K - 1) * sum_c (sum_{i in c}
    (theta_(i) - mean))^2; with every cluster a single sample, `_jackknife_variance`."""
    totals = _cluster_totals(leave_out, codes)
    k, n = len(totals), len(leave_out)
    return (n - 1) ** 2 / (n * n) * k / (k - 1) * float((totals**2).sum())


def scores(scores_in: np.ndarray, scores_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both score sets as finite float64 vectors; an empty set or a NaN is a ValueError."""
    s_in = np.asarray(scores_in, dtype=np.float64).ravel()
    s_out = np.asarray(scores_out, dtype=np.float64).ravel()
    if len(s_in) == 0 or len(s_out) == 0:
        raise ValueError("OOD metrics need at least one in-distribution and one OOD score")
    if not (np.isfinite(s_in).all() and np.isfinite(s_out).all()):
        raise ValueError("OOD scores must be finite")
    return s_in, s_out


def placements(s_in: np.ndarray, s_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's placement values: per ID sample the share of OOD scores below it (ties half),
    per OOD sample the share of ID scores above it (ties half). Their means are the AUROC."""
    sorted_out, sorted_in = np.sort(s_out), np.sort(s_in)
    below = np.searchsorted(sorted_out, s_in, side="left")
    tie_out = np.searchsorted(sorted_out, s_in, side="right") - below
    v10 = (below + 0.5 * tie_out) / len(s_out)
    above = len(s_in) - np.searchsorted(sorted_in, s_out, side="right")
    tie_in = np.searchsorted(sorted_in, s_out, side="right") - np.searchsorted(
        sorted_in, s_out, side="left"
    )
    v01 = (above + 0.5 * tie_in) / len(s_in)
    return v10, v01


def auroc(scores_in: np.ndarray, scores_out: np.ndarray) -> float:
    """Area under the ROC curve, ID positive: P(score_in > score_out) + 0.5 P(tie)."""
    s_in, s_out = scores(scores_in, scores_out)
    return float(placements(s_in, s_out)[0].mean())


def _curve(labels: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true and false positives at each distinct threshold, highest first."""
    order = np.argsort(-values, kind="mergesort")
    s, y = values[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each distinct score
    tps = np.cumsum(y)[last]
    fps = (1 + last) - tps
    return tps, fps


def aupr(scores_in: np.ndarray, scores_out: np.ndarray) -> float:
    """Average precision with ID positive (AUPR-In): sum over thresholds of dRecall * precision."""
    s_in, s_out = scores(scores_in, scores_out)
    labels = np.concatenate([np.ones(len(s_in)), np.zeros(len(s_out))])
    tps, fps = _curve(labels, np.concatenate([s_in, s_out]))
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    d_recall = np.diff(np.r_[0.0, recall])
    return float((d_recall * precision).sum())


def aupr_out(scores_in: np.ndarray, scores_out: np.ndarray) -> float:
    """Average precision with OOD positive (AUPR-Out): AUPR-In of the negated scores, sets
    swapped."""
    s_in, s_out = scores(scores_in, scores_out)
    return aupr(-s_out, -s_in)


def _rank_needed(m: int, tpr: float) -> int:
    """How many ID samples the threshold must accept to reach `tpr` (at least one)."""
    return max(1, math.ceil(m * (tpr - 1e-12)))


def fpr_at_tpr(scores_in: np.ndarray, scores_out: np.ndarray, tpr: float = TPR_LEVEL) -> float:
    """FPR at the largest threshold whose true-positive rate (ID accepted) reaches `tpr`."""
    s_in, s_out = scores(scores_in, scores_out)
    threshold = np.sort(s_in)[::-1][_rank_needed(len(s_in), tpr) - 1]
    return float(np.mean(s_out >= threshold))


# ----------------------------------------------------------------- statistics over resamples
_COUNT_CELLS = 1 << 23
"""Largest resamples x score levels for which `auroc_batch` counts levels instead of ranking."""


def score_levels(values: np.ndarray) -> np.ndarray:
    """Dense integer codes of scores (0 for the lowest distinct value, equal scores equal codes):
    every detection metric here depends on the scores' order only, so the `*_batch` functions
    give the same numbers on the codes, through faster integer paths."""
    return np.unique(values, return_inverse=True)[1].reshape(np.shape(values)).astype(np.int64)


def _levels(s_in: np.ndarray, s_out: np.ndarray) -> int | None:
    """How many integer levels the codes span, or None for scores that are not small codes."""
    if not (np.issubdtype(s_in.dtype, np.integer) and np.issubdtype(s_out.dtype, np.integer)):
        return None
    if s_in.size == 0 or s_out.size == 0 or min(s_in.min(), s_out.min()) < 0:
        return None
    return int(max(s_in.max(), s_out.max())) + 1


def auroc_batch(s_in: np.ndarray, s_out: np.ndarray) -> np.ndarray:
    """AUROC of every row of (R, m) ID and (R, n) OOD score matrices.

    On integer codes (`score_levels`) it counts each row's scores per level and sums the
    Mann-Whitney pairs directly (`_twice_u`); otherwise it ranks. Both sums are exact (integers
    and halves), so both give the same float64 result."""
    from scipy import stats as scipy_stats  # here, not at start-up (stats/distributions.py)

    r, m = s_in.shape
    n = s_out.shape[1]
    levels = _levels(s_in, s_out)
    if levels is not None and r * levels <= _COUNT_CELLS:
        first = (np.arange(r, dtype=np.int64) * levels)[:, None]
        size = r * levels
        h_in = np.bincount((s_in + first).ravel(), minlength=size).reshape(r, levels)
        h_out = np.bincount((s_out + first).ravel(), minlength=size).reshape(r, levels)
        return np.asarray(_twice_u(h_in, h_out) / 2.0 / (m * n), dtype=np.float64)
    both = np.concatenate([s_in, s_out], axis=1)
    ranks = scipy_stats.rankdata(both, axis=1)
    u = ranks[:, :m].sum(axis=1) - m * (m + 1) / 2.0
    return np.asarray(u / (m * n), dtype=np.float64)


def _twice_u(h_in: np.ndarray, h_out: np.ndarray) -> np.ndarray:
    """Twice each row's Mann-Whitney U from its (R, levels) ID and OOD counts per level,
    sum(h_in x (2 x OOD below + OOD at the level)), in int64 and in place: exact, so U / (m n)
    is the float64 of the sum of h_in x (below + 0.5 h_out) in floats (every partial sum of
    those halves is exact below 2**52), with a third of the passes over the counts."""
    twice = np.cumsum(h_out, axis=1)  # OOD at or under each level
    twice *= 2
    twice -= h_out
    twice *= h_in
    return np.asarray(twice.sum(axis=1), dtype=np.int64)


def aupr_batch(s_in: np.ndarray, s_out: np.ndarray) -> np.ndarray:
    """AUPR-In of every row, ties handled as in `aupr` (one step per distinct score).

    On integer codes (`score_levels`) of fewer than 2**15 levels each row is sorted as 16-bit
    keys (level and label in one key: a radix sort) instead of an argsort of the scores; the
    order within a level differs, which changes no step (a step is taken at a level's end).
    Both paths sum the same per-position gains in the same order, so they give the same float64.
    """
    r, m = s_in.shape
    levels = _levels(s_in, s_out)
    if levels is not None and levels <= 1 << 15:
        return _coded_aupr(s_in, s_out, levels)
    both = np.concatenate([s_in, s_out], axis=1)
    labels = np.concatenate([np.ones((r, m)), np.zeros(s_out.shape)], axis=1)
    order = np.argsort(-both, axis=1, kind="stable")
    s = np.take_along_axis(both, order, axis=1)
    y = np.take_along_axis(labels, order, axis=1)
    tp = np.cumsum(y, axis=1)
    seen = np.arange(1, s.shape[1] + 1)
    last = np.ones(s.shape, dtype=bool)
    last[:, :-1] = s[:, :-1] != s[:, 1:]
    ends = np.where(last, tp, 0.0)
    before = np.maximum.accumulate(np.concatenate([np.zeros((r, 1)), ends[:, :-1]], axis=1), axis=1)
    gain = np.where(last, (tp - before) * tp / seen, 0.0)
    return np.asarray(gain.sum(axis=1) / m, dtype=np.float64)


def _coded_aupr(s_in: np.ndarray, s_out: np.ndarray, levels: int) -> np.ndarray:
    """`aupr_batch` on integer codes below 2**15 levels: the rows' keys (`aupr_keys`) built in
    place, then `keyed_aupr`."""
    r, m = s_in.shape
    keys = np.empty((r, m + s_out.shape[1]), dtype=np.uint16)
    top = 2 * (levels - 1)
    np.subtract(top, 2 * s_in, out=keys[:, :m], casting="unsafe")
    np.subtract(top + 1, 2 * s_out, out=keys[:, m:], casting="unsafe")
    return keyed_aupr(keys, m)


def _simd_sort() -> bool:
    """Whether numpy 2 may sort 32-bit integers with SIMD instructions here (AVX2 or AVX-512 on
    x86-64, ASIMD on AArch64): with AVX2, 2x faster than the radix sort of 16-bit keys (4.5
    against 8.9 ms for 2,000 rows of 600 keys). Either choice gives the same numbers."""
    import importlib

    try:  # numpy's own record of the CPU's features (numpy 2; none in its stubs)
        umath = importlib.import_module("numpy._core._multiarray_umath")
    except ImportError:  # numpy 1.x: SIMD sorts with AVX-512 only
        return False
    features = getattr(umath, "__cpu_features__", {})
    return any(features.get(f) for f in ("AVX2", "AVX512_SKX", "ASIMD"))


SIMD_SORT = _simd_sort()
SIMD_CELLS = 1 << 24
"""Keys up to this many (64 MiB as int32) are sorted as int32 where `SIMD_SORT`; more are
sorted in place as 16-bit keys (no copy twice their size: 2,000 resamples of 300,000 samples
are 1.2 GB of 16-bit keys)."""


def _sorted_keys(keys: np.ndarray) -> np.ndarray:
    """Each row of `keys` sorted: a sorted row is the same values whatever the sort (equal keys
    are equal values), so the AUPR is the same either way; as int32 by numpy's SIMD sort where
    it has one and the copy is small (`SIMD_CELLS`), else the 16-bit keys in place (radix)."""
    if SIMD_SORT and keys.size <= SIMD_CELLS:
        out = keys.astype(np.int32)
        out.sort(axis=1)
        return out
    keys.sort(axis=1, kind="stable")
    return keys


def aupr_keys(codes: np.ndarray, positive: np.ndarray) -> np.ndarray | None:
    """16-bit sort keys of integer score codes (`score_levels`) for `keyed_aupr`: descending
    code with the label in the low bit (0 for a positive: ranked first within its level), or
    None for codes that are negative or span more than 2**15 levels. Keys of a resample are
    these keys at its positions; any common offset gives the same AUPR."""
    if codes.size == 0 or codes.min() < 0 or codes.max() >= 1 << 15:
        return None
    top = int(codes.max())
    return np.asarray(2 * (top - codes) + np.logical_not(positive), dtype=np.uint16)


def keyed_aupr(keys: np.ndarray, positives: int) -> np.ndarray:
    """AUPR of every row of (R, N) sort keys (`aupr_keys`; sorted in place: the caller's
    scratch) with `positives` positives per row, ties handled as in `aupr`.

    Each row of keys is sorted (`_sorted_keys`: by numpy's SIMD sort of their int32 copy or
    their radix sort, the same sorted values; the order within a level differs from a sort of
    the scores, which changes no step: a step is taken at a level's end), and the gain
    of each level's end (positives of the level x positives so far / samples so far) computed
    at the ends only, in integers up to the one division. The gains are placed at their
    positions in a row of zeros and summed as the float path of `aupr_batch` sums its row, so
    the result is that path's float64.

    A level without positives gains 0, the zero its row holds there already, and adds no
    positives: only the levels with positives are visited (`_level_ends`)."""
    r, width = keys.shape
    keys = _sorted_keys(keys)
    at, level_tp, tp_end, per_row = _level_ends(keys)
    np.multiply(level_tp, tp_end, out=level_tp)
    seen = np.repeat(np.arange(0, r * width, width), per_row)  # each end's row start...
    np.subtract(at, seen, out=seen)
    seen += 1  # ...and its 1-based position in its row
    gains = level_tp.astype(np.float64)
    np.divide(gains, seen, out=gains)
    gain = np.zeros(r * width)
    np.put(gain, at, gains)
    return np.asarray(gain.reshape(r, width).sum(axis=1) / positives, dtype=np.float64)


def _level_ends(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For sorted rows of keys: the flat (row-major) position of the end of each level with
    positives, its positives and the positives up to it in its row (int64), and how many such
    ends each row has.

    Where no level holds a positive and a negative key (no score shared by an ID and an OOD
    sample: the usual case of float scores) such a level is the run of one positive key: its
    positives are the run's length and the positives up to it a sum of the row's run lengths,
    without a pass over every position. Otherwise the positives are counted at every position
    and the levels without positives left out after."""
    r, width = keys.shape
    positive = (keys & 1) == 0
    last = np.empty(keys.shape, dtype=bool)  # the last position of each key's run in its row
    last[:, -1] = True
    np.not_equal(keys[:, :-1], keys[:, 1:], out=last[:, :-1])
    first = np.empty(keys.shape, dtype=bool)  # and the first
    first[:, 0] = True
    first[:, 1:] = last[:, :-1]
    last &= positive
    at = np.flatnonzero(last)
    flat = keys.ravel()
    # a positive key's run followed by its level's negative key (the next row's first key may
    # pass for one: then the counting path, which gives the same numbers, is taken too)
    if len(at) and (np.take(flat, at + 1, mode="clip") == np.take(flat, at) + 1).any():
        return _counted_level_ends(keys, positive)
    per_row = last.sum(axis=1)
    first &= positive
    level_tp = at - np.flatnonzero(first) + 1  # each positive run's length
    tp_end = np.cumsum(level_tp)
    starts = (np.cumsum(per_row) - per_row)[per_row > 0]  # each row's first end
    before = np.zeros(r, dtype=np.int64)  # the positives of the rows before each row
    before[per_row > 0] = tp_end[starts] - level_tp[starts]
    tp_end -= np.repeat(before, per_row)
    return at, level_tp, tp_end, per_row


def _counted_level_ends(
    keys: np.ndarray, positive: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`_level_ends` of rows whose levels may hold both labels: the positives up to each
    position counted, read at every level's end, and the ends without positives dropped."""
    tp = np.cumsum(positive, axis=1, dtype=np.int32)  # positives up to each position
    level = keys >> 1
    last = np.empty(keys.shape, dtype=bool)  # the last position of each level in its row
    last[:, -1] = True
    np.not_equal(level[:, :-1], level[:, 1:], out=last[:, :-1])
    at = np.flatnonzero(last)  # row-major: each row's level ends in order
    tp_end = np.take(tp.ravel(), at).astype(np.int64)
    per_row = last.sum(axis=1)
    # positives of each level: tp_end less the previous level's end's (none in a new row),
    # times tp_end in int64 (in int32 a level of 46,341 positives or more wrapped around)
    level_tp = np.empty(tp_end.shape, dtype=np.int64)
    level_tp[0] = tp_end[0]
    np.subtract(tp_end[1:], tp_end[:-1], out=level_tp[1:])
    starts = np.cumsum(per_row) - per_row
    level_tp[starts] = tp_end[starts]
    gaining = level_tp > 0
    rows = np.repeat(np.arange(len(per_row)), per_row)[gaining]
    per_row = np.bincount(rows, minlength=len(per_row))
    return at[gaining], level_tp[gaining], tp_end[gaining], per_row


def fpr_batch(s_in: np.ndarray, s_out: np.ndarray, tpr: float = TPR_LEVEL) -> np.ndarray:
    """FPR at `tpr` of every row."""
    k = _rank_needed(s_in.shape[1], tpr)
    threshold = -np.partition(-s_in, k - 1, axis=1)[:, k - 1]
    return np.asarray((s_out >= threshold[:, None]).mean(axis=1), dtype=np.float64)


def aupr_out_batch(s_in: np.ndarray, s_out: np.ndarray) -> np.ndarray:
    """AUPR-Out of every row: AUPR-In of the reversed order, sets swapped (integer codes stay
    non-negative codes)."""
    if _levels(s_in, s_out) is not None:
        top = int(max(s_in.max(), s_out.max()))
        return aupr_batch(top - s_out, top - s_in)
    return aupr_batch(-s_out, -s_in)


OOD_INPUT = "ood_input"
"""Sample-table column of the rows of an OOD set whose inputs repeat (`repeated_note` in the
shift suite): each row's input, an integer code equal for the copies of one input (absent, or
missing, for a set without copies). Paired tests on such a set work over its distinct inputs."""

OOD_TAG = "ood_tag"
"""Sample-table column of OOD rows: their set's tag (`near`, `far`, or empty for an untagged
set); the means over a tag (condition `MEAN_PREFIX` + tag) are paired through it."""

MEAN_PREFIX = "ood_mean="

BATCH = {
    "ood_auroc": auroc_batch,
    "ood_aupr": aupr_batch,
    "ood_aupr_out": aupr_out_batch,
    "ood_fpr_at_95_tpr": fpr_batch,
}


# ----------------------------------------------------------------------------- intervals
def _logit_interval(value: float, variance: float, quantile: float) -> tuple[float, float]:
    """value +- quantile * sd on the logit scale (delta method), mapped back into (0, 1)."""
    centre = math.log(value / (1.0 - value))
    half = quantile * math.sqrt(variance) / (value * (1.0 - value))
    return 1.0 / (1.0 + math.exp(-(centre - half))), 1.0 / (1.0 + math.exp(-(centre + half)))


def _hanley_mcneil_variance(theta: float, m: int, n: float) -> float:
    """Variance of the AUROC at `theta` under Hanley & McNeil's exponential approximation, with
    Newcombe's (2006) N* = (m + n) / 2 - 1 for both sample sizes."""
    big = (m + n) / 2.0 - 1.0
    return (
        theta
        * (1 - theta)
        * (1 + big * (1 - theta) / (2 - theta) + big * theta / (1 + theta))
        / (m * n)
    )


def _score_interval(
    value: float, m: int, ns: list[float], set_values: list[float], alpha: float
) -> tuple[float, float]:
    """The AUROC values theta with |value - theta| <= z sqrt(V(theta)) (Newcombe 2006, method
    5): V Hanley-McNeil's variance for one OOD set of size ns[0], `_mean_variance` for the mean
    over sets of sizes `ns` whose own AUROCs are `set_values`."""
    from scipy import optimize  # here, not at start-up (stats/distributions.py)

    z = z_value(alpha)

    def variance(theta: float) -> float:
        if len(ns) == 1:
            return _hanley_mcneil_variance(theta, m, ns[0])
        return _mean_variance(theta - value, set_values, m, ns)

    def gap(theta: float) -> float:
        return (value - theta) ** 2 - z * z * variance(theta)

    tiny, step = 1e-12, 1e-9  # the gap is 0 at theta = value in {0, 1}: bracket just inside
    below, above = max(tiny, value - step), min(1 - tiny, value + step)
    lo = 0.0 if value <= step or gap(tiny) <= 0 else optimize.brentq(gap, tiny, below)
    hi = 1.0 if value >= 1 - step or gap(1 - tiny) <= 0 else optimize.brentq(gap, above, 1 - tiny)
    return float(lo), float(hi)


def _mean_variance(shift: float, set_values: list[float], m: int, ns: list[float]) -> float:
    """Hanley-McNeil's variance (with Newcombe's N*) of the mean AUROC over J sets scored against
    the same m ID samples, each set's AUROC moved by `shift` (into [0, 1]), each weighted 1 / J:
    the sets' OOD terms at their own AUROCs (independent samples); the ID term that of the
    sets' equal-weight mixture (an ID sample's placement averaged over the sets is its
    placement against the mixture), at the mean AUROC and the OOD size whose one set has the
    mean's OOD variance, 1 / sum(1 / (J^2 n_j)). One set: Hanley-McNeil's variance."""
    j = len(ns)
    own, ood = 0.0, 0.0
    for value, n in zip(set_values, ns, strict=True):
        t = min(1.0, max(0.0, value + shift))
        big = (m + n) / 2.0 - 1.0
        own += t * (1 - t) / (m * n) / (j * j)
        ood += big * t * (1 - t) * (1 - t) / (2 - t) / (m * n) / (j * j)
    mean = min(1.0, max(0.0, sum(set_values) / j + shift))
    n_mix = 1.0 / sum(1.0 / (j * j * n) for n in ns)
    big_mix = (m + n_mix) / 2.0 - 1.0
    shared = big_mix * mean * (1 - mean) * mean / (1 + mean) / (m * n_mix)
    return own + ood + shared


def _placement_interval(
    v10: np.ndarray,
    v01s: list[np.ndarray],
    alpha: float,
    clusters: Sequence[np.ndarray | None] | None = None,
) -> tuple[float, float]:
    """The hull of DeLong's logit-scale interval (Student t, rare-event df) and the score
    interval, for the mean AUROC over J OOD sets scored against one ID set: `v10` the ID
    samples' placements averaged over the sets, `v01s` each set's OOD placements. One set (J = 1)
    is `auroc_ci`'s interval; the mean over several has the same construction, so it covers
    where the one-set interval does (DeLong's normal interval alone, which the mean used,
    covered 0.87 for one set at AUROC 0.99 with 5,000 ID and 100 OOD samples). `clusters`
    (per set, None for a set without copies): the OOD samples' cluster codes, for a set whose
    inputs repeat: its OOD variance is then the clustered one (Obuchowski 1997), its degrees of
    freedom those of the clusters' influences, and its size in the score interval Kish's
    effective size."""
    from scipy import stats as scipy_stats  # here, not at start-up (stats/distributions.py)

    m, j = len(v10), len(v01s)
    value = float(v10.mean())
    var_in = float(np.var(v10, ddof=1) / m)
    var_outs = [float(np.var(b, ddof=1)) / (len(b) * j * j) for b in v01s]
    set_values = [float(b.mean()) for b in v01s]  # each set's AUROC
    sizes: list[float] = [float(len(b)) for b in v01s]
    influences = list(v01s)
    for i, codes in enumerate(clusters or []):
        if codes is not None:
            var_outs[i] = _clustered_variance(v01s[i], codes) / (j * j)
            sizes[i] = kish_size(codes)
            influences[i] = _cluster_totals(v01s[i], codes)
    variance = var_in + sum(var_outs)
    score_lo, score_hi = _score_interval(value, m, sizes, set_values, alpha)
    if not (0.0 < value < 1.0 and variance > 0.0):
        return score_lo, score_hi
    spread = var_in**2 / _rare_event_df(v10)
    spread += sum(v**2 / _rare_event_df(b) for v, b in zip(var_outs, influences, strict=True))
    df = variance**2 / spread
    quantile = float(scipy_stats.t.ppf(1.0 - alpha / 2.0, max(df, 1.0)))
    lo, hi = _logit_interval(value, variance, quantile)
    return min(lo, score_lo), max(hi, score_hi)


def auroc_ci(
    scores_in: np.ndarray,
    scores_out: np.ndarray,
    *,
    alpha: float = ALPHA,
    clusters: np.ndarray | None = None,
) -> tuple[float, float] | None:
    """95% interval of the AUROC: the hull of DeLong's on the logit scale with a Student t
    quantile (Welch-Satterthwaite over the two sets, each set's degrees of freedom from the
    kurtosis of its placements: `_rare_event_df`) and the Hanley-McNeil score interval
    (Newcombe 2006, method 5); the score interval alone at 0 or 1.

    Near an AUROC of 1 a few OOD samples ranked among the ID ones (or ID among OOD) carry the
    whole variance, a rare-event count that a lucky sample under-represents: DeLong's normal
    interval covered 0.86 at AUROC 0.99 with 5,000 ID and 100 OOD samples, the t version 0.90.
    The score interval's variance depends on the AUROC and the sizes only, so it cannot
    collapse; the hull covered 0.943-0.998 over AUROC 0.6-0.99 and 100-5,000 samples per set
    (benchmarks/interval_coverage.py), conservative near 1.

    `clusters`: the OOD samples' cluster codes (`cluster_codes`) when its inputs repeat; the
    interval is then built over the clusters (None with fewer than 2)."""
    s_in, s_out = scores(scores_in, scores_out)
    if len(s_in) < 2 or len(s_out) < 2 or _too_few_clusters(clusters):
        return None
    v10, v01 = placements(s_in, s_out)
    return _placement_interval(v10, [v01], alpha, [clusters])


def _too_few_clusters(clusters: np.ndarray | None) -> bool:
    return clusters is not None and len(np.unique(clusters)) < 2


def mean_auroc_ci(
    scores_in: np.ndarray,
    sets_out: list[np.ndarray],
    *,
    alpha: float = ALPHA,
    clusters: Sequence[np.ndarray | None] | None = None,
) -> tuple[float, float] | None:
    """95% interval of the mean AUROC over OOD sets scored against one ID set: `auroc_ci`'s
    construction (`_placement_interval`) with each ID sample's placements averaged over the
    sets (they share the ID samples) and each set's OOD placements weighted 1 / J; for one set,
    `auroc_ci`'s interval. `clusters`: per set, its samples' cluster codes when its inputs
    repeat (else None): that set's term is then built over its distinct inputs, as `auroc_ci`
    builds it. None when the ID set or a set has fewer than 2 samples (or distinct inputs)."""
    if not sets_out:
        return None
    codes = list(clusters) if clusters is not None else [None] * len(sets_out)
    if len(codes) != len(sets_out):
        raise ValueError(f"{len(codes)} cluster codings for {len(sets_out)} OOD sets")
    s_in = scores(scores_in, sets_out[0])[0]
    m, j = len(s_in), len(sets_out)
    if m < 2 or any(len(o) < 2 for o in sets_out) or any(map(_too_few_clusters, codes)):
        return None
    v10 = np.zeros(m)
    v01s = []
    for s_out in sets_out:
        a, b = placements(s_in, scores(s_in, s_out)[1])
        v10 += a / j
        v01s.append(b)
    return _placement_interval(v10, v01s, alpha, codes)


def delong_paired(
    a: tuple[np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray],
    *,
    alpha: float = ALPHA,
    clusters: np.ndarray | None = None,
) -> tuple[float, tuple[float, float] | None, float | None]:
    """AUROC(a) - AUROC(b) for two scorings of the SAME samples ((ID scores, OOD scores), rows
    aligned): DeLong, DeLong & Clarke-Pearson's (1988) paired test. The difference's variance
    is that of the two sets of placements' differences (their covariance included): a normal
    interval and a two-sided p-value, or None for both when the variance is 0 (identical or
    perfectly separated scorings) or a set has fewer than 2 samples. `clusters`: the OOD
    samples' cluster codes when the set's inputs repeat: the OOD term is then the clustered
    variance over its distinct inputs (Obuchowski 1997), as `auroc_ci` builds it (with fewer
    than 2 distinct inputs, no interval and no p-value)."""
    from scipy import stats as scipy_stats  # here, not at start-up (stats/distributions.py)

    a_in, a_out = scores(*a)
    b_in, b_out = scores(*b)
    if len(a_in) != len(b_in) or len(a_out) != len(b_out):
        raise ValueError("a paired comparison needs the same samples scored twice")
    a10, a01 = placements(a_in, a_out)
    b10, b01 = placements(b_in, b_out)
    diff = float(a10.mean() - b10.mean())
    m, n = len(a_in), len(a_out)
    if clusters is not None and len(clusters) != n:
        raise ValueError(f"{len(clusters)} cluster codes for {n} OOD scores")
    if m < 2 or n < 2 or _too_few_clusters(clusters):
        return diff, None, None
    var_out = (
        float(np.var(a01 - b01, ddof=1)) / n
        if clusters is None
        else _clustered_variance(a01 - b01, clusters)
    )
    variance = float(np.var(a10 - b10, ddof=1)) / m + var_out
    if variance <= 0.0:
        return diff, None, None
    sd = math.sqrt(variance)
    half = z_value(alpha) * sd
    p = float(2.0 * scipy_stats.norm.sf(abs(diff) / sd))
    return diff, (diff - half, diff + half), p


def aupr_leave_one_out(s_in: np.ndarray, s_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The AUPR with each ID sample left out (first array) and each OOD sample left out (second),
    each in the order its samples are given, in O(N log N) rather than N recomputations; ties
    handled as in `aupr`.

    With distinct scores in descending groups g (p_g ID and q_g OOD samples, cumulative TP_g ID
    and N_g samples), AUPR = (1/m) sum_g p_g TP_g / N_g. Leaving out an OOD sample of group k
    lowers N_g by one for g >= k; leaving out an ID sample of group k also lowers TP_g for g >= k,
    p_k and m. Both are a prefix sum over the groups before k plus a suffix sum from k on."""
    m = len(s_in)
    values = np.concatenate([s_in, s_out])
    is_in = np.concatenate([np.ones(m, dtype=bool), np.zeros(len(s_out), dtype=bool)])
    order = np.argsort(-values, kind="stable")
    s, y = values[order], is_in[order]
    total = len(s)
    tp = np.cumsum(y).astype(np.float64)
    seen = np.arange(1, total + 1, dtype=np.float64)
    last = np.r_[s[:-1] != s[1:], True]  # the end of each group of equal scores
    ends = np.where(last, tp, 0.0)
    before = np.maximum.accumulate(np.r_[0.0, ends[:-1]])
    p = np.where(last, tp - before, 0.0)  # ID samples in the group, stored at its end
    has_in = last & (p > 0)
    minus = np.maximum(seen - 1.0, 1.0)  # N_g - 1 is >= 1 wherever it is used
    kept = np.where(last, p * tp / seen, 0.0)
    less_out = np.where(has_in, p * tp / minus, 0.0)
    less_in = np.where(has_in, p * (tp - 1.0) / minus, 0.0)
    end = np.minimum.accumulate(np.where(last, np.arange(total), total)[::-1])[::-1]
    prefix = (np.cumsum(kept) - kept)[end]  # groups before this sample's group
    suffix_out = np.cumsum(less_out[::-1])[::-1][end]  # this group and those after it
    suffix_in = (np.cumsum(less_in[::-1])[::-1] - less_in)[end]  # the groups after it
    p_k, tp_k, n_k = p[end], tp[end], seen[end]
    own = np.where(p_k > 1, (p_k - 1.0) * (tp_k - 1.0) / np.maximum(n_k - 1.0, 1.0), 0.0)
    without_in = (prefix + own + suffix_in) / max(m - 1, 1)
    without_out = (prefix + suffix_out) / m
    # back to the samples' own order (position order[i] holds sorted position i): a clustered
    # jackknife adds them up by each sample's cluster
    by_sample = np.empty(total)
    by_sample[order] = np.where(y, without_in, without_out)
    return by_sample[:m], by_sample[m:]


def _jackknife_variance(leave_out: np.ndarray) -> float:
    """The jackknife variance (n - 1) / n * sum (theta_(i) - mean)^2 of leave-one-out values."""
    n = len(leave_out)
    return (n - 1) / n * float(((leave_out - leave_out.mean()) ** 2).sum())


def _rare_event_df(leave_out: np.ndarray) -> float:
    """Degrees of freedom of a jackknife variance from the kurtosis of its leave-one-out values,
    2n / (kurtosis - 1), at most n - 1: n - 1 when the influence looks normal, about twice the
    count when a handful of samples carry all of it."""
    n = len(leave_out)
    u = leave_out - leave_out.mean()
    squares = float((u**2).sum())
    if squares == 0.0:
        return n - 1.0
    kurtosis = n * float((u**4).sum()) / squares**2
    return min(n - 1.0, 2.0 * n / max(kurtosis - 1.0, 1e-12))


def aupr_ci(
    scores_in: np.ndarray,
    scores_out: np.ndarray,
    *,
    alpha: float = ALPHA,
    clusters_in: np.ndarray | None = None,
    clusters_out: np.ndarray | None = None,
) -> tuple[float, float] | None:
    """95% AUPR interval: the two-sample jackknife variance on the logit scale, with a Student t
    quantile (Welch-Satterthwaite over the two sets). The ID side has m - 1 degrees of freedom.
    The OOD side's come from the kurtosis of its leave-one-out values: near an AUPR of 1 the few
    OOD samples ranked among the ID ones carry its whole variance, a rare-event count, so a lucky
    sample with few of them must not get a falsely narrow interval (the normal quantile covered
    0.91 there). A perfect ranking, or a jackknife without spread (each set's leave-one-out
    values all equal: perfect separation the wrong way, where the AUPR depends only on m and n,
    or scores tied within each set), gets the Wilson interval of AUPR x m successes in m: the
    jackknife's zero variance there is no evidence of certainty. The interval is the hull of the
    one around the AUPR and the one around its jackknife bias-corrected value: for a detector
    worse than chance the sample AUPR's bias exceeds its spread (0.316 against a population's
    0.307 with a standard deviation of 0.001 at m = n = 30), and the interval around the AUPR
    alone covered 0.05-0.3; elsewhere the bias is far inside the interval and changes nothing.
    None with fewer than two samples in either set.

    `clusters_in` / `clusters_out`: a set's cluster codes when its inputs repeat; its jackknife
    is then over the clusters (linearised: `_clustered_jackknife`), its degrees of freedom
    those of the clusters, and the Wilson interval's size Kish's effective size (None with
    fewer than 2 clusters)."""
    from scipy import stats as scipy_stats  # here, not at start-up (stats/distributions.py)

    s_in, s_out = scores(scores_in, scores_out)
    m, n = len(s_in), len(s_out)
    if m < 2 or n < 2 or _too_few_clusters(clusters_in) or _too_few_clusters(clusters_out):
        return None
    value = aupr(s_in, s_out)
    without_in, without_out = aupr_leave_one_out(s_in, s_out)
    var_in, var_out = _jackknife_variance(without_in), _jackknife_variance(without_out)
    df_in, influence_out, m_wilson = m - 1.0, without_out, float(m)
    if clusters_in is not None:
        var_in = _clustered_jackknife(without_in, clusters_in)
        df_in = len(np.unique(clusters_in)) - 1.0
        m_wilson = kish_size(clusters_in)
    if clusters_out is not None:
        var_out = _clustered_jackknife(without_out, clusters_out)
        influence_out = _cluster_totals(without_out, clusters_out)
    variance = var_in + var_out
    # The jackknife's estimate of the AUPR's small-sample bias (the AUPR of m and n samples is not
    # the population's: a detector worse than chance cannot score below its floor
    # (1/m) sum_k k / (n + k), which lies above the population's, by more than the spread).
    bias = (m - 1) * (float(without_in.mean()) - value) + (n - 1) * (
        float(without_out.mean()) - value
    )
    corrected = min(max(value - bias, 1e-9), 1.0 - 1e-9)
    # Leave-one-out values that differ only by rounding (1e-12 is far below the smallest real
    # change, O(1 / N^2), at any N the harness meets) are no spread.
    spread = max(float(np.ptp(without_in)), float(np.ptp(without_out)))
    intervals: list[tuple[float, float]]
    if not (0.0 < value < 1.0 and variance > 0.0 and spread > 1e-12):
        bounds = [
            wilson_bounds(centre * m_wilson, m_wilson, alpha=alpha) for centre in (value, corrected)
        ]
        intervals = [(float(lo), float(hi)) for lo, hi in bounds]
    else:
        df = variance**2 / (var_in**2 / df_in + var_out**2 / _rare_event_df(influence_out))
        quantile = float(scipy_stats.t.ppf(1.0 - alpha / 2.0, max(df, 1.0)))
        intervals = [_logit_interval(centre, variance, quantile) for centre in (value, corrected)]
    return min(lo for lo, _ in intervals), max(hi for _, hi in intervals)


FPR_RANK_MARGIN = 1
"""Ranks added on each side of the exact binomial interval of the threshold's rank: the order
statistics are discrete, and without it the interval covered 0.93 with 100 ID samples."""


def fpr_ci(
    s_in: np.ndarray,
    s_out: np.ndarray,
    *,
    tpr: float = TPR_LEVEL,
    alpha: float = ALPHA,
    clusters: np.ndarray | None = None,
) -> tuple[float, float]:
    """FPR-at-TPR interval: the Wilson interval of the OOD acceptance rate with a design effect
    for the estimated threshold. The threshold is an order statistic of the ID scores; the
    exact binomial interval of its rank (Binomial(m, tpr), one rank wider each side) gives two
    thresholds, and the OOD acceptance rates at them span the FPR's spread from the threshold
    alone: that spread / (2 z) is its standard deviation. Distribution-free and without
    resampling; a bootstrap of the ID set underestimated the threshold's variance with few ID
    samples (0.89 coverage with 100 ID and 1,000 OOD samples; 0.947-0.970 now,
    benchmarks/interval_coverage.py). `clusters`: the OOD samples' cluster codes when its inputs
    repeat; the binomial count is then Kish's effective size (copies of one input are accepted
    or rejected together)."""
    from scipy import stats as scipy_stats  # here, not at start-up (stats/distributions.py)

    m, n_all = len(s_in), len(s_out)
    n: float = float(n_all) if clusters is None else kish_size(clusters)
    fpr = fpr_at_tpr(s_in, s_out, tpr)
    ordered = np.sort(s_in)[::-1]  # the threshold is the k-th largest ID score
    lo_rank = max(1, int(scipy_stats.binom.ppf(alpha / 2.0, m, tpr)) - FPR_RANK_MARGIN)
    hi_rank = min(m, int(scipy_stats.binom.ppf(1.0 - alpha / 2.0, m, tpr)) + 1 + FPR_RANK_MARGIN)
    accepted_high = float(np.mean(s_out >= ordered[hi_rank - 1]))  # the lower threshold
    accepted_low = float(np.mean(s_out >= ordered[lo_rank - 1]))
    threshold_sd = (accepted_high - accepted_low) / (2.0 * z_value(alpha))
    shrunk = (fpr * n + 2.0) / (n + 4.0)  # Agresti-Coull: a binomial variance that is never 0
    binomial_var = shrunk * (1.0 - shrunk) / n
    n_eff = n * binomial_var / (binomial_var + threshold_sd**2)
    lo, hi = wilson_bounds(fpr * n_eff, n_eff, alpha=alpha)
    return float(lo), float(hi)


def detection_cis(
    scores_in: np.ndarray,
    scores_out: np.ndarray,
    *,
    seed: int,
    name: str,
    resamples: int = DEFAULT_RESAMPLES,
    tpr: float = TPR_LEVEL,
    alpha: float = ALPHA,
    clusters: Sequence[Hashable] | None = None,
) -> dict[str, tuple[float, float] | None]:
    """Intervals of ood_auroc, ood_aupr, ood_aupr_out and ood_fpr_at_95_tpr (None: too few
    samples). `seed`, `name` and `resamples` are kept for callers: no interval resamples.
    `clusters`: one key per OOD sample, equal for copies of one input, for a set whose inputs
    repeat: every interval is then built over the distinct inputs (clustered DeLong, a
    jackknife over clusters, Kish's effective size), and a set of fewer than 2 distinct inputs
    gets none; None (the default) treats every OOD sample as independent."""
    s_in, s_out = scores(scores_in, scores_out)
    m, n = len(s_in), len(s_out)
    codes = None if clusters is None else cluster_codes(clusters)
    if codes is not None and len(codes) != n:
        raise ValueError(f"{len(codes)} cluster keys for {n} OOD scores")
    out: dict[str, tuple[float, float] | None] = {
        "ood_auroc": auroc_ci(s_in, s_out, alpha=alpha, clusters=codes),
        "ood_aupr": aupr_ci(s_in, s_out, alpha=alpha, clusters_out=codes),
        "ood_aupr_out": aupr_ci(-s_out, -s_in, alpha=alpha, clusters_in=codes),
        "ood_fpr_at_95_tpr": None,
    }
    if m < 2 or n < 2 or _too_few_clusters(codes):
        return out
    out["ood_fpr_at_95_tpr"] = fpr_ci(s_in, s_out, tpr=tpr, alpha=alpha, clusters=codes)
    return out
