"""Resamples and resampled statistics shared by the comparisons of one ranking.

Every pair of models on a column draws the same resamples (`paired_tests.pair_name` names the
column, not the pair), in the sorted order of the sample ids, so a model's statistic on those
resamples is the same array in every comparison it takes part in: a ranking computes it once
per model instead of once per comparison (the same numbers: the same function on the same
positions). Lives for one ranking; holds its forms so that their ids stay theirs. No torch here.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np


class SharedDraws:
    """Draws by key, and each form's values by key (memoised for one ranking)."""

    def __init__(self) -> None:
        self._draws: dict[Hashable, np.ndarray] = {}
        self._values: dict[tuple[int, Hashable], np.ndarray] = {}
        self._held: list[object] = []

    def draws(self, key: Hashable, make: Callable[[], np.ndarray]) -> np.ndarray:
        """The draws stored under `key`, made once."""
        if key not in self._draws:
            self._draws[key] = make()
        return self._draws[key]

    def values(self, form: object, key: Hashable, make: Callable[[], np.ndarray]) -> np.ndarray:
        """`form`'s values stored under `key` (e.g. its statistic on a set of draws), made once."""
        slot = (id(form), key)
        if slot not in self._values:
            self._held.append(form)
            self._values[slot] = make()
        return self._values[slot]

    def forget_values(self) -> None:
        """Drop every form's values (and the forms): a caller done with these forms (the gate
        after each job; the draws are kept for the next)."""
        self._values.clear()
        self._held.clear()
