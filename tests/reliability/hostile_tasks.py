"""Plugin tasks that break the `Task` contract, for the bad-input catalogue.

A task plugin (the `harness.tasks` entry-point group) returns a `Task`; these return the digits
task with a cell column the data does not have, or with rows that belong to no cell.
"""

from __future__ import annotations

from dataclasses import replace

from harness.core.task import Task
from harness.data.builtin import digits


def cell_column_not_in_data() -> Task:
    """`severity` named as a cell column, but the data has no such column."""
    base = digits()
    data = base.data.add_column("corruption", ["fog"] * len(base.data))
    return replace(base, data=data, cell_columns=("corruption", "severity"))


def cell_column_with_empty_rows() -> Task:
    """Every tenth row has no corruption or severity (a half-filled cell column)."""
    base = digits()
    n = len(base.data)
    corruption = [None if i % 10 == 0 else "fog" for i in range(n)]
    severity = [None if i % 10 == 0 else 1 + i % 5 for i in range(n)]
    data = base.data.add_column("corruption", corruption).add_column("severity", severity)
    return replace(base, data=data, cell_columns=("corruption", "severity"))
