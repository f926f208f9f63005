"""The fairness suite's config (torch-free: its board declares it, and the results side reads a
stored config back through it, `SuiteBoard.config`)."""

from __future__ import annotations

from pydantic import Field

from harness.core.suite_config import SuiteConfig
from harness.stats.calibration import ECE_BINS


class FairnessConfig(SuiteConfig):
    """`group_by`: columns, or lists of columns for intersections (default: the task's group
    columns and their full intersection); `bins`: edges for continuous attributes."""

    group_by: list[str | list[str]] | None = None
    bins: dict[str, list[float]] = Field(default_factory=dict)
    min_group_size: int = Field(default=20, ge=1)
    bootstrap_resamples: int | None = Field(default=None, ge=0, le=100_000)
    positive_label: int = Field(default=1, ge=0)
    ece_bins: int = Field(default=ECE_BINS, ge=2, le=100)
