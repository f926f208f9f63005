"""The offline MNIST open-set benchmark's tasks: seen digits 0-5, unseen 6-9 (near OOD),
patches of photographs (far OOD), all built offline and deterministically."""

from __future__ import annotations

import numpy as np

from harness.data.catalogue import task_registry
from harness.data.open_set import mnist_seen, mnist_unseen, natural_patch_arrays


def test_seen_and_unseen_split_the_mnist_test_rows_by_class() -> None:
    seen, unseen = mnist_seen(), mnist_unseen()
    mnist = task_registry().load("mnist")()
    assert seen.num_classes == 6 and set(seen.labels) == set(range(6))
    assert seen.train is not None and set(np.asarray(seen.train["label"])) == set(range(6))
    assert not unseen.labeled and set(unseen.labels) == {-1}
    assert set(seen.sample_ids).isdisjoint(unseen.sample_ids)
    test_labels = dict(zip(mnist.sample_ids, mnist.labels.tolist(), strict=True))
    assert set(seen.sample_ids) | set(unseen.sample_ids) == set(mnist.sample_ids)
    assert all(test_labels[i] >= 6 for i in unseen.sample_ids)
    assert all(test_labels[i] == y for i, y in zip(seen.sample_ids, seen.labels, strict=True))


def test_natural_patches_are_real_image_patches_made_the_same_way_each_time() -> None:
    ids, patches = natural_patch_arrays()
    again_ids, again = natural_patch_arrays()
    assert ids == again_ids and np.array_equal(patches, again)
    assert patches.shape == (500, 1, 28, 28) and len(set(ids)) == 500
    assert patches.min() >= 0.0 and patches.max() <= 1.0
    assert float(patches.std(axis=(1, 2, 3)).mean()) > 0.02  # textures, not flat colour
    task = task_registry().load("natural-patches")()
    assert len(task) == 500 and not task.labeled
