"""The corrupted inputs a shift suite instance keeps for the run's other models (an LRU cache).

Corrupted inputs do not depend on the model: the runner shares one suite instance across a run's
jobs, so every model after the first reads the same corrupted batches from here. The last batch
the cache evicts is written over by the next image corruption (`recycled`) instead of a freshly
mapped output.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch

from harness.core.seeding import sample_seeds
from harness.core.suite import RunContext
from harness.core.task import Batch, Task
from harness.suites.shift import perturbations
from harness.suites.shift.image_corruptions import fits_out

CACHE_BYTES = 256 * 1024 * 1024
"""Bound on the corrupted inputs a suite instance keeps (LRU) for reuse by the run's other models."""


def input_size(inputs: torch.Tensor | list[str]) -> int:
    """Bytes of a tensor, characters of a list of texts."""
    if isinstance(inputs, torch.Tensor):
        return inputs.numel() * inputs.element_size()
    return sum(len(t) for t in inputs)


class CorruptionCache:
    """Perturbed batches keyed by (task, family, severity, seed, start, size), oldest evicted
    beyond `CACHE_BYTES`."""

    def __init__(self) -> None:
        self.inputs: OrderedDict[tuple[Any, ...], tuple[list[str], torch.Tensor | list[str]]] = (
            OrderedDict()
        )
        self.cached_bytes = 0
        # The last evicted corrupted batch: the next image corruption is written into it
        # (`recycled`), not into a freshly mapped output.
        self.spare: torch.Tensor | None = None

    def perturbed(
        self,
        task: Task,
        family: str,
        severity: int,
        ctx: RunContext,
        batch: Batch,
        start: int,
        stats: perturbations.FeatureStats | None,
    ) -> torch.Tensor | list[str]:
        """A batch's perturbed inputs, from the cache when another model made them."""
        key = (task.fingerprint, family, severity, ctx.seed, start, len(batch))
        hit = self.inputs.get(key)
        if hit is not None:
            self.inputs.move_to_end(key)
            return hit[1]
        seeds = sample_seeds(ctx.seed, batch.sample_ids, task.modality, family, severity)
        recycled = self.recycled(batch.inputs) if task.modality == "image" else None
        out = perturbations.apply(
            batch.inputs, family, severity, seeds, task, stats=stats, out=recycled
        )
        self.keep(key, batch.sample_ids, out)
        return out

    def recycled(self, inputs: torch.Tensor | list[str]) -> torch.Tensor | None:
        """The spare buffer (the last corrupted batch evicted from the cache) when `corrupt` can
        write into it for `inputs` (`fits_out`), handed out once; else None.

        On the CPU every output of 32 MB or more is otherwise mapped and faulted in afresh (glibc
        maps such allocations anew each time): at the suite's 256-image step at 224 px, writing
        into a recycled buffer took 0.45-0.81x the time of a fresh output for pixelate,
        saturate, brightness, fog and gaussian noise (`benchmarks/bench_shift_apply.py`; JPEG,
        whose output is made inside it, the same), the whole sweep 0.89-0.92x
        (`benchmarks/bench_shift_suite.py`; docs/shift.md). An
        evicted batch is no longer handed out by the cache, and each model's sweep is done with
        a batch before it asks for the next, so nothing reads the buffer's old values again."""
        spare, self.spare = self.spare, None
        if spare is None or not isinstance(inputs, torch.Tensor):
            return None
        return spare if fits_out(spare, inputs) else None

    def keep(
        self, key: tuple[Any, ...], sample_ids: list[str], inputs: torch.Tensor | list[str]
    ) -> None:
        """Keep `inputs` for the run's other models, evicting the oldest beyond CACHE_BYTES."""
        size = input_size(inputs)
        if size > CACHE_BYTES:
            return
        self.inputs[key] = (sample_ids, inputs)
        self.cached_bytes += size
        while self.cached_bytes > CACHE_BYTES:
            _, (_, old) = self.inputs.popitem(last=False)
            self.cached_bytes -= input_size(old)
            if isinstance(old, torch.Tensor) and old.dtype == torch.float32:
                self.spare = old
