"""The two-model comparison page as plain values: every metric's paired difference with its
interval and verdict, then the slices (classes, groups, conditions) where the models differ.

Intervals and p-values are shown unadjusted and Holm-adjusted side by side. A difference whose
95% interval (unadjusted) excludes 0 but whose Holm-adjusted p-value is not significant is
neither called a difference nor "no difference": its verdict says it is not significant after
the correction for testing many metrics (or slices) at once, and the page explains why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.analysis.model_comparison import ModelComparison, PairedDiff, SliceDiff
from harness.core.group_order import group_names
from harness.present.leaderboard_view import split_key, split_qualifiers
from harness.present.metric_names import MetricWords, qualifier_words
from harness.present.number_format import interval_text, p_text, signed_text, value_text
from harness.present.report_views import Link, model_page, provenance_href, task_page

SHOWN_SLICES = 12  # largest differences shown before the rest (collapsed)


@dataclass(frozen=True)
class DiffRow:
    suite: str
    key: str  # the metric key (the row header's tooltip)
    metric: str  # in words
    detail: str
    a: str
    b: str
    a_href: str
    b_href: str
    diff: str
    ci: str
    sort: str
    method: str
    p: str  # unadjusted
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
    p: str  # unadjusted
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
    # how many differences the Holm correction took back (their unadjusted interval excludes 0)
    corrected: int = 0
    # significant slices past the SHOWN_SLICES largest: in the collapsed table, counted aloud
    more_significant: int = 0


CORRECTED = "not significant after Holm's correction (the unadjusted interval excludes 0)"


def _excludes_zero(ci: tuple[float, float] | None) -> bool:
    return ci is not None and not ci[0] <= 0.0 <= ci[1]


def _verdict(d: PairedDiff, a: str, b: str) -> tuple[str, str]:
    """The verdict in words; `CORRECTED` when the unadjusted interval excludes 0 and the
    family's Holm-adjusted p-value does not; how the headline board decided, in brackets."""
    board = f" ({d.board})" if d.board else ""
    if d.reason:
        return f"not compared: {d.reason}", ""
    if d.better == "a":
        return f"{a} better{board}", "better-a"
    if d.better == "b":
        return f"{b} better{board}", "better-b"
    if d.p_value is None:
        return f"interval contains 0{board}", ""
    if _excludes_zero(d.ci):
        return CORRECTED + board, ""
    return f"no significant difference{board}", ""


def _family(d: PairedDiff) -> str:
    """The test and the family its adjusted p-value comes from."""
    if not d.family:
        return d.method
    return f"{d.method}; Holm over the {d.family_size} tests of {d.family}"


def _href(comp: ModelComparison, model: str, suite: str) -> str:
    man, job = comp.sources[(model, suite)]
    return provenance_href(man, job)


def _labelled(quals: list[str], labels: Mapping[str, Mapping[str, str]]) -> list[str]:
    """A key's qualifiers with its group's value replaced by the task's label for it (`group=<40`
    -> `group=under 40` when `age_band` declares one), as the other pages name groups."""
    parts = dict(q.partition("=")[::2] for part in quals for q in split_qualifiers(part, "/") if q)
    by, group = parts.get("group_by"), parts.get("group")
    declared = labels.get(by or "", {})
    if group is None or group not in declared:
        return quals
    label = group_names([*declared, group], declared)[group]
    return [
        "/".join(
            f"group={label}" if q == f"group={group}" else q for q in split_qualifiers(part, "/")
        )
        for part in quals
    ]


def _row(d: PairedDiff, comp: ModelComparison, words: MetricWords) -> DiffRow:
    a, b = comp.a, comp.b
    verdict, css = _verdict(d, a, b)
    _metric, quals = split_key(d.key)
    _man, job = comp.sources[(a, d.suite)]
    return DiffRow(
        suite=d.suite,
        key=d.key,
        metric=words.short(d.key),
        detail=" · ".join(qualifier_words(_labelled(quals, job.record.task_summary.group_labels))),
        a=value_text(d.a, d.unit),
        b=value_text(d.b, d.unit),
        a_href=_href(comp, a, d.suite),
        b_href=_href(comp, b, d.suite),
        diff=signed_text(d.diff, d.unit),
        ci=interval_text(d.ci, d.unit) or "—",
        sort="" if d.diff is None else repr(d.diff),
        method=_family(d),
        p=p_text(d.p_value),
        p_holm=p_text(d.p_holm),
        verdict=verdict,
        verdict_class=css,
    )


def _slice(s: SliceDiff, comp: ModelComparison) -> SliceRow:
    a, b = comp.a, comp.b
    if s.significant:
        verdict, css = (f"{a} better", "better-a") if s.diff > 0 else (f"{b} better", "better-b")
    elif _excludes_zero(s.ci):
        verdict, css = CORRECTED, ""
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
        p=p_text(s.p_value),
        p_holm=p_text(s.p_holm),
        verdict=verdict,
        verdict_class=css,
    )


def comparison_view(comp: ModelComparison, words: MetricWords) -> ComparisonView:
    rows = [_row(d, comp, words) for d in comp.diffs]
    better_a = sum(d.better == "a" for d in comp.diffs)
    better_b = sum(d.better == "b" for d in comp.diffs)
    skipped = sum(bool(d.reason) for d in comp.diffs)
    corrected_metrics = sum(r.verdict.startswith(CORRECTED) for r in rows)
    same = len(comp.diffs) - better_a - better_b - skipped - corrected_metrics
    held_back = (
        f"not significant after Holm's correction on {corrected_metrics} (their unadjusted "
        "interval excludes 0), "
        if corrected_metrics
        else ""
    )
    summary = (
        f"Of {len(comp.diffs)} metrics, {comp.a} is better on {better_a}, {comp.b} on {better_b}, "
        f"{held_back}no significant difference on {same}, and {skipped} could not be compared."
    )
    slices = [_slice(s, comp) for s in comp.slices]
    corrected = sum(r.verdict.startswith(CORRECTED) for r in rows) + sum(
        s.verdict == CORRECTED for s in slices
    )
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
        corrected=corrected,
        more_significant=sum(1 for s in more if s.verdict_class),
    )
