"""Representative subsets: a seeded, label-stratified sample of a task's rows.

Every option that evaluates only part of a task (`limit`, `max_samples`, `check_samples`,
`minimization_max_samples`...) draws its rows here instead of taking the first N, so an image
folder sorted by class still gives every class its share. The draw is a pure function of
(seed, purpose, sample ids, labels, n): every model evaluated on the task gets the same sample ids,
so paired tests between models still pair, and reruns, resumed and sharded runs agree.

Method: proportional allocation of `n` over classes by largest remainder (Hamilton), ties going
to the larger class, then the smaller class label; within a class, the rows with the smallest
per-sample keys `derive_seed(seed, "subset", purpose, sample_id)` are taken. Because the keys do not
depend on `n`, a larger subset of a class contains every row of a smaller one. The returned row
indices are sorted, so the subset keeps the task's order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.core.seeding import derive_seed


def class_allocation(labels: np.ndarray, n: int) -> dict[int, int]:
    """How many rows of each class a stratified sample of `n` rows takes (sums to `n`)."""
    classes, counts = np.unique(labels, return_counts=True)
    total = int(counts.sum())
    if n >= total:
        return {int(c): int(k) for c, k in zip(classes, counts, strict=True)}
    exact = counts * (n / total)
    take = np.floor(exact).astype(np.int64)
    remainder = exact - take
    # largest remainder first; ties: larger class first, then smaller label (stable order)
    order = sorted(range(len(classes)), key=lambda i: (-remainder[i], -counts[i], classes[i]))
    for i in order[: n - int(take.sum())]:
        take[i] += 1
    return {int(c): int(k) for c, k in zip(classes, take, strict=True)}


def stratified_indices(
    sample_ids: Sequence[str], labels: np.ndarray, n: int | None, *, seed: int, purpose: str
) -> np.ndarray:
    """Sorted row indices of a seeded label-stratified sample of `n` rows (all rows if n is None
    or at least the number of rows)."""
    labels = np.asarray(labels)
    if len(sample_ids) != len(labels):
        raise ValueError(f"{len(sample_ids)} sample ids but {len(labels)} labels")
    if n is None or n >= len(labels):
        return np.arange(len(labels), dtype=np.int64)
    if n < 1:
        raise ValueError(f"a subset needs at least one row, got n={n}")
    keys = np.array(
        [derive_seed(seed, "subset", purpose, sid) for sid in sample_ids], dtype=np.int64
    )
    chosen: list[np.ndarray] = []
    for label, k in class_allocation(labels, n).items():
        if k == 0:
            continue
        rows = np.flatnonzero(labels == label)
        chosen.append(rows[np.argsort(keys[rows], kind="stable")[:k]])
    return np.sort(np.concatenate(chosen)).astype(np.int64)
