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

Rows that share a key (a published corruption set: one row per cell for each source image, keyed
by `source_id`) are drawn as one unit when the caller counts keys (`whole_keys=True`, as
`--limit` does): `n` is then a number of source images, stratified by the strata their rows
cover (for cells x images, the image's label), and every row of a chosen image is kept, so
`--limit 7` on a 15-cell task evaluates the same 7 images in every cell. Otherwise `n` counts
rows (the shift suite's `max_samples` asks for its per-cell count times the cells).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.core.seeding import derive_seed

_SUBSET_NOTE_STARTS = (
    "evaluated on a seeded label-stratified subset of ",
    "evaluated on a seeded subset of ",
)


def subset_note(n: int, of: int, option: str, *, strata: str = "label") -> str:
    """The job note of a suite that evaluated `n` of a task's `of` rows drawn here (`option`: the
    config that asked, `max_samples=300`). Boards show it beside the numbers, since a board's n
    is the task's (`is_subset_note`); the wording is the one the shift suite's notes already
    had, so results stored before boards read it are recognised too."""
    if strata == "label":
        return f"{_SUBSET_NOTE_STARTS[0]}{n} of {of} samples ({option})"
    return f"{_SUBSET_NOTE_STARTS[1]}{n} of {of} rows, stratified by {strata} ({option})"


def is_subset_note(note: str) -> bool:
    """Whether a job note is a `subset_note`."""
    return note.startswith(_SUBSET_NOTE_STARTS)


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
    sample_ids: Sequence[str],
    labels: np.ndarray,
    n: int | None,
    *,
    seed: int,
    purpose: str,
    whole_keys: bool = False,
) -> np.ndarray:
    """Sorted row indices of a seeded label-stratified sample of `n` rows (all rows if n is None
    or at least the number of rows); with `whole_keys` and ids that repeat, every row of `n` ids
    (module docstring)."""
    labels = np.asarray(labels)
    if len(sample_ids) != len(labels):
        raise ValueError(f"{len(sample_ids)} sample ids but {len(labels)} labels")
    if n is None or n >= len(labels):
        return np.arange(len(labels), dtype=np.int64)
    if n < 1:
        raise ValueError(f"a subset needs at least one row, got n={n}")
    if whole_keys and len(set(sample_ids)) < len(sample_ids):
        return _whole_keys(sample_ids, labels, n, seed=seed, purpose=purpose)
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


def _whole_keys(
    sample_ids: Sequence[str], strata: np.ndarray, n: int, *, seed: int, purpose: str
) -> np.ndarray:
    """Sorted indices of every row of `n` keys, the keys drawn as rows are (stratified by the
    set of strata each key's rows cover, smallest per-key seeds first)."""
    unit_index: dict[str, int] = {}
    unit_of = np.array([unit_index.setdefault(k, len(unit_index)) for k in sample_ids])
    covers: list[set[int]] = [set() for _ in unit_index]
    for unit, stratum in zip(unit_of.tolist(), strata.tolist(), strict=True):
        covers[unit].add(stratum)
    kinds = {kind: i for i, kind in enumerate(sorted({tuple(sorted(c)) for c in covers}))}
    unit_strata = np.array([kinds[tuple(sorted(c))] for c in covers], dtype=np.int64)
    chosen = stratified_indices(list(unit_index), unit_strata, n, seed=seed, purpose=purpose)
    return np.flatnonzero(np.isin(unit_of, chosen)).astype(np.int64)
