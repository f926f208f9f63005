"""The report's OOD detection section of a task: per model a detector x OOD-set table (AUROC with
its interval and caveats; FPR@95, AUPR-In and AUPR-Out below it), the detectors left out and
why, the paired comparisons (DeLong, Holm-adjusted), and histograms of the headline detector's
scores (`harness.analysis.ood_board`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from harness.analysis.ood_board import DetectorTable, OODBoard, PairedDetection
from harness.present import figures
from harness.present.cell_view import CellView, Footnotes, missing_cell, record_cell
from harness.present.escaping import slug
from harness.present.number_format import interval_text, value_beside
from harness.present.report_figures import FigureFolder
from harness.present.report_views import FigureView, model_page
from harness.stats.intervals import ALPHA, below_alpha_text

_SHORT = {"ood_fpr_at_95_tpr": "FPR@95", "ood_aupr": "AUPR-In", "ood_aupr_out": "AUPR-Out"}


@dataclass(frozen=True)
class DetectorRowView:
    detector: str
    headline: bool
    cells: list[CellView]


@dataclass(frozen=True)
class DetectorTableView:
    model: str
    href: str
    columns: list[str]
    rows: list[DetectorRowView]
    absent: list[str]
    fit: str
    footnotes: list[str]
    notes: list[str]


@dataclass(frozen=True)
class ComparisonView:
    what: str
    condition: str
    difference: str
    ci: str
    p: str
    p_holm: str


@dataclass(frozen=True)
class OODView:
    tables: list[DetectorTableView]
    comparisons: list[ComparisonView]
    figures: list[FigureView]


_GENERATED = {"gaussian_noise": "Gaussian noise", "uniform_noise": "uniform noise"}


def _column(condition: str) -> str:
    """A column header in words: the OOD set's name (a generated set's in words), or the mean
    over the near or far sets."""
    if condition.startswith("ood_mean="):
        return f"{condition.removeprefix('ood_mean=')} OOD (mean)"
    name = condition.removeprefix("ood=")
    return _GENERATED.get(name, name)


def _detail(table: DetectorTable, detector: str, condition: str) -> str:
    parts = []
    for metric, name in _SHORT.items():
        r = table.cells.get((detector, condition, metric))
        if r is not None and r.value is not None:
            ci = f" {interval_text(r.ci, r.unit)}" if r.ci else ""
            parts.append(f"{name} {value_beside(r.value, r.ci, r.unit)}{ci}")
    return " · ".join(parts)


def _table_view(table: DetectorTable) -> DetectorTableView:
    notes = Footnotes()
    href = model_page(table.model)
    rows = []
    for detector in table.detectors:
        cells = []
        for condition in table.sets:
            r = table.cells.get((detector, condition, "ood_auroc"))
            if r is None:
                cells.append(missing_cell("not measured", notes))
                continue
            cells.append(record_cell(r, href, notes, detail=_detail(table, detector, condition)))
        rows.append(DetectorRowView(detector, detector == table.headline, cells))
    fit = table.fit
    fit_text = (
        f"fitted on a seeded label-stratified {fit.get('n')} of the {fit.get('of')} train "
        f"samples" + (f" ({fit.get('features')} features)" if fit.get("features") else "")
        if fit
        else "no detector needed fitting"
    )
    return DetectorTableView(
        model=table.model,
        href=href,
        columns=[_column(c) for c in table.sets],
        rows=rows,
        absent=[f"{name}: {why}" for name, why in table.absent.items()],
        fit=fit_text,
        footnotes=list(notes.items),
        notes=list(table.notes),
    )


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return "<0.0001" if value < 1e-4 else below_alpha_text(value, f"{value:.4f}", ALPHA)


def _comparison(c: PairedDetection) -> ComparisonView:
    what = (
        f"{c.model}: {c.a} vs {c.b}" if c.kind == "detectors" else f"{c.a} vs {c.b} ({c.detector})"
    )
    return ComparisonView(
        what=what,
        condition=c.condition.removeprefix("ood="),
        difference=f"{c.difference:+.4f}",
        ci=interval_text(c.ci) if c.ci else "no interval (no variance)",
        p=_p(c.p),
        p_holm=_p(c.p_holm),
    )


def _scores_digest(scores: Any) -> str:
    """The sha256 of scores as the histogram reads them (float64), with their count."""
    values = np.ascontiguousarray(np.asarray(scores, dtype=np.float64))
    return f"{values.size}:{hashlib.sha256(values.tobytes()).hexdigest()}"


def ood_view(board: OODBoard, folder: FigureFolder) -> OODView:
    shown: list[FigureView] = []
    for h in board.histograms:
        target = folder.figdir / f"{slug(board.task)}-ood-{slug(h.model)}.png"
        args = {
            "title": f"{h.model}: {h.detector}",
            "xlabel": f"{h.detector} score (higher = more in-distribution)",
        }
        # the scores by the sha256 of their float64 bytes (an array's repr elides its middle)
        shows = (_scores_digest(h.test), {k: _scores_digest(v) for k, v in h.sets.items()}, args)
        path = folder.once(
            target, shows, partial(figures.score_histograms, h.test, h.sets, target, **args)
        )
        shown += folder.view(
            path,
            f"{h.model}: the headline detector's ({h.detector}) scores on the test set and on "
            "each OOD set. Where an OOD set's scores sit right of the test set's, it looks more "
            "in-distribution than the test set to this score (AUROC below 0.5).",
        )
    return OODView(
        tables=[_table_view(t) for t in board.tables],
        comparisons=[_comparison(c) for c in board.comparisons],
        figures=shown,
    )
