"""A number as a report cell: estimate, interval, n, provenance link, and its caveats in words.

Caveats (upper bound, unreliable, below chance, no interval) show as a visible badge with a
footnote number; the footnote under the table says the reason in words. Numbers whose caveat
excludes them from comparisons are drawn muted and are never marked best.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.analysis.caveats import Caveat, caveats
from harness.core.group_context import is_worst_group
from harness.core.metric_record import MetricRecord
from harness.present.number_format import interval_text, value_beside

STAR_RULE = (
    "★: best in the column, or not significantly different from the best (paired tests on the "
    "same samples, Holm; for ECE the test compares debiased ECE, so two models showing the same "
    "ECE can fall on either side); no ★ in a column with fewer than two ranked numbers, where "
    "no number is significantly apart from the others (no best to mark), or where every model "
    "is at or below chance, nor on the calibration error of a model whose clean accuracy is not "
    "shown above chance; upper bounds and unreliable numbers are never ranked or starred."
)
"""The one rule the report's stars follow (`harness.analysis.headline.starred`), in words: the
legend of every page and summary that shows a ★."""


@dataclass
class Footnotes:
    """Numbered reasons under a table; the same reason gets the same number."""

    items: list[str] = field(default_factory=list)

    def mark(self, reason: str) -> int:
        if reason not in self.items:
            self.items.append(reason)
        return self.items.index(reason) + 1


@dataclass(frozen=True)
class BadgeView:
    kind: str  # css class suffix: upper_bound, unreliable, below_chance, failed, skipped...
    text: str
    note: int  # footnote number


@dataclass(frozen=True)
class CellView:
    """One cell of a board. `text` is '' when the model has no number (then `missing` says why)."""

    text: str
    ci: str
    n: str
    href: str
    title: str
    sort: str  # numeric sort key for the inline sorter ('' sorts last)
    best: bool = False
    muted: bool = False
    detail: str = ""
    badges: tuple[BadgeView, ...] = ()
    missing: str = ""


def _title(record: MetricRecord) -> str:
    parts = [f"n={record.n}"]
    if record.ci_method:
        parts.append(record.ci_method)
    if record.note:
        parts.append(record.note)
    parts.append("click for provenance")
    return "; ".join(parts)


def record_cell(
    record: MetricRecord,
    href: str,
    notes: Footnotes,
    *,
    best: bool = False,
    detail: str = "",
    found: tuple[Caveat, ...] | None = None,
    descriptions: dict[str, str] | None = None,
    show_note: bool = False,
) -> CellView:
    """The cell of a stored record; its caveats become badges with footnotes. `show_note`: the
    record's own note, when no caveat already says it, becomes a `note` badge too (a headline
    cell says what the leaderboard's dagger says: `preset fast`, the cells left out of a mean,
    the samples an argmax tie decides), not only its tooltip."""
    found = caveats(record, descriptions) if found is None else found
    badges = []
    ci = interval_text(record.ci, record.unit)
    for c in found:
        if c.kind == "no_interval":
            ci = f"no interval [{notes.mark(c.reason)}]"
            continue
        if c.kind == "undefined":  # the value already reads "undefined": say why below it
            ci = f"why: [{notes.mark(c.reason)}]"
            continue
        badges.append(BadgeView(c.kind, c.short, notes.mark(c.reason)))
    if show_note and record.note and not any(record.note in c.reason for c in found):
        badges.append(BadgeView("note", "note", notes.mark(record.note)))
    muted = any(c.excludes for c in found)
    return CellView(
        text=value_beside(record.value, record.ci, record.unit),
        ci=ci,
        # a worst-group number is one group's: its record's n counts every group (the cell's
        # detail names the group and its own n, as the leaderboard's `_n` and footnote do)
        n=f"n={record.n}" + (" in all groups" if is_worst_group(record) else ""),
        href=href,
        title=_title(record),
        sort="" if record.value is None else repr(float(record.value)),
        best=best and not muted,
        muted=muted,
        detail=detail,
        badges=tuple(badges),
    )


def missing_cell(why: str, notes: Footnotes) -> CellView:
    """A cell without a number: `failed: <reason>`, `skipped: <reason>` or `not measured`."""
    status, _, reason = why.partition(": ")
    if not reason:
        return CellView(text="", ci="", n="", href="", title=why, sort="", missing=status)
    badge = BadgeView(status.replace(" ", "_"), status, notes.mark(f"{status}: {reason}"))
    return CellView(
        text="", ci="", n="", href="", title=why, sort="", missing=status, badges=(badge,)
    )
