"""A paired resample test on many samples holds one matrix of its draws, in 32 bits: the run's
closing board compared two models' worst-group accuracy on 300,000 rows with 2,000 resamples of
int64 positions, and a second int64 copy of them in the rows' order (10.3 GB), and their ECE
with every position held beside the (n, R) draw counts (7.2 GB)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from harness.analysis import paired_tests
from harness.analysis.paired_forms import Resampled
from harness.stats import calibration


def _peak(run: Callable[[], object]) -> int:
    return _peak_and_result(run)[0]


def _peak_and_result(run: Callable[[], object]) -> tuple[int, object]:
    """The peak of traced memory while `run` runs, and what it returned (tracing changes no
    number: a test compares the result of a traced run instead of running it again)."""
    tracemalloc.start()
    try:
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def _row_sums(values: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A statistic with no (R, n) temporaries of its own: a sum per resample row."""
    return lambda idx: np.array([values[row].sum() for row in idx])


def test_a_resampled_comparison_holds_its_draws_in_int32_without_an_int64_copy() -> None:
    n, resamples = 20_000, 300
    gen = np.random.default_rng(0)
    ids = pd.Index([f"s{i:06d}" for i in range(n)])
    strata = gen.integers(0, 40, n)  # groups: drawn within each
    values = gen.random(n)
    shuffled, other = gen.permutation(n), gen.permutation(n)  # rows in no sorted order
    a = Resampled(ids[shuffled], strata[shuffled], _row_sums(values[shuffled]))
    b = Resampled(ids[other], strata[other], _row_sums(values[other]))
    peak = _peak(lambda: paired_tests.paired_resample(a, b, seed=0, name="x", resamples=resamples))
    # the draws, A's rows of them and B's: three int32 matrices (six int64 ones before)
    assert peak < 3.5 * 4 * n * resamples, peak / (4 * n * resamples)


def test_stratified_positions_are_int32_and_the_same_draws() -> None:
    strata = np.random.default_rng(1).integers(0, 5, 1_000)
    got = paired_tests.stratified_positions(strata, resamples=50, seed=3, name="x")
    assert got.dtype == np.int32
    gen = paired_tests.rng(3, "paired-resample", "x", len(strata))
    start = 0
    for code in range(5):  # each stratum's members, drawn in code order
        members = np.flatnonzero(strata == code)
        draws = gen.integers(0, len(members), size=(50, len(members)))
        np.testing.assert_array_equal(got[:, start : start + len(members)], members[draws])
        start += len(members)


def test_counts_drawn_a_few_rows_at_a_time_equal_those_of_every_position() -> None:
    for strata in (np.zeros(5_000, dtype=np.int64), np.arange(5_000) % 3):
        # 5,000 samples: 209 rows a block, two blocks and a short last one
        got = paired_tests.stratified_counts(strata, resamples=500, seed=2, name="c")
        positions = paired_tests.stratified_positions(strata, resamples=500, seed=2, name="c")
        np.testing.assert_array_equal(got, calibration.resample_counts(positions, len(strata)))


def test_a_counted_comparison_holds_the_counts_and_not_every_position() -> None:
    n, resamples = 100_000, 200  # blocks of 10 rows: an eighth of the counts' bytes
    gen = np.random.default_rng(0)
    ids = pd.Index([f"s{i:06d}" for i in range(n)])
    confidence, correct = gen.uniform(0.5, 1.0, n), gen.random(n) < 0.8

    def form(shift: float) -> Resampled:
        def by_counts(counts_t: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return calibration.counted_debiased_ece(confidence - shift, correct, counts_t, rows)

        return Resampled(
            ids,
            np.zeros(n, dtype=np.int64),
            lambda idx: calibration.debiased_ece(confidence - shift, correct, idx),
            counted=by_counts,
        )

    peak = _peak(
        lambda: paired_tests.paired_resample(
            form(0.0), form(0.01), seed=0, name="e", resamples=resamples
        )
    )
    counts = 8 * n * resamples  # the (n, R) float64 counts
    assert peak < 1.3 * counts, peak / counts


def _ece_form(
    ids: pd.Index, confidence: np.ndarray, correct: np.ndarray, order: np.ndarray
) -> Resampled:
    """A counted ECE form of the rows `order` (not sorted by id: its rows of the draws differ)."""
    conf, hit = confidence[order], correct[order]

    def by_counts(counts_t: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return calibration.counted_debiased_ece(conf, hit, counts_t, rows)

    return Resampled(
        ids[order],
        np.zeros(len(order), dtype=np.int64),
        lambda idx: calibration.debiased_ece(conf, hit, idx),
        counted=by_counts,
    )


def test_counts_beyond_the_budget_are_made_a_block_of_resamples_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ECE comparison on 300,000 rows made its (n, 2,000) draw counts whole: 4.8 GB. Past
    `COUNTS_HELD` they are made a block of resamples at a time, both models on each block, and
    the test's numbers are those of the whole counts, bit for bit; the block holds the peak."""
    n, resamples = 20_000, 800
    gen = np.random.default_rng(4)
    ids = pd.Index([f"s{i:06d}" for i in range(n)])
    confidence, correct = gen.uniform(0.5, 1.0, n), gen.random(n) < 0.8
    a = _ece_form(ids, confidence, correct, gen.permutation(n))
    b = _ece_form(ids, np.clip(confidence - 0.02, 0.0, 1.0), correct, gen.permutation(n))

    def compare() -> object:
        return paired_tests.paired_resample(a, b, seed=1, name="e", resamples=resamples)

    held, whole = _peak_and_result(compare)
    counts = 8 * n * resamples
    monkeypatch.setattr(paired_tests, "COUNTS_HELD", counts // 16)  # 52 resamples a block
    blocked, by_blocks = _peak_and_result(compare)
    assert by_blocks == whole
    assert held > counts and blocked < 0.4 * held, (held / counts, blocked / counts)
