"""The two-model comparison page as plain values: every metric's paired difference with its
interval and verdict, then the slices (classes, groups, conditions) where the models differ."""

from __future__ import annotations

from dataclasses import dataclass

from harness.analysis.model_comparison import ModelComparison, PairedDiff, SliceDiff
from harness.present.leaderboard_view import split_key
from harness.present.number_format import interval_text, p_text, signed_text, value_text
from harness.present.report_views import Link, model_page, provenance_href, task_page

SHOWN_SLICES = 12  # largest differences shown before the rest (collapsed)


@dataclass(frozen=True)
class DiffRow:
    suite: str
    metric: str
    detail: str
    a: str
    b: str
    a_href: str
    b_href: str
    diff: str
    ci: str
    sort: str
    method: str
    p_holm: str
    verdict: str
    verdict_class: str  # better-a, better-b or ""


@dataclass(frozen=True)
class SliceRow:
    kind: str
    slice: str
    n: int
    a: str
    b: str
    a_href: str
    b_href: str
    diff: str
    ci: str
    sort: str
    p_holm: str
    verdict: str
    verdict_class: str


@dataclass(frozen=True)
class ComparisonView:
    task: Link
    a: Link
    b: Link
    summary: str
    rows: list[DiffRow]
    top_slices: list[SliceRow]
    more_slices: list[SliceRow]
    slices_tested: int
    metrics_tested: int
    notes: list[str]


def _verdict(d: PairedDiff, a: str, b: str) -> tuple[str, str]:
    board = f" ({d.board})" if d.board else ""
    if d.reason:
        return f"not compared: {d.reason}", ""
    if d.better == "a":
        return f"{a} better{board}", "better-a"
    if d.better == "b":
        return f"{b} better{board}", "better-b"
    if d.why:  # the unadjusted interval excludes 0, the adjusted p-value does not
        return f"no significant difference: {d.why}{board}", ""
    return f"no significant difference{board}", ""


def _family(d: PairedDiff) -> str:
    """The test and the family its adjusted p-value comes from."""
    if not d.family:
        return d.method
    return f"{d.method}; Holm over the {d.family_size} tests of {d.family}"


def _href(comp: ModelComparison, model: str, suite: str) -> str:
    man, job = comp.sources[(model, suite)]
    return provenance_href(man, job)


def _row(d: PairedDiff, comp: ModelComparison) -> DiffRow:
    a, b = comp.a, comp.b
    verdict, css = _verdict(d, a, b)
    metric, quals = split_key(d.key)
    return DiffRow(
        suite=d.suite,
        metric=metric,
        detail=" · ".join(q for part in quals for q in part.split("/") if q),
        a=value_text(d.a, d.unit),
        b=value_text(d.b, d.unit),
        a_href=_href(comp, a, d.suite),
        b_href=_href(comp, b, d.suite),
        diff=signed_text(d.diff, d.unit),
        ci=interval_text(d.ci, d.unit) or "—",
        sort="" if d.diff is None else repr(d.diff),
        method=_family(d),
        p_holm=p_text(d.p_holm),
        verdict=verdict,
        verdict_class=css,
    )


def _slice(s: SliceDiff, comp: ModelComparison) -> SliceRow:
    a, b = comp.a, comp.b
    if s.significant:
        verdict, css = (f"{a} better", "better-a") if s.diff > 0 else (f"{b} better", "better-b")
    else:
        verdict, css = "no significant difference", ""
    return SliceRow(
        kind=s.kind,
        slice=s.slice,
        n=s.n,
        a=value_text(s.a_acc),
        b=value_text(s.b_acc),
        a_href=_href(comp, a, s.suite),
        b_href=_href(comp, b, s.suite),
        diff=signed_text(s.diff),
        ci=interval_text(s.ci),
        sort=repr(s.diff),
        p_holm=p_text(s.p_holm),
        verdict=verdict,
        verdict_class=css,
    )


def comparison_view(comp: ModelComparison) -> ComparisonView:
    rows = [_row(d, comp) for d in comp.diffs]
    better_a = sum(d.better == "a" for d in comp.diffs)
    better_b = sum(d.better == "b" for d in comp.diffs)
    skipped = sum(bool(d.reason) for d in comp.diffs)
    same = len(comp.diffs) - better_a - better_b - skipped
    summary = (
        f"Of {len(comp.diffs)} metrics, {comp.a} is better on {better_a}, {comp.b} on {better_b}, "
        f"no significant difference on {same}, and {skipped} could not be compared."
    )
    slices = [_slice(s, comp) for s in comp.slices]
    significant = [s for s in slices if s.verdict_class]
    top = significant[:SHOWN_SLICES] or slices[: min(5, len(slices))]
    more = [s for s in slices if s not in top]
    return ComparisonView(
        task=Link(comp.task, task_page(comp.task)),
        a=Link(comp.a, model_page(comp.a)),
        b=Link(comp.b, model_page(comp.b)),
        summary=summary,
        rows=rows,
        top_slices=top,
        more_slices=more,
        slices_tested=comp.slices_tested,
        metrics_tested=comp.metrics_tested,
        notes=comp.notes,
    )
