"""The headline board of a task as the index and the task page show it (plain values).

A few columns, one model per row, every cell with its interval and n; stars mark the best
comparable number of each column and every model tied with it (paired tests, Holm), except in a
column where every model is at or below chance (none is good there, so none is "best"); upper
bounds and flagged numbers are muted, badged and footnoted with their reason; a failed or
skipped job shows its one-line reason. A verdict line per column names the best model and how
sure that is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from harness.analysis.headline import (
    HeadlineBoard,
    HeadlineCell,
    HeadlineColumn,
    Verdict,
    at_or_below,
    starred,
)
from harness.analysis.paired_tests import ALPHA
from harness.core.metric_record import MetricRecord
from harness.present.cell_view import CellView, Footnotes, missing_cell, record_cell
from harness.present.number_format import estimate_text, p_text, signed_text, value_text
from harness.present.report_views import Link, job_anchor, model_page, task_page


@dataclass(frozen=True)
class ColumnHead:
    label: str
    detail: str
    arrow: str  # "↑" higher is better, "↓" lower is better
    direction: str  # the arrow in words
    method: str
    all_tied: bool
    chance: str = ""  # 'all at or below chance (0.514); none starred' when that holds


@dataclass(frozen=True)
class HeadRow:
    model: Link
    cells: list[CellView]


@dataclass(frozen=True)
class VerdictView:
    """'<column>: <leader> <value> [interval]; <tied models> <tie text>; <left out>', the next
    model and the paired test between the two (`versus`), and `chance` when every ranked model
    is at or below chance (then that is the verdict: nobody is robust there)."""

    label: str
    detail: str
    leader: Link | None
    value: str
    tied: list[Link]
    tie: str
    left_out: str
    all_tied: bool = False
    runner_up: Link | None = None
    runner_up_value: str = ""
    # the runner-up is one of `tied`: it shares the best rank, so it is named once, with its
    # number and the test ('sharing the best rank with b 0.987 [...] (difference ...)')
    runner_up_tied: bool = False
    versus: str = ""  # '+0.220, exact McNemar, Holm-adjusted p < 0.001: significant'
    chance: str = ""  # 'every model is at or below chance (0.110: ...)'
    near_chance: str = ""  # '; its 95% interval reaches chance (0.512: ...)' for the leader
    # why the column's numbers may mean less than they seem (`HeadlineColumn.caveats`)
    caveats: tuple[str, ...] = ()


@dataclass(frozen=True)
class HeadlineView:
    task: Link
    title: str
    n: str
    columns: list[ColumnHead]
    rows: list[HeadRow]
    verdicts: list[VerdictView]  # shown above the board: clean and robust accuracy
    more_verdicts: list[VerdictView]  # the other columns (collapsed)
    footnotes: list[str]
    method: str
    # the board's notes on numbers from an earlier run than the latest (`Board.earlier`)
    earlier: list[str] = field(default_factory=list)


def headline_view(head: HeadlineBoard) -> HeadlineView:
    board = head.board
    notes = Footnotes()
    rows = []
    # a star says "best, or within noise of the best" (`headline.starred`: the report's one rule)
    stars = [
        starred([r.cells[i].rank for r in head.rows], at_chance=c.at_chance)
        for i, c in enumerate(head.columns)
    ]
    for row in head.rows:
        cells = [
            _cell(head, row.model, cell, notes, star=star)
            for cell, star in zip(row.cells, stars, strict=True)
        ]
        rows.append(HeadRow(Link(row.model, model_page(row.model)), cells))
    methods = {c.method for c in head.columns if c.method}
    return HeadlineView(
        task=Link(board.task, task_page(board.task)),
        title=board.title,
        n=f"n = {board.n}" if board.n is not None else "",
        columns=[_column(c) for c in head.columns],
        rows=rows,
        verdicts=[_verdict(v) for v in head.verdicts if v.column.lead],
        more_verdicts=[_verdict(v) for v in head.verdicts if not v.column.lead],
        footnotes=notes.items,
        method=" / ".join(sorted(methods)),
        earlier=list(board.earlier),
    )


def _column(c: HeadlineColumn) -> ColumnHead:
    arrow, words = ("↑", "higher is better") if c.higher_is_better else ("↓", "lower is better")
    chance = ""
    if c.at_chance and c.chance is not None:  # no "best" where nobody beats a constant guess
        chance = f"all at or below chance ({value_text(c.chance, c.unit)}); none starred"
    detail = c.detail
    if c.unit not in _UNITLESS:  # 31.7k of what: "samples/s, cpu (AMD EPYC), batch 64"
        detail = ", ".join(x for x in (c.unit, c.detail) if x)
    return ColumnHead(c.label, detail, arrow, words, c.method, c.all_tied, chance)


# units a headline column's number needs no word for (fractions, scores, ratios, differences)
_UNITLESS = frozenset({"", "fraction", "score", "ratio", "difference"})


def _cell(
    head: HeadlineBoard, model: str, cell: HeadlineCell, notes: Footnotes, *, star: bool
) -> CellView:
    if cell.record is None:
        return missing_cell(cell.missing or "not measured", notes)
    man, job = head.board.sources[(model, cell.record.suite)]
    href = "provenance.html#" + job_anchor(man, job)
    return record_cell(
        cell.record,
        href,
        notes,
        best=star and cell.best,
        detail=cell.detail,
        found=cell.caveats,
        show_note=True,
    )


def _verdict(v: Verdict) -> VerdictView:
    unit = v.column.unit
    # the number itself, with its n and caveat: a board of one black-box model showed none
    left_out = "; ".join(f"{m} {_value(r, unit)}: {why}, not ranked" for m, why, r in v.excluded)
    if not v.best:
        return VerdictView(
            v.column.label, v.column.detail, None, "", [], "", left_out, caveats=v.column.caveats
        )
    model, top = v.best[0]
    value = _value(top, unit)
    tied = [Link(m, model_page(m)) for m, _r in v.best[1:]]
    if tied:
        tie = "the difference is not significant, so they share the best rank"
    elif v.ranked > 1:
        tie = "significantly ahead of every other ranked model"
    else:
        tie = "the only comparable number"
    leader = Link(model, model_page(model))
    runner_up, runner_value = None, ""
    if v.runner_up is not None:
        name, record = v.runner_up
        runner_up = Link(name, model_page(name))
        runner_value = _value(record, unit)
    return VerdictView(
        v.column.label,
        v.column.detail,
        leader,
        value,
        tied,
        tie,
        left_out,
        v.column.all_tied,
        runner_up=runner_up,
        runner_up_value=runner_value,
        runner_up_tied=runner_up is not None and any(t.text == runner_up.text for t in tied),
        versus=versus_text(v),
        chance=chance_text(v.column),
        near_chance=_near_chance(v.column, top),
        caveats=v.column.caveats,
    )


def verdict_sentence(
    v: VerdictView,
    *,
    text: Callable[[str], str] = str,
    name: Callable[[str], str] | None = None,
) -> str:
    """A verdict in words, for Markdown and the terminal: `text` escapes plain text for the
    format, `name` writes a model's name (default: as text); the column's caveats follow it."""
    caveats = "".join(f". Caveat: {text(c)}" for c in v.caveats)
    return _verdict_words(v, text=text, name=name or text) + caveats


def _verdict_words(
    v: VerdictView, *, text: Callable[[str], str], name: Callable[[str], str]
) -> str:
    label = text(v.label)
    if v.leader is None:
        why = f" (left out: {text(v.left_out)})" if v.left_out else ""
        return f"{label}: no comparable numbers{why}"
    if v.chance:
        out = f"{label}: {text(v.chance)}; highest {name(v.leader.text)} {text(v.value)}"
        if v.runner_up is not None and v.versus:
            out += f", next {name(v.runner_up.text)} {text(v.runner_up_value)} ({text(v.versus)})"
        return out
    if v.all_tied:
        names = ", ".join(name(t.text) for t in [v.leader, *v.tied])
        return (
            f"{label}: no clear best — {names} are within noise of each other "
            f"({text(v.leader.text)} {text(v.value)}{text(v.near_chance)})"
        )
    if v.runner_up is not None and v.runner_up_tied and v.versus:
        others = [name(t.text) for t in v.tied if t.text != v.runner_up.text]
        also = f" and {', '.join(others)}" if others else ""
        out = (
            f"{label}: best {name(v.leader.text)} {text(v.value)}, sharing the best rank with "
            f"{name(v.runner_up.text)} {text(v.runner_up_value)} (difference {text(v.versus)})"
            f"{also}{text(v.near_chance)}"
        )
        return out + (f". Left out: {text(v.left_out)}" if v.left_out else "")
    tied = f", with {', '.join(name(t.text) for t in v.tied)}" if v.tied else ""
    out = (
        f"{label}: best {name(v.leader.text)} {text(v.value)}{tied} — {text(v.tie)}"
        f"{text(v.near_chance)}"
    )
    if v.runner_up is not None and v.versus:
        out += (
            f"; next {name(v.runner_up.text)} {text(v.runner_up_value)}, "
            f"difference {text(v.versus)}"
        )
    if v.left_out:
        out += f". Left out: {text(v.left_out)}"
    return out


def _bare_value(record: MetricRecord, unit: str) -> str:
    """`0.047 [0.024, 0.091]`."""
    return estimate_text(record.value, record.ci, unit)


def _value(record: MetricRecord, unit: str) -> str:
    """`0.895 [0.845, 0.930], n=200`."""
    return f"{_bare_value(record, unit)}, n={record.n}"


def versus_text(v: Verdict) -> str:
    """The paired test of the best against the next model in words: `+0.220, exact McNemar,
    Holm-adjusted p < 0.001: significant`; `+0.003 in debiased ECE, paired resampling of the
    debiased ECE, ...` where the test compared another statistic than the numbers shown ('' when
    they were not tested against each other)."""
    if v.versus is None:
        return ""
    result = v.versus
    diff = signed_text(result.diff, v.column.unit)
    if result.statistic:  # a difference of another statistic than the numbers shown
        diff += f" in {result.statistic}"
    test = result.method
    if not result.tested:
        return f"{diff}, {test}"
    p = v.versus_p if v.versus_p is not None else result.p_value
    adjusted = "Holm-adjusted " if v.versus_p is not None and v.ranked > 2 else ""
    verdict = "significant" if p is not None and p < ALPHA else "not significant"
    return f"{diff}, {test}, {adjusted}p {_p(p)}: {verdict}"


def _p(p: float | None) -> str:
    text = p_text(p)
    return text if text.startswith("<") else f"= {text}"


def _near_chance(column: HeadlineColumn, top: MetricRecord) -> str:
    """'; its 95% interval reaches chance (...)' for a best number above chance whose interval
    is not (a lone weak model read 'best weak 0.550 [0.441, 0.654] — the only comparable
    number' against chance 0.512), else ''."""
    chance = column.chance
    if chance is None or column.at_chance or top.ci is None or top.value is None:
        return ""
    if not column.higher_is_better or not at_or_below(top.ci[0], chance):
        return ""
    return (
        f"; its 95% interval reaches chance ({value_text(chance, column.unit)}: what always "
        "predicting the most common class scores)"
    )


def chance_text(column: HeadlineColumn) -> str:
    """'every model is at or below chance (...)' for a column where that holds, else ''."""
    if not column.at_chance or column.chance is None:
        return ""
    # only an attack's column may say no attack lowers chance: clean or shifted data is not attacked
    attacked = column.threat is not None or column.id.startswith("robust")
    return (
        f"every model is at or below chance ({value_text(column.chance, column.unit)}: what always "
        "predicting the most common class scores"
        + (", which no attack can lower)" if attacked else ")")
    )
