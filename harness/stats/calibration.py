"""Calibration and classification metrics on per-sample arrays, vectorised over bootstrap resamples.

Each function takes an index matrix `idx` of shape (R, n) (one row per resample; a single row of
`arange(n)` gives the point estimate) and returns R values, so point estimates and bootstrap
intervals share one implementation.

ECE's interval (`ece_interval`). The binned ECE, sum_b (n_b / n) |gap_b| with gap_b the bin's mean
of (correct - confidence), is biased upward: the absolute value of a noisy gap is larger than the
gap on average, by up to 0.8 of its standard error, and a sum over bins adds those biases up. A
percentile bootstrap sits around the biased estimate (it covered a true ECE of 0.0045 in 17% of
samples of 50). The interval here is a normal interval over bins with each end built for its
side:

- standard errors per bin from Wilson's smoothed bin accuracy (z^2/2 pseudo-hits and -misses, or
  the bin's own variance of correct - confidence where larger): a bin that is all right still
  has one; plus the variance from the bins' shares;
- the lower end starts from the debiased ECE (`debiased_ece`): each bin's |gap| less the bias of
  a folded normal at the gap's debiased size sqrt(max(gap^2 - se^2, 0)) (the L2 correction of
  Kumar, Liang & Ma 2019, taken to the absolute value);
- the upper end starts from the plain (upward-biased) ECE, so the estimate is always inside and
  the upper end errs on the safe side.

Coverage (`benchmarks/interval_coverage.py --ece`, docs/statistics.md): 0.95-1.00 over n in
{30, 50, 200, 1000}, accuracy 0.5-0.99 and calibrated to strongly overconfident models; it is
conservative at small n, where the upper end must allow for an overconfident model that happened
to be right.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from harness.stats.intervals import ALPHA, z_value

ECE_BINS = 15
ECE_METHOD = (
    "normal interval over confidence bins: lower end from the debiased ECE, upper end from the "
    "plain ECE, Wilson-smoothed bin standard errors, 95%"
)


EDGE_TOLERANCE = 1e-5
"""In bin widths (6.7e-7 in confidence with 15 bins): far above the float32 rounding a
probability picks up on its way through log-probabilities and softmax (about 1e-7 of a bin),
far below any difference in confidence that matters to ECE."""


def confidence_bins(confidence: np.ndarray, n_bins: int = ECE_BINS) -> np.ndarray:
    """Equal-width bins over (0, 1]: bin b holds confidences in (b/n_bins, (b+1)/n_bins].

    A confidence within EDGE_TOLERANCE (in bin widths) above an edge counts as on it: a declared
    probability of 0.6 reaches the suites as softmax(float32 log 0.6) = 0.600000004 and would
    otherwise leave its bin (8/15, 9/15] for the next one."""
    scaled = np.asarray(confidence, dtype=np.float64) * n_bins - EDGE_TOLERANCE
    return np.clip(np.ceil(scaled).astype(np.int64) - 1, 0, n_bins - 1)


def _row_keys(keys: np.ndarray, size: int) -> np.ndarray:
    """Keys (R, n) in [0, size), offset by row (row r's in [r size, (r+1) size)), flattened."""
    offset = (np.arange(keys.shape[0], dtype=np.int64) * size)[:, None]
    return (keys + offset).ravel()


def _rows_bincount(
    flat: np.ndarray, weights: np.ndarray | None, rows: int, size: int
) -> np.ndarray:
    """bincount of row-offset keys (`_row_keys`) -> (rows, size)."""
    w = None if weights is None else weights.ravel()
    return np.bincount(flat, weights=w, minlength=rows * size).reshape(rows, size)


def _per_row_bincount(keys: np.ndarray, weights: np.ndarray | None, size: int) -> np.ndarray:
    """bincount of `keys` (R, n) in [0, size) per row -> (R, size)."""
    return _rows_bincount(_row_keys(keys, size), weights, keys.shape[0], size)


def ece(
    confidence: np.ndarray, correct: np.ndarray, idx: np.ndarray, n_bins: int = ECE_BINS
) -> np.ndarray:
    """Expected calibration error (top-label, equal-width bins) per resample."""
    bins = confidence_bins(confidence, n_bins)[idx]
    conf_sum = _per_row_bincount(bins, confidence[idx], n_bins)
    corr_sum = _per_row_bincount(bins, correct[idx].astype(np.float64), n_bins)
    return np.abs(corr_sum - conf_sum).sum(axis=1) / idx.shape[1]


def _bin_sums(
    confidence: np.ndarray, correct: np.ndarray, idx: np.ndarray, n_bins: int
) -> tuple[np.ndarray, ...]:
    """Per resample row and bin: count, sum of correct, sum of confidence, sum of squared gaps."""
    rows = idx.shape[0]
    flat = _row_keys(confidence_bins(confidence, n_bins)[idx], n_bins)  # once for the four sums
    hit = correct.astype(np.float64)
    gap = hit - confidence
    count = _rows_bincount(flat, None, rows, n_bins).astype(np.float64)
    hits = _rows_bincount(flat, hit[idx], rows, n_bins)
    conf = _rows_bincount(flat, confidence[idx], rows, n_bins)
    squares = _rows_bincount(flat, (gap * gap)[idx], rows, n_bins)
    return count, hits, conf, squares


def resample_counts(positions: np.ndarray, size: int) -> np.ndarray:
    """(size, R) float64: column r counts how often resample r (row r of `positions`, an
    (R, m) matrix of positions in [0, size)) drew each position. Transposed, so that a sparse
    matrix of per-sample values times it sums each resample (`counted_sums`)."""
    rows = positions.shape[0]
    out = np.empty((size, rows), dtype=np.float64)
    step = max(1, (1 << 20) // max(1, positions.shape[1]))  # a few MiB of keys at a time
    for start in range(0, rows, step):
        block = positions[start : start + step]
        out[:, start : start + len(block)] = _per_row_bincount(block, None, size).T
    return out


def counted_sums(
    keys: np.ndarray, values: list[np.ndarray], size: int, counts_t: np.ndarray, rows: np.ndarray
) -> list[np.ndarray]:
    """Per resample and key, the sum of each of `values` over the samples drawn (R, size) each.

    Sample i has key `keys[i]` in [0, size) and reads row `rows[i]` of `counts_t` (its
    (N, R) draw counts, `resample_counts`). One sparse product: every sum is accumulated sample
    by sample in the order of `rows` (count x value each), so the values do not depend on how
    many other statistics are computed alongside."""
    present, sums = _key_sums(keys, values, counts_t, rows)
    k, resamples = len(present), counts_t.shape[1]
    out = []
    for i in range(len(values)):
        full = np.zeros((resamples, size))
        full[:, present] = sums[i * k : (i + 1) * k].T
        out.append(full)
    return out


def _key_sums(
    keys: np.ndarray, values: list[np.ndarray], counts_t: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(the keys present, in increasing order; their sums (len(values) * k, R), value-major):
    `counted_sums` for the keys that occur (every other key sums to 0). The sparse matrix is
    built in compressed rows directly, each key's samples in increasing `rows`: the order the
    product accumulates them in, as a matrix built from (key, row) pairs has it."""
    ((present, sums),) = _keyed_sums([(keys, values)], counts_t, rows)
    return present, sums


def _keyed_sums(
    parts: list[tuple[np.ndarray, list[np.ndarray]]], counts_t: np.ndarray, rows: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """`_key_sums` of each (keys, values) of `parts`, from one sparse product: the rows of
    every part's matrix stacked (each row of a product is accumulated on its own, so every sum
    is the one its part's own product gives, bit for bit).

    The matrix is built in compressed columns, one column per row of `counts_t`: the product
    reads each sample's draw counts once for all of its sums (a row-wise product reads them
    once per sum, from memory when they are larger than the cache), and adds them to each sum
    in increasing `rows`, the order a row-wise product adds them in."""
    order = np.argsort(rows, kind="stable")
    at = rows[order]
    if len(at) > 1 and not (at[1:] > at[:-1]).all():
        return [_key_sums_summed(keys, values, counts_t, rows) for keys, values in parts]
    found, indices, data = [], [], []
    start = 0
    for keys, values in parts:
        present, compact = np.unique(keys[order], return_inverse=True)
        k = len(present)
        for i, v in enumerate(values):
            indices.append(compact + (start + i * k))
            data.append(np.asarray(v, dtype=np.float64)[order])
        found.append((present, start, start + len(values) * k))
        start += len(values) * k
    per_sample = len(indices)
    per_column = np.zeros(counts_t.shape[0], dtype=np.int64)
    per_column[at] = per_sample
    indptr = np.zeros(counts_t.shape[0] + 1, dtype=np.int64)
    np.cumsum(per_column, out=indptr[1:])
    from scipy import sparse  # here: a breakdown without resamples never builds one

    matrix = sparse.csc_matrix(
        (np.stack(data, axis=1).ravel(), np.stack(indices, axis=1).ravel(), indptr),
        shape=(start, counts_t.shape[0]),
    )
    sums = np.asarray(matrix @ counts_t)
    return [(present, sums[first:last]) for present, first, last in found]


def _key_sums_summed(
    keys: np.ndarray, values: list[np.ndarray], counts_t: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`_key_sums` where samples share a row of `counts_t`: the values of one key and row are
    added first (a matrix built from (key, row) pairs sums duplicates)."""
    order = np.argsort(rows, kind="stable")
    present, compact = np.unique(keys, return_inverse=True)
    m, k = len(values), len(present)
    block = (np.arange(m, dtype=np.int64) * k)[:, None]
    data = np.concatenate([np.asarray(v, dtype=np.float64)[order] for v in values])
    from scipy import sparse  # here, as in `_keyed_sums`

    matrix = sparse.csr_matrix(
        (data, ((compact[order][None, :] + block).ravel(), np.tile(rows[order], m))),
        shape=(m * k, counts_t.shape[0]),
    )
    return present, np.asarray(matrix @ counts_t)


def _bin_gaps(
    confidence: np.ndarray, correct: np.ndarray, idx: np.ndarray, n_bins: int, z: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shares, gaps, standard errors) per resample row and bin (0 for empty bins)."""
    count, hits, conf, squares = _bin_sums(confidence, correct, idx, n_bins)
    return _gaps_of(count, hits, conf, squares, idx.shape[1], z)


def _gaps_of(
    count: np.ndarray,
    hits: np.ndarray,
    conf: np.ndarray,
    squares: np.ndarray,
    n: int | np.ndarray,
    z: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shares, gaps, standard errors) from the bins' sums (`_bin_sums`), n samples a row (one
    n for every row, or a column of them)."""
    means = _BinMeans(count, hits, conf, squares)
    return count / n, means.gap, means.errors(z)


class _BinMeans:
    """Each bin's mean gap (correct - confidence) and own variance, from its sums: the part of
    `_gaps_of` that the bins' standard errors at every level share."""

    def __init__(
        self, count: np.ndarray, hits: np.ndarray, conf: np.ndarray, squares: np.ndarray
    ) -> None:
        self.count, self.hits = count, hits
        self.filled = count > 0
        self.safe = np.where(self.filled, count, 1.0)
        self.gap = np.where(self.filled, (hits - conf) / self.safe, 0.0)
        self.own = np.where(self.filled, squares / self.safe - self.gap * self.gap, 0.0)

    def errors(self, z: float) -> np.ndarray:
        """Each bin's standard error at the level of `z` (0 for an empty bin): Wilson-smoothed
        accuracy, or the bin's own variance where larger."""
        smooth = (self.hits + z * z / 2.0) / (self.count + z * z)
        var = np.maximum(smooth * (1.0 - smooth), self.own)
        return np.asarray(np.where(self.filled, np.sqrt(var / self.safe), 0.0))


def _fold_bias(size: np.ndarray, se: np.ndarray) -> np.ndarray:
    """E|N(size, se^2)| - size: how much the absolute value of a noisy gap overstates it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(se > 0, size / np.where(se > 0, se, 1.0), np.inf)
        bias = se * np.sqrt(2.0 / np.pi) * np.exp(-r * r / 2.0) - 2.0 * size * (
            special.ndtr(-r)  # the standard normal cdf (what scipy.stats.norm.cdf computes)
        )
    return np.where(se > 0, bias, 0.0)


def debiased_ece(
    confidence: np.ndarray,
    correct: np.ndarray,
    idx: np.ndarray,
    n_bins: int = ECE_BINS,
    *,
    alpha: float = ALPHA,
) -> np.ndarray:
    """ECE less each bin's folded-normal bias at its debiased gap, per resample (may be < 0).
    `alpha` sets the Wilson smoothing of the bins' standard errors (z^2/2 pseudo-counts)."""
    return _debiased(*_bin_gaps(confidence, correct, idx, n_bins, z_value(alpha)))


def _debiased(share: np.ndarray, gap: np.ndarray, se: np.ndarray) -> np.ndarray:
    return np.asarray(_debiased_terms(share, gap, se).sum(axis=1))


def _debiased_terms(share: np.ndarray, gap: np.ndarray, se: np.ndarray) -> np.ndarray:
    """Each bin's term of the debiased ECE: its share x (|gap| - the folded-normal bias)."""
    size = np.sqrt(np.maximum(gap * gap - se * se, 0.0))
    return np.asarray(share * (np.abs(gap) - _fold_bias(size, se)))


def counted_debiased_ece(
    confidence: np.ndarray,
    correct: np.ndarray,
    counts_t: np.ndarray,
    rows: np.ndarray,
    n_bins: int = ECE_BINS,
    *,
    alpha: float = ALPHA,
) -> np.ndarray:
    """`debiased_ece` on resamples given by their draw counts (`resample_counts`): sample i
    reads row `rows[i]` of `counts_t`. The same statistic; its bin sums are accumulated sample
    by sample (count x value) instead of draw by draw, so a value can differ from
    `debiased_ece` on the same draws in the last bits."""
    (values,) = counted_debiased_eces([(confidence, correct, n_bins)], counts_t, rows, alpha=alpha)
    return values


def counted_debiased_eces(
    models: list[tuple[np.ndarray, np.ndarray, int]],
    counts_t: np.ndarray,
    rows: np.ndarray,
    *,
    alpha: float = ALPHA,
) -> list[np.ndarray]:
    """`counted_debiased_ece` of each (confidence, correct, n_bins) of `models` (samples in
    the same rows of `counts_t`), their bin sums from ONE sparse product (`_keyed_sums`: each
    sum is the one its model's own product gives, bit for bit), so that the draw counts are
    read once for all of them: a gate's baseline and current run of a job (0.5-0.9 ms less a
    pair at 719 samples x 2,000 resamples)."""
    parts: list[tuple[np.ndarray, list[np.ndarray]]] = []
    for confidence, correct, n_bins in models:
        hit = np.asarray(correct, dtype=np.float64)
        gap = hit - confidence
        bins = confidence_bins(confidence, n_bins)
        # the sums of confidences and squared gaps per bin, and one count per (bin, right or
        # wrong): a bin's count and hits are sums of those counts (whole numbers: exact, the
        # same values as their own sums), one pass over the draw counts fewer
        parts += [(bins, [confidence, gap * gap]), (bins * 2 + (hit > 0), [np.ones(len(hit))])]
    found = _keyed_sums(parts, counts_t, rows)
    return [
        _counted_ece(found[2 * i], found[2 * i + 1], n_bins, counts_t.shape[1], len(rows), alpha)
        for i, (_, _, n_bins) in enumerate(models)
    ]


def _counted_ece(
    binned: tuple[np.ndarray, np.ndarray],
    tallied_sums: tuple[np.ndarray, np.ndarray],
    n_bins: int,
    resamples: int,
    n: int,
    alpha: float,
) -> np.ndarray:
    """The debiased ECE per resample from one model's keyed sums (`counted_debiased_eces`)."""
    (present, sums), (tallied, tallies) = binned, tallied_sums
    k = len(present)
    conf, squares = sums[:k], sums[k:]
    per_key = np.zeros((2 * n_bins, resamples))
    per_key[tallied] = tallies
    hits = per_key[present * 2 + 1]
    count = per_key[present * 2] + hits
    # bins x resamples, the bins that hold a sample only: an empty bin's term is 0
    share, gap_b, se = _gaps_of(count, hits, conf, squares, n, z_value(alpha))
    terms = np.zeros((resamples, n_bins))
    terms[:, present] = _debiased_terms(share, gap_b, se).T
    return np.asarray(terms.sum(axis=1))


def ece_interval(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS, *, alpha: float = ALPHA
) -> tuple[float, float] | None:
    """95% interval of the population's binned ECE (module docstring); None without samples."""
    n = len(confidence)
    if n == 0:
        return None
    z = z_value(alpha)
    hits = np.asarray(correct, dtype=bool)
    idx = np.arange(n)[None, :]
    share, gap, se = _bin_gaps(confidence, hits, idx, n_bins, z)
    plain = float((share * np.abs(gap)).sum())
    spread = max(0.0, float((share * gap * gap).sum()) - plain * plain) / n
    sd = float(np.sqrt((share * share * se * se).sum() + spread))
    low = float(debiased_ece(confidence, hits, idx, n_bins, alpha=alpha)[0])
    return max(0.0, low - z * sd), min(1.0, plain + z * sd)


def ece_intervals(
    confidence: np.ndarray,
    correct: np.ndarray,
    codes: np.ndarray,
    groups: int,
    n_bins: int = ECE_BINS,
    *,
    alpha: float = ALPHA,
) -> list[tuple[float, float] | None]:
    """`ece_interval` of each group's samples (group i: `codes == i`; None for an empty group),
    the same numbers bit for bit: one bincount over the table accumulates each group's bin sums
    in the order of its samples, as the group's own call does."""
    return GroupBinSums.of(confidence, correct, codes, groups, n_bins).intervals(alpha)


class GroupBinSums:
    """Each group's sums per confidence bin (count, hits, confidences, squared gaps) of one
    table: `intervals(alpha)` is `ece_intervals` at any level from sums made once (a breakdown
    asks for two levels: the groups' own and the ECE gap's Bonferroni level)."""

    def __init__(self, count: np.ndarray, sums: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        self.n = count.sum(axis=1, keepdims=True)
        self.means = _BinMeans(count, *sums)
        # the level's parts aside, as `_gaps_of` and `ece_interval` make them: each bin's share
        # of its group (an empty group's stay finite), and each group's sums over its bins, one
        # row each (the same sums as over the group's own (1, bins) slice: one contiguous row)
        self.share = count / np.maximum(self.n, 1.0)
        gap = self.means.gap
        self.plains = (self.share * np.abs(gap)).sum(axis=1)
        squares = (self.share * gap * gap).sum(axis=1)
        # `max(0.0, squares - plain * plain) / n` of each group, as Python's max takes it
        excess = squares - self.plains * self.plains
        self.spread = np.where(excess > 0.0, excess, 0.0) / np.maximum(self.n[:, 0], 1.0)

    @classmethod
    def of(
        cls,
        confidence: np.ndarray,
        correct: np.ndarray,
        codes: np.ndarray,
        groups: int,
        n_bins: int,
    ) -> GroupBinSums:
        hit = np.asarray(correct, dtype=bool).astype(np.float64)
        gap = hit - confidence
        keys = codes * n_bins + confidence_bins(confidence, n_bins)
        size = groups * n_bins

        def sums(weights: np.ndarray | None) -> np.ndarray:
            return np.bincount(keys, weights=weights, minlength=size).reshape(groups, n_bins)

        return cls(sums(None).astype(np.float64), (sums(hit), sums(confidence), sums(gap * gap)))

    def intervals(self, alpha: float = ALPHA) -> list[tuple[float, float] | None]:
        """Each group's `ece_interval` at level `alpha` (None for an empty group): the same
        float64 operations, element by element (Python's `max(0.0, x)` as x where x > 0.0)."""
        z = z_value(alpha)
        share, se = self.share, self.means.errors(z)
        low = _debiased(share, self.means.gap, se)
        sd = np.sqrt((share * share * se * se).sum(axis=1) + self.spread)
        lower = low - z * sd
        upper = self.plains + z * sd
        lows = np.where(lower > 0.0, lower, 0.0).tolist()
        highs = np.where(upper < 1.0, upper, 1.0).tolist()
        return [
            (lo, hi) if size > 0 else None
            for lo, hi, size in zip(lows, highs, self.n[:, 0].tolist(), strict=True)
        ]


def balanced_accuracy(
    labels: np.ndarray, correct: np.ndarray, idx: np.ndarray, k: int
) -> np.ndarray:
    """Mean per-class recall over the classes present in each resample (sklearn's definition)."""
    label_counts = _per_row_bincount(labels[idx], None, k)
    hit_counts = _per_row_bincount(labels[idx], correct[idx].astype(np.float64), k)
    present = label_counts > 0
    recall = np.divide(hit_counts, label_counts, out=np.zeros_like(hit_counts), where=present)
    return recall.sum(axis=1) / present.sum(axis=1)


def counted_balanced_accuracy(
    labels: np.ndarray, correct: np.ndarray, counts_t: np.ndarray, rows: np.ndarray, k: int
) -> np.ndarray:
    """`balanced_accuracy` on resamples given by their draw counts (`counted_debiased_ece`
    says how); its sums are counts, exact either way, so the values are the same."""
    label_counts, hit_counts = counted_sums(
        labels, [np.ones(len(labels)), np.asarray(correct, dtype=np.float64)], k, counts_t, rows
    )
    present = label_counts > 0
    recall = np.divide(hit_counts, label_counts, out=np.zeros_like(hit_counts), where=present)
    return np.asarray(recall.sum(axis=1) / present.sum(axis=1))


def counted_macro_f1(
    labels: np.ndarray,
    predictions: np.ndarray,
    counts_t: np.ndarray,
    rows: np.ndarray,
    k: int,
) -> np.ndarray:
    """`macro_f1` on resamples given by their draw counts (exact counts: the same values)."""
    correct = (labels == predictions).astype(np.float64)
    tp, label_counts = counted_sums(labels, [correct, np.ones(len(labels))], k, counts_t, rows)
    (pred_counts,) = counted_sums(predictions, [np.ones(len(labels))], k, counts_t, rows)
    denom = label_counts + pred_counts
    present = denom > 0
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=present)
    return np.asarray(f1.sum(axis=1) / present.sum(axis=1))


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
