"""Resamples and resampled statistics shared by the comparisons of one ranking.

Every pair of models on a column draws the same resamples (`paired_tests.pair_name` names the
column, not the pair), in the sorted order of the sample ids, so a model's statistic on those
resamples is the same array in every comparison it takes part in: a ranking computes it once
per model instead of once per comparison (the same numbers: the same function on the same
positions). Lives for one ranking; holds its forms so that their ids stay theirs.

A `ValueStore` keeps resampled values beyond one process (the report's, between builds into one
site folder: harness/present/resampled_cache.py): `stored` looks a value up by a digest of
everything it is computed from (the form's `fingerprint`: its statistic and per-sample arrays;
the draws' key; the rows each sample reads) and computes and stores it when absent. No torch
here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from typing import Protocol, TypeVar, cast

import numpy as np

Drawn = TypeVar("Drawn")


class ValueStore(Protocol):
    """Resampled values by the digest of what they are computed from (`SharedDraws.stored`)."""

    def get(self, digest: str) -> np.ndarray | None: ...

    def put(self, digest: str, values: np.ndarray) -> None: ...


DRAWS_BUDGET = 1 << 30
"""Bytes of draws a `SharedDraws` keeps: beyond them the least recently used go (the newest is
always kept). Draws are seeded, so one made again is the same array; without a bound, `harness
check` on a fairness run of 50,000 rows kept 9 columns' (2000, n) positions, 7.2 GB."""


def _nbytes(drawn: object) -> int:
    """The bytes an array of draws holds, or a `sign_flip.Flips`' arrays (0 for others)."""
    if isinstance(drawn, np.ndarray):
        return int(drawn.nbytes)
    fields = getattr(drawn, "__dict__", {})
    return sum(int(v.nbytes) for v in fields.values() if isinstance(v, np.ndarray))


class SharedDraws:
    """Draws by key, and each form's values by key (memoised for one ranking)."""

    def __init__(self, store: ValueStore | None = None) -> None:
        self._store = store
        self._draws: dict[Hashable, object] = {}
        self._values: dict[tuple[int, Hashable], np.ndarray] = {}
        self._held: list[object] = []

    def draws(self, key: Hashable, make: Callable[[], Drawn]) -> Drawn:
        """The draws stored under `key`, made once (an array, or another form of draws such
        as `sign_flip.Flips`)."""
        if key in self._draws:
            self._draws[key] = self._draws.pop(key)  # the most recently used is last
            return cast(Drawn, self._draws[key])
        held = sum(_nbytes(d) for d in self._draws.values())
        # beyond the budget already: these go whatever the new draws' size, and go first, so
        # that they are not held beside them (a gate on 300,000 rows held two (n, 2000) float64
        # draw counts at once, 9.7 GB)
        while self._draws and held > DRAWS_BUDGET:
            held -= _nbytes(self._draws.pop(next(iter(self._draws))))
        made = make()
        size = _nbytes(made)
        while self._draws and held + size > DRAWS_BUDGET:
            held -= _nbytes(self._draws.pop(next(iter(self._draws))))
        self._draws[key] = made
        return made

    def values(self, form: object, key: Hashable, make: Callable[[], np.ndarray]) -> np.ndarray:
        """`form`'s values stored under `key` (e.g. its statistic on a set of draws), made once."""
        slot = (id(form), key)
        if slot not in self._values:
            self._held.append(form)
            self._values[slot] = make()
        return self._values[slot]

    def holds(self, form: object, key: Hashable) -> bool:
        """Whether `form`'s values under `key` are made already (`values` returns them)."""
        return (id(form), key) in self._values

    @property
    def storing(self) -> bool:
        """Whether values may come from a store (`stored`) rather than be computed."""
        return self._store is not None

    def forget_values(self) -> None:
        """Drop every form's values (and the forms): a caller done with these forms (the gate
        after each job; the draws are kept for the next)."""
        self._values.clear()
        self._held.clear()

    def stored(
        self,
        fingerprint: str | None,
        key: Hashable,
        rows: np.ndarray,
        make: Callable[[], np.ndarray],
    ) -> np.ndarray:
        """`make()`, or the store's value of the same computation: `fingerprint` names the
        statistic and its per-sample inputs, `key` the draws (their seed, name and number; the
        strata are the form's), `rows` the row of the draws each sample reads. Without a
        store or a fingerprint, `make()`."""
        if self._store is None or fingerprint is None:
            return make()
        digest = hashlib.sha256(
            f"{fingerprint}\0{key!r}\0{rows.dtype.str}\0".encode() + rows.tobytes()
        ).hexdigest()
        found = self._store.get(digest)
        if found is None:
            found = make()
            self._store.put(digest, found)
        return found
