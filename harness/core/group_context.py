"""What a per-group record's context names: `GroupContext`, the one parser of it.

The fairness suite writes its disparities with `group_by` (the grouping: a column, or columns
joined by "&" for an intersection) and its per-group metrics with `group_by` and `group` (the
group's value); the report's `group_records` figures (`harness.core.suite_board.FigureKind`) and
the paired tests read them back through this form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.core.metric_record import MetricRecord


@dataclass(frozen=True)
class GroupContext:
    """`group_by` (None where the context names none) and `group` (None for a disparity)."""

    group_by: str | None
    group: str | None

    @classmethod
    def of(cls, context: Mapping[str, object]) -> GroupContext:
        by, group = context.get("group_by"), context.get("group")
        return cls(None if by is None else str(by), None if group is None else str(group))


def is_worst_group(rec: MetricRecord) -> bool:
    """A number that is one group's (`worst_group_acc`, `worst_group_acc_drop`)."""
    return rec.metric.startswith("worst_")


def worst_group_records(rec: MetricRecord, metrics: Sequence[MetricRecord]) -> list[MetricRecord]:
    """The per-group records a worst-group number (`worst_group_acc`, `worst_group_acc_drop`)
    is of: those of the same grouping and condition whose value is the number (several when
    groups tie). The number's record counts every group's samples in its n, these their own.
    Empty for any other record, or when `metrics` hold no such per-group record."""
    if not is_worst_group(rec) or rec.value is None:
        return []
    per_group, rest = rec.metric.removeprefix("worst_"), dict(rec.context)
    return [
        m
        for m in metrics
        if m.metric == per_group
        and m.condition == rec.condition
        and m.value is not None
        and "group" in m.context
        and {k: v for k, v in m.context.items() if k != "group"} == rest
        and math.isclose(m.value, rec.value, rel_tol=0.0, abs_tol=1e-12)
    ]
