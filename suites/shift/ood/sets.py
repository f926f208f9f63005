"""OOD sets: generated noise of the task's shape, or a loaded task scored by the task's model.

Every OOD row has label -1 (`UNLABELED`: an OOD set needs no labels) and is never correct; the
rows keep the top logits, as the clean rows do, for scores added later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from harness.core.adapter import ModelAdapter
from harness.core.errors import ConfigError, DatasetError
from harness.core.sample_table import SampleTable
from harness.core.seeding import sample_seeds
from harness.core.suite import RunContext
from harness.core.task import UNLABELED, Batch, Task
from suites.shift.config import GeneratedOOD, OODEntry, TaskEntry, entry_shape_advice, ood_name
from suites.shift.ood.metrics import ood_metrics
from suites.shift.parts import Parts
from suites.shift.rows import join, predict, rows, step, task_rows


def generated(entry: GeneratedOOD, task: Task, ctx: RunContext) -> Iterator[Batch]:
    """A generated noise set, one batch at a time (label -1)."""
    from suites import counter_rng

    if task.modality not in ("image", "tabular"):
        raise ConfigError(
            f"suites.shift.ood_sets: generated noise sets are for image and tabular tasks, "
            f"not the {task.modality} task {task.name!r}; name an OOD task instead"
        )
    low, high = task.bounds if task.bounds is not None else (0.0, 1.0)
    shape = tuple(task.input_shape)
    for start in range(0, entry.n, step(ctx)):
        ids = [
            f"ood-{entry.generated}-{i:05d}" for i in range(start, min(entry.n, start + step(ctx)))
        ]
        seeds = torch.as_tensor(sample_seeds(ctx.seed, ids, "ood", entry.generated))
        if entry.generated == "uniform_noise":
            x = low + (high - low) * counter_rng.uniform(seeds, shape, stream=21)
        else:
            x = (low + high) / 2 + (high - low) / 4 * counter_rng.normal(seeds, shape, stream=22)
        yield Batch(ids, x.clamp(low, high), torch.full((len(ids),), UNLABELED))


def ood_set(
    adapter: ModelAdapter,
    task: Task,
    entry: OODEntry,
    clean_rows: dict[str, Any],
    ctx: RunContext,
    parts: Parts,
    *,
    temperature: float,
    max_samples: int | None,
    load: Callable[[TaskEntry, str], Task],
) -> None:
    """OOD scores of a generated or loaded set against the clean split's (label -1; an OOD
    set needs no labels), streamed in batches."""
    name = ood_name(entry)
    condition = f"ood={name}"
    if isinstance(entry, GeneratedOOD):
        blocks = [
            rows(
                b.sample_ids,
                b.labels.numpy(),
                predict(adapter, task, b.inputs, ctx, condition),
                condition,
                temperature=temperature,
                keep_logits=True,
            )
            for b in generated(entry, task, ctx)
        ]
        out = join(blocks)
    else:
        whole = load(entry, "suites.shift.ood_sets")
        if whole.modality != task.modality:
            parts.notes.append(
                f"OOD set {name!r} ({whole.modality}) does not apply to {task.modality} task {task.name!r}"
            )
            return
        if tuple(whole.input_shape) != tuple(task.input_shape):
            raise DatasetError(
                f"suites.shift.ood_sets: OOD set {name!r} has input shape {tuple(whole.input_shape)} "
                f"but task {task.name!r} has input shape {tuple(task.input_shape)}; the model can "
                "only score inputs of its task's shape"
                + entry_shape_advice(entry, whole, task, "OOD set")
            )
        other = whole.subset(max_samples, seed=ctx.seed, purpose="shift/ood")
        parts.plan(ctx, len(other))
        out = task_rows(
            adapter, task, other, condition, ctx, temperature=temperature, keep_logits=True
        )
    out["label"] = np.full(len(out["sample_id"]), UNLABELED, dtype=np.int64)
    out["correct"] = np.zeros(len(out["sample_id"]), dtype=bool)
    parts.tables.append(SampleTable.build(out))
    parts.metrics += ood_metrics(name, clean_rows, out, ctx)
