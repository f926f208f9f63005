"""`harness report` as a Python function, `harness.report`: write the static HTML site and its
Markdown summary, and say where they are. Reads results only: no torch. The CLI's
`harness report` calls it and prints the paths it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.core.errors import ConfigError
from harness.core.suite_board import SuiteBoard
from harness.present import site
from harness.present.summary import check_site_url


@dataclass(frozen=True)
class ReportSite:
    """A written report: its folder, its `index.html` and its `summary.md` (for a pull request)."""

    folder: Path
    index: Path
    summary: Path


def report(
    results: str | Path,
    out: str | Path,
    *,
    suite_boards: Sequence[SuiteBoard],
    compare: Sequence[tuple[str, str]] = (),
    site_url: str | None = None,
    allow_partial: bool = False,
) -> ReportSite:
    """Write the report of the results folder `results` into the folder `out` (docs/report.md):
    `suite_boards` are the installed suites' boards (`harness.run.suite_boards`: the labels of their
    metrics), `compare` adds comparison pages of model pairs, `site_url` is where the site will
    be published (summary.md links there), `allow_partial` publishes incomplete results marked
    PARTIAL (refused otherwise)."""
    url = check_site_url(site_url) if site_url else None
    pairs = [(a, b) for a, b in compare]
    for a, b in pairs:  # before anything is read or written
        if a == b:
            raise ConfigError(
                f"--compare {a} {b} names one model twice: a comparison page compares two models"
            )
    index = site.build_site(
        Path(results),
        Path(out),
        suite_boards=suite_boards,
        compare=pairs,
        site_url=url,
        allow_partial=allow_partial,
    )
    return ReportSite(folder=index.parent, index=index, summary=index.parent / "summary.md")
