"""The fairness suite's config (torch-free: its board declares it, and the results side reads a
stored config back through it, `SuiteBoard.config`)."""

from __future__ import annotations

from pydantic import Field, field_validator

from harness.core.bin_edges import edges_problem
from harness.core.suite_config import SuiteConfig
from harness.stats.calibration import ECE_BINS
from harness.stats.groups import INTERSECTION


class FairnessConfig(SuiteConfig):
    """`group_by`: columns, or lists of columns for intersections (default: the task's group
    columns and their full intersection); `bins`: edges for continuous attributes."""

    group_by: list[str | list[str]] | None = None
    bins: dict[str, list[float]] = Field(default_factory=dict)
    min_group_size: int = Field(default=20, ge=1)
    bootstrap_resamples: int | None = Field(default=None, ge=0, le=100_000)
    positive_label: int = Field(default=1, ge=0)
    ece_bins: int = Field(default=ECE_BINS, ge=2, le=100)

    @field_validator("group_by")
    @classmethod
    def _distinct_groupings(cls, v: list[str | list[str]] | None) -> list[str | list[str]] | None:
        """Each grouping names distinct columns, and no grouping comes twice: `[sex, sex]` in an
        intersection would invent empty groups (`1&2`), and a grouping given twice (also as
        `[a, b]` and `[b, a]`) would record every one of its numbers twice."""
        if v is None:
            return v
        if not v:
            raise ValueError(
                "is empty; leave group_by out to use the task's group columns, or name columns"
            )
        seen: dict[frozenset[str], str] = {}
        for entry in v:
            columns = [entry] if isinstance(entry, str) else list(entry)
            shown = INTERSECTION.join(columns) if columns else "[]"
            if not columns or any(not c for c in columns):
                raise ValueError(f"{shown!r}: an empty column name or intersection")
            joined = [c for c in columns if INTERSECTION in c]
            if joined:
                raise ValueError(
                    f"{joined[0]!r}: a column name with {INTERSECTION!r} would read as an "
                    f"intersection; write an intersection as a list, e.g. [sex, age_band]"
                )
            if len(set(columns)) != len(columns):
                raise ValueError(f"{shown!r} names a column twice in one intersection")
            key = frozenset(columns)
            if key in seen:
                raise ValueError(f"{shown!r} is the same grouping as {seen[key]!r}, given twice")
            seen[key] = shown
        return v

    @field_validator("bins")
    @classmethod
    def _increasing_edges(cls, v: dict[str, list[float]]) -> dict[str, list[float]]:
        """Bin edges are two or more increasing numbers (checked here, so `harness validate`
        refuses them, not the job)."""
        for column, edges in v.items():
            problem = edges_problem(column, edges)
            if problem:
                raise ValueError(problem)
        return v
