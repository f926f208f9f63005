"""What one shift-suite run collects, in order: table blocks, metric records, notes, gallery."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.core.suite import RunContext


@dataclass(kw_only=True)
class Parts:
    """What a run collects, in order: table blocks, metric records, notes."""

    tables: list[SampleTable]
    metrics: list[MetricRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_applicable: dict[str, float] = field(default_factory=dict)  # corruption -> max mean change
    # a tabular or text family that changes no input of the task -> why (no continuous feature)
    unchanged: dict[str, str] = field(default_factory=dict)
    # cells of an applicable corruption that change the inputs by less than the no-op threshold
    faint: dict[tuple[str, int], float] = field(default_factory=dict)  # cell -> mean change
    # text cells that changed fewer than half of the texts -> (texts changed, texts)
    few_changed: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    gallery: dict[str, Any] = field(default_factory=dict)  # artifact, and "images" (the array)
    # a published set's cells: the source id of each row (cells pair by it, not by position)
    cell_ids: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    # each cell's rows whose correctness the argmax tie-break decides (harness.stats.tie_breaks)
    tied: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    clean_tied: np.ndarray | None = None  # the same for the clean rows
    planned: int = 0  # samples to predict, counted once per condition (the progress total)
    # the first clean inputs, for the batch-dependence probe (`batch_dependence.dependent_rows`)
    probe: Any = None

    def plan(self, ctx: RunContext, more: int) -> None:
        """Add `more` samples of work (a loaded shifted or OOD set) to the progress total."""
        self.planned += more
        if ctx.progress is not None:
            ctx.progress(0, total=self.planned)
