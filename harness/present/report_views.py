"""What the report's pages show, as plain values for the templates (no markup here).

Each builder reads boards, stored jobs and variant comparisons and returns frozen dataclasses of
text, numbers and links; `harness/present/templates/` turns them into HTML (escaping every value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.analysis.caveats import excluded
from harness.analysis.headline import starred, worst_group_words
from harness.analysis.leaderboard import Board, BoardRow
from harness.analysis.text_examples import TextExample
from harness.analysis.variant_deltas import VariantComparison
from harness.core.manifest import RunManifest
from harness.core.metric_record import MetricRecord
from harness.present.cell_view import CellView, Footnotes, missing_cell, record_cell
from harness.present.escaping import slug
from harness.present.leaderboard_view import column_labels, split_key
from harness.present.metric_names import MetricWords, qualifier_words
from harness.present.number_format import interval_text, p_text, signed_text, value_text
from harness.present.variants_view import harm_line
from harness.store.run_store import LoadedJob, StoredJob

Loaded = LoadedJob


def job_anchor(manifest: RunManifest, job: StoredJob) -> str:
    return "job-" + slug(f"{manifest.run_id}/{job.path.name}")


def provenance_href(manifest: RunManifest, job: StoredJob) -> str:
    return "provenance.html#" + job_anchor(manifest, job)


def model_page(model: str) -> str:
    return f"model-{slug(model)}.html"


def task_page(task: str) -> str:
    return f"task-{slug(task)}.html"


def suite_page(suite: str) -> str:
    return f"suite-{slug(suite)}.html"


def compare_page(task: str, a: str, b: str) -> str:
    return f"compare-{slug(task)}-{slug(a)}-{slug(b)}.html"


def number_text(value: float | None) -> str:
    """A value as the report prints it (`undefined` when there is none)."""
    return value_text(value)


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class Nav:
    """The links at the top of every page, and where its numbers come from (`source`: the
    results folder, its runs and the harness versions, shown at the foot of every page)."""

    tasks: list[Link] = field(default_factory=list)
    suites: list[Link] = field(default_factory=list)
    comparisons: list[Link] = field(default_factory=list)
    source: str = ""


@dataclass(frozen=True)
class ColumnView:
    key: str
    label: str
    detail: str
    unit: str
    arrow: str  # ↑ higher is better, ↓ lower is better
    direction: str


@dataclass(frozen=True)
class BoardRowView:
    rank: str  # "" when the board is not ranked
    rank_sort: str
    model: Link
    cells: list[CellView]


@dataclass(frozen=True)
class BoardView:
    title: str
    n: str
    fingerprint: str
    suites: str
    ranked: bool
    rank_key: str
    columns: list[ColumnView]
    rows: list[BoardRowView]
    footnotes: list[str]
    legend: list[str]  # qualifiers shared by every column of a metric ("measured at: ...")
    notes: list[str]  # the rank method and the board's notes
    suite_href: str = ""


def _words(key: str, words: MetricWords) -> str:
    """A metric key in words with its qualifiers: `group accuracy (by sex, group 1)`."""
    quals = qualifier_words(split_key(key)[1])
    return words.short(key) + (f" ({', '.join(quals)})" if quals else "")


def column_view(key: str, label: str, unit: str, higher: bool, words: MetricWords) -> ColumnView:
    """A column header in words (the metric's label, its qualifiers that tell it apart from
    the board's other columns); the key itself is the header's tooltip."""
    _metric, quals = split_key(label)
    return ColumnView(
        key,
        words.short(key),
        " · ".join(qualifier_words(quals)),
        unit,
        "↑" if higher else "↓",
        "higher is better" if higher else "lower is better",
    )


def board_view(
    board: Board,
    words: MetricWords,
    columns: list[str] | None = None,
    *,
    at_chance: bool = False,
) -> BoardView:
    """A board (or some of its columns): short column labels, shared qualifiers in a legend,
    cells with intervals, n and caveats in words; stars on the rank-1 models of the rank column
    by the headline boards' rule (`headline.starred`; `at_chance`: every ranked number of the
    rank column is at or below chance, as its headline column found)."""
    keys = board.columns if columns is None else [c for c in board.columns if c in columns]
    labels, legend = column_labels(keys)
    ranked = board.rank_metric is not None and board.rank_metric in keys
    notes = Footnotes()
    star = ranked and starred(_comparable_ranks(board), at_chance=at_chance)
    rows = [_board_row(board, r, keys, notes, ranked=ranked, star=star) for r in board.rows]
    return BoardView(
        title=board.title,
        n=f"n = {board.n}" if board.n is not None else "",
        fingerprint=board.task_fingerprint[:12],
        suites=", ".join(f"{s} {v}" for s, v in sorted(board.suites.items())),
        ranked=ranked,
        rank_key=words.short(board.rank_metric) if board.rank_metric else "",
        columns=[column_view(k, labels[k], *board.units[k], words) for k in keys],
        rows=rows,
        footnotes=notes.items,
        legend=[f"measured at: {line}" for line in legend],
        notes=[n for n in [board.rank_method, *board.notes] if n],
    )


def _comparable_ranks(board: Board) -> list[int | None]:
    """The rank column's ranks of the numbers a headline column would rank: those no caveat
    excludes (a flagged number is ranked on the board, in a tier after every clean one)."""
    key = board.rank_metric
    records = [board.records.get((r.model, key)) if key else None for r in board.rows]
    return [
        r.rank if record is not None and not excluded(record) else None
        for r, record in zip(board.rows, records, strict=True)
    ]


def _board_row(
    board: Board, r: BoardRow, keys: list[str], notes: Footnotes, *, ranked: bool, star: bool
) -> BoardRowView:
    cells = [_board_cell(board, r, key, notes, star=star) for key in keys]
    rank = str(r.rank or "—") if ranked else ""
    return BoardRowView(rank, str(r.rank or ""), Link(r.model, model_page(r.model)), cells)


def _board_cell(board: Board, row: BoardRow, key: str, notes: Footnotes, *, star: bool) -> CellView:
    record = board.records.get((row.model, key))
    if record is None:
        # a failed job is not "not measured": the leaderboard says FAILED with the reason
        failure = row.failure(key, board.column_suites)
        return missing_cell(f"failed: {failure}" if failure else "not measured", notes)
    man, job = board.sources[(row.model, record.suite)]
    best = star and key == board.rank_metric and row.rank == 1
    detail = worst_group_words(job, record)
    return record_cell(record, provenance_href(man, job), notes, best=best, detail=detail)


@dataclass(frozen=True)
class RunView:
    anchor: str
    run_id: str
    spec_name: Any
    spec_hash: str
    created: Any
    seed: Any
    device: str
    git_sha: str
    versions: str


@dataclass(frozen=True)
class JobView:
    anchor: str
    label: str
    key: str
    status: str
    run: Link
    spec_hash: str
    suite: str
    config_hash: str
    seed_device: str
    finished: Any
    weights: str


def run_views(loaded: list[Loaded]) -> list[RunView]:
    """One row per run (the first job's manifest stands for its run)."""
    runs: dict[str, RunManifest] = {}
    for man, _job in loaded:
        runs.setdefault(man.run_id, man)
    out = []
    for run_id, man in sorted(runs.items()):
        versions = ", ".join(f"{k} {v}" for k, v in sorted(man.versions.items()))
        device = ", ".join(f"{k}={v}" for k, v in sorted(man.device.items()))
        out.append(
            RunView(
                anchor="run-" + slug(run_id),
                run_id=run_id,
                spec_name=man.spec_name,
                spec_hash=man.spec_hash[:16],
                created=man.created,
                seed=man.seed,
                device=device,
                git_sha=str(man.git_sha)[:12],
                versions=versions,
            )
        )
    return out


def job_view(man: RunManifest, job: StoredJob) -> JobView:
    r = job.record
    weights = r.model_description.weights_sha256 or "—"
    status = str(r.status) + (f" — {r.reason}" if r.reason else "")
    return JobView(
        anchor=job_anchor(man, job),
        label=f"{r.model} × {r.task} × {r.suite}",
        key=r.key[:16],
        status=status,
        run=Link(man.run_id, "#run-" + slug(man.run_id)),
        spec_hash=man.spec_hash[:12],
        suite=f"{r.suite} v{r.suite_version}",
        config_hash=r.suite_config_hash[:8],
        seed_device=f"{r.seed} / {r.device}",
        finished=r.finished or r.started,
        weights=str(weights)[:16],
    )


@dataclass(frozen=True)
class DeltaView:
    suite: str
    metric: str  # the key (the row header's tooltip)
    parent: str
    variant: str
    parent_href: str
    variant_href: str
    delta: str
    delta_sort: str
    ci: str  # the delta's 95% interval ('' where only a test is computed)
    test: str
    n: int
    p_holm: str
    p_sort: str
    worse: bool
    words: str = ""  # the metric in words, with the qualifiers that tell it apart


@dataclass(frozen=True)
class VariantView:
    """One variant against its parent on the task page: a one-line headline, then details."""

    variant: Link
    parent: str
    status: str  # "compared", or why not
    reason: str
    headline: str
    size: str
    notes: list[str]
    deltas: list[DeltaView]
    harm: list[str]
    count: int


def variant_views(
    comparisons: list[VariantComparison],
    hrefs: dict[tuple[str, str], str],
    words: MetricWords,
) -> list[VariantView]:
    """'Variants vs parent': paired deltas, size and where the harm concentrates; `hrefs` maps
    (model, suite) to the provenance of its numbers."""
    return [_variant_view(c, hrefs, words) for c in comparisons]


def _variant_headline(c: VariantComparison, words: MetricWords) -> str:
    if c.status != "compared":
        return f"{c.status}: {c.reason}"
    worse = [d for d in c.deltas if d.significant_harm]
    tested = sum(d.p_holm is not None for d in c.deltas)
    ratio = c.size.ratio_text(" the parent's")
    size = f"; {ratio}" if ratio else ""
    what = (
        f"significantly worse on {len(worse)} of {tested} tested metrics"
        f" ({'; '.join(words.readable(d.metric) for d in worse[:3])}{'; ...' if len(worse) > 3 else ''})"
        if worse
        else f"no significant harm on {tested} tested metrics"
    )
    return what + size


def _variant_view(
    c: VariantComparison, hrefs: dict[tuple[str, str], str], words: MetricWords
) -> VariantView:
    s = c.size
    size = (
        f"size {s.size_bytes} B ({s.size_format}) vs parent "
        f"{s.parent_size_bytes} B; {s.nonzero_parameters} of "
        f"{s.parameters} parameters nonzero; gradients: {'yes' if s.gradients else 'no (black-box paths)'}"
    )
    deltas = [
        DeltaView(
            d.suite,
            d.metric,
            number_text(d.parent_value),
            number_text(d.variant_value),
            hrefs.get((c.parent, d.suite), "provenance.html"),
            hrefs.get((c.variant_model, d.suite), "provenance.html"),
            signed_text(d.delta),
            "" if d.delta is None else repr(d.delta),
            interval_text(d.ci, d.unit),
            d.test,
            d.n,
            p_text(d.p_holm),
            "" if d.p_holm is None else repr(d.p_holm),
            d.significant_harm,
            _words(d.metric, words),
        )
        for d in c.deltas
    ]
    return VariantView(
        variant=Link(c.variant_model, model_page(c.variant_model)),
        parent=c.parent,
        status=c.status,
        reason=c.reason,
        headline=_variant_headline(c, words),
        size=size,
        notes=list(c.notes),
        deltas=deltas,
        harm=harm_line(c),
        count=len(deltas),
    )


@dataclass(frozen=True)
class MetricView:
    key: str
    metric: str
    detail: str
    cell: CellView
    unit: str


@dataclass(frozen=True)
class FigureView:
    src: str  # relative to the site folder
    caption: str
    alt: str
    width: int
    height: int
    wide: bool = False  # spans the page's figure grid (galleries)


@dataclass(frozen=True)
class ModelJobView:
    """One job of a model on the model page: its metrics and figures, or why it has none."""

    task: str
    suite: str
    provenance: str
    task_href: str
    completed: bool
    status: str
    reason: str
    metrics: list[MetricView]
    footnotes: list[str]
    figures: list[FigureView]
    text_examples: list[TextExample] = field(default_factory=list)
    protocol: str = ""  # the protocol preset it ran under (`<name> v<version>`), "" for none


def metric_views(
    records: list[MetricRecord],
    href: str,
    descriptions: dict[str, str],
    words: MetricWords,
    *,
    job: StoredJob | None = None,
) -> tuple[list[MetricView], list[str]]:
    """Every record of a job as a cell (with caveats in words), and the footnotes; `job`: the
    stored job the records are of (a worst-group cell names its group and that group's n)."""
    notes = Footnotes()
    views = []
    for r in records:
        _metric, quals = split_key(r.key)
        group = worst_group_words(job, r) if job is not None else ""
        cell = record_cell(r, href, notes, descriptions=descriptions, detail=group)
        detail = " · ".join(qualifier_words(quals))
        views.append(MetricView(r.key, words.short(r.key), detail, cell, r.unit))
    return views, notes.items


@dataclass(frozen=True)
class JobLine:
    """A job that did not complete: who, where, and the reason in one line."""

    model: str
    task: str
    suite: str
    status: str
    reason: str
