"""A board's 0/1 per-sample outcomes as one models x samples matrix, aligned on sample ids, and
the exact McNemar tests of one model against many in one pass (harness.analysis.paired_tests
ranks with it). Every pair's discordant counts come from one matrix product, the p-values and the
quantiles of their intervals from one call each: the same numbers as `paired_tests.mcnemar` on
each pair, bit for bit, without joining two tables per pair. No torch here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.stats.intervals import mcnemar_differences, mcnemar_exacts

EXACT_FLOAT32 = 2**24  # float32 counts every integer up to here exactly


@dataclass(frozen=True)
class McNemarCounts:
    """A leader against each of `models`: discordant counts, p-values and intervals."""

    models: list[str]
    only_leader: np.ndarray  # samples the leader got right and the model wrong
    only_model: np.ndarray
    n: int
    p_values: np.ndarray
    intervals: list[tuple[float, float] | None]  # None: no samples


class OutcomeMatrix:
    """The outcomes of the models whose per-sample 0/1 columns cover the same sample ids as the
    first one's (each column once): rows in the first column's id order. A model left out (other
    ids, repeated ids) is compared pair by pair, which names the mismatch."""

    def __init__(self, columns: Mapping[str, pd.Series]) -> None:
        self.rows: dict[str, int] = {}
        kept: list[np.ndarray] = []
        ids: pd.Index | None = None
        for model, column in columns.items():
            if ids is None:
                if not column.index.is_unique:
                    continue
                ids = column.index
            if column.index.equals(ids):
                values = column.to_numpy()
            elif column.index.is_unique and len(column.index) == len(ids):
                where = column.index.get_indexer(ids)
                if (where < 0).any():
                    continue
                values = column.to_numpy()[where]
            else:
                continue
            self.rows[model] = len(kept)
            kept.append(values.astype(bool))
        self.n = 0 if ids is None else len(ids)
        self._outcomes = np.asarray(kept, dtype=bool).reshape(len(kept), self.n)
        self._only: np.ndarray | None = None

    def __contains__(self, model: object) -> bool:
        return model in self.rows

    def _discordant(self) -> np.ndarray:
        """[i, j]: samples model i got right and model j wrong (all pairs, one product)."""
        if self._only is None:
            dtype = np.float32 if self.n < EXACT_FLOAT32 else np.float64
            right: np.ndarray = self._outcomes.astype(dtype)
            wrong: np.ndarray = np.ones_like(right) - right
            self._only = np.rint(right @ wrong.T).astype(np.int64)
        return self._only

    def against(self, leader: str, models: Sequence[str]) -> McNemarCounts:
        """The exact McNemar test of `leader` against each of `models` (all in the matrix)."""
        only = self._discordant()
        i = self.rows[leader]
        rows = np.asarray([self.rows[m] for m in models], dtype=np.int64)
        only_leader, only_model = only[i, rows], only[rows, i]
        p = mcnemar_exacts(only_leader, only_model)
        intervals: list[tuple[float, float] | None] = [None] * len(models)
        if self.n:
            intervals = [*mcnemar_differences(only_leader, only_model, self.n, p_values=p)]
        return McNemarCounts(list(models), only_leader, only_model, self.n, p, intervals)
