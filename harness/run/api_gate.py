"""`harness check` as a Python function, `harness.check`: the CI gate's verdict as a typed
object, its rows as a pandas DataFrame. Reads results only: no torch (like every reader of
results). The CLI's `harness check` calls it and only renders and writes what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from harness.analysis.check import CheckReport, CheckRow, load_run, run_check
from harness.analysis.check_headline import HeadlineCheck, headline_checks
from harness.analysis.check_policy import load_policy
from harness.core.suite_board import suite_configs
from harness.run.suite_boards import installed_suite_boards

_FIELDS = [f.name for f in fields(CheckRow) if f.name != "rule"]  # rule: in `reason`
ROW_COLUMNS = (
    *_FIELDS[: _FIELDS.index("current") + 1],
    "delta",
    *_FIELDS[_FIELDS.index("current") + 1 :],
)
"""The columns of `GateResult.frame()`: every field of a gate row (its rule is in `reason`),
with `delta` (current - baseline) after `current`."""


@dataclass(frozen=True)
class GateResult:
    """What the gate decided: `passed` (and `exit_code`, 0 or 1, as `harness check` exits),
    every checked row (`frame()`), the failures, the headline rows per task, the method and
    what a pass can miss (`power`)."""

    report: CheckReport
    headline: list[HeadlineCheck]

    @property
    def passed(self) -> bool:
        return self.report.exit_code == 0

    @property
    def exit_code(self) -> int:
        return self.report.exit_code

    @property
    def failures(self) -> list[CheckRow]:
        return self.report.failures

    @property
    def method(self) -> str:
        return self.report.method

    @property
    def power(self) -> list[str]:
        return list(self.report.power)

    def frame(self) -> pd.DataFrame:
        """One row per checked item, in the gate's order: the columns of `ROW_COLUMNS`."""
        rows = [
            {
                **{name: getattr(row, name) for name in ROW_COLUMNS},
                "still_flagged": list(row.still_flagged),
            }
            for row in self.report.rows
        ]
        return pd.DataFrame(rows, columns=list(ROW_COLUMNS))


def check(
    baseline: str | Path, current: str | Path, *, policy: str | Path | None = None
) -> GateResult:
    """Gate the run folder `current` against `baseline` under the policy YAML `policy`
    (default: the default tolerances). Unusable input (a missing folder, runs that cannot be
    compared, a bad policy) raises the HarnessError `harness check` prints; a regression does
    not raise: it is a failed verdict."""
    rules = load_policy(Path(policy) if policy is not None else None)
    boards = installed_suite_boards()
    report = run_check(
        Path(baseline),
        Path(current),
        rules,
        policy_source=str(policy or "(defaults)"),
        configs=suite_configs(boards),
    )
    current_run = report.current_run or load_run(Path(current), "current")
    headline = headline_checks(report, current_run, boards, report.baseline_run)
    return GateResult(report=report, headline=headline)
