"""Progress of a stage-by-stage sweep, reported through `RunContext.progress` in samples.

The runner's progress callback counts samples done out of the task's size. The sweep visits the
task once per stage (the clean pass, then each attack at each eps), so each stage is worth an equal
share of the task's samples and the calls add up to exactly the task's size at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class StageProgress:
    """Turns fractions of stages into whole-sample progress calls."""

    def __init__(self, n: int, stages: int, callback: Callable[..., Any] | None) -> None:
        self.n, self.stages, self.callback = n, max(stages, 1), callback
        self.done = 0.0  # stages completed, fractional
        self.reported = 0

    def stage(self, label: str) -> None:
        """Announce what runs now (an attack and its budget); shown until the next label."""
        if self.callback is not None:
            self.callback(0, label, self.n)

    def advance(self, part: float, whole: float) -> None:
        """`part / whole` of one stage is done."""
        self.done += part / whole if whole else 0.0
        self._report(min(self.n, int(self.n * self.done / self.stages + 1e-9)))

    def finish(self) -> None:
        """Everything is done: report what rounding held back."""
        self._report(self.n)

    def _report(self, target: int) -> None:
        if self.callback is not None and target > self.reported:
            self.callback(target - self.reported)
        self.reported = max(self.reported, target)
