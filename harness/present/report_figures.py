"""The figures of the report's task and model pages: data gathered from the store, PNGs drawn.

A figure is drawn only when its data exist (results of new suites appear when they land); each
function returns the figures it wrote, with captions, for the page templates.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.analysis import pareto
from harness.analysis.figure_data import Point, corruption_accuracy, group_accuracy
from harness.analysis.leaderboard import Board
from harness.core.manifest import JobStatus
from harness.core.metric_record import MetricRecord
from harness.present import figures
from harness.present.escaping import slug
from harness.present.report_views import FigureView, Loaded
from harness.store.run_store import StoredJob

GroupBars = dict[str, tuple[float, tuple[float, float] | None]]


@dataclass(frozen=True)
class FigureFolder:
    """Where figures go (`figdir`) and the site folder their paths are relative to (`out`)."""

    out: Path
    figdir: Path

    def view(self, path: Path | None, caption: str) -> list[FigureView]:
        """The figure at `path` for a page ([] when nothing was drawn)."""
        if path is None:
            return []
        return [FigureView(src=path.relative_to(self.out).as_posix(), caption=caption)]


@dataclass
class _TaskSeries:
    """Per-model series of a task page's line and bar figures."""

    robust: dict[str, list[Point]] = field(default_factory=lambda: defaultdict(list))
    speed: dict[str, list[Point]] = field(default_factory=lambda: defaultdict(list))
    severity: dict[str, list[Point]] = field(default_factory=dict)
    groups: dict[str, dict[str, GroupBars]] = field(default_factory=lambda: defaultdict(dict))


def _eps(record: MetricRecord) -> float | None:
    try:
        return float(record.context["eps"])
    except (KeyError, TypeError, ValueError):
        return None


def _add_record_points(series: _TaskSeries, model: str, rec: MetricRecord) -> None:
    """Robust accuracy vs epsilon and throughput vs batch size points of one record."""
    eps = _eps(rec)
    if rec.metric == "robust_acc" and eps is not None and rec.value is not None:
        name = " ".join(
            [model, *(str(rec.context[k]) for k in ("attack", "norm") if k in rec.context)]
        )
        series.robust[name].append((eps, rec.value, rec.ci))
    if (
        rec.metric == "throughput_samples_per_s"
        and rec.value is not None
        and "batch_size" in rec.context
    ):
        name = " ".join(
            [model, *(str(rec.context[k]) for k in ("device", "precision") if k in rec.context)]
        )
        series.speed[name].append((float(rec.context["batch_size"]), rec.value, rec.ci))


def _add_table_points(series: _TaskSeries, model: str, job: StoredJob) -> None:
    """Per-group accuracy and accuracy vs corruption severity from a job's per-sample table."""
    table = job.table()
    if job.record.suite == "accuracy":
        for col, per in group_accuracy(table).items():
            series.groups[col][model] = per
    per_sev: dict[float, list[float]] = defaultdict(list)
    for pts in corruption_accuracy(table).values():
        for sev, acc, _ci in pts:
            per_sev[sev].append(acc)
    series.severity[model] = [(s, float(np.mean(v)), None) for s, v in sorted(per_sev.items())]


def _task_series(task: str, loaded: list[Loaded]) -> _TaskSeries:
    series = _TaskSeries()
    jobs = [(m, j) for m, j in loaded if j.record.task == task and j.status == JobStatus.COMPLETED]
    for _man, job in jobs:
        model = job.record.model
        for rec in job.metrics:
            _add_record_points(series, model, rec)
        if (job.path / "samples.parquet").is_file():
            _add_table_points(series, model, job)
    return series


def _pareto_figures(task: str, boards: list[Board], folder: FigureFolder) -> list[FigureView]:
    out: list[FigureView] = []
    tag = slug(task)
    for bi, board in enumerate(boards):
        for vi, view in enumerate(pareto.standard_views(board)):
            path = figures.pareto(
                view.points,
                view.front,
                folder.figdir / f"{tag}-pareto-{bi}-{vi}.png",
                title=f"{task}: Pareto front",
                xlabel=view.x_key,
                ylabel=view.y_key,
                logx=view.x_key.startswith("throughput"),
            )
            caption = (
                f"Pareto view {view.x_key} vs {view.y_key} (front in red: {', '.join(view.front)})"
            )
            out += folder.view(path, caption)
    return out


def task_figures(
    task: str, boards: list[Board], loaded: list[Loaded], folder: FigureFolder
) -> list[FigureView]:
    """Pareto views, robust accuracy vs eps, accuracy vs severity, throughput, per-group bars."""
    tag = slug(task)
    figdir = folder.figdir
    series = _task_series(task, loaded)
    out = _pareto_figures(task, boards, folder)
    out += folder.view(
        figures.lines(
            series.robust,
            figdir / f"{tag}-robust-eps.png",
            title=f"{task}: robust accuracy vs epsilon",
            xlabel="epsilon",
            ylabel="robust accuracy",
            unit_interval=True,
        ),
        "Robust accuracy vs perturbation budget (95% intervals)",
    )
    out += folder.view(
        figures.lines(
            series.severity,
            figdir / f"{tag}-severity.png",
            title=f"{task}: accuracy vs corruption severity",
            xlabel="severity",
            ylabel="accuracy (mean over corruptions)",
            unit_interval=True,
        ),
        "Accuracy vs corruption severity, averaged over corruptions",
    )
    out += folder.view(
        figures.lines(
            series.speed,
            figdir / f"{tag}-throughput.png",
            title=f"{task}: throughput vs batch size",
            xlabel="batch size",
            ylabel="samples/s",
            logx=True,
        ),
        "Throughput vs batch size (per device and precision)",
    )
    for col, per_model in sorted(series.groups.items()):
        path = figures.grouped_bars(
            dict(per_model),
            figdir / f"{tag}-group-{slug(col)}.png",
            title=f"{task}: clean accuracy by {col}",
            ylabel="accuracy",
        )
        out += folder.view(path, f"Clean accuracy by {col} (95% Wilson intervals)")
    return out


def job_figures(model: str, job: StoredJob, jtag: str, folder: FigureFolder) -> list[FigureView]:
    """A job's reliability diagram, accuracy by corruption and severity, per-group bars."""
    r = job.record
    figdir = folder.figdir
    out: list[FigureView] = []
    bins = job.artifacts().get("reliability_diagram")
    if isinstance(bins, list):
        out += folder.view(
            figures.reliability_diagram(
                bins, figdir / f"{jtag}-reliability.png", f"{model} on {r.task}"
            ),
            "Reliability diagram (bin counts above points)",
        )
    if not (job.path / "samples.parquet").is_file():
        return out
    table = job.table()
    out += folder.view(
        figures.lines(
            corruption_accuracy(table),
            figdir / f"{jtag}-corruptions.png",
            title=f"{model}: accuracy by corruption and severity",
            xlabel="severity",
            ylabel="accuracy",
            unit_interval=True,
        ),
        "Accuracy by corruption and severity (95% Wilson intervals)",
    )
    if r.suite in {"accuracy", "fairness"}:
        for col, per in group_accuracy(table).items():
            out += folder.view(
                figures.grouped_bars(
                    {model: per},
                    figdir / f"{jtag}-group-{slug(col)}.png",
                    title=f"{model}: accuracy by {col}",
                    ylabel="accuracy",
                ),
                f"Clean accuracy by {col} (95% Wilson intervals)",
            )
    return out
