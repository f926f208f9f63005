"""Per-group statistics over many resamples (`group_stats`) work through the resample rows in
blocks: the comparison page's fairness disparities resample 2,000 rows of every sample, and on
50,000 samples the temporaries of all rows at once (keys, bins, weights: 6.5 times the index
matrix) took `harness report` to 6.6 GB."""

from __future__ import annotations

import tracemalloc

import numpy as np

from harness.stats import group_statistics
from harness.stats.group_statistics import Columns, group_stats


def _case(n: int, resamples: int, groups: int) -> tuple[Columns, np.ndarray, np.ndarray]:
    gen = np.random.default_rng(0)
    label = gen.integers(0, 2, n)
    prediction = np.where(gen.random(n) < 0.8, label, 1 - label)
    columns = Columns(
        label=label,
        prediction=prediction,
        correct=label == prediction,
        confidence=gen.uniform(0.5, 1.0, n),
        clean_correct=gen.random(n) < 0.9,
        positive=1,
    )
    return columns, gen.integers(0, groups, n), gen.integers(0, n, size=(resamples, n))


def test_group_stats_on_many_resamples_stays_near_the_size_of_its_index() -> None:
    columns, codes, idx = _case(20_000, 400, 300)
    tracemalloc.start()
    try:
        group_stats(columns, codes, 300, idx, True, 15)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * idx.nbytes, peak / idx.nbytes


def test_group_stats_in_blocks_equal_those_of_all_rows_at_once(monkeypatch) -> None:
    columns, codes, idx = _case(3_000, 40, 25)
    whole = group_stats(columns, codes, 25, idx, True, 15)
    monkeypatch.setattr(group_statistics, "_BLOCK", 7_000)  # two rows a block, a short last one
    blocks = group_stats(columns, codes, 25, idx, True, 15)
    assert whole.keys() == blocks.keys()
    for name, values in whole.items():
        np.testing.assert_array_equal(values, blocks[name], err_msg=name)


def test_a_disparitys_resamples_compute_only_the_parts_it_reads() -> None:
    """A paired test of one disparity resampled every per-group statistic (ECE's bins, the
    binary rates) to read one of them: `harness check` of a 300,000-row fairness run spent ~80 s
    a disparity in `group_stats`. Each part alone is the same number as among all of them."""
    columns, codes, idx = _case(3_000, 40, 25)
    every = group_stats(columns, codes, 25, idx, True, 15)
    full = group_statistics.disparity_values(every, True)
    for metric, parts in group_statistics.DISPARITY_STATS.items():
        some = group_stats(columns, codes, 25, idx, True, 15, parts)
        if "ece" not in parts:
            assert "ece" not in some, metric
        values = group_statistics.disparity_values(some, True)
        np.testing.assert_array_equal(values[metric], full[metric], err_msg=metric)
