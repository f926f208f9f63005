"""Per-sample outcomes of a board's shift jobs and the bootstrap behind the cross-model intervals.

Each model's per-sample correctness by condition (`Outcomes`, loaded from its table on first use
by `OutcomeCache`), resampled over sample ids in a fixed (sorted) order so that every model of
the board is scored on the same draws (`resampled_means`). Intervals never leave draws out
(`bootstrap_interval`): a draw where the statistic does not exist (no line, CE 0/0) counts at
the worst end of each bound, and the interval is None when a bound is then infinite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.core.sample_table import SampleTable
from harness.core.seeding import rng

TableSource = Callable[[], SampleTable | None]
Interval = tuple[float, float]


@dataclass(frozen=True)
class Outcomes:
    """One model's per-sample correctness by condition, each a Series indexed by sample id."""

    by_condition: dict[str, pd.Series]

    @classmethod
    def from_table(cls, table: SampleTable) -> Outcomes:
        frame = table.frame[["sample_id", "condition", "correct"]]
        return cls(
            {
                str(cond): block.set_index("sample_id")["correct"].astype(np.float64)
                for cond, block in frame.groupby("condition", sort=False)
            }
        )

    def aligned(self, condition: str, ids: pd.Index) -> np.ndarray | None:
        """Correctness on `condition` in the order of `ids` (None: missing or other ids)."""
        series = self.by_condition.get(condition)
        if series is None or len(series) != len(ids) or not series.index.is_unique:
            return None
        values = series.reindex(ids)
        return None if values.isna().any() else values.to_numpy()


class OutcomeCache:
    """Per-sample outcomes loaded on first use (tables can be large)."""

    def __init__(self, tables: Mapping[str, TableSource] | None) -> None:
        self._tables = dict(tables or {})
        self._loaded: dict[str, Outcomes | None] = {}

    def get(self, model: str) -> Outcomes | None:
        if model not in self._loaded:
            source = self._tables.get(model)
            table = source() if source is not None else None
            self._loaded[model] = Outcomes.from_table(table) if table is not None else None
        return self._loaded[model]


@dataclass(frozen=True)
class BoardContext:
    seed: int
    resamples: int
    outcomes: OutcomeCache


def sorted_ids(series: pd.Series) -> pd.Index:
    """A condition's sample ids in one order for every model (sorted when they sort)."""
    ids = pd.Index(series.index)
    try:
        return ids.sort_values()
    except TypeError:  # ids of mixed types: the table's order
        return ids


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    """Bootstrap index rows (r, n) as per-sample counts (r, n), float64."""
    r = idx.shape[0]
    flat = (idx + (np.arange(r, dtype=np.int64) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=r * n).reshape(r, n).astype(np.float64)


def resampled_means(
    columns: np.ndarray, *, seed: int, name: str, resamples: int, chunk_rows: int = 4_000_000
) -> np.ndarray:
    """Means of each column of (n, k) under `resamples` bootstrap draws of the rows: (R, k)."""
    n = columns.shape[0]
    gen = rng(seed, "bootstrap", name, n)
    chunk = max(1, min(resamples, chunk_rows // max(n, 1)))
    out = []
    done = 0
    while done < resamples:
        size = min(chunk, resamples - done)
        idx = gen.integers(0, n, size=(size, n), dtype=np.int64)
        out.append(_counts(idx, n) @ columns / n)
        done += size
    return np.concatenate(out) if out else np.zeros((0, columns.shape[1]))


def bootstrap_interval(values: np.ndarray) -> Interval | None:
    """95% percentile interval of bootstrap draws, never narrowed by leaving draws out.

    A draw that is undefined (NaN: no line, a 0/0 ratio) counts at the worst end for each bound
    (-inf for the lower one, +inf for the upper one) and an infinite draw stays infinite, so the
    interval is what it would be wherever those draws lie. None when a bound is then not finite
    (more than about 2.5% of the draws at an unbounded end).
    """
    if len(values) == 0:
        return None
    undefined = np.isnan(values)
    with np.errstate(invalid="ignore"):
        lo = float(np.quantile(np.where(undefined, -np.inf, values), 0.025))
        hi = float(np.quantile(np.where(undefined, np.inf, values), 0.975))
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None


def bootstrap_interval_with_reason(
    values: np.ndarray, what: str
) -> tuple[Interval | None, str | None]:
    """`bootstrap_interval`, with a note when some draws are not finite (`what` says where and why)."""
    bad = int((~np.isfinite(values)).sum())
    ci = bootstrap_interval(values)
    if not bad:
        return ci, None
    if ci is None:
        return None, (
            f"no interval: in {bad} of {len(values)} bootstrap resamples {what}; a 95% "
            "percentile interval can take at most about 2.5% of such resamples at either end"
        )
    return ci, (
        f"in {bad} of {len(values)} bootstrap resamples {what}; the interval counts them at its "
        "worst end"
    )
