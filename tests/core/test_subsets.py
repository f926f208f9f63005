"""Stratified subsets: proportional per class, seeded, nested, the same for every caller."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.subsets import class_allocation, stratified_indices


def _sorted_by_class(n_classes: int = 10, per_class: int = 30) -> tuple[list[str], np.ndarray]:
    labels = np.repeat(np.arange(n_classes), per_class)  # an image folder sorted by class
    return [f"s{i:04d}" for i in range(len(labels))], labels


def test_every_class_gets_its_share_on_class_sorted_data() -> None:
    ids, labels = _sorted_by_class()
    idx = stratified_indices(ids, labels, 50, seed=0, purpose="limit")
    assert len(idx) == 50
    assert np.all(np.diff(idx) > 0)  # sorted: keeps the task's order
    assert np.bincount(labels[idx], minlength=10).tolist() == [5] * 10
    # the first-N rule this replaces would have seen 2 classes
    assert len(set(labels[:50].tolist())) == 2


def test_allocation_is_largest_remainder_and_sums_to_n() -> None:
    labels = np.array([0] * 70 + [1] * 20 + [2] * 10)
    assert class_allocation(labels, 10) == {0: 7, 1: 2, 2: 1}
    alloc = class_allocation(labels, 7)  # exact 4.9, 1.4, 0.7 -> 4, 1, 0 + two by remainder
    assert sum(alloc.values()) == 7
    assert alloc == {0: 5, 1: 1, 2: 1}
    rng = np.random.default_rng(3)
    for _ in range(200):
        labels = rng.integers(0, rng.integers(1, 12), size=rng.integers(1, 300))
        n = int(rng.integers(1, len(labels) + 1))
        alloc = class_allocation(labels, n)
        counts = np.bincount(labels)
        assert sum(alloc.values()) == n
        for c, k in alloc.items():
            assert abs(k - n * counts[c] / len(labels)) < 1 + 1e-9
            assert k <= counts[c]


def test_seeded_reproducible_nested_and_purpose_separated() -> None:
    ids, labels = _sorted_by_class()
    a = stratified_indices(ids, labels, 40, seed=1, purpose="limit")
    assert np.array_equal(a, stratified_indices(ids, labels, 40, seed=1, purpose="limit"))
    assert not np.array_equal(a, stratified_indices(ids, labels, 40, seed=2, purpose="limit"))
    assert not np.array_equal(a, stratified_indices(ids, labels, 40, seed=1, purpose="checks"))
    bigger = stratified_indices(ids, labels, 80, seed=1, purpose="limit")
    assert set(a.tolist()) <= set(bigger.tolist())


def test_depends_on_sample_ids_not_row_positions() -> None:
    ids, labels = _sorted_by_class(3, 20)
    idx = stratified_indices(ids, labels, 9, seed=0, purpose="limit")
    perm = np.random.default_rng(0).permutation(len(ids))
    ids2, labels2 = [ids[i] for i in perm], labels[perm]
    idx2 = stratified_indices(ids2, labels2, 9, seed=0, purpose="limit")
    assert sorted(ids[i] for i in idx) == sorted(ids2[i] for i in idx2)


def test_all_rows_and_bad_sizes() -> None:
    ids, labels = _sorted_by_class(2, 5)
    assert stratified_indices(ids, labels, None, seed=0, purpose="x").tolist() == list(range(10))
    assert stratified_indices(ids, labels, 99, seed=0, purpose="x").tolist() == list(range(10))
    with pytest.raises(ValueError, match="at least one row"):
        stratified_indices(ids, labels, 0, seed=0, purpose="x")
    with pytest.raises(ValueError, match="labels"):
        stratified_indices(ids[:3], labels, 2, seed=0, purpose="x")


def test_limit_draws_whole_keys_when_rows_share_one() -> None:
    """Cells x source images (a published corruption set): with `whole_keys` (`--limit`) `n`
    counts source images and every row of each is kept; without, it counts rows."""
    images, cells = 12, 15
    image_labels = np.arange(images) % 3
    keys = [f"{i:05d}" for _ in range(cells) for i in range(images)]
    strata = np.array([c * 3 + image_labels[i] for c in range(cells) for i in range(images)])
    idx = stratified_indices(keys, strata, 7, seed=0, purpose="limit", whole_keys=True)
    chosen = {keys[i] for i in idx}
    assert len(chosen) == 7 and len(idx) == 7 * cells
    assert sorted(np.bincount([image_labels[int(k)] for k in chosen]).tolist()) == [2, 2, 3]
    assert len(stratified_indices(keys, strata, 7, seed=0, purpose="limit")) == 7
    whole = stratified_indices(keys, strata, 12, seed=0, purpose="limit", whole_keys=True)
    assert len(whole) == len(keys)
