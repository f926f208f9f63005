"""The class a per-class record's context names: `ClassContext`, the one parser of it.

The accuracy suite writes its per-class accuracies (`class_acc`) with `class`: the class's name
(or its index where the task names none), matched against the per-sample table's `label` column;
the model comparisons, the variant deltas and the paired tests read it back through this form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ClassContext:
    """`label`: the class a record's `class` names, as text; None where it names none."""

    label: str | None

    @classmethod
    def of(cls, context: Mapping[str, object]) -> ClassContext:
        value = context.get("class")
        return cls(None if value is None else str(value))
