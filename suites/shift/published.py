"""A published corrupted set (cell columns `corruption` and `severity`): each row is evaluated as
is, streamed in batches, and reported under its cell's condition (and its `source_id`, when the
task has one); nothing is corrupted again."""

from __future__ import annotations

import numpy as np

from harness.core.adapter import ModelAdapter
from harness.core.sample_table import SampleTable
from harness.core.subsets import subset_note
from harness.core.suite import RunContext, SuiteResult
from harness.core.task import SOURCE_ID, Task
from harness.stats import tie_breaks
from harness.suites.shift import selection
from harness.suites.shift.config import ShiftConfig
from harness.suites.shift.metrics import perturbation_metrics
from harness.suites.shift.parts import Parts
from harness.suites.shift.rows import join, predict, rows, step, take
from harness.suites.shift.sweep import check_evaluable


def run_published(
    adapter: ModelAdapter, task: Task, ctx: RunContext, cfg: ShiftConfig, *, reads_others: bool
) -> SuiteResult:
    """`max_samples` keeps that many images per cell (`Task.subset`: stratified by label and
    cell, by source image). `reads_others`: shifted tasks or OOD sets apply to this task (they
    are not run here, and a note says so)."""
    full_n = len(task)
    if cfg.max_samples is not None:
        n = cfg.max_samples * selection.count_cells(task)
        task = task.subset(n, seed=ctx.seed, purpose="shift/rows")
    check_evaluable(task, [])
    published = selection.published_cells(task)
    if ctx.progress is not None:
        ctx.progress(0, total=len(task))
    blocks, start = [], 0
    for batch in task.batches(step(ctx)):
        stop = start + len(batch)
        logits = predict(adapter, task, batch.inputs, ctx, "published cells")
        blocks.append(
            rows(
                published.table_ids[start:stop],
                batch.labels.numpy(),
                logits,
                published.conditions[start:stop],
                temperature=cfg.energy_temperature,
            )
        )
        start = stop
    joined = join(blocks)
    parts = Parts(tables=[])
    cells: dict[tuple[str, int], np.ndarray] = {}
    for (name, severity), at in published.cells.items():
        block = {k: take(v, at) for k, v in joined.items()}
        parts.tables.append(SampleTable.build(block))
        cells[(name, severity)] = block["correct"]
        parts.tied[(name, severity)] = block[tie_breaks.COLUMN]
        if SOURCE_ID in task.data.column_names:  # else cells pair by position, if at all
            parts.cell_ids[(name, severity)] = block["sample_id"]  # the source ids
    parts.metrics += perturbation_metrics(task, cells, None, ctx, parts)
    parts.notes.append(
        f"published corrupted set: {len(cells)} (corruption, severity) cells read from "
        f"the task's cell columns `corruption` / `severity`; no clean rows, so no clean "
        "accuracy (evaluate the clean set as a task of its own)"
    )
    if reads_others:
        parts.notes.append(
            "shifted tasks and OOD sets compare with clean rows: not run on a published "
            "corrupted set"
        )
    if len(task) < full_n:
        parts.notes.append(
            subset_note(
                len(task),
                full_n,
                f"max_samples={cfg.max_samples} per cell",
                strata="label and cell",
            )
        )
    return SuiteResult(
        table=SampleTable.concat(parts.tables),
        metrics=parts.metrics,
        artifacts={"n": len(task), "published_cells": [f"{c}/{s}" for c, s in cells]},
        notes=parts.notes,
    )
