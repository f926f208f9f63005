"""`harness report`: a static, self-contained HTML site and a Markdown summary.

- `index.html`: one headline board per task (a few columns, each cell with its interval and n,
  stars on the best comparable numbers and their statistical ties), a verdict line per column,
  and the jobs that failed with their reason;
- `task-*.html`: the headline board, figures (trade-offs, robustness, shift, groups, speed, the
  images the models saw), every headline metric per suite, skipped jobs, variants (collapsed);
- `suite-*.html`: every metric of one suite on every task (metrics as rows, models as columns);
- `model-*.html`: every job of a model: its metrics, figures and galleries;
- `compare-*.html`: two models on one task, paired differences with intervals for every metric
  and the slices where they differ;
- `provenance.html`: every number on every page links to its job's row here;
- `summary.md`: the headline boards for a pull-request comment, linking to the pages.

Pages render from the Jinja2 templates in `harness/present/templates/` with autoescape on, with
inline CSS and a small inline script that sorts table columns (the pages read the same without
it); figures are PNGs in `figures/`. No server, no CDN, no torch.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from harness.analysis.caveats import check_descriptions
from harness.analysis.headline import (
    HeadlineBoard,
    JobOutcome,
    headline_board,
    rank_column_at_chance,
    read_outcomes,
)
from harness.analysis.leaderboard import Board, build_boards
from harness.analysis.model_comparison import board_families, compare_models
from harness.analysis.ood_board import ood_board
from harness.analysis.text_examples import text_examples
from harness.analysis.variant_deltas import compare_variants
from harness.core.errors import ResultsError
from harness.core.manifest import JobStatus, RunManifest
from harness.core.suite_board import (
    Curve,
    FigureKind,
    SuiteBoard,
    SuiteConfigs,
    figure_kinds,
    suite_configs,
)
from harness.core.version import __version__
from harness.present.comparison_view import comparison_view
from harness.present.figure_cache import FigureCache
from harness.present.form_cache import FormCache
from harness.present.headline_view import headline_view
from harness.present.metric_names import MetricWords
from harness.present.ood_view import OODView, ood_view
from harness.present.page_cache import PageCache
from harness.present.report_figures import (
    FigureFolder,
    Kinds,
    feeds,
    gallery_figures,
    job_figures,
    job_tag,
    reads_table,
    task_figures,
)
from harness.present.report_views import (
    BoardView,
    FigureView,
    JobLine,
    Link,
    Loaded,
    ModelJobView,
    Nav,
    board_view,
    compare_page,
    job_view,
    metric_views,
    model_page,
    provenance_href,
    run_views,
    suite_page,
    task_page,
    variant_views,
)
from harness.present.resampled_cache import ResampledCache
from harness.present.site_folder import refuse_foreign_folder, site_folder
from harness.present.site_publish import discard, publish, site_lock, staging_folder
from harness.present.site_workers import run_parts
from harness.present.suite_view import suite_tables
from harness.present.summary import summary_markdown
from harness.present.variants_view import LEGEND as VARIANTS_LEGEND
from harness.store import atomic, links
from harness.store.completeness import MissingJob, completeness
from harness.store.run_store import StoredJob, load_jobs

log = logging.getLogger(__name__)

SHOWN = 3  # leftover files named in the warning
HARNESS_PACKAGE = "robustness-harness"  # the harness's name in a run manifest's `versions`


@dataclass(frozen=True)
class _Page:
    """A page to write: its template and what it is rendered with."""

    template: str
    context: dict[str, Any]

    @classmethod
    def of(cls, template: str, **context: Any) -> _Page:
        return cls(template, context)


@dataclass(frozen=True)
class _Context:
    """What every page builder needs: the store's content, boards and headline views."""

    results: Path
    out: Path
    loaded: list[Loaded]
    boards: list[Board]
    heads: list[HeadlineBoard]
    outcomes: dict[tuple[str, str, str], JobOutcome]
    folder: FigureFolder
    nav: Nav
    pairs: list[tuple[str, str, str]]
    pages: PageCache
    words: MetricWords
    kinds: Kinds
    configs: SuiteConfigs
    lines: tuple[Curve, ...]  # the installed boards' curves (`SuiteBoard.curves`)
    values: ResampledCache  # resampled values kept between builds (comparisons' and variants')
    missing: tuple[MissingJob, ...] = ()  # planned jobs not stored (allow_partial)

    def write(self, name: str, page: _Page, *, reuse: bool = False) -> None:
        """Write `page` as `name` in the site folder (`reuse`: keep an unchanged page of the
        previous build, harness.present.page_cache)."""
        self.pages.page(self.out / name, page.template, reuse=reuse, **page.context)


@dataclass(frozen=True)
class _Read:
    """What a report reads of the results folder: its jobs, boards and job outcomes."""

    loaded: list[Loaded]
    boards: list[Board]
    outcomes: dict[tuple[str, str, str], JobOutcome]
    missing: tuple[MissingJob, ...]  # planned jobs not stored (published with allow_partial)

    @classmethod
    def of(
        cls,
        results: Path,
        suite_boards: Sequence[SuiteBoard],
        *,
        allow_partial: bool,
        forms: FormCache | None = None,
        partial_option: str = "--allow-partial",
    ) -> _Read:
        loaded = load_jobs(results)
        boards = build_boards(
            results,
            allow_partial=allow_partial,
            loaded=loaded,
            keep_tables=True,
            suite_boards=suite_boards,
            forms=forms,
            partial_option=partial_option,
        )
        missing = completeness(results, loaded).missing if allow_partial else ()
        return cls(loaded, boards, read_outcomes(results), missing)


def build_site(
    results: Path,
    out: Path,
    *,
    suite_boards: Sequence[SuiteBoard],
    compare: Sequence[tuple[str, str]] = (),
    site_url: str | None = None,
    allow_partial: bool = False,
    compare_option: str = "--compare",
    partial_option: str = "--allow-partial",
) -> Path:
    """Write the site under `out`; returns the index path. `suite_boards`: the installed suites'
    boards (their metrics' labels and the figures their results feed; `harness.run.suite_boards`). `compare`: extra (model, model)
    pairs to compare on every task both ran on (each task's leader and runner-up always are);
    `site_url`: where the site will be published, for the links in summary.md. Incomplete
    results are refused unless `allow_partial` (boards then marked PARTIAL). `compare_option`
    names `compare` in refusals (`compare` from Python), `partial_option` the way out of the
    incomplete results' (`allow_partial=True` from Python)."""
    refuse_foreign_folder(out)  # at once: before the results are read

    def read_results(forms: FormCache) -> _Read:
        return _Read.of(
            results,
            suite_boards,
            allow_partial=allow_partial,
            forms=forms,
            partial_option=partial_option,
        )

    forms = FormCache.read(out)  # the previous build's paired forms (or none)
    read = read_results(forms)  # refusals come first
    given, live = out, site_folder(out)  # `out` may be a link: the folder it names is written
    # a second report into this folder waits until this one is published; one that waited
    # reads the results again, as they are now (they may have changed while it waited)
    with site_lock(live) as lock:
        if lock.waited:  # the forms the build that held the lock kept, too
            forms = FormCache.read(out)
            read = read_results(forms)
        loaded, boards, outcomes = read.loaded, read.boards, read.outcomes
        values = ResampledCache.read(out)  # the previous build's resampled values (or none)
        heads = [headline_board(b, outcomes, store=values, forms=forms) for b in boards]
        links.real_dir(live / "figures")  # never a link: figures are published inside it
        out = staging_folder(live)  # the build goes here; `live` keeps the previous one meanwhile
        try:
            figdir = out / "figures"
            cache = FigureCache(live / "figures", build=figdir)
            pairs = _pairs(boards, heads, compare, compare_option)
            tasks = sorted({b.task for b in boards})
            suites = sorted({j.record.suite for _m, j in loaded if j.status == JobStatus.COMPLETED})
            nav = Nav(
                tasks=[Link(t, task_page(t)) for t in tasks],
                suites=[Link(s, suite_page(s)) for s in suites],
                comparisons=[
                    Link(f"{a} vs {b} on {t}", compare_page(t, a, b)) for t, a, b in pairs
                ],
                source=source_line(results, loaded),
            )
            ctx = _Context(
                results,
                out,
                loaded,
                boards,
                heads,
                outcomes,
                FigureFolder(out, figdir, cache=cache, names=forms.names),
                nav,
                pairs,
                PageCache(live, build=out),
                MetricWords.of(suite_boards),
                figure_kinds(suite_boards),
                suite_configs(suite_boards),
                tuple(c for b in sorted(suite_boards, key=lambda b: b.suite) for c in b.curves),
                values,
                read.missing,
            )
            _write_pages(ctx, tasks, suites)
            summary = summary_markdown(
                heads, failed=_failed(ctx), site_url=site_url, report=str(given), source=nav.source
            )
            _write(out / "summary.md", summary)
            cache.finish()
            ctx.pages.finish()
            values.write(out)
            forms.write(out)
            publish(out, live, remove_stale=[ctx.pages.remove_stale, cache.remove_stale])
        except BaseException:
            discard(out)  # the site folder keeps the previous build, whole
            raise
        left = leftovers_line(given, ctx.pages.leftovers(), cache.leftovers())
        if left:
            log.warning("%s", left)
    log.info("report written to %s", given)
    return given / "index.html"


def leftovers_line(out: Path, pages: list[str], figures: list[str]) -> str | None:
    """One line naming the pages and figures the site folder holds that this report did not
    write (`PageCache.leftovers`), or None. A page of an earlier build whose index was damaged
    or of another format is not removed (only a file the index proves the report's is), so
    it stays published with older results: the line says so, and what to do."""
    names = pages + [f"figures/{f}" for f in figures]
    if not names:
        return None
    shown = ", ".join(names[:SHOWN]) + (
        f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    )
    return (
        f"report folder {out} keeps {_count(len(pages), 'page')} and "
        f"{_count(len(figures), 'figure')} that this report did not write ({shown}); they are "
        "left in place because its indexes do not list them as a report's (an index damaged or "
        "written by another version, a file edited or added by hand), are not linked from this "
        "report and may show older results: remove them, or write the report into a new folder"
    )


def _write_pages(ctx: _Context, tasks: list[str], suites: list[str]) -> None:
    """Every page of the site and its figures, into the build's (staging) folder."""
    ctx.write("provenance.html", _provenance(ctx))
    by_model: dict[str, list[Loaded]] = defaultdict(list)
    for man, job in ctx.loaded:
        by_model[job.record.model].append((man, job))
    for _man, job in ctx.loaded:  # read here: the workers parse no file the build parsed
        if job.status == JobStatus.COMPLETED and reads_table(job, ctx.kinds, ctx.folder):
            job.table()
    _galleries(ctx)
    _pages(ctx, tasks, sorted(by_model.items()))
    for suite in suites:
        ctx.write(suite_page(suite), _suite_page(ctx, suite))
    ctx.write("models.html", _models_page(ctx, sorted(by_model)))
    ctx.write("index.html", _index(ctx, models=len(by_model)))


# the figures `gallery_figures` draws, for the jobs whose suites feed them
_GALLERIES: tuple[FigureKind, ...] = ("corruption_gallery", "adversarial_gallery")


def _galleries(ctx: _Context) -> None:
    """Every job's galleries, drawn once for the task and model pages that show them (in
    worker processes: harness.present.site_workers)."""
    jobs = [
        (job.record.model, job)
        for _man, job in ctx.loaded
        if job.status == JobStatus.COMPLETED
        and any(feeds(ctx.kinds, job.record.suite, kind) for kind in _GALLERIES)
    ]

    def draw(model: str, job: StoredJob) -> tuple[str, list[FigureView] | None]:
        jtag = job_tag(model, job)
        gallery_figures(model, job, jtag, ctx.folder, ctx.kinds)
        return jtag, ctx.folder.drawn.get(jtag)

    parts = [partial(draw, model, job) for model, job in jobs]
    for jtag, views in run_parts(parts, ctx.folder.cache, ctx.pages, ctx.values):
        if views is not None:
            ctx.folder.drawn[jtag] = views


def _pages(ctx: _Context, tasks: list[str], models: list[tuple[str, list[Loaded]]]) -> None:
    """The task, comparison and model pages with their figures, in worker processes
    (harness.present.site_workers), the costliest first; a model's page is kept from the
    previous build when unchanged (harness.present.page_cache)."""

    def task(name: str) -> None:
        ctx.write(task_page(name), _task_page(ctx, name))

    def comparison(name: str, a: str, b: str) -> None:
        ctx.write(compare_page(name, a, b), _compare_page(ctx, name, a, b))

    def model(name: str, jobs: list[Loaded]) -> None:
        ctx.write(model_page(name), _model_page(ctx, name, jobs), reuse=True)

    # the costliest first, so that no worker is left with a long part at the end: a task's page
    # (its variants' paired tests, its figures) costs more the more jobs ran on the task
    done = Counter(j.record.task for _m, j in ctx.loaded if j.status == JobStatus.COMPLETED)
    by_cost = sorted(tasks, key=lambda name: (-done[name], name))
    parts: list[Callable[[], None]] = [partial(task, name) for name in by_cost]
    parts += [partial(comparison, *pair) for pair in ctx.pairs]
    parts += [partial(model, name, jobs) for name, jobs in models]
    run_parts(parts, ctx.folder.cache, ctx.pages, ctx.values)


def _write(path: Path, text: str) -> None:
    """A page, written whole (temp file and rename), never through a symbolic link."""
    atomic.write_text(path, text, durable=False)


def _pairs(
    boards: list[Board],
    heads: list[HeadlineBoard],
    extra: Sequence[tuple[str, str]],
    option: str,
) -> list[tuple[str, str, str]]:
    """(task, a, b): each task's first two models, and every asked pair both ran on the task."""
    pairs: list[tuple[str, str, str]] = []
    for head in heads:
        # a row with no cells is a model whose jobs failed (its reasons are on the board)
        ran = {r.model for r in head.board.rows if r.cells}
        models = [r.model for r in head.rows if r.model in ran]
        if len(models) >= 2 and (head.board.task, models[0], models[1]) not in pairs:
            pairs.append((head.board.task, models[0], models[1]))
    on_task: dict[str, set[str]] = defaultdict(set)
    for board in boards:
        on_task[board.task].update(r.model for r in board.rows if r.cells)
    for a, b in extra:
        tasks = [t for t, models in sorted(on_task.items()) if {a, b} <= models]
        if not tasks:
            raise ResultsError(
                f"{option} {a} {b}: no task has results of both models; "
                f"models with results: {', '.join(sorted(set().union(*on_task.values())))}"
            )
        # a pair already compared the other way round (the task's leader and runner-up) is
        # one page, not two mirrored ones
        pairs += [(t, a, b) for t in tasks if not {(t, a, b), (t, b, a)} & set(pairs)]
    return pairs


def _failed(ctx: _Context) -> list[JobLine]:
    return [
        JobLine(model, task, suite, o.status.value, o.reason)
        for (model, task, suite), o in sorted(ctx.outcomes.items())
        if o.status == JobStatus.FAILED
    ]


def _runs_line(loaded: Sequence[Loaded], *, version: bool = False) -> str:
    """'run <id> (<date>, <device>)' per run (`version`: with the harness that ran it)."""
    runs: dict[str, RunManifest] = {}
    for man, _job in loaded:
        runs.setdefault(man.run_id, man)
    parts = []
    for run_id, man in sorted(runs.items()):
        what = [man.created[:10], man.device.get("name") or man.device.get("type") or ""]
        if version:
            what.append(f"harness {man.versions.get(HARNESS_PACKAGE) or 'version not recorded'}")
        parts.append(f"run {run_id} ({', '.join(w for w in what if w)})")
    return "; ".join(parts)


def source_line(results: Path, loaded: Sequence[Loaded]) -> str:
    """Where every page's numbers come from: 'Results folder <path>: run <id> (<date>, <device>,
    harness <version>). Report written by harness <version>.'"""
    runs = _runs_line(loaded, version=True) or "no runs"
    return f"Results folder {results}: {runs}. Report written by harness {__version__}."


def model_source_line(jobs: Sequence[Loaded]) -> str:
    """Where a model page's numbers come from: the runs of its own jobs, 'Numbers from run <id>
    (<date>, <device>, harness <version>). Report written by harness <version>.'"""
    runs = _runs_line(jobs, version=True) or "no runs"
    return f"Numbers from {runs}. Report written by harness {__version__}."


def _index(ctx: _Context, *, models: int) -> _Page:
    return _Page.of(
        "index.html",
        title="Evaluation report",
        nav=ctx.nav,
        lede=(
            f"{_count(models, 'model')} on {_count(len(ctx.nav.tasks), 'task')} · "
            + _runs_line(ctx.loaded)
        ),
        # the board with the most models first: the comparison a reader came for
        heads=[headline_view(h) for h in sorted(ctx.heads, key=lambda h: -len(h.rows))],
        failed=_failed(ctx),
        comparisons=ctx.nav.comparisons,
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _provenance(ctx: _Context) -> _Page:
    return _Page.of(
        "provenance.html",
        title="Provenance",
        nav=ctx.nav,
        runs=run_views(ctx.loaded),
        jobs=[job_view(man, job) for man, job in ctx.loaded],
    )


def _task_page(ctx: _Context, task: str) -> _Page:
    """The task's headline board, figures, every headline metric by suite, skips, variants."""
    boards = [b for b in ctx.boards if b.task == task]
    not_done = (JobStatus.SKIPPED, JobStatus.FAILED)
    jobs = [
        JobLine(m, t, s, o.status.value, o.reason)
        for (m, t, s), o in sorted(ctx.outcomes.items())
        if t == task and o.status in not_done
    ]
    return _Page.of(
        "task.html",
        title=f"Task {task}",
        nav=ctx.nav,
        heads=[headline_view(h) for h in ctx.heads if h.board.task == task],
        sections=task_figures(
            task, boards, ctx.loaded, ctx.folder, ctx.words, ctx.kinds, ctx.lines
        ),
        ood=_ood(ctx, task),
        by_suite=[
            tables
            for h in ctx.heads
            if h.board.task == task and (tables := _suite_boards(h, ctx.words))
        ],
        jobs=jobs,
        variants=variant_views(
            compare_variants(ctx.loaded, task=task, configs=ctx.configs, store=ctx.values),
            _hrefs(boards),
            ctx.words,
        ),
        variants_legend=VARIANTS_LEGEND,
        comparisons=[
            c for c, (t, _a, _b) in zip(ctx.nav.comparisons, ctx.pairs, strict=True) if t == task
        ],
    )


def _ood(ctx: _Context, task: str) -> OODView | None:
    """The task's OOD detection section, when a job of a suite that declares OOD detection
    results (`ood_detection`: the shift suite) scored OOD sets."""
    suites = [suite for suite in ctx.kinds if feeds(ctx.kinds, suite, "ood_detection")]
    board = ood_board(task, ctx.loaded, suites)
    return ood_view(board, ctx.folder) if board is not None else None


def _suite_boards(head: HeadlineBoard, words: MetricWords) -> list[tuple[str, BoardView]]:
    """The board's headline columns split by suite, one table each (starred as its headline
    board is: `headline.starred`). A board without headline columns whose notes say something
    (a shift job that scored no OOD set, and why) keeps them: one table of its models."""
    board, at_chance = head.board, rank_column_at_chance(head)
    if not board.columns and board.notes and board.suites:
        suite = sorted(board.suites)[0]
        view = board_view(board, words, [], at_chance=at_chance)
        return [(suite, replace(view, suite_href=suite_page(suite)))]
    tables = []
    for suite in sorted(board.suites):
        keys = [k for k in board.columns if _suite_of(board, k) == suite]
        if keys:
            tables.append(
                (
                    suite,
                    replace(
                        board_view(board, words, keys, at_chance=at_chance),
                        suite_href=suite_page(suite),
                    ),
                )
            )
    return tables


def _hrefs(boards: list[Board]) -> dict[tuple[str, str], str]:
    """(model, suite) -> provenance link of the boards' jobs."""
    return {key: provenance_href(man, job) for b in boards for key, (man, job) in b.sources.items()}


def _suite_of(board: Board, key: str) -> str:
    return next(r.suite for (m, k), r in board.records.items() if k == key)


def _suite_page(ctx: _Context, suite: str) -> _Page:
    return _Page.of(
        "suite.html",
        title=f"Suite {suite}: every metric",
        nav=ctx.nav,
        tables=suite_tables(ctx.boards, suite, ctx.words),
    )


def _model_page(ctx: _Context, model: str, jobs: list[Loaded]) -> _Page:
    """Every job of the model: its metrics (with provenance links) and figures."""
    ordered = sorted(jobs, key=lambda mj: (mj[1].record.task, mj[1].record.suite, _protocol(mj[1])))
    return _Page.of(
        "model.html",
        title=f"Model {model}",
        # its own runs only: a page kept between builds stays the same when another model's
        # run is added to the folder (docs/report.md, the page cache)
        nav=replace(ctx.nav, source=model_source_line(jobs)),
        jobs=[_model_job(ctx, model, man, job) for man, job in ordered],
        # its jobs missing from the results: their sections are absent, and the page says why
        missing=[m.describe() for m in ctx.missing if m.model == model],
    )


def _model_job(ctx: _Context, model: str, man: RunManifest, job: StoredJob) -> ModelJobView:
    r = job.record
    href = provenance_href(man, job)
    completed = job.status == JobStatus.COMPLETED
    metrics, footnotes = (
        metric_views(job.metrics, href, check_descriptions(job.artifacts()), ctx.words, job=job)
        if completed
        else ([], [])
    )
    return ModelJobView(
        task=r.task,
        suite=r.suite,
        protocol=_protocol(job),
        provenance=href,
        task_href=task_page(r.task),
        completed=completed,
        status=job.status.value,
        reason=r.reason or "",
        metrics=metrics,
        footnotes=footnotes,
        figures=job_figures(model, job, job_tag(model, job), ctx.folder, ctx.kinds, ctx.lines)
        if completed
        else [],
        text_examples=(
            text_examples(job.artifacts())
            if completed and feeds(ctx.kinds, r.suite, "text_examples")
            else []
        ),
    )


def _protocol(job: StoredJob) -> str:
    """The job's protocol preset as its board's title names it; "" for a job without one."""
    return job.record.protocol.label if job.record.protocol is not None else ""


def _models_page(ctx: _Context, models: list[str]) -> _Page:
    return _Page.of(
        "models.html",
        title="Models",
        nav=ctx.nav,
        models=[Link(m, model_page(m)) for m in models],
        comparisons=ctx.nav.comparisons,
    )


def _compare_page(ctx: _Context, task: str, a: str, b: str) -> _Page:
    comp = compare_models(ctx.loaded, task=task, a=a, b=b, configs=ctx.configs, store=ctx.values)
    board_families(comp, ctx.heads)
    return _Page.of(
        "compare.html",
        title=f"{a} vs {b} on {task}",
        nav=ctx.nav,
        c=comparison_view(comp, ctx.words),
    )
