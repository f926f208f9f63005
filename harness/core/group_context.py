"""What a per-group record's context names: `GroupContext`, the one parser of it.

The fairness suite writes its disparities with `group_by` (the grouping: a column, or columns
joined by "&" for an intersection) and its per-group metrics with `group_by` and `group` (the
group's value); the report's `group_records` figures (`harness.core.suite_board.FigureKind`) and
the paired tests read them back through this form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class GroupContext:
    """`group_by` (None where the context names none) and `group` (None for a disparity)."""

    group_by: str | None
    group: str | None

    @classmethod
    def of(cls, context: Mapping[str, object]) -> GroupContext:
        by, group = context.get("group_by"), context.get("group")
        return cls(None if by is None else str(by), None if group is None else str(group))
