"""What the results side knows of a suite without importing it (or torch): `SuiteBoard`.

A suite declares its board in a torch-free module of its own (`harness/suites/shift/board.py`,
`harness/suites/accuracy_board.py`), registered like the suite itself: the built-ins in
`harness.suites.BUILTIN_SUITE_BOARDS`, other packages through the entry-point group
`harness.suite_boards`. The suite class declares the same specs (`Suite.metrics`), so the numbers
a suite writes and the words the report shows them in come from one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.core.errors import HarnessError
from harness.core.metric_record import MetricSpec


@dataclass(frozen=True, kw_only=True)
class SuiteBoard:
    """A suite's metrics as boards and the report show them.

    `metrics`: the specs the suite's records carry (`label` gives each one its words).
    `derived`: metrics the boards compute from the suite's records across models (the shift
    suite's mCE), declared here for their words.
    """

    suite: str
    metrics: tuple[MetricSpec, ...]
    derived: tuple[MetricSpec, ...] = ()


def metric_labels(boards: Iterable[SuiteBoard]) -> dict[str, str]:
    """Metric name -> label over the suites' boards (metrics without a label left out). Two
    suites may declare one metric (`clean_acc`) only with the same label."""
    labels: dict[str, str] = {}
    said_by: dict[str, str] = {}
    for board in boards:
        for spec in (*board.metrics, *board.derived):
            if not spec.label:
                continue
            if spec.name in labels and labels[spec.name] != spec.label:
                raise HarnessError(
                    f"suites {said_by[spec.name]!r} and {board.suite!r} label metric "
                    f"{spec.name!r} differently ({labels[spec.name]!r}, {spec.label!r}); "
                    "one metric name reads one way on every board"
                )
            labels[spec.name] = spec.label
            said_by[spec.name] = board.suite
    return labels
