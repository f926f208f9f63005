"""`harness report`: a static, self-contained HTML site (index, one page per task and per model).

Pages are plain HTML with inline CSS and no scripts, so they open from disk and can be published
as they are. Figures are PNGs in `figures/`. Every number links to its provenance (run, spec
hash, versions, device, seed, date) on `provenance.html`; reliability flags are shown in red on
the number and listed at the top of the page. Pages render from the Jinja2 templates in
`harness/present/templates/` with autoescape on (`harness.present.templating`). No torch here.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

from harness.analysis.leaderboard import Board, build_boards
from harness.analysis.variant_deltas import compare_variants
from harness.core.manifest import JobStatus, RunManifest
from harness.present.report_figures import FigureFolder, job_figures, task_figures
from harness.present.report_views import (
    Link,
    Loaded,
    MetricView,
    ModelJobView,
    board_view,
    flag_views,
    job_anchor,
    job_view,
    model_page,
    number_view,
    run_views,
    task_page,
    variant_views,
)
from harness.present.summary import summary_markdown
from harness.present.templating import render
from harness.store.run_store import StoredJob, load_jobs

log = logging.getLogger(__name__)


def build_site(results: Path, out: Path, *, allow_partial: bool = False) -> Path:
    """Write the site under `out`; returns the index path.

    Incomplete results are refused unless `allow_partial` (boards then marked PARTIAL).
    """
    boards = build_boards(results, allow_partial=allow_partial)
    loaded = load_jobs(results)
    out.mkdir(parents=True, exist_ok=True)
    figdir = out / "figures"
    figdir.mkdir(exist_ok=True)
    folder = FigureFolder(out=out, figdir=figdir)
    by_model: dict[str, list[Loaded]] = defaultdict(list)
    for man, job in loaded:
        by_model[job.record.model].append((man, job))
    tasks = sorted({b.task for b in boards})
    _write(
        out / "provenance.html",
        render(
            "provenance.html",
            title="Provenance",
            runs=run_views(loaded),
            jobs=[job_view(man, job) for man, job in loaded],
        ),
    )
    for task in tasks:
        _write(
            out / task_page(task),
            _task_page(task, [b for b in boards if b.task == task], loaded, folder),
        )
    for model, jobs in sorted(by_model.items()):
        _write(out / model_page(model), _model_page(model, jobs, folder))
    _write(
        out / "index.html",
        render(
            "index.html",
            title="Leaderboards",
            flags=flag_views([(m, r) for b in boards for (m, _k), r in b.records.items()]),
            tasks=[Link(t, task_page(t)) for t in tasks],
            models=[Link(m, model_page(m)) for m in sorted(by_model)],
            boards=[board_view(b) for b in boards],
        ),
    )
    _write(out / "summary.md", summary_markdown(boards))
    log.info("report written to %s", out)
    return out / "index.html"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _task_page(task: str, boards: list[Board], loaded: list[Loaded], folder: FigureFolder) -> str:
    """The task's boards, its variants against their parents, and its figures."""
    return render(
        "task.html",
        title=f"Task {task}",
        flags=flag_views([(m, r) for b in boards for (m, _k), r in b.records.items()]),
        boards=[board_view(b) for b in boards],
        figures=task_figures(task, boards, loaded, folder),
        variants=variant_views(compare_variants(loaded, task=task)),
    )


def _model_page(model: str, jobs: list[Loaded], folder: FigureFolder) -> str:
    """Every job of the model: its metrics (with provenance links) and figures."""
    ordered = sorted(jobs, key=lambda mj: (mj[1].record.task, mj[1].record.suite))
    return render(
        "model.html",
        title=f"Model {model}",
        flags=flag_views([(model, r) for _m, j in jobs for r in j.metrics]),
        jobs=[_model_job(model, man, job, folder) for man, job in ordered],
    )


def _model_job(model: str, man: RunManifest, job: StoredJob, folder: FigureFolder) -> ModelJobView:
    r = job.record
    anchor = "provenance.html#" + job_anchor(man, job)
    completed = job.status == JobStatus.COMPLETED
    return ModelJobView(
        task=r.task,
        suite=r.suite,
        provenance=anchor,
        task_href=task_page(r.task),
        completed=completed,
        status=job.status,
        reason=r.reason or "",
        metrics=[MetricView(m.key, number_view(m, anchor), m.unit, m.n) for m in job.metrics]
        if completed
        else [],
        figures=job_figures(model, job, job_anchor(man, job), folder) if completed else [],
    )
