"""A suite's drill-down page as plain values: every metric it recorded (not only the headline
ones) on every board, metrics as rows and models as columns, so a long list stays readable."""

from __future__ import annotations

from dataclasses import dataclass

from harness.analysis.headline import worst_group_words
from harness.analysis.leaderboard import Board
from harness.core.metric_record import MetricRecord
from harness.present.cell_view import CellView, Footnotes, missing_cell, record_cell
from harness.present.leaderboard_view import split_key
from harness.present.metric_names import MetricWords, qualifier_words
from harness.present.report_views import Link, model_page, provenance_href, task_page


@dataclass(frozen=True)
class SuiteRow:
    key: str  # the metric key (the row header's tooltip)
    metric: str  # in words
    detail: str
    unit: str
    arrow: str
    cells: list[CellView]


@dataclass(frozen=True)
class SuiteTable:
    title: str
    task: Link
    version: str
    models: list[Link]
    rows: list[SuiteRow]
    footnotes: list[str]


def suite_tables(boards: list[Board], suite: str, words: MetricWords) -> list[SuiteTable]:
    """One table per board that ran the suite."""
    return [_suite_table(board, suite, words) for board in boards if suite in board.suites]


def _suite_table(board: Board, suite: str, words: MetricWords) -> SuiteTable:
    models = [r.model for r in board.rows if (r.model, suite) in board.sources]
    records: dict[str, dict[str, MetricRecord]] = {}
    hrefs: dict[str, str] = {}
    details: dict[tuple[str, str], str] = {}  # (model, key): a worst-group cell's group and n
    keys: list[str] = []
    for model in models:
        man, job = board.sources[(model, suite)]
        hrefs[model] = provenance_href(man, job)
        records[model] = {m.key: m for m in job.metrics}
        keys += [m.key for m in job.metrics if m.key not in keys]
        for m in job.metrics:
            if words_of := worst_group_words(job, m):
                details[(model, m.key)] = words_of
    notes = Footnotes()
    rows = [_suite_row(key, models, records, hrefs, notes, words, details) for key in keys]
    return SuiteTable(
        title=board.title,
        task=Link(board.task, task_page(board.task)),
        version=board.suites[suite],
        models=[Link(m, model_page(m)) for m in models],
        rows=rows,
        footnotes=notes.items,
    )


def _suite_row(
    key: str,
    models: list[str],
    records: dict[str, dict[str, MetricRecord]],
    hrefs: dict[str, str],
    notes: Footnotes,
    words: MetricWords,
    details: dict[tuple[str, str], str],
) -> SuiteRow:
    first = next(records[m][key] for m in models if key in records[m])
    _metric, quals = split_key(key)
    cells = [
        record_cell(records[m][key], hrefs[m], notes, detail=details.get((m, key), ""))
        if key in records[m]
        else missing_cell("not measured", notes)
        for m in models
    ]
    detail = " · ".join(qualifier_words(quals))
    arrow = "↑" if first.higher_is_better else "↓"
    return SuiteRow(key, words.short(key), detail, first.unit, arrow, cells)
