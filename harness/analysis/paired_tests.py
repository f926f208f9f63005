"""Tests between two numbers of the same metric, and rank tie groups built from them.

Two models (or a baseline and a current run of one model) are compared on the *same* sample ids
whenever the stored tables allow it (harness.analysis.paired_forms). Each test and the 95%
interval of the difference come from ONE procedure, so the interval excludes 0 exactly when
p < 0.05 and a verdict can never contradict its interval:

- `mcnemar_exact`: accuracies (a per-sample 0/1 outcome), exact McNemar on the discordant pairs,
  with the interval that inverts it (`intervals.mcnemar_difference`);
- `cell_mean_newcombe`: means over cells of the same source images (mean corruption accuracy,
  the tabular / text shift means), Newcombe's square-and-add interval from the two cell-mean
  intervals (`intervals.cell_mean_difference`) and the p-value read off it;
- `paired_sign_flip`: other per-sample means (NLL, Brier, per-family corruption error), the
  sign-flip randomisation test of the mean difference (exact up to 16 pairs, seeded random
  flips above) and the interval of shifts it does not reject (`harness.stats.sign_flip`);
- `paired_resample`: statistics of the whole table (ECE, balanced accuracy, macro-F1, fairness
  disparities, OOD AUROC/AUPR/FPR95), both runs recomputed on the SAME seeded resamples of the
  sample ids (drawn within groups, or within the ID and OOD sets); a Student-t interval with the
  resamples' standard deviation, expanded by sqrt(n / (n - 1)), and its p-value (ECE is tested
  debiased: its upward bias differs between models, `calibration.debiased_ece`);
- `mann_whitney_rounds`: timings, an exact Mann-Whitney test on the per-round values with the
  Hodges-Lehmann interval that inverts it (`rank_shift.mann_whitney`);
- `interval_z`: numbers with a 95% interval but no per-sample form, MOVER's interval of the
  difference from the two intervals and the z-test read off it (unpaired: conservative for
  paired data);
- `none`: no per-sample form and no interval: NO test, so never "significant";
- `inconclusive`: a number whose timing was unstable (`unstable_timing`): not tested.

Draws depend on the seed and the name the caller gives (the views use `pair_name`, so the same
pair of models gets the same p-value on a board and on a comparison page). Multiple comparisons
are Holm-corrected by the callers. No torch here.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from harness.analysis.outcome_matrix import OutcomeMatrix
from harness.analysis.paired_forms import (
    CORRUPTION_PREFIX,
    CellMeans,
    Form,
    PerSample,
    Resampled,
    WholeTable,
    per_sample,
)
from harness.analysis.rank_shift import mann_whitney
from harness.core.errors import ResultsError
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.core.seeding import rng
from harness.core.suite_board import SuiteConfigs, read_config
from harness.stats import calibration, sign_flip, timing
from harness.stats.calibration import resample_counts
from harness.stats.intervals import (
    VALUE_TIE_ATOL,
    CellMean,
    cell_mean_difference,
    cell_mean_difference_p,
    holm,
    mcnemar_difference,
    mcnemar_exact,
    mover_difference,
    normal_sf,
    z_value,
)
from harness.stats.shared_draws import SharedDraws, ValueStore
from harness.stats.timing import UNSTABLE
from harness.store.run_store import StoredJob

__all__ = [
    "ALPHA",
    "CORRUPTION_PREFIX",
    "Evidence",
    "Form",
    "PairedResult",
    "PerSample",
    "Ranking",
    "Resampled",
    "compare",
    "mcnemar",
    "paired_resample",
    "paired_sign_flip",
    "pair_name",
    "per_sample",
    "rank_with_ties",
    "compare_records",
]

TestName = Literal[
    "mcnemar_exact",
    "cell_mean_newcombe",
    "paired_sign_flip",
    "paired_resample",
    "mann_whitney_rounds",
    "interval_z",
    "none",
    "inconclusive",
]
RESAMPLES = 2000
ALPHA = 0.05
TEST_NAMES: dict[str, str] = {
    "mcnemar_exact": "exact McNemar",
    "cell_mean_newcombe": "Newcombe's interval of a difference of cell means",
    "paired_sign_flip": "paired sign-flip test",
    "paired_resample": "paired resampling of the statistic",
    "mann_whitney_rounds": "Mann-Whitney on timing rounds",
    "interval_z": "MOVER from the 95% intervals, z-test read off it",
    "none": "no test",
    "inconclusive": "inconclusive (unstable timing)",
}


@dataclass(frozen=True)
class PairedResult:
    """One comparison of A against B: difference (A - B), its 95% interval and its p-value
    (None: not tested), from ONE procedure, so that the interval excludes 0 exactly when
    p < 0.05 (module docstring).

    `se` is the standard error of the difference the test used; `spread` a test-specific scale
    for power calculations (McNemar: the discordant fraction; the sign-flip test and paired
    resampling: the standard error of B's own statistic). Both feed harness.analysis.power.
    """

    test: TestName
    n: int
    diff: float
    p_value: float | None
    detail: str
    se: float | None = None
    spread: float | None = None
    ci: tuple[float, float] | None = None
    # what `diff` is a difference of when it is not the stored number itself (paired
    # resampling tests debiased ECE, whose difference is not that of the ECEs shown)
    statistic: str = ""
    # degrees of freedom of the Student t the test read its interval and p-value from (None:
    # an exact test, or a normal one)
    df: int | None = None
    # the smallest p-value the test can give, where an exact test on few values bounds it
    # (Mann-Whitney on 6 vs 6 rounds: 2 / C(12, 6) = 0.0022): no change reaches a level below
    floor: float | None = None
    # the random sign flips the sign-flip test draws on more than `sign_flip.EXACT_MAX` pairs
    # (None: every flip counted): its p-value is then (b + 1) / (draws + 1) or, below that,
    # Hoeffding's bound, which decides what a change must be to reach a small level (power)
    draws: int | None = None
    # B's own value of the tested statistic where `statistic` names one (its debiased ECE; not
    # the scale of a relative tolerance, which is the value shown: near 0 or below it here)
    reference: float | None = None

    @property
    def tested(self) -> bool:
        return self.p_value is not None

    @property
    def method(self) -> str:
        """The test in words, naming the statistic it compared when that is not the number
        shown: 'paired resampling of the debiased ECE'."""
        if self.statistic and self.test == "paired_resample":
            return f"paired resampling of the {self.statistic}"
        return TEST_NAMES.get(self.test, self.test)


def _join(a: pd.Series, b: pd.Series, what: str) -> tuple[np.ndarray, np.ndarray]:
    if a.index.equals(b.index):
        return a.to_numpy(), b.to_numpy()
    if set(a.index) != set(b.index):
        raise _mismatch(what, set(a.index), set(b.index))
    b = b.reindex(a.index)
    return a.to_numpy(), b.to_numpy()


class SampleMismatch(ResultsError):
    """Two per-sample tables of one comparison cover different sample ids; `only` counts the
    ids only in the first and only in the second (a caller naming the tables says which)."""

    def __init__(self, what: str, only: tuple[int, int]) -> None:
        super().__init__(
            f"{what}: the per-sample tables cover different sample ids ({only[0]} only in the "
            f"first, {only[1]} only in the second); paired tests need the same samples"
        )
        self.only = only


def _mismatch(what: str, a: set[object], b: set[object]) -> ResultsError:
    return SampleMismatch(what, (len(a - b), len(b - a)))


def mcnemar(a: pd.Series, b: pd.Series, *, what: str = "comparison") -> PairedResult:
    """Exact McNemar test of two 0/1 outcome columns joined on sample_id, with the interval of
    the difference that inverts it (`intervals.mcnemar_difference`)."""
    xa, xb = _join(a, b, what)
    xa, xb = xa.astype(bool), xb.astype(bool)
    only_a = int((xa & ~xb).sum())
    only_b = int((~xa & xb).sum())
    n = len(xa)
    return mcnemar_result(
        only_a, only_b, n, mcnemar_exact(only_a, only_b), mcnemar_difference(only_a, only_b, n)
    )


def mcnemar_result(
    only_a: int, only_b: int, n: int, p: float, ci: tuple[float, float] | None
) -> PairedResult:
    """The McNemar comparison from its discordant counts, p-value and interval."""
    diff = (only_a - only_b) / n if n else 0.0
    discordant = (only_a + only_b) / n if n else 0.0
    return PairedResult(
        test="mcnemar_exact",
        n=n,
        diff=diff,
        p_value=p,
        detail=f"discordant: {only_a} right only in A, {only_b} right only in B",
        se=float(np.sqrt(max(discordant - diff * diff, 0.0) / n)) if n else None,
        spread=discordant,
        ci=ci,
    )


def exchangeable_floor(n: int) -> float:
    """The smallest two-sided p-value a test of n paired samples may claim: 2^(1 - n).

    Under the null that A and B are exchangeable within each pair, the 2^n ways of swapping
    them are equally likely, and the data and its mirror (every pair swapped) are 2 of them, so
    an exact randomisation test never gets below 2^(1 - n) (0.5 for two pairs; at or above 0.05
    up to 5). A resampling test knows no more than the samples it resamples: one sample has a
    single resample and no spread, and two samples that both moved one way give every resample
    that sign, which read as p = 0 or 1 / (R + 1). The paired tests claim no less than this."""
    return 1.0 if n < 1 else min(1.0, 2.0 ** (1 - n))


def _at_least_floor(
    ci: tuple[float, float], p: float, n: int, alpha: float = ALPHA
) -> tuple[tuple[float, float], float]:
    """(interval, p) raised to `exchangeable_floor(n)`; where the floor reaches alpha, the
    interval is widened to hold 0, so it still excludes 0 exactly when p < alpha."""
    floor = exchangeable_floor(n)
    if floor >= alpha:
        ci = (min(ci[0], 0.0), max(ci[1], 0.0))
    return ci, max(p, floor)


def paired_sign_flip(
    a: pd.Series,
    b: pd.Series,
    *,
    seed: int,
    name: str,
    resamples: int = RESAMPLES,
    what: str = "comparison",
    shared: SharedDraws | None = None,
) -> PairedResult:
    """Sign-flip randomisation test of mean(A - B) and the interval that inverts it
    (`harness.stats.sign_flip`): every flip up to `sign_flip.EXACT_MAX` pairs, else `resamples`
    seeded random flips (`shared`: flips kept for a ranking's other comparisons). p < 0.05
    exactly when the interval excludes 0. The pairs are taken in the order of their sorted
    sample ids, so the random signs (and the p-value) do not depend on how either table stores
    its rows."""
    xa, xb = _join(a, b, what)
    order = id_order(a.index)
    xa, xb = xa[order], xb[order]
    d = xa.astype(np.float64) - xb.astype(np.float64)
    n = len(d)
    observed = float(d.mean()) if n else 0.0
    own = float(np.std(xb.astype(np.float64), ddof=1) / np.sqrt(n)) if n > 1 else None
    draws = resamples if n > sign_flip.EXACT_MAX else None
    if n < 2 or bool(np.all(d == d[0])):
        # the same difference on every pair: only the data and its mirror are as extreme (not
        # merely close: float noise of 1e-9 around 0 was "constant" and p = 2^(1 - n))
        p = 1.0 if n < 2 or observed == 0.0 else 0.0
        ci, p = _at_least_floor((observed, observed), p, n)
        return PairedResult(
            test="paired_sign_flip",
            n=n,
            diff=observed,
            p_value=p,
            detail="degenerate (constant differences)",
            se=0.0,
            spread=own,
            ci=ci if n else None,
            df=n - 1 if n > 1 else None,
            draws=draws,
        )
    flips = None
    if n > sign_flip.EXACT_MAX:

        def draw() -> sign_flip.Flips:
            return sign_flip.random_flips(rng(seed, "paired-sign-flip", name, n), n, resamples)

        key = ("paired-sign-flip", seed, name, n, resamples)
        flips = draw() if shared is None else shared.draws(key, draw)
    ci, p = _at_least_floor(*sign_flip.sign_flip_test(d, ALPHA, flips), n)
    return PairedResult(
        test="paired_sign_flip",
        n=n,
        diff=observed,
        p_value=p,
        detail=(f"all {2**n} sign flips" if flips is None else f"{resamples} random sign flips"),
        se=float(np.std(d, ddof=1) / np.sqrt(n)),
        spread=own,
        ci=ci,
        df=n - 1,
        draws=draws,
    )


def cell_mean_test(a: CellMean, b: CellMean, *, n: int) -> PairedResult:
    """Two means over cells of the same source images: Newcombe's square-and-add interval of
    the difference (`intervals.cell_mean_difference`) and the p-value read off it (below alpha
    exactly when the (1 - alpha) interval excludes 0)."""
    diff = a.value - b.value
    ci = cell_mean_difference(a, b)
    if ci is None:
        return _untested("none", n, diff, "no interval on one of the means: no test")
    z = z_value()
    own = (b.ci[1] - b.ci[0]) / (2 * z) if b.ci is not None else None
    return PairedResult(
        test="cell_mean_newcombe",
        n=n,
        diff=diff,
        p_value=cell_mean_difference_p(a, b),
        detail=f"{a.clusters} and {b.clusters} source images",
        se=(ci[1] - ci[0]) / (2 * z),
        spread=own,
        ci=ci,
    )


def stratified_positions(strata: np.ndarray, *, resamples: int, seed: int, name: str) -> np.ndarray:
    """(resamples, n) positions drawn within each stratum, strata in increasing code order;
    int32 below 2**31 samples (half the bytes: 2,000 resamples of 300,000 samples are 2.4 GB)."""
    gen = rng(seed, "paired-resample", name, len(strata))
    codes = np.unique(strata)
    # int32 draws are the int64 draws (numpy draws a range under 2**32 in 32 bits either way)
    small = np.int32 if len(strata) < 2**31 else np.int64
    if len(codes) == 1:  # one stratum: the draws are the positions
        return gen.integers(0, len(strata), size=(resamples, len(strata)), dtype=small)
    out = np.empty((resamples, len(strata)), dtype=small)
    start = 0
    for code in codes:  # each stratum's positions in its own columns, drawn in code order
        members = np.flatnonzero(strata == code).astype(small)
        draws = gen.integers(0, len(members), size=(resamples, len(members)), dtype=small)
        columns = out[:, start : start + len(members)]
        if members[-1] - members[0] == len(members) - 1:  # consecutive (strata sorted): no gather
            np.add(draws, members[0], out=columns)
        else:
            np.take(members, draws, out=columns)
        start += len(members)
    return out


def stratified_counts(strata: np.ndarray, *, resamples: int, seed: int, name: str) -> np.ndarray:
    """`resample_counts` of `stratified_positions` (n, resamples): the same draws. With one
    stratum they are drawn a few resample rows at a time (numpy draws them in the same order
    either way), so the positions (4 bytes per draw, 2.4 GB at 2,000 resamples of 300,000
    samples) are never all held beside the counts."""
    n = len(strata)
    if len(np.unique(strata)) > 1:
        positions = stratified_positions(strata, resamples=resamples, seed=seed, name=name)
        return resample_counts(positions, n)
    blocks = count_blocks(n, resamples=resamples, seed=seed, name=name, columns=resamples)
    return next(blocks, (0, np.empty((n, 0))))[1]  # one block: every resample (none for 0)


def count_blocks(
    n: int, *, resamples: int, seed: int, name: str, columns: int
) -> Iterator[tuple[int, np.ndarray]]:
    """`stratified_counts` of one stratum of `n` samples, `columns` resamples at a time or
    more: (first resample, its (n, k) draw counts). The positions are drawn about 2^20 at a
    time, whatever the blocks, so every block size gives the same draws (`stratified_counts`
    is one block)."""
    gen = rng(seed, "paired-resample", name, n)
    small = np.int32 if n < 2**31 else np.int64
    step = max(1, (1 << 20) // max(1, n))  # resample rows of positions drawn at a time
    columns = max(columns, step)
    for first in range(0, resamples, columns):
        width = min(columns, resamples - first)
        out = np.empty((n, width), dtype=np.float64)
        for start in range(0, width, step):
            rows = min(step, width - start)
            block = gen.integers(0, n, size=(rows, n), dtype=small)
            out[:, start : start + rows] = resample_counts(block, n)
        yield first, out


def paired_resample(
    a: Resampled,
    b: Resampled,
    *,
    seed: int,
    name: str,
    resamples: int = RESAMPLES,
    what: str = "comparison",
    shared: SharedDraws | None = None,
) -> PairedResult:
    """Paired bootstrap of a whole-table statistic: A and B on the same resampled sample ids
    (drawn in the ids' sorted order, so A against B and B against A use the same draws). The
    interval is the observed difference +- t(0.975, n - 1) x the standard deviation of the
    resampled differences x sqrt(n / (n - 1)), and p is read off it (Student's t), so p < 0.05
    exactly when it excludes 0: a percentile interval would sit around the resamples' mean,
    which for a biased statistic (ECE) is not the observed difference. The resamples' spread is
    the plug-in one and the normal's tails too thin at small n: with z and the plain sd a mean
    of 10 t(3) differences rejected a true null in 0.107 of data sets, balanced accuracy at
    n = 20 (a fifth of one class) in 0.090; with the expansion 0.062 and 0.060
    (docs/statistics.md). The tested statistic is the form's `tested` one
    (debiased ECE), the observed difference that of the full tables. `shared`: each model's
    statistic on the draws, computed once for a ranking's comparisons (module shared_draws)."""
    to_b = _positions(a.ids, b.ids, what)
    if not np.array_equal(b.strata[to_b], a.strata):
        raise ResultsError(
            f"{what}: the two tables put the same samples in different groups; a paired "
            "comparison needs the same grouping"
        )
    memo = shared or SharedDraws()
    n = len(a.ids)
    full = np.arange(n)[None, :]
    own_order = np.array_equal(to_b, full[0])  # B's rows in A's order: its own full table
    va_full = memo.values(a, "full", lambda: a.test_statistic(full))
    vb_full = (
        memo.values(b, "full", lambda: b.test_statistic(full))
        if own_order
        else b.test_statistic(to_b[None, :])
    )
    observed = float(va_full[0] - vb_full[0])
    if not np.isfinite(observed):
        return _untested("none", n, 0.0, "undefined on the full sample")
    count, sd_diff, sd_b = _resampled_spread(
        a, b, to_b, memo, seed=seed, name=name, resamples=resamples
    )
    if count < 2:
        return _untested("none", n, observed, "undefined on the resamples")
    se = sd_diff * small_sample_scale(n)
    ci, p = _at_least_floor(*t_test(observed, se, n - 1), n)
    return PairedResult(
        test="paired_resample",
        n=n,
        diff=observed,
        p_value=p,
        detail=f"{count} paired resamples of the {a.tested_name}",
        se=se,
        spread=sd_b * small_sample_scale(n),
        ci=ci,
        statistic="" if a.tested_name == "statistic" else a.tested_name,
        df=n - 1,
        reference=None if a.tested_name == "statistic" else float(vb_full[0]),
    )


def _positions(a: pd.Index, b: pd.Index, what: str) -> np.ndarray:
    """Where each of A's ids is among B's (the same ids, or a clear error)."""
    if a.equals(b):
        return np.arange(len(a))
    if set(a) != set(b):
        raise _mismatch(what, set(a), set(b))
    return np.asarray(b.get_indexer(a))


def id_order(ids: pd.Index) -> np.ndarray:
    """The positions of `ids` in the order of the sorted ids as text, equal ids in their order:
    `np.argsort(ids.astype(str).to_numpy(), kind="stable")`. Ids held as Arrow text without
    missing values are sorted by Arrow (a stable sort of their UTF-8 bytes, which order as
    Python orders the strings, by code point; 3-4x faster than sorting Python strings)."""
    dtype = ids.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        # the Arrow array under the index, its nulls counted by Arrow (`ids.hasnans` built a
        # mask of the ids first: half the cost of the sort)
        arrow = getattr(ids.array, "_pa_array", None)
        if not isinstance(arrow, pa.ChunkedArray):
            arrow = pa.chunked_array([pa.array(ids.array)])
        if arrow.null_count == 0:
            return _arrow_order(arrow, pc)
    return np.argsort(ids.astype(str).to_numpy(), kind="stable")


_ORDERS: list[tuple[tuple[object, ...], object, np.ndarray]] = []
_ORDERS_KEPT = 4


def _arrow_order(arrow: Any, pc: Any) -> np.ndarray:
    """Arrow's stable sort of the text `arrow` (a ChunkedArray without nulls), read-only, kept
    for the latest few arrays by the memory they read: a job's sign flip and its ECE sort the
    same ids, held by two indexes of two text dtypes over the same Arrow buffers (a gate: 0.2 ms
    a job). Each entry holds its array, so the buffers it names are not freed and their
    addresses not reused while it is kept; Arrow's buffers do not change."""
    key = (
        str(arrow.type),
        len(arrow),
        tuple(
            (c.offset, len(c), *(0 if b is None else b.address for b in c.buffers()))
            for c in arrow.chunks
        ),
    )
    for known, _held, order in _ORDERS:
        if known == key:
            return order
    order = np.asarray(pc.sort_indices(arrow), dtype=np.intp)
    order.setflags(write=False)
    _ORDERS.insert(0, (key, arrow, order))
    del _ORDERS[_ORDERS_KEPT:]
    return order


def _sorted_order(form: Resampled, memo: SharedDraws) -> np.ndarray:
    """The form's rows in the order of their sorted ids (what the draws index), kept in `memo`."""
    return memo.values(form, "order", lambda: id_order(form.ids))


def _resampled(
    a: Resampled,
    b: Resampled,
    to_b: np.ndarray,
    memo: SharedDraws,
    *,
    seed: int,
    name: str,
    resamples: int,
) -> tuple[np.ndarray, np.ndarray]:
    """A's and B's tested statistic on the seeded resamples of the sorted ids. B's positions,
    to_b[A's], are B's own sorted-id positions drawn alike: each model's values are the same
    whichever model it is compared with, so `memo` keeps them per model."""
    order = _sorted_order(a, memo)
    strata = a.strata[order]
    draws = ("paired-resample", seed, name, resamples, strata.tobytes())

    def positions() -> np.ndarray:
        return stratified_positions(strata, resamples=resamples, seed=seed, name=name)

    key = ("resampled", seed, name, resamples)
    if a.counted is not None and b.counted is not None:
        # sorted position of each of A's rows, and of B's (B's row to_b[i] is A's row i)
        rank_a = np.empty(len(order), dtype=np.int64)
        rank_a[order] = np.arange(len(order))
        rank_b = np.empty_like(rank_a)
        rank_b[to_b] = rank_a
        if len(strata) * resamples * 8 > COUNTS_HELD and len(np.unique(strata)) == 1:
            return _counted_in_blocks(
                (a, rank_a), (b, rank_b), key, memo, seed=seed, name=name, resamples=resamples
            )
        # only the counts are kept (the positions are drawn again if a form needs them)
        counts_t = memo.draws(
            ("counts",) + draws,
            lambda: stratified_counts(strata, resamples=resamples, seed=seed, name=name),
        )
        eces = _ece_inputs(a, b, rank_a, rank_b, key, memo)
        if eces is not None:
            # both forms' debiased ECEs from one product over the counts (the same values)
            va, vb = calibration.counted_debiased_eces(eces, counts_t, rank_a)
            return memo.values(a, key, lambda: va), memo.values(b, key, lambda: vb)
        va = memo.values(a, key, lambda: _counted(a, counts_t, rank_a, key, memo))
        vb = memo.values(b, key, lambda: _counted(b, counts_t, rank_b, key, memo))
        return va, vb
    drawn = memo.draws(draws, positions)
    # the rows of the sorted positions; none to remap when the rows are sorted already (ids
    # `<task>-<row:06d>`), else in the draws' dtype: one more (R, n) int64 matrix was 4.8 GB
    # at 2,000 resamples of 300,000 samples
    sorted_rows = np.array_equal(order, np.arange(len(order)))
    idx = drawn if sorted_rows else order.astype(drawn.dtype)[drawn]
    same = np.array_equal(to_b, np.arange(len(to_b)))  # B's rows in A's order: no remapping
    va = memo.values(a, key, lambda: a.test_statistic(idx))
    vb = memo.values(b, key, lambda: b.test_statistic(idx if same else to_b.astype(idx.dtype)[idx]))
    return va, vb


def _ece_inputs(
    a: Resampled,
    b: Resampled,
    rank_a: np.ndarray,
    rank_b: np.ndarray,
    key: Hashable,
    memo: SharedDraws,
) -> list[tuple[np.ndarray, np.ndarray, int]] | None:
    """Each form's (confidence, correct, bins) when both are debiased ECEs of whole tables
    still to compute on the same rows of the draws (a gate's baseline and current run of a
    job): `calibration.counted_debiased_eces` computes both at once. None otherwise (a value
    already made, or one a store may hold: each is computed or read on its own)."""
    sources = (a.source, b.source)
    if memo.storing or memo.holds(a, key) or memo.holds(b, key) or a is b:
        return None
    if not all(isinstance(s, WholeTable) and s.metric == "ece" for s in sources):
        return None
    if not np.array_equal(rank_a, rank_b):
        return None
    return [
        (s.confidence, s.labels == s.predictions, s.bins)
        for s in sources
        if isinstance(s, WholeTable)
    ]


def _resampled_spread(
    a: Resampled,
    b: Resampled,
    to_b: np.ndarray,
    memo: SharedDraws,
    *,
    seed: int,
    name: str,
    resamples: int,
) -> tuple[int, float, float]:
    """On the paired resamples (`_resampled`): how many give both statistics a finite value,
    the sd (ddof 1) of A - B on those and B's own sd (NaN below 2). Forms without counted
    sums but with fingerprints (OOD detection metrics: a sort per resample) keep these three
    numbers in `memo`'s store under the digest of both fingerprints, the draws and each form's
    rows of them: a report built again into its site folder does not resample a pair whose
    inputs did not change (harness/present/resampled_cache.py), and keeps 24 bytes for it."""

    def spread() -> np.ndarray:
        va, vb = _resampled(a, b, to_b, memo, seed=seed, name=name, resamples=resamples)
        ok = np.isfinite(va) & np.isfinite(vb)
        if int(ok.sum()) < 2:
            return np.array([float(ok.sum()), math.nan, math.nan])
        return np.array(
            [float(ok.sum()), float(np.std((va - vb)[ok], ddof=1)), float(np.std(vb[ok], ddof=1))]
        )

    counted = a.counted is not None and b.counted is not None  # per-model values are kept
    if counted or a.fingerprint is None or b.fingerprint is None:
        found = spread()
    else:
        order = _sorted_order(a, memo)
        strata = hashlib.sha256(a.strata[order].tobytes()).hexdigest()
        rows = np.concatenate([order, to_b[order]])  # each form's row of each sorted position
        spot = ("paired-spread", seed, name, resamples, strata, b.fingerprint)
        found = memo.stored(a.fingerprint, spot, rows, spread)
    return int(found[0]), float(found[1]), float(found[2])


COUNTS_HELD = 256 << 20
"""Draw counts (n x resamples, float64) larger than this are not made whole: a counted
statistic of one stratum (ECE, balanced accuracy, macro-F1) is computed a block of resamples at
a time (`_counted_in_blocks`); 2,000 resamples of 300,000 samples are 4.8 GB whole."""


def _counted_in_blocks(
    a: tuple[Resampled, np.ndarray],
    b: tuple[Resampled, np.ndarray],
    key: Hashable,
    memo: SharedDraws,
    *,
    seed: int,
    name: str,
    resamples: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Both forms' counted statistics (each with its rows of the draws) on the draw counts of
    `count_blocks`, a block of resamples at a time and both forms on each block: every
    resample's value is computed from its own column of counts alone, so the values are those
    of the whole counts, bit for bit. The counts are drawn again for each pair that needs them
    (not kept: that is their point); each form's values are kept as the whole counts' are."""
    made: list[np.ndarray] = []

    def both() -> list[np.ndarray]:
        if not made:
            n = len(a[1])
            parts: list[list[np.ndarray]] = [[], []]
            columns = max(1, COUNTS_HELD // (8 * max(1, n)))
            for _first, block in count_blocks(
                n, resamples=resamples, seed=seed, name=name, columns=columns
            ):
                for i, (form, rows) in enumerate((a, b)):
                    counted = form.counted
                    assert counted is not None
                    parts[i].append(counted(block, rows))
            made.extend(np.concatenate(p) for p in parts)
        return made

    va = memo.values(a[0], key, lambda: memo.stored(a[0].fingerprint, key, a[1], lambda: both()[0]))
    vb = memo.values(b[0], key, lambda: memo.stored(b[0].fingerprint, key, b[1], lambda: both()[1]))
    return va, vb


def _counted(
    form: Resampled, counts_t: np.ndarray, rows: np.ndarray, key: Hashable, memo: SharedDraws
) -> np.ndarray:
    """The form's counted statistic on the draws `key`, from `memo`'s store when it has it."""
    counted = form.counted
    assert counted is not None
    return memo.stored(form.fingerprint, key, rows, lambda: counted(counts_t, rows))


def small_sample_scale(n: int) -> float:
    """sqrt(n / (n - 1)): the resamples' spread is the plug-in one (a bootstrap of a mean of n
    values has sd s sqrt((n - 1) / n) / sqrt(n)); 1 below 2 samples."""
    return math.sqrt(n / (n - 1.0)) if n >= 2 else 1.0


def t_test(
    observed: float, se: float, df: int, alpha: float = ALPHA
) -> tuple[tuple[float, float], float]:
    """observed +- t(1 - alpha/2, df) se and its two-sided Student-t p-value, below alpha
    exactly when the interval excludes 0 (1 for 0 +- 0, 0 for c +- 0; normal below 1 df)."""
    from scipy import special  # the t distribution's ufuncs (not scipy.stats: start-up)

    if se <= 0:
        return (observed, observed), 1.0 if observed == 0 else 0.0
    if df >= 1:
        quantile = float(special.stdtrit(df, 1.0 - alpha / 2.0))
        p = float(2.0 * special.stdtr(df, -abs(observed) / se))
    else:
        quantile = z_value(alpha)
        p = 2.0 * normal_sf(abs(observed) / se)
    half = quantile * se
    # the interval decides at alpha; the p-value's last bits must agree with it
    p = min(p, math.nextafter(alpha, 0.0)) if abs(observed) > half else max(p, alpha)
    return (observed - half, observed + half), p


def compare(
    a: Form, b: Form, *, seed: int, name: str, shared: SharedDraws | None = None
) -> PairedResult:
    """McNemar for binary outcomes, Newcombe for means over cells, the sign-flip test for other
    means, paired resampling for whole-table statistics (`shared`: draws and resampled values
    kept across a ranking's comparisons)."""
    if isinstance(a, CellMeans) and isinstance(b, CellMeans):
        _join(a.values, b.values, name)  # the same source images, or a clear error
        return cell_mean_test(a.mean, b.mean, n=len(a.values))
    if isinstance(a, PerSample) and isinstance(b, PerSample):
        if a.binary and b.binary:
            return mcnemar(a.values, b.values, what=name)
        return paired_sign_flip(a.values, b.values, seed=seed, name=name, what=name, shared=shared)
    if isinstance(a, Resampled) and isinstance(b, Resampled):
        return paired_resample(a, b, seed=seed, name=name, what=name, shared=shared)
    raise ResultsError(f"{name}: the two results store the metric in different forms")


def p_or_one(result: PairedResult) -> float:
    """The p-value of a tested result (1.0 stands in for untested ones)."""
    return 1.0 if result.p_value is None else result.p_value


def _untested(test: TestName, n: int, diff: float, detail: str) -> PairedResult:
    return PairedResult(test=test, n=n, diff=diff, p_value=None, detail=detail)


def interval_z(a: MetricRecord, b: MetricRecord) -> PairedResult:
    """Unpaired test from the two 95% intervals: MOVER's interval of the difference
    (`intervals.mover_difference`) and the z-test read off its side towards 0 (the standard
    error is that side's margin / z), so p < 0.05 exactly when the interval excludes 0.

    Unpaired: for two results on the same samples (positively correlated) it overstates the
    variance of the difference, so it errs towards "not significant". Without both intervals
    there is no test.
    """
    va, vb = a.value or 0.0, b.value or 0.0
    n = min(a.n, b.n)
    if a.ci is None or b.ci is None:
        return _untested("none", n, va - vb, "no per-sample data and no interval: no test")
    z = z_value()
    ci = mover_difference(va, a.ci, vb, b.ci)
    diff = va - vb
    margin = (diff - ci[0]) if diff >= 0 else (ci[1] - diff)
    if margin <= 0:
        return _untested("none", n, diff, "zero-width intervals: no test")
    p = 2.0 * normal_sf(abs(diff) / (margin / z))
    own = (b.ci[1] - b.ci[0]) / (2 * z)
    return PairedResult(
        test="interval_z",
        n=n,
        diff=diff,
        p_value=float(p),
        detail="unpaired: MOVER from the 95% intervals, z-test read off it",
        se=margin / z,
        spread=float(own),
        ci=ci,
    )


def mann_whitney_rounds(a: np.ndarray, b: np.ndarray, diff: float, *, n: int) -> PairedResult:
    """Exact two-sided Mann-Whitney test of two sets of per-round timings, with the
    Hodges-Lehmann interval of the shift that inverts it (`rank_shift.mann_whitney`)."""
    found = mann_whitney(a, b)
    if found is None:
        return _untested("none", n, diff, "fewer than two timing rounds: no test")
    p, ci = found
    se = float(np.hypot(np.std(a, ddof=1) / np.sqrt(len(a)), np.std(b, ddof=1) / np.sqrt(len(b))))
    return PairedResult(
        test="mann_whitney_rounds",
        n=n,
        diff=diff,
        p_value=p,
        detail=f"{len(a)} vs {len(b)} timing rounds"
        + ("" if ci is not None else " (too few for an interval at 95%)"),
        se=se,
        spread=float(np.std(b, ddof=1) / np.sqrt(len(b))),
        ci=ci,
        floor=2.0 / math.comb(len(a) + len(b), len(a)),  # every round of one side lowest
    )


@dataclass(frozen=True)
class Evidence:
    """What one number brings to a comparison: its record, paired form, timing rounds and the
    seed of the run it came from (`compare_records` draws with the smaller of two such seeds)."""

    record: MetricRecord
    form: Form | None = None
    rounds: np.ndarray | None = None
    seed: int | None = None


def pair_name(key: str, a: str, b: str) -> str:
    """The name that seeds the resamples of a comparison of models `a` and `b` on column `key`:
    the column's, whichever the models, so a board and a comparison page draw alike and every
    comparison of a ranking draws the same resamples (each model's resampled statistic is then
    computed once per ranking: harness.stats.shared_draws). Paired tests are valid under any
    dependence between them, and Holm's correction holds under any dependence too."""
    del a, b  # the same draws for every pair of models on the column
    return f"column/{key}"


def _pairable(a: Form | None, b: Form | None) -> bool:
    """Same form on the same design: resampled statistics must group the same samples alike
    (two models' worst groups under different groupings are not one statistic: not paired)."""
    if a is None or b is None or type(a) is not type(b):
        return False
    if isinstance(a, Resampled) and isinstance(b, Resampled):
        if a.ids.equals(b.ids):
            return bool(np.array_equal(b.strata, a.strata))
        if set(a.ids) != set(b.ids):
            return True  # paired_resample names the mismatch
        return bool(np.array_equal(b.strata[b.ids.get_indexer(a.ids)], a.strata))
    return True


def compare_records(
    a: Evidence, b: Evidence, *, seed: int, name: str, shared: SharedDraws | None = None
) -> PairedResult:
    """The best test these two numbers allow (module docstring), A minus B."""
    ra, rb = a.record, b.record
    diff = (ra.value or 0.0) - (rb.value or 0.0)
    n = min(ra.n, rb.n)
    if a.seed is not None and b.seed is not None:
        seed = min(a.seed, b.seed)
    if UNSTABLE in ra.flags or UNSTABLE in rb.flags:
        return _untested("inconclusive", n, diff, "timing unstable (unstable_timing)")
    if _pairable(a.form, b.form):
        assert a.form is not None and b.form is not None
        return compare(a.form, b.form, seed=seed, name=name, shared=shared)
    if a.rounds is not None and b.rounds is not None:
        return mann_whitney_rounds(a.rounds, b.rounds, diff, n=n)
    return interval_z(ra, rb)


class FormStore(Protocol):
    """Paired forms of stored records kept beyond one process (the report's, between builds
    into one site folder: harness/present/form_cache.py), looked up by the job's table checksum
    and the record; `get` gives None for a form not kept."""

    def get(self, record: MetricRecord, job: StoredJob) -> Form | None: ...

    def put(self, record: MetricRecord, job: StoredJob, form: Form) -> None: ...


def stored_evidence(
    record: MetricRecord,
    job: StoredJob,
    table: SampleTable | None = None,
    *,
    configs: SuiteConfigs,
    forms: FormStore | None = None,
) -> Evidence:
    """What a stored record brings to a test: its paired form and its timing rounds (`configs`:
    the installed suites' config models, which the job's stored config is read back through).
    `forms`: forms kept from an earlier build; the job's table is parsed only for a form not
    kept there (and the form built is kept)."""
    rounds = None
    if record.metric in timing.ROUND_METRICS:
        rounds = timing.rounds_for(record.metric, record.context, job.artifacts())
    config = read_config(configs, job.record.suite, job.record.suite_config)
    kept = forms if table is None else None  # a table handed in may not be the job's own
    form = kept.get(record, job) if kept is not None else None
    if form is None:
        if table is None and job.has_table:
            table = job.table()
        form = per_sample(record, table, config)
        if kept is not None and form is not None:
            kept.put(record, job, form)
    return Evidence(record=record, form=form, rounds=rounds, seed=job.record.seed)


# ------------------------------------------------------------------------------- ranking
@dataclass(frozen=True)
class Ranking:
    """Competition ranks where models not significantly worse than their group leader tie."""

    ranks: dict[str, int]
    method: str
    comparisons: list[tuple[str, str, PairedResult, float | None]] = field(default_factory=list)


def tier_of(record: MetricRecord) -> int:
    """0: a trustworthy number; 1: flagged or a decision-based upper bound (ranked after all 0s)."""
    return 1 if record.flags or is_upper_bound(record) else 0


def is_upper_bound(record: MetricRecord) -> bool:
    """A decision-based (black-box) robust accuracy: an upper bound, not a white-box number (the
    suites say so in the record's note)."""
    return "upper bound" in (record.note or "")


def _step(
    leader: str,
    rest: Sequence[str],
    entries: dict[str, Evidence],
    seed: int,
    alpha: float,
    outcomes: OutcomeMatrix,
    shared: SharedDraws,
) -> tuple[list[str], list[tuple[str, str, PairedResult, float | None]]]:
    """One step-down step: the leader's group and the step's comparisons (Holm within it).
    Accuracies in `outcomes` are tested against the leader at once; the rest pair by pair."""
    results: dict[str, PairedResult] = {}
    if leader in outcomes:
        found = outcomes.against(leader, [m for m in rest if m in outcomes])
        for i, m in enumerate(found.models):
            results[m] = mcnemar_result(
                int(found.only_leader[i]),
                int(found.only_model[i]),
                found.n,
                float(found.p_values[i]),
                found.intervals[i],
            )
    for m in rest:
        if m not in results:
            name = pair_name(entries[leader].record.key, leader, m)
            results[m] = compare_records(
                entries[leader], entries[m], seed=seed, name=name, shared=shared
            )
    ordered = [results[m] for m in rest]
    tested = [i for i, r in enumerate(ordered) if r.tested]
    adjusted: list[float | None] = [None] * len(ordered)
    for i, p in zip(tested, holm([p_or_one(ordered[i]) for i in tested]), strict=True):
        adjusted[i] = p
    group = [leader] + [m for m, p in zip(rest, adjusted, strict=True) if p is None or p >= alpha]
    return group, [(leader, m, r, p) for m, r, p in zip(rest, ordered, adjusted, strict=True)]


def _outcome_matrix(entries: dict[str, Evidence]) -> OutcomeMatrix:
    """The entries that `compare_records` would test by exact McNemar (plain binary per-sample
    forms of stable numbers), as one matrix."""
    return OutcomeMatrix(
        {
            m: e.form.values
            for m, e in entries.items()
            if type(e.form) is PerSample and e.form.binary and UNSTABLE not in e.record.flags
        }
    )


def _method(tests: set[TestName], alpha: float, tiers: bool, models: int) -> str:
    if not tests:
        # nothing was compared: say so rather than describe tests that never ran
        text = (
            "rank without a test: one number to rank, none to compare it with"
            if models == 1
            else "rank without a test: no two numbers of the same kind to compare"
        )
    else:
        used = ", ".join(TEST_NAMES[t] for t in sorted(tests))
        text = (
            "rank with tie groups: the best remaining model leads a group; every other "
            f"remaining model is tested against it on the same sample ids ({used}), "
            f"Holm-corrected within the step, alpha={alpha}; models not significantly worse "
            "than the leader join its group (untested comparisons join it too); a group's rank "
            "is 1 + the number of models in better groups"
        )
    if tiers:
        text += (
            "; flagged numbers (UNRELIABLE) and decision-based upper bounds are ranked after "
            "every trustworthy number, whatever their value"
        )
    return text


def rank_with_ties(
    entries: dict[str, Evidence],
    *,
    seed: int,
    alpha: float = ALPHA,
    store: ValueStore | None = None,
) -> Ranking:
    """Rank models on one metric with tie groups, trustworthy numbers first (`tier_of`).
    `store`: resampled values kept from an earlier computation (`SharedDraws.stored`)."""
    valued = {m: e for m, e in entries.items() if e.record.value is not None}
    if not valued:
        return Ranking(ranks={}, method="no values to rank")
    higher = next(iter(valued.values())).record.higher_is_better
    sign = -1.0 if higher else 1.0
    order = sorted(
        valued, key=lambda m: (tier_of(valued[m].record), sign * (valued[m].record.value or 0.0), m)
    )
    ranks: dict[str, int] = {}
    comparisons: list[tuple[str, str, PairedResult, float | None]] = []
    remaining = list(order)
    outcomes = _outcome_matrix(valued)
    shared = SharedDraws(store)
    shared_lead = False
    while remaining:
        leader = remaining[0]
        tier = tier_of(valued[leader].record)
        rest = [m for m in remaining[1:] if tier_of(valued[m].record) == tier]
        group, done = _step(leader, rest, valued, seed, alpha, outcomes, shared)
        comparisons += done
        # models whose value ties the leader's lead too: which of them sorts first by name
        # must not decide whether a model is significantly worse than the best
        co_leaders = [m for m in rest if _same_value(valued[m].record, valued[leader].record)]
        others = [m for m in rest if m not in co_leaders]
        for co_leader in co_leaders:
            joined, done = _step(co_leader, others, valued, seed, alpha, outcomes, shared)
            comparisons += done
            shared_lead = shared_lead or bool(others)
            group += [m for m in joined if m not in group]
        placed = len(ranks)
        ranks.update(dict.fromkeys(group, placed + 1))
        grouped = set(group)
        remaining = [m for m in remaining if m not in grouped]
    tests = {r.test for _l, _m, r, _p in comparisons}
    method = _method(tests, alpha, any(tier_of(e.record) for e in valued.values()), len(valued))
    if shared_lead:
        method += (
            "; models tied at the leader's value each lead the group: a model joins it when it "
            "is not significantly worse than any of them"
        )
    return Ranking(ranks=ranks, method=method, comparisons=comparisons)


def _same_value(a: MetricRecord, b: MetricRecord) -> bool:
    """Two values equal up to float rounding (the same accuracy from the same count)."""
    return a.value is not None and b.value is not None and abs(a.value - b.value) <= VALUE_TIE_ATOL
