"""A Markdown summary for a pull-request comment, readable on its own: the headline board of
each task (one line per model, a few columns, robust accuracy at the task's headline threat
model), the verdicts in words (the best model, the next one and the paired test between them),
caveats as numbered notes, failed jobs, and where the full report is.

Pasted into a comment, a relative link dies, so the only links are absolute ones to the report's
pages under `site_url` (`harness report --site-url`); without it the summary links nothing and
says in words where the report is (the folder `harness report` wrote; in CI, the artifact it was
uploaded as). Untrusted text goes through the one Markdown escaper."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote, urlsplit

from harness.analysis.headline import HeadlineBoard
from harness.core.errors import ConfigError
from harness.present.cell_view import STAR_RULE, CellView
from harness.present.escaping import md_code, md_text
from harness.present.headline_view import (
    ColumnHead,
    HeadlineView,
    VerdictView,
    headline_view,
    verdict_sentence,
)
from harness.present.report_views import JobLine

_SAFE_URL = re.compile(r"^(?i:https?)://[^\s()<>\[\]\"'`\\]+$")  # a scheme in any case


def check_site_url(url: str, option: str = "--site-url") -> str:
    """The published site's base URL for summary links (http or https, no markup characters);
    `option` names it in refusals (`site_url` from Python)."""
    if not _SAFE_URL.match(url):
        raise ConfigError(
            f"{option} {url!r} is not a plain http(s) URL; give the address the report folder "
            "is published at, e.g. https://example.org/reports/42"
        )
    # the pages' links are this address + a page's file name, in a summary made to be pasted
    # into a pull request: a query or fragment would end every link, a password publish itself
    parts = urlsplit(url)
    shown = url
    why = None
    if "@" in parts.netloc:
        shown = f"{parts.scheme}://***@{parts.netloc.rpartition('@')[2]}{parts.path}"
        why = "holds a user name or password, which every link in summary.md would publish"
    elif not parts.hostname:
        why = "names no host"
    elif parts.query or url.endswith("?"):
        why = f"has a query (?{parts.query}), which would end every page's link"
    elif parts.fragment or "#" in url:
        why = f"has a fragment (#{parts.fragment}), which would end every page's link"
    if why is not None:
        raise ConfigError(
            f"{option} {shown!r} {why}; give the address the report folder is published at, "
            "e.g. https://example.org/reports/42"
        )
    scheme, rest = url.split("://", 1)
    return f"{scheme.lower()}://{rest.rstrip('/')}/"


def _link(text: str, page: str, site_url: str | None) -> str:
    """A link to a page of the published report; without `site_url`, the text and the page's
    file name (no link: a relative one dies where the summary is pasted)."""
    if site_url is None:
        return f"{md_text(text)} ({md_code(page)} in the report folder)"
    href = site_url + quote(page, safe="/#.-_")
    return f"[{md_text(text)}]({href})"


def _cell(c: CellView) -> str:
    if c.missing:
        notes = "".join(f" ({b.note})" for b in c.badges)
        return md_text(c.missing) + notes
    value = f"**{md_text(c.text)}** ★" if c.best else md_text(c.text)
    if c.muted:  # an upper bound or unreliable number: italics, never starred
        value = f"_{md_text(c.text)}_"
    badges = "".join(f" {md_text(b.text)} ({b.note})" for b in c.badges)
    ci = f" {md_text(c.ci)}" if c.ci else ""
    # what the number is of, as the page's cell says it (the worst group's grouping: models'
    # worst groups can come from different groupings)
    detail = f" {md_text(c.detail)}" if c.detail else ""
    return f"{value}{badges}{ci} {md_text(c.n)}{detail}"


def _verdict(v: VerdictView) -> str:
    return verdict_sentence(v, text=md_text, name=lambda n: f"**{md_text(n)}**")


def _column_verdict(c: ColumnHead) -> str:
    """What the page's header says under a column with no star: at or below chance, or no
    significant differences (else a column without a star reads as if stars were left out)."""
    return c.chance or ("no significant differences" if c.all_tied else "")


def _board(h: HeadlineView, site_url: str | None) -> list[str]:
    lines = [f"### {md_text(h.title)} ({md_text(h.n)})", ""]
    if h.verdicts:
        lines += ["  \n".join(_verdict(v) for v in h.verdicts), ""]
    header = ["model", *(f"{c.label} {c.arrow}" for c in h.columns)]
    lines.append("| " + " | ".join(md_text(x) for x in header) + " |")
    lines.append("|" + "---|" * len(header))
    for row in h.rows:
        cells = [md_text(row.model.text), *(_cell(c) for c in row.cells)]
        lines.append("| " + " | ".join(cells) + " |")
    details = [
        f"{c.label}: " + "; ".join(x for x in (c.detail, _column_verdict(c)) if x)
        for c in h.columns
        if c.detail or _column_verdict(c)
    ]
    if details:
        lines += ["", "> " + md_text("; ".join(details))]
    lines += [f"> ({i}) {md_text(f)}" for i, f in enumerate(h.footnotes, start=1)]
    # a failed newest job whose earlier numbers stand in: the boards say so, and so must this
    lines += [f"> note: {md_text(n)}" for n in h.earlier]
    lines += [
        "",
        _link(f"{h.task.text}: figures, pictures and every metric", h.task.href, site_url),
    ]
    return lines


def summary_markdown(
    heads: list[HeadlineBoard],
    *,
    failed: Sequence[JobLine] = (),
    site_url: str | None = None,
    report: str = "",
    source: str = "",
) -> str:
    """The headline boards as Markdown (★ best and statistically tied; caveats numbered).
    `report` says where the report folder is when there is no `site_url` (e.g. its path);
    `source` where the numbers come from (results folder, runs, harness versions)."""
    views = [headline_view(h) for h in sorted(heads, key=lambda h: -len(h.rows))]
    if site_url is not None:
        where = _link("Full report", "index.html", site_url) + (
            " (every number links to its provenance)."
        )
    else:
        folder = f" in {md_code(report)}" if report else ""
        where = (
            f"The full report (figures, every metric, provenance) is the folder written by "
            f"`harness report`{folder}: open its `index.html`, or the CI artifact it was "
            "uploaded as; `harness report --site-url URL` makes the page names below links."
        )
    parts = [
        "## Evaluation results",
        "",
        f"Each cell: estimate, 95% interval, n. {STAR_RULE} Holm is over each step's models "
        "against the column's leader; a comparison page adjusts over every metric of its pair "
        "and says so where the two verdicts differ. Upper bounds and unreliable numbers are in "
        "italics with a numbered reason. " + where,
        "",
    ]
    if source:
        parts += [md_text(source), ""]
    for view in views:
        parts += _board(view, site_url)
        parts.append("")
    if failed:
        parts.append("**Jobs that failed:**")
        parts += [
            f"- {md_text(j.model)} × {md_text(j.task)} × {md_text(j.suite)}: {md_text(j.reason)}"
            for j in failed
        ]
    return "\n".join(parts).rstrip("\n") + "\n"
