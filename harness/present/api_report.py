"""`harness report` as a Python function, `harness.report`: write the static HTML site and its
Markdown summary, and say where they are. Reads results only: no torch. The CLI's
`harness report` calls it and prints the paths it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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
    option_names: Literal["python", "cli"] = "python",
) -> ReportSite:
    """Write the report of the results folder `results` into the folder `out` (docs/report.md):
    `suite_boards` are the installed suites' boards (`harness.run.suite_boards`: the labels of their
    metrics), `compare` adds comparison pages of model pairs, `site_url` is where the site will
    be published (summary.md links there), `allow_partial` publishes incomplete results marked
    PARTIAL (refused otherwise). Refusals name `compare`, `site_url` and `allow_partial=True` as
    the caller spells them: `option_names="cli"` (harness report) says `--compare`,
    `--site-url` and `--allow-partial`."""
    compare_option, url_option, partial_option = (
        ("--compare", "--site-url", "--allow-partial")
        if option_names == "cli"
        else ("compare", "site_url", "allow_partial=True")
    )
    if site_url is not None and not isinstance(site_url, str):
        raise ConfigError(
            f"site_url: expected the http(s) address as text, got {type(site_url).__name__}"
        )
    url = check_site_url(site_url, url_option) if site_url else None
    pairs = _pairs(compare)
    for a, b in pairs:  # before anything is read or written
        if a == b:
            raise ConfigError(
                f"{compare_option} {a} {b} names one model twice: a comparison page compares two "
                "models"
            )
    index = site.build_site(
        Path(results),
        Path(out),
        suite_boards=suite_boards,
        compare=pairs,
        site_url=url,
        allow_partial=allow_partial,
        compare_option=compare_option,
        partial_option=partial_option,
    )
    return ReportSite(folder=index.parent, index=index, summary=index.parent / "summary.md")


def _pairs(compare: object) -> list[tuple[str, str]]:
    """`compare` as (model, model) pairs; anything else is one line (it raised ValueError or
    TypeError from unpacking in Python; the CLI's pairs are two names each by argparse)."""
    items = None if isinstance(compare, str | bytes) else compare
    try:
        listed = list(items)  # type: ignore[call-overload]
    except TypeError:
        listed = None
    if listed is None:
        raise ConfigError(
            f"compare: expected a list of (model, model) pairs, got {type(compare).__name__}"
        )
    for pair in listed:
        if (
            isinstance(pair, str | bytes)
            or not isinstance(pair, Sequence)
            or len(pair) != 2
            or not all(isinstance(name, str) for name in pair)
        ):
            raise ConfigError(f"compare: expected pairs of two model names, got {pair!r:.200}")
    return [(a, b) for a, b in listed]
