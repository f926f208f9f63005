"""What the report's pages show, as plain values for the templates (no markup here).

Each builder reads boards, stored jobs and variant comparisons and returns frozen dataclasses of
text, numbers and links; `harness/present/templates/` turns them into HTML (escaping every value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.analysis.leaderboard import Board
from harness.analysis.variant_deltas import VariantComparison
from harness.core.manifest import RunManifest
from harness.core.metric_record import MetricRecord
from harness.present.escaping import slug
from harness.present.variants_view import harm_line
from harness.store.run_store import LoadedJob, StoredJob

Loaded = LoadedJob


def job_anchor(manifest: RunManifest, job: StoredJob) -> str:
    return "job-" + slug(f"{manifest.run_id}/{job.path.name}")


def model_page(model: str) -> str:
    return f"model-{slug(model)}.html"


def task_page(task: str) -> str:
    return f"task-{slug(task)}.html"


def number_text(value: float | None) -> str:
    """A value as the report prints it (`undefined` when there is none)."""
    if value is None:
        return "undefined"
    return f"{value:.4g}" if abs(value) >= 1000 else f"{value:.3f}"


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class NumberView:
    """A metric value: estimate [interval], hover text (n, method, note), provenance link, flags."""

    text: str
    title: str
    href: str
    flags: str  # comma-separated reliability flags; "" when none


def number_view(record: MetricRecord, href: str) -> NumberView:
    text = number_text(record.value)
    if record.ci:
        text += f" [{number_text(record.ci[0])}, {number_text(record.ci[1])}]"
    title = (
        f"n={record.n}"
        + (f"; {record.ci_method}" if record.ci_method else "")
        + (f"; {record.note}" if record.note else "")
    )
    return NumberView(text=text, title=title, href=href, flags=", ".join(record.flags))


@dataclass(frozen=True)
class FlagView:
    model: str
    key: str
    flags: str


def flag_views(records: list[tuple[str, MetricRecord]]) -> list[FlagView]:
    """The numbers that carry a reliability flag (the red banner at the top of a page)."""
    return [FlagView(m, r.key, ", ".join(r.flags)) for m, r in records if r.flags]


@dataclass(frozen=True)
class ColumnView:
    key: str
    unit: str
    arrow: str  # ↑ higher is better, ↓ lower is better


@dataclass(frozen=True)
class BoardRowView:
    position: str
    rank: str | None  # None: the board is not ranked
    model: Link
    cells: list[NumberView | None]  # None: the model has no such metric


@dataclass(frozen=True)
class BoardView:
    title: str
    n: int | None
    fingerprint: str
    suites: str
    ranked: bool
    columns: list[ColumnView]
    rows: list[BoardRowView]
    notes: list[str]


def board_view(board: Board) -> BoardView:
    ranked = board.rank_metric is not None
    rows = []
    for r in board.rows:
        model = r.model
        cells: list[NumberView | None] = []
        for key in board.columns:
            record = board.records.get((model, key))
            if record is None:
                cells.append(None)
                continue
            man, job = board.sources[(model, record.suite)]
            cells.append(number_view(record, "provenance.html#" + job_anchor(man, job)))
        rank = str(r.rank or "—") if ranked else None
        rows.append(BoardRowView(str(r.position), rank, Link(model, model_page(model)), cells))
    return BoardView(
        title=board.title,
        n=board.n,
        fingerprint=board.task_fingerprint[:12],
        suites=", ".join(f"{s} {v}" for s, v in sorted(board.suites.items())),
        ranked=ranked,
        columns=[ColumnView(c, u, "↑" if hi else "↓") for c, (u, hi) in board.units.items()],
        rows=rows,
        notes=[n for n in [board.rank_method, *board.notes] if n],
    )


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
    metric: str
    parent: str
    variant: str
    delta: str
    test: str
    n: int
    p_holm: str
    worse: bool


@dataclass(frozen=True)
class VariantView:
    """One variant against its parent on the task page."""

    variant: Link
    parent: str
    status: str  # "compared", or why not
    reason: str
    size: str
    notes: list[str]
    deltas: list[DeltaView]
    harm: list[str]


def variant_views(comparisons: list[VariantComparison]) -> list[VariantView]:
    """'Variants vs parent': paired deltas, size and where the harm concentrates."""
    return [_variant_view(c) for c in comparisons]


def _variant_view(c: VariantComparison) -> VariantView:
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
            number_text(d.delta),
            d.test,
            d.n,
            number_text(d.p_holm),
            d.significant_harm,
        )
        for d in c.deltas
    ]
    return VariantView(
        variant=Link(c.variant_model, model_page(c.variant_model)),
        parent=c.parent,
        status=c.status,
        reason=c.reason,
        size=size,
        notes=list(c.notes),
        deltas=deltas,
        harm=harm_line(c),
    )


@dataclass(frozen=True)
class MetricView:
    key: str
    value: NumberView
    unit: str
    n: int


@dataclass(frozen=True)
class FigureView:
    src: str  # relative to the site folder
    caption: str


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
    figures: list[FigureView]
