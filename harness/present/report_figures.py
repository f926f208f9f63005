"""The figures of the report's task and model pages: data from `harness.analysis.figure_data`,
drawn by `figures` and `galleries`, grouped into titled sections with captions.

A figure is drawn only when its data exist (results of new suites appear when they land). Which
suite's results feed which figure, each suite's board says (`SuiteBoard.figures`, handed in as
`Kinds`); the trade-off, robustness and speed figures read metric keys from any suite. Each model
keeps one colour and marker across a task page's figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from harness.analysis import figure_data as fd
from harness.analysis.headline import majority_share
from harness.analysis.leaderboard import Board
from harness.core.manifest import JobStatus
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import CLEAN, GROUP_PREFIX, SampleTable
from harness.core.suite_board import Curve, FigureKind
from harness.core.threat_model import NORM_WORDS, Headline, eps_text, headline_text
from harness.present import figures, galleries
from harness.present.attack_names import attacks_summary
from harness.present.escaping import slug
from harness.present.figure_cache import FigureCache
from harness.present.figure_style import Styles, png_size
from harness.present.metric_names import MetricWords
from harness.present.report_views import FigureView, Loaded
from harness.store.recency import oldest_first
from harness.store.run_store import StoredJob

Kinds = Mapping[str, frozenset[FigureKind]]  # suite -> the figures its results feed


def feeds(kinds: Kinds, suite: str, kind: FigureKind) -> bool:
    """Whether the suite's results feed the figure `kind` (a suite no installed board declares
    feeds none)."""
    return kind in kinds.get(suite, frozenset())


@dataclass(frozen=True)
class FigureFolder:
    """Where figures go (`figdir`) and the site folder their paths are relative to (`out`);
    `drawn` remembers figures already written in this build (a gallery is shown on the task
    page and on the model page but drawn once); `cache` keeps a model's figures between builds
    (harness.present.figure_cache; None: every figure drawn)."""

    out: Path
    figdir: Path
    drawn: dict[str, list[FigureView]] = field(default_factory=dict)
    cache: FigureCache | None = None
    # the column names of a job's table (`FormCache.names`: kept between builds); None: read
    # from the table's file
    names: Callable[[StoredJob], list[str]] | None = None

    def table_names(self, job: StoredJob) -> list[str]:
        return job.table_names() if self.names is None else self.names(job)

    def once(self, path: Path, shows: object, draw: Callable[[], Path | None]) -> Path | None:
        """The figure at `path` showing `shows`, kept from the previous build when unchanged."""
        return draw() if self.cache is None else self.cache.figure(path, shows, draw)

    def view(
        self, path: Path | None, caption: str, alt: str = "", *, wide: bool = False
    ) -> list[FigureView]:
        """The figure at `path` for a page ([] when nothing was drawn)."""
        if path is None:
            return []
        width, height = png_size(path)
        return [
            FigureView(
                src=path.relative_to(self.out).as_posix(),
                caption=caption,
                alt=alt or caption,
                width=width,
                height=height,
                wide=wide,
            )
        ]


@dataclass
class FigureSection:
    """A titled group of figures on a page."""

    title: str
    figures: list[FigureView] = field(default_factory=list)


@dataclass
class _TaskData:
    records: dict[str, list[MetricRecord]] = field(default_factory=lambda: defaultdict(list))
    group_records: dict[str, list[MetricRecord]] = field(default_factory=lambda: defaultdict(list))
    accuracy_tables: dict[str, SampleTable] = field(default_factory=dict)
    severity: dict[str, list[fd.FigPoint]] = field(default_factory=dict)
    jobs: list[tuple[str, StoredJob]] = field(default_factory=list)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # undocumented codings, per column


def _task_data(task: str, loaded: list[Loaded], kinds: Kinds, folder: FigureFolder) -> _TaskData:
    data = _TaskData()
    latest: dict[tuple[str, str], StoredJob] = {}
    for _man, job in oldest_first(loaded):
        r = job.record
        if r.task == task and job.status == JobStatus.COMPLETED:
            latest[(r.model, r.suite)] = job
    for (model, suite), job in sorted(latest.items()):
        data.records[model] += job.metrics
        data.jobs.append((model, job))
        data.labels.update(job.record.task_summary.group_labels)
        data.notes.update(job.record.task_summary.group_notes)
        if feeds(kinds, suite, "group_records"):
            data.group_records[model] += job.metrics
        if not job.has_table:
            continue
        if _group_table(job, kinds, folder):
            data.accuracy_tables[model] = job.table()
        if feeds(kinds, suite, "corruption_curves"):
            curve = fd.severity_curve(job.table())
            if curve:
                data.severity[model] = curve
    return data


def _pareto_section(
    task: str, boards: list[Board], folder: FigureFolder, styles: Styles, words: MetricWords
) -> FigureSection:
    section = FigureSection("Trade-offs")
    tag = slug(task)
    for bi, board in enumerate(boards):
        for vi, view in enumerate(fd.pareto_figures(board)):
            x_unit, y_unit = board.units[view.x_key][0], board.units[view.y_key][0]
            target = folder.figdir / f"{tag}-pareto-{bi}-{vi}.png"
            title = f"{task}: {words.short(view.y_key)} vs {words.short(view.x_key)}"
            xlabel, ylabel = words.readable(view.x_key), words.readable(view.y_key)
            fractions = (x_unit == "fraction", y_unit == "fraction")
            path = folder.once(
                target,
                (view, title, xlabel, ylabel, fractions, _page_styles(styles, view.points)),
                partial(
                    figures.pareto,
                    view,
                    target,
                    title=title,
                    xlabel=xlabel,
                    ylabel=ylabel,
                    styles=styles,
                    x_fraction=fractions[0],
                    y_fraction=fractions[1],
                    logx=view.timing_x,
                ),
            )
            front = ", ".join(view.front) or "none"
            hollow = [m for m, p in view.points.items() if p.caveat]
            caption = (
                f"{words.readable(view.y_key)} against {words.readable(view.x_key)}, each model with its 95% "
                f"intervals on both axes. Front (no comparable model is better on both): {front}. "
                "Overlapping bars mean the data cannot separate those models."
                + (
                    f" Hollow markers ({', '.join(hollow)}): not comparable (the legend says "
                    "why); never on the front."
                    if hollow
                    else ""
                )
            )
            section.figures += folder.view(path, caption)
    return section


def _robust_section(
    task: str, data: _TaskData, folder: FigureFolder, styles: Styles, lines: Sequence[Curve]
) -> FigureSection:
    section = FigureSection("Adversarial robustness")
    for i, curve in enumerate(c for c in lines if c.along == "budget"):
        section.figures += _robust_figure(task, data, folder, styles, curve, _nth(i))
    return section


def _page_styles(styles: Styles, names: Iterable[str]) -> tuple[str, ...]:
    """The page's styles as a figure of series `names` draws with them, for the figure's cache
    key: the names are given to `styles` first, as drawing the figure does, so a figure kept
    from the previous build leaves the page's colours as drawing it would, and the key holds
    every name whose colour and marker the figure can use."""
    styles.order(names)
    return styles.names


def _lines(
    folder: FigureFolder,
    styles: Styles,
    panels: Mapping[str, fd.Series],
    path: Path,
    **args: Any,
) -> Path | None:
    """`figures.lines` of a task page, kept from the previous build when what it shows (its
    points, labels, options and the page's colours) is unchanged."""
    names = [n for series in panels.values() for n, pts in series.items() if pts]
    return folder.once(
        path,
        (panels, args, _page_styles(styles, names)),
        partial(figures.lines, panels, path, styles=styles, **args),
    )


def _nth(i: int) -> str:
    """A file name's suffix for the i-th curve of a kind ('' for the first)."""
    return f"-{i}" if i else ""


def _robust_figure(
    task: str, data: _TaskData, folder: FigureFolder, styles: Styles, curve: Curve, nth: str
) -> list[FigureView]:
    panels = fd.robust_series(data.records, curve)
    chance = _chance(data, curve.metric)
    path = _lines(
        folder,
        styles,
        panels,
        folder.figdir / f"{slug(task)}-robust-eps{nth}.png",
        title=f"{task}: robust accuracy vs budget",
        xlabel="perturbation budget eps (input units)",
        ylabel="robust accuracy",
        unit_interval=True,
        reference=None if chance is None else (chance, f"chance ({chance:.3f})"),
    )
    return folder.view(
        path,
        "Robust accuracy against the per-sample worst case over the attacks, per budget, with 95% "
        "intervals (one panel per norm). Hollow markers and dashed lines: upper bounds or "
        "flagged numbers, not comparable with the others."
        + (
            ""
            if chance is None
            else f" Dotted line: chance ({chance:.3f}), the share of the most common class among "
            "the attacked samples: what always predicting that class scores, which no attack "
            "can lower; a number at or below it is no robustness."
        ),
    )


def _chance(data: _TaskData, metric: str) -> float | None:
    """The share of the most common class among the samples the jobs reporting `metric`
    evaluated (harness.analysis.headline.majority_share), when every such job's table gives the
    same share (models compared on the same samples); None without a stored table or when they
    differ (no one chance level for the figure)."""
    shares = {
        majority_share(job.table().frame, CLEAN)
        for _model, job in data.jobs
        if job.has_table and any(m.metric == metric for m in job.metrics)
    }
    return shares.pop() if len(shares) == 1 else None


def _shift_section(
    task: str, data: _TaskData, folder: FigureFolder, styles: Styles
) -> FigureSection:
    section = FigureSection("Distribution shift")
    path = _lines(
        folder,
        styles,
        {"": {m: pts for m, pts in data.severity.items()}},
        folder.figdir / f"{slug(task)}-severity.png",
        title=f"{task}: accuracy vs corruption severity",
        xlabel="corruption severity",
        ylabel="accuracy, mean over corruptions",
        unit_interval=True,
    )
    section.figures += folder.view(
        path,
        "Accuracy at each corruption severity averaged over the corruptions (the shift suite's "
        "mean corruption accuracy at that severity), with 95% Wilson intervals at the effective "
        "number of source images. Per-corruption detail is on each model's page.",
    )
    return section


def _group_section(
    task: str, data: _TaskData, folder: FigureFolder, styles: Styles
) -> FigureSection:
    section = FigureSection("Groups")
    for gf in fd.group_figures(data.group_records, data.accuracy_tables, data.labels):
        target = folder.figdir / f"{slug(task)}-group-{slug(gf.grouping)}.png"
        title = f"{task}: accuracy by {gf.grouping}"
        names = [n for n, per in gf.per_model.items() if any(v in per for v in gf.values)]
        path = folder.once(
            target,
            (gf, title, _page_styles(styles, names)),
            partial(figures.group_figure, gf, target, title=title, styles=styles),
        )
        section.figures += folder.view(
            path,
            f"Accuracy per {gf.grouping} group with 95% intervals and each group's n ({gf.source})."
            + _coding(data.notes, gf.grouping),
        )
    return section


def _coding(notes: dict[str, str], grouping: str) -> str:
    """The task's note on a grouping whose coding the source does not document ('' if none)."""
    return f" {grouping}: {notes[grouping]}." if grouping in notes else ""


def _speed_section(
    task: str, data: _TaskData, folder: FigureFolder, styles: Styles, lines: Sequence[Curve]
) -> FigureSection:
    section = FigureSection("Speed")
    for i, curve in enumerate(c for c in lines if c.along == "batch_size"):
        section.figures += _speed_figure(task, data, folder, styles, curve, _nth(i))
    return section


def _speed_figure(
    task: str, data: _TaskData, folder: FigureFolder, styles: Styles, curve: Curve, nth: str
) -> list[FigureView]:
    panels = fd.throughput_panels(data.records, curve)
    path = _lines(
        folder,
        styles,
        {f"measured on {p.machine}": p.series for p in panels},
        folder.figdir / f"{slug(task)}-throughput{nth}.png",
        title=f"{task}: throughput vs batch size",
        xlabel="batch size",
        ylabel="samples/s (log scale)",
        logx=True,
        logy=True,
    )
    return folder.view(
        path,
        "Throughput per batch size with 95% intervals, one panel per machine (named in its "
        "title), precision and execution mode; compare only within a panel. Hollow markers and "
        "dashed lines: unstable timing (a reliability flag, or a 95% interval wider than "
        f"{fd.UNSTABLE_RELATIVE_WIDTH:.0%} of the estimate).",
    )


def _pictures_section(
    task: str, data: _TaskData, folder: FigureFolder, kinds: Kinds
) -> FigureSection:
    section = FigureSection("What the models saw")
    for model, job in data.jobs:
        section.figures += gallery_figures(model, job, job_tag(model, job), folder, kinds)
    return section


# figures drawn from a job's per-sample table (besides the group figures: `_group_table`)
_FROM_TABLE: tuple[FigureKind, ...] = (
    "corruption_curves",
    "corruption_gallery",
    "adversarial_gallery",
    "ood_detection",
)


def _group_table(job: StoredJob, kinds: Kinds, folder: FigureFolder) -> bool:
    """Whether the job's table feeds the group figures: its suite's results do and it has
    group columns (a table without them adds no group to any figure, `fd.group_figures`: it is
    not parsed for them)."""
    return (
        feeds(kinds, job.record.suite, "group_table")
        and job.has_table
        and any(c.startswith(GROUP_PREFIX) for c in folder.table_names(job))
    )


def reads_table(job: StoredJob, kinds: Kinds, folder: FigureFolder) -> bool:
    """Whether the report's figures of this job read its per-sample table."""
    suite = job.record.suite
    return job.has_table and (
        any(feeds(kinds, suite, kind) for kind in _FROM_TABLE) or _group_table(job, kinds, folder)
    )


def job_tag(model: str, job: StoredJob) -> str:
    return "job-" + slug(f"{job.record.run_id}/{job.path.name}")


def task_figures(
    task: str,
    boards: list[Board],
    loaded: list[Loaded],
    folder: FigureFolder,
    words: MetricWords,
    kinds: Kinds,
    lines: Sequence[Curve],
) -> list[FigureSection]:
    """The task page's figure sections (empty sections are left out)."""
    styles = Styles(r.model for b in boards for r in b.rows)
    data = _task_data(task, loaded, kinds, folder)
    builders: list[Callable[[], FigureSection]] = [
        lambda: _pareto_section(task, boards, folder, styles, words),
        lambda: _robust_section(task, data, folder, styles, lines),
        lambda: _shift_section(task, data, folder, styles),
        lambda: _group_section(task, data, folder, styles),
        lambda: _speed_section(task, data, folder, styles, lines),
        lambda: _pictures_section(task, data, folder, kinds),
    ]
    return [s for s in (b() for b in builders) if s.figures]


def gallery_figures(
    model: str, job: StoredJob, jtag: str, folder: FigureFolder, kinds: Kinds
) -> list[FigureView]:
    """The job's corruption gallery and adversarial examples, when it stored them (drawn once
    per build: the task page and the model page share them)."""
    suite = job.record.suite
    if not any(feeds(kinds, suite, k) for k in ("corruption_gallery", "adversarial_gallery")):
        return []
    if not fd.displayable(job.record.task_summary.input_shape):
        return []
    if jtag not in folder.drawn:
        folder.drawn[jtag] = _galleries(model, job, jtag, folder, kinds)
    return folder.drawn[jtag]


def _galleries(
    model: str, job: StoredJob, jtag: str, folder: FigureFolder, kinds: Kinds
) -> list[FigureView]:
    names = job.record.task_summary.class_names
    suite = job.record.suite
    out: list[FigureView] = []
    cg = fd.corruption_gallery(job) if feeds(kinds, suite, "corruption_gallery") else None
    if cg is not None:
        base = folder.figdir / f"{jtag}-corruption-gallery.png"
        title = f"{model} on {job.record.task}: seeded samples per corruption and severity"
        caption = (
            f"{model}: {_of_stored(galleries.corruption_samples(cg), len(cg.sample_ids))}"
            "seeded test samples under each corruption at each severity (clean first); under "
            "each image the model's prediction, ✓ right, ✗ wrong."
        )
        for part in range(galleries.corruption_parts(cg)):
            path = folder.once(
                galleries.part_path(base, part),
                (galleries.shows(cg), title, names),
                partial(galleries.corruption_part, cg, part, base, title=title, class_names=names),
            )
            out += folder.view(path, caption, wide=True)
    ag = fd.adversarial_gallery(job) if feeds(kinds, suite, "adversarial_gallery") else None
    if ag is not None:
        threat = gallery_threat(ag, job.record.task_summary.headline)
        target = folder.figdir / f"{jtag}-adversarial.png"
        path = folder.once(
            target,
            (galleries.shows(ag), model, names, threat),
            partial(
                galleries.adversarial_gallery,
                ag,
                target,
                model=model,
                class_names=names,
                threat=threat,
            ),
        )
        shown = galleries.adversarial_rows(ag)
        found = attacks_summary(ag.attacks[:shown])  # the rows drawn, as the figure's title
        out += folder.view(
            path,
            f"{model}: {_of_stored(shown, len(ag.clean))}adversarial examples at {threat}"
            + (f", found by {found}" if found else "")
            + ": clean image, perturbed image and the perturbation amplified to be visible, "
            "with the true label, both predictions and the attack that found it.",
        )
    return out


def _of_stored(shown: int, stored: int) -> str:
    """'6 of the 8 stored ' when the gallery draws fewer than were stored, else '8 stored '."""
    return f"{shown} of the {stored} stored " if shown < stored else f"{stored} stored "


def gallery_threat(ag: fd.AdversarialGallery, headline: Headline) -> str:
    """The gallery's threat model in words, and whether it is the task's headline."""
    if ag.eps is None:
        return f"{NORM_WORDS.get(ag.norm, ag.norm)} (budget not stored)"
    words = f"{NORM_WORDS.get(ag.norm, ag.norm)} {eps_text(ag.eps)}"
    if any(t.matches(ag.norm, ag.eps) for t in headline):
        return f"{words}, the task's headline threat model"
    if headline:
        return f"{words} (the task's headline threat model, {headline_text(headline)}, has none)"
    return words


def job_figures(
    model: str,
    job: StoredJob,
    jtag: str,
    folder: FigureFolder,
    kinds: Kinds,
    lines: Sequence[Curve],
) -> list[FigureView]:
    """A job's reliability diagram, per-corruption accuracy, robust accuracy per attack,
    per-group accuracy and galleries."""
    r = job.record
    figdir = folder.figdir
    out: list[FigureView] = []
    bins = job.artifacts().get("reliability_diagram")
    if isinstance(bins, list):
        path, title = figdir / f"{jtag}-reliability.png", f"{model} on {r.task}"
        out += folder.view(
            folder.once(
                path, (bins, title), lambda: figures.reliability_diagram(bins, path, title)
            ),
            "Reliability diagram: accuracy against mean confidence per confidence bin, with 95% "
            "Wilson intervals and the bin counts above the points; the dashed diagonal is perfect "
            "calibration.",
        )
    for i, curve in enumerate(c for c in lines if c.along == "budget"):
        out += _attack_figure(model, job.metrics, folder, jtag + _nth(i), curve)
    labels = r.task_summary.group_labels
    tables = {model: job.table()} if _group_table(job, kinds, folder) else {}
    records = {model: job.metrics} if feeds(kinds, r.suite, "group_records") else {}
    for gf in fd.group_figures(records, tables, labels):
        target, title = (
            figdir / f"{jtag}-group-{slug(gf.grouping)}.png",
            f"{model}: accuracy by {gf.grouping}",
        )
        out += folder.view(
            folder.once(
                target,
                (gf, title),
                partial(figures.group_figure, gf, target, title=title, styles=Styles([model])),
            ),
            f"Accuracy per {gf.grouping} group with 95% intervals and n ({gf.source})."
            + _coding(r.task_summary.group_notes, gf.grouping),
        )
    if feeds(kinds, r.suite, "corruption_curves") and job.has_table:
        points = fd.corruption_points(job.table())
        if points:
            series: dict[str, dict[str, fd.FigPoint]] = defaultdict(dict)
            for corruption, pts in points.items():
                for p in pts:
                    series[f"severity {p.x:g}"][corruption] = p
            order = sorted(series, key=lambda s: float(s.split()[-1]))
            dots, title = (
                figdir / f"{jtag}-corruptions.png",
                f"{model}: accuracy per corruption and severity",
            )
            out += folder.view(
                folder.once(
                    dots,
                    (points, title),  # the series and their order are made from these
                    partial(
                        figures.dot_rows,
                        list(points),
                        series,
                        dots,
                        title=title,
                        xlabel="accuracy (95% Wilson interval)",
                        styles=Styles(order),
                    ),
                ),
                "Accuracy under each corruption (rows) at each severity (colours), with 95% "
                "Wilson intervals.",
            )
    return out + gallery_figures(model, job, jtag, folder, kinds)


def _attack_figure(
    model: str, records: Sequence[MetricRecord], folder: FigureFolder, jtag: str, curve: Curve
) -> list[FigureView]:
    figdir = folder.figdir
    out: list[FigureView] = []
    attacks = fd.attack_series(records, curve)
    if attacks:
        at, title = figdir / f"{jtag}-attacks.png", f"{model}: robust accuracy per attack"
        out += folder.view(
            folder.once(
                at,
                ({k: dict(v) for k, v in attacks.items()}, title),  # repr without factories
                lambda: figures.lines(
                    attacks,
                    at,
                    title=title,
                    xlabel="perturbation budget eps",
                    ylabel="robust accuracy",
                    styles=Styles(),
                    unit_interval=True,
                ),
            ),
            "Robust accuracy per attack and budget with 95% intervals; the worst case is the "
            "per-sample minimum over the attacks.",
        )
    return out
