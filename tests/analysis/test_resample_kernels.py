"""The faster kernels of the paired resampling of OOD detection metrics give the numbers of the
forms they replace, bit for bit (the report's comparison and variant pages show them):

- `detection.keyed_aupr` sorts an int32 copy of its 16-bit keys with numpy's default (SIMD)
  sort where numpy has one (`SIMD_SORT`) and the copy is small (`SIMD_CELLS`), else the keys in
  place by their radix sort: the same sorted rows, the same AUPR;
- `detection.auroc_batch` on score codes sums twice the Mann-Whitney U in integers
  (`_twice_u`): the float64 of the former half-sums;
- `detection.keyed_aupr` visits only the ends of levels with positives: where no level holds
  both labels, the runs of positive keys, whose lengths give the positives without counting
  them at every position (`_level_ends`); else every level's end, counted, those without
  positives dropped (`_counted_level_ends`);
- `paired_tests.stratified_positions` adds a stratum's first position to its draws where its
  positions are consecutive instead of gathering them: the same positions.

Each is compared with the former code (written out here) on seeded random inputs with ties.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.analysis import paired_tests
from harness.stats import detection


def _old_auroc_codes(s_in: np.ndarray, s_out: np.ndarray) -> np.ndarray:
    """`auroc_batch`'s counting path before `_twice_u`."""
    r, m = s_in.shape
    n = s_out.shape[1]
    levels = int(max(s_in.max(), s_out.max())) + 1
    first = (np.arange(r, dtype=np.int64) * levels)[:, None]
    size = r * levels
    h_in = np.bincount((s_in + first).ravel(), minlength=size).reshape(r, levels)
    h_out = np.bincount((s_out + first).ravel(), minlength=size).reshape(r, levels)
    below = np.cumsum(h_out, axis=1) - h_out
    u = (h_in * (below + 0.5 * h_out)).sum(axis=1)
    return np.asarray(u / (m * n), dtype=np.float64)


def _old_positions(strata: np.ndarray, *, resamples: int, seed: int, name: str) -> np.ndarray:
    """`stratified_positions` before its consecutive-stratum path: every stratum gathered."""
    gen = paired_tests.rng(seed, "paired-resample", name, len(strata))
    codes = np.unique(strata)
    small = np.int32
    if len(codes) == 1:
        return gen.integers(0, len(strata), size=(resamples, len(strata)), dtype=small)
    out = np.empty((resamples, len(strata)), dtype=small)
    start = 0
    for code in codes:
        members = np.flatnonzero(strata == code).astype(small)
        draws = gen.integers(0, len(members), size=(resamples, len(members)), dtype=small)
        np.take(members, draws, out=out[:, start : start + len(members)])
        start += len(members)
    return out


def _old_keyed_aupr(keys: np.ndarray, positives: int) -> np.ndarray:
    """`keyed_aupr` before `_level_ends`: every level's end visited, positives counted at every
    position."""
    r, width = keys.shape
    keys = np.sort(keys.astype(np.int32), axis=1)
    tp = np.cumsum((keys & 1) == 0, axis=1, dtype=np.int32)
    level = keys >> 1
    last = np.empty(keys.shape, dtype=bool)
    last[:, -1] = True
    np.not_equal(level[:, :-1], level[:, 1:], out=last[:, :-1])
    at = np.flatnonzero(last)
    tp_end = np.take(tp.ravel(), at)
    per_row = last.sum(axis=1)
    level_tp = np.empty(tp_end.shape, dtype=np.int64)
    level_tp[0] = tp_end[0]
    np.subtract(tp_end[1:], tp_end[:-1], out=level_tp[1:])
    starts = np.cumsum(per_row) - per_row
    level_tp[starts] = tp_end[starts]
    np.multiply(level_tp, tp_end, out=level_tp)
    seen = np.repeat(np.arange(0, r * width, width), per_row)
    np.subtract(at, seen, out=seen)
    seen += 1
    gains = level_tp.astype(np.float64)
    np.divide(gains, seen, out=gains)
    gain = np.zeros(r * width)
    np.put(gain, at, gains)
    return np.asarray(gain.reshape(r, width).sum(axis=1) / positives, dtype=np.float64)


def _scores(gen: np.random.Generator, k: int, tied: bool) -> np.ndarray:
    if tied:  # few distinct values: many ties within and across the sets
        return gen.integers(0, int(gen.integers(1, 8)), k).astype(np.float64)
    return gen.normal(0.0, 1.0, k)


def _draws(gen: np.random.Generator, m: int, n: int) -> np.ndarray:
    r = int(gen.integers(1, 40))
    return np.concatenate([gen.integers(0, m, (r, m)), m + gen.integers(0, n, (r, n))], axis=1)


@pytest.mark.parametrize("simd", [False, True])
@pytest.mark.parametrize("tied", [False, True])
def test_keyed_aupr_is_the_float_path_with_either_sort(
    tied: bool, simd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The radix sort of the 16-bit keys and the default sort of their int32 copy give the
    float64 of `aupr_batch` on the raw scores (its argsort path), AUPR-In and AUPR-Out, ties
    included; keys past `SIMD_CELLS` are sorted in place."""
    monkeypatch.setattr(detection, "SIMD_SORT", simd)
    monkeypatch.setattr(detection, "SIMD_CELLS", 2_000)  # larger draws: the in-place path
    gen = np.random.default_rng(11 + tied)
    for trial in range(120):
        m, n = int(gen.integers(1, 70)), int(gen.integers(1, 70))
        values = _scores(gen, m + n, tied) + 0.25  # float scores: aupr_batch's argsort path
        idx = _draws(gen, m, n)
        codes = detection.score_levels(values)
        is_id = np.arange(m + n) < m
        for keys, positives, s_in, s_out in (
            (detection.aupr_keys(codes, is_id), m, values[idx[:, :m]], values[idx[:, m:]]),
            (
                detection.aupr_keys(codes.max() - codes, ~is_id),
                n,
                -values[idx[:, m:]],
                -values[idx[:, :m]],
            ),
        ):
            assert keys is not None and keys.dtype == np.uint16
            want = detection.aupr_batch(s_in, s_out)
            got = detection.keyed_aupr(keys[idx], positives)
            assert got.tobytes() == want.tobytes(), (trial, idx.shape)


@pytest.mark.parametrize("simd", [False, True])
def test_keyed_aupr_visiting_only_levels_with_positives_is_the_former_code(
    simd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys of distinct scores (the runs' path), of scores shared by both labels (the counting
    path), of resamples that draw no positive or only positives, and rows whose next row's
    first key follows their last positive key: the former code's float64, to the bit."""
    monkeypatch.setattr(detection, "SIMD_SORT", simd)
    counted = []
    real = detection._counted_level_ends
    monkeypatch.setattr(detection, "_counted_level_ends", lambda *a: counted.append(1) or real(*a))
    gen = np.random.default_rng(23)
    paths = set()
    for trial in range(300):
        k = int(gen.integers(1, 300))
        levels = int(gen.choice([1, 2, 3, 10, 1000, 30_000]))
        codes = gen.permutation(k) if trial % 3 == 0 else gen.integers(0, levels, k)
        positive = gen.random(k) < gen.choice([0.0, 0.5, 1.0])
        keys = detection.aupr_keys(codes, positive)
        if keys is None:
            continue
        idx = gen.integers(0, k, (int(gen.integers(1, 40)), int(gen.integers(1, 2 * k + 1))))
        before = len(counted)
        got = detection.keyed_aupr(keys[idx], max(1, int(positive.sum())))
        paths.add(len(counted) > before)
        want = _old_keyed_aupr(keys[idx], max(1, int(positive.sum())))
        assert got.tobytes() == want.tobytes(), trial
    # a row's last key a positive's (2), the next row's first its level's negative (3)
    keys = np.array([[0, 2], [3, 5]], dtype=np.uint16)
    assert detection.keyed_aupr(keys.copy(), 1).tobytes() == _old_keyed_aupr(keys, 1).tobytes()
    assert paths == {False, True}


def test_coded_aupr_batch_equals_the_float_path() -> None:
    """`aupr_batch` and `aupr_out_batch` on integer codes (16-bit keys built in place) are the
    float path's numbers on the scores."""
    gen = np.random.default_rng(5)
    for trial in range(80):
        m, n = int(gen.integers(1, 60)), int(gen.integers(1, 60))
        values = _scores(gen, m + n, bool(trial % 2)) + 0.5
        idx = _draws(gen, m, n)
        codes = detection.score_levels(values)
        for batch in (detection.aupr_batch, detection.aupr_out_batch):
            on_codes = batch(codes[idx[:, :m]], codes[idx[:, m:]])
            on_scores = batch(values[idx[:, :m]], values[idx[:, m:]])
            assert on_codes.tobytes() == on_scores.tobytes(), (trial, batch.__name__)


def test_auroc_on_codes_is_the_former_float_sum_and_the_ranks() -> None:
    """The integer U of `_twice_u` gives the former float64 (half-sums) and the rank path's."""
    gen = np.random.default_rng(7)
    for trial in range(150):
        m, n = int(gen.integers(1, 80)), int(gen.integers(1, 80))
        values = _scores(gen, m + n, bool(trial % 2))
        idx = _draws(gen, m, n)
        codes = detection.score_levels(values)
        s_in, s_out = codes[idx[:, :m]], codes[idx[:, m:]]
        got = detection.auroc_batch(s_in, s_out)
        assert got.tobytes() == _old_auroc_codes(s_in, s_out).tobytes(), trial
        ranked = detection.auroc_batch(values[idx[:, :m]] + 0.5, values[idx[:, m:]] + 0.5)
        assert got.tobytes() == ranked.tobytes(), trial


def test_twice_u_counts_every_pair() -> None:
    """One row by hand: ID at levels [0, 2, 2], OOD at [1, 2]: U = 0 + 2 x (1 + 0.5) = 3."""
    h_in = np.array([[1, 0, 2]])
    h_out = np.array([[0, 1, 1]])
    assert detection._twice_u(h_in, h_out).tolist() == [6]


def test_stratified_positions_equal_the_gathered_draws() -> None:
    """Sorted strata (consecutive positions: draws plus the first position), unsorted strata
    (gathered), one stratum, single-sample strata: the positions drawn before, exactly."""
    gen = np.random.default_rng(13)
    layouts = [np.zeros(9, dtype=np.int64), np.array([0, 1, 2]), np.array([2, 2, 0, 1, 1])]
    for _ in range(60):
        k = int(gen.integers(1, 90))
        strata = gen.integers(0, int(gen.integers(1, 5)), k)
        layouts += [strata, np.sort(strata)]
    for i, strata in enumerate(layouts):
        resamples = int(gen.integers(1, 30))
        got = paired_tests.stratified_positions(strata, resamples=resamples, seed=i, name="col")
        want = _old_positions(strata, resamples=resamples, seed=i, name="col")
        assert got.dtype == want.dtype and np.array_equal(got, want), i


def test_keyed_aupr_of_a_level_past_46341_positives_does_not_wrap() -> None:
    """A level's positives times the positives so far was an int32 product: 60,000 tied ID
    scores (over one OOD score below them) gave an AUPR of -0.193 instead of 1."""
    keys = np.zeros((2, 60_001), dtype=np.uint16)  # every ID sample at the top level
    keys[:, -1] = 1  # one OOD sample, at that level too (row 0) or below it (row 1)
    keys[1, -1] = 3
    got = detection.keyed_aupr(keys, 60_000)
    want = [detection.aupr(np.ones(60_000), np.ones(1)), detection.aupr(np.ones(60_000), [0.0])]
    assert got.tolist() == want
