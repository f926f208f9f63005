"""Resampled statistics computed from how often each sample was drawn equal the same statistics
computed draw by draw (harness.stats.calibration `counted_*`, used by paired tests on shared
resamples): counts exactly, sums of confidences to the last bits. The sign-flip test of a mean
counts ties from exact sums."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from harness.analysis import paired_forms, paired_tests
from harness.analysis.paired_forms import Resampled
from harness.stats import calibration


def _data(n: int, k: int, seed: int) -> tuple[np.ndarray, ...]:
    gen = np.random.default_rng(seed)
    labels = gen.integers(0, k, n)
    predictions = np.where(gen.random(n) < 0.7, labels, gen.integers(0, k, n))
    confidence = np.clip(gen.beta(5, 2, n), 1e-6, 1.0)
    return labels, predictions, confidence


def _draws(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions drawn in a sorted order, the sorted rank of each sample, and the same draws
    as rows of each sample's own positions."""
    gen = np.random.default_rng(seed)
    positions = gen.integers(0, n, size=(300, n))
    rank = gen.permutation(n)  # sample i is the rank[i]-th in the sorted order
    order = np.argsort(rank)
    return positions, rank, order[positions]


def test_counted_statistics_equal_the_draw_by_draw_ones() -> None:
    for seed, (n, k) in enumerate([(719, 10), (50, 2), (7, 3)]):
        labels, predictions, confidence = _data(n, k, seed)
        correct = labels == predictions
        positions, rank, idx = _draws(n, seed)
        counts_t = calibration.resample_counts(positions, n)
        assert counts_t.shape == (n, 300) and (counts_t.sum(axis=0) == n).all()
        np.testing.assert_allclose(
            calibration.counted_debiased_ece(confidence, correct, counts_t, rank),
            calibration.debiased_ece(confidence, correct, idx),
            rtol=1e-12,
            atol=1e-14,
        )
        # sums of counts are exact: the same values bit for bit
        assert np.array_equal(
            calibration.counted_balanced_accuracy(labels, correct, counts_t, rank, k),
            calibration.balanced_accuracy(labels, correct, idx, k),
        )
        assert np.array_equal(
            calibration.counted_macro_f1(labels, predictions, counts_t, rank, k),
            calibration.macro_f1(labels, predictions, idx, k),
        )


def test_paired_resampling_reads_counts_for_the_rows_in_any_order() -> None:
    """A form whose table lists the samples in another order gets the same resampled values
    from counts as from draws (the pairing follows the ids, not the rows)."""
    n, k = 300, 5
    labels, predictions, confidence = _data(n, k, 3)
    correct = labels == predictions
    ids = pd.Index([f"s{i}" for i in range(n)])

    def form(order: np.ndarray, counted: bool) -> Resampled:
        c, h = confidence[order], correct[order]

        def statistic(idx: np.ndarray) -> np.ndarray:
            return calibration.debiased_ece(c, h, idx)

        def by_counts(counts_t: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return calibration.counted_debiased_ece(c, h, counts_t, rows)

        return Resampled(
            ids[order],
            np.zeros(n, dtype=np.int64),
            statistic,
            counted=by_counts if counted else None,
        )

    shuffled = np.random.default_rng(0).permutation(n)
    other = np.random.default_rng(1).permutation(n)
    results = [
        paired_tests.paired_resample(
            form(shuffled, counted), form(other, counted), seed=0, name="x", resamples=500
        )
        for counted in (True, False)
    ]
    assert results[0].p_value is not None and results[1].p_value is not None
    np.testing.assert_allclose(results[0].se, results[1].se, rtol=1e-10)
    np.testing.assert_allclose(results[0].p_value, results[1].p_value, rtol=1e-8)
    assert results[0].diff == results[1].diff


def test_random_sign_flips_count_ties_as_exact_sums_do() -> None:
    """The sign-flip test's random flips on differences in fifths (an error rate over five
    severities): whether a flip ties the observed mean (a subset summing to exactly 0) is what
    integer sums of 5 d say, whatever the order of the float sums; the p-value is
    (1 + flips at least as extreme) / (R + 1) counted that way, bit for bit."""
    from harness.stats import sign_flip

    gen = np.random.default_rng(4)
    n = 400
    ids = pd.Index([f"s{i}" for i in range(n)])
    a = pd.Series(gen.integers(0, 6, size=n) / 5, index=ids)
    b = pd.Series(gen.integers(0, 6, size=n) / 5, index=ids)
    got = paired_tests.paired_sign_flip(a, b, seed=1, name="m", resamples=400)
    fifths = np.round((a.to_numpy() - b.to_numpy()) * 5).astype(np.int64)
    fifths = fifths[np.argsort(ids.astype(str).to_numpy(), kind="stable")]  # pairs by sample id
    flips = sign_flip.random_flips(paired_tests.rng(1, "paired-sign-flip", "m", n), n, 400)
    mask = np.zeros((400, n), dtype=np.int64)
    for j in range(n):  # pair j is bit 7 - j % 8 of byte j // 8
        byte = flips.packed[:, j // 8].astype(np.int64)
        mask[:, j] = (byte >> (7 - j % 8)) & 1
    flipped = mask @ fifths
    kept = fifths.sum() - flipped
    extreme = int(np.sum(flipped * kept <= 0))
    assert got.p_value == (1 + extreme) / 401
    assert np.array_equal(mask.sum(axis=1), flips.sizes)


def test_group_ece_intervals_and_counted_group_bootstrap() -> None:
    """Every group's ECE interval from one pass equals `ece_interval` on the group's rows bit
    for bit; the within-group bootstrap from draw counts equals the draw-by-draw one (counts
    exactly, ECE to the last bits)."""
    from harness.stats.group_statistics import (
        Columns,
        counted_group_stats,
        group_stats,
        stratified_indices,
    )

    for seed, (n, g) in enumerate([(719, 10), (60, 3), (200, 7)]):
        labels, predictions, confidence = _data(n, 4, seed)
        codes = np.random.default_rng(seed).integers(0, g, n)
        codes[codes == g - 1] = 0  # one empty group
        correct = labels == predictions
        got = calibration.ece_intervals(confidence, correct, codes, g)
        want = [
            calibration.ece_interval(confidence[codes == i], correct[codes == i]) for i in range(g)
        ]
        assert got == want
        clean = np.random.default_rng(seed + 1).random(n) < 0.9
        c = Columns(labels, predictions, correct, confidence, clean, 1)
        idx = stratified_indices(codes, g, resamples=200, seed=seed, name="t")
        drawn = group_stats(c, codes, g, idx, False, 15)
        counted = counted_group_stats(c, codes, g, calibration.resample_counts(idx, n), 15)
        assert np.array_equal(counted["acc_drop"], drawn["acc_drop"], equal_nan=True)
        np.testing.assert_allclose(counted["ece"], drawn["ece"], rtol=1e-12, atol=1e-15)


def _reference_counted_sums(
    keys: np.ndarray, values: list[np.ndarray], size: int, counts_t: np.ndarray, rows: np.ndarray
) -> list[np.ndarray]:
    """The straightforward sparse product: a (len(values) * size, N) matrix built from
    (key, row) pairs over every key, empty ones included."""
    from scipy import sparse

    order = np.argsort(rows, kind="stable")
    block = (np.arange(len(values), dtype=np.int64) * size)[:, None]
    data = np.concatenate([np.asarray(v, dtype=np.float64)[order] for v in values])
    matrix = sparse.csr_matrix(
        (data, ((keys[order][None, :] + block).ravel(), np.tile(rows[order], len(values)))),
        shape=(len(values) * size, counts_t.shape[0]),
    )
    sums = np.asarray(matrix @ counts_t)
    return [np.ascontiguousarray(sums[i * size : (i + 1) * size].T) for i in range(len(values))]


def _reference_counted_debiased_ece(
    confidence: np.ndarray, correct: np.ndarray, counts_t: np.ndarray, rows: np.ndarray, bins: int
) -> np.ndarray:
    """The debiased ECE over every bin (an empty bin's term 0), from the reference sums."""
    from scipy import special

    hit = correct.astype(np.float64)
    gap = hit - confidence
    keys = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    count, hits, conf, squares = _reference_counted_sums(
        keys, [np.ones(len(hit)), hit, confidence, gap * gap], bins, counts_t, rows
    )
    z = NormalDist().inv_cdf(0.975)
    filled = count > 0
    safe = np.where(filled, count, 1.0)
    gap_b = np.where(filled, (hits - conf) / safe, 0.0)
    smooth = (hits + z * z / 2.0) / (count + z * z)
    own = np.where(filled, squares / safe - gap_b * gap_b, 0.0)
    se = np.where(filled, np.sqrt(np.maximum(smooth * (1.0 - smooth), own) / safe), 0.0)
    size = np.sqrt(np.maximum(gap_b * gap_b - se * se, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(se > 0, size / np.where(se > 0, se, 1.0), np.inf)
        bias = se * np.sqrt(2.0 / np.pi) * np.exp(-r * r / 2.0) - 2.0 * size * special.ndtr(-r)
    bias = np.where(se > 0, bias, 0.0)
    return np.asarray((count / len(rows) * (np.abs(gap_b) - bias)).sum(axis=1))


def test_counted_sums_skip_empty_keys_without_changing_a_bit() -> None:
    """The sums and the resampled ECE are built over the keys present only; the values are the
    full product's bit for bit: empty bins, one bin, one sample, samples sharing a row."""
    gen = np.random.default_rng(11)
    for n, resamples, spread, shared in [
        (719, 200, "wide", False),
        (60, 50, "edges", False),
        (40, 30, "one bin", False),
        (1, 5, "wide", False),
        (2, 1, "edges", False),
        (80, 40, "wide", True),
        (30, 20, "one bin", True),
    ]:
        confidence = {
            "wide": np.clip(gen.random(n), 1e-9, 1.0),
            "edges": gen.choice([1e-9, 1 / 15, 0.5, 14 / 15, 1.0], size=n),
            "one bin": np.full(n, 0.97),
        }[spread]
        correct = gen.random(n) < 0.8
        table = max(1, n // 2) if shared else n
        counts_t = calibration.resample_counts(gen.integers(0, table, (resamples, table)), table)
        rows = gen.integers(0, table, n) if shared else gen.permutation(n)
        for bins in (15, 4, 1):
            got = calibration.counted_debiased_ece(confidence, correct, counts_t, rows, bins)
            want = _reference_counted_debiased_ece(confidence, correct, counts_t, rows, bins)
            assert got.tobytes() == want.tobytes(), (n, spread, shared, bins)
        keys = gen.integers(2, 5, n)  # keys 0, 1 and 5.. stay empty
        values = [gen.random(n), correct.astype(np.float64), np.ones(n)]
        got_sums = calibration.counted_sums(keys, values, 8, counts_t, rows)
        want_sums = _reference_counted_sums(keys, values, 8, counts_t, rows)
        for a, b in zip(got_sums, want_sums, strict=True):
            assert a.shape == b.shape and a.tobytes() == b.tobytes()


def test_debiased_eces_from_one_product_are_each_models_own_to_the_bit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A gate's baseline and current ECEs summed in one sparse product (`counted_debiased_eces`)
    are what each model's own product gives, and paired resampling of two ECE forms (which
    takes that path) gives the same result as with each form computed on its own."""
    n = 719
    labels, predictions, confidence = _data(n, 10, 3)
    _l2, predictions_2, confidence_2 = _data(n, 10, 4)
    positions, rank, _idx = _draws(n, 3)
    counts_t = calibration.resample_counts(positions, n)
    models = [
        (confidence, labels == predictions, 15),
        (confidence_2, labels == predictions_2, 10),
    ]
    together = calibration.counted_debiased_eces(models, counts_t, rank)
    for (conf, correct, bins), values in zip(models, together, strict=True):
        alone = calibration.counted_debiased_ece(conf, correct, counts_t, rank, bins)
        assert alone.tobytes() == values.tobytes()

    ids = pd.Index([f"s{i:04d}" for i in range(n)])
    forms = [
        paired_forms.classification_form(paired_forms.WholeTable("ece", 15, labels, p, c), ids)
        for p, c in ((predictions, confidence), (predictions_2, confidence_2))
    ]
    stacked = paired_tests.paired_resample(*forms, seed=0, name="ece")
    calls: list[int] = []
    real = paired_tests._ece_inputs

    def never(*args: object) -> None:
        calls.append(real(*args) is not None)  # type: ignore[arg-type]

    monkeypatch.setattr(paired_tests, "_ece_inputs", never)
    alone_result = paired_tests.paired_resample(*forms, seed=0, name="ece")
    assert calls == [True]  # the stacked path was the one taken above
    assert stacked == alone_result
