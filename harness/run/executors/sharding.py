"""Sharding a job over samples, and merging the shards back into one deterministic result.

A suite is shardable when running it on a contiguous slice of the task gives exactly that slice's
rows of the full run (true when every random choice derives from (run seed, sample id, ...)) and
it can recompute its metrics and artifacts from a merged table. Both members are declared on
`harness.core.suite.Suite` (see docs/ray.md); a suite opts in with

    shardable: ClassVar[bool] = True
    def result_from_table(self, table: SampleTable, task: Task, ctx: RunContext) -> SuiteResult

and `run()` must emit rows condition-major in task sample order (conditions in a fixed order),
which is the order the merge restores. Shards are cut at batch boundaries, so every model call
sees the same batch as in an unsharded run (a batched forward's floating-point result can depend
on what else is in the batch).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from harness.core.sample_table import SampleTable
from harness.core.suite import RunContext, Suite, SuiteResult
from harness.core.task import Task


def is_shardable(suite: Suite) -> bool:
    return suite.shardable


@dataclass(frozen=True, kw_only=True)
class Shard:
    """Samples [start, stop) of a task: shard `index` of `count`."""

    index: int
    count: int
    start: int
    stop: int

    def apply(self, task: Task) -> Task:
        """The task restricted to this shard's samples (a new task, same metadata)."""
        return replace(task, data=task.data.select(range(self.start, self.stop)))

    @property
    def label(self) -> str:
        return f"shard {self.index + 1}/{self.count} (samples {self.start}..{self.stop - 1})"


def plan_shards(
    n_samples: int, *, batch_size: int, shards: int | None = None, shard_size: int | None = None
) -> list[Shard] | None:
    """Contiguous shards cut at batch boundaries; None when the job runs whole (one unit)."""
    if n_samples == 0 or (shards is None and shard_size is None):
        return None
    if shard_size is None:
        assert shards is not None
        shard_size = math.ceil(n_samples / shards)
    size = max(1, math.ceil(shard_size / batch_size)) * batch_size
    starts = list(range(0, n_samples, size))
    if len(starts) < 2:
        return None
    return [
        Shard(index=i, count=len(starts), start=s, stop=min(s + size, n_samples))
        for i, s in enumerate(starts)
    ]


def merge_tables(tables: Mapping[int, SampleTable], sample_ids: list[str]) -> SampleTable:
    """Concatenate shard tables (keyed by shard index) in the task's canonical row order.

    Order: conditions in order of first appearance (shard 0 first), then task sample order within
    each condition; independent of the order in which shards finished.
    """
    frames = [tables[i].frame for i in sorted(tables)]
    merged = pd.concat(frames, ignore_index=True)
    position = pd.Series(np.arange(len(sample_ids)), index=pd.Index(sample_ids, dtype=object))
    rank = {c: r for r, c in enumerate(dict.fromkeys(merged["condition"].tolist()))}
    keys = pd.DataFrame(
        {
            "rank": merged["condition"].map(rank).to_numpy(np.int64),
            "pos": position.reindex(merged["sample_id"].astype(object)).to_numpy(),
        }
    )
    if keys["pos"].isna().any():
        raise ValueError("a shard returned rows for sample ids that are not in the task")
    order = np.lexsort((keys["pos"].to_numpy(np.int64), keys["rank"].to_numpy()))
    return SampleTable(merged.iloc[order].reset_index(drop=True))


def merge_result(
    suite: Suite, tables: Mapping[int, SampleTable], task: Task, ctx: RunContext
) -> SuiteResult:
    """The job's result from its shards' tables: merged table, metrics recomputed on the whole."""
    table = merge_tables(tables, task.sample_ids)
    if len(table) == 0:
        raise ValueError("shards returned no rows")
    return suite.result_from_table(table, task, ctx)
