"""Matplotlib (Agg) figures for the report, saved as PNG next to the pages.

Each function draws one figure from plain data (`harness.analysis.figure_data`) and returns the
written path, or None when there is nothing to draw. Every point has its 95% interval; a point
whose caveat keeps it out of comparisons (upper bound, unreliable, unstable timing) is drawn
hollow and named as such in the legend, and is never on a Pareto front. More than eight series
go to further panels. Labels come from untrusted names and are drawn as plain text.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.image
import matplotlib.pyplot as plt
from matplotlib.container import Container

from harness.analysis.figure_data import FigPoint, GroupFigure, ParetoFigure, Series, wilson
from harness.present.figure_style import (
    DPI,
    MUTED,
    Styles,
    axis_label,
    errors,
    label,
    legend_outside,
    log_axis,
    panels_of,
    save,
    unit_axis,
)
from harness.store import atomic

log = logging.getLogger(__name__)


class _Reliability:
    """The reliability diagram's figure, drawn once per process and reused: its axes, ticks,
    labels, diagonal and legend are the same for every model, so each diagram only replaces the
    points, intervals, counts and title (a new figure per model spent a quarter of its time
    building those), and the canvas as it is before the first of those is drawn once and
    restored for every model (`png`): only the model's artists and what is drawn over them
    (spines, title, legend) are drawn again. The PNG is the same byte for byte as a new
    figure's `savefig` (tests/present/test_reliability_figure.py), and the first diagram a
    process draws this way is compared with `savefig`'s; where they differ (another
    matplotlib), every diagram of the process is saved with `savefig`."""

    figure: Any = None
    axes: Any = None
    legend: Any = None
    shown: list[Any] = []
    # the canvas after the artists drawn before a model's, and those artists (by id)
    background: Any = None
    below: tuple[int, ...] = ()
    blit: bool | None = None  # None: not compared with savefig yet in this process

    @classmethod
    def axes_for(cls) -> tuple[Any, Any]:
        """The figure and axes, with the previous diagram's data removed."""
        if cls.figure is None or not plt.fignum_exists(cls.figure.number):
            fig, ax = plt.subplots(figsize=(4.4, 4.1), dpi=DPI)
            # a fixed layout (the legend under the axes, inside the figure): drawn once, where
            # a tight bounding box draws every figure twice (docs/report.md)
            fig.subplots_adjust(left=0.15, right=0.97, top=0.92, bottom=0.27)
            ax.plot([0, 1], [0, 1], "--", color=MUTED, linewidth=1, label="perfect calibration")
            ax.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="mean confidence", ylabel="accuracy")
            ax.grid(alpha=0.3)
            cls.figure, cls.axes, cls.legend, cls.shown = fig, ax, None, []
            cls.background, cls.below = None, ()
        for artist in cls.shown:
            artist.remove()
        cls.shown = []
        return cls.figure, cls.axes

    @classmethod
    def png(cls, fig: Any, ax: Any) -> bytes:
        """The figure's PNG, as `savefig` writes it."""
        drawn = cls._blitted(fig, ax) if cls.blit is not False else None
        if drawn is not None and cls.blit is None:
            cls.blit = drawn == _savefig(fig)
            if not cls.blit:
                log.debug("reliability diagrams: restoring the canvas differs from savefig")
        return drawn if drawn is not None and cls.blit else _savefig(fig)

    @classmethod
    def _blitted(cls, fig: Any, ax: Any) -> bytes | None:
        """The PNG from the canvas restored as it was before this model's first artist, and
        every artist drawn from that one on, in the order `Figure.draw` draws them; the legend,
        drawn after them, is in the restored canvas (None where one of them reaches it)."""
        canvas = fig.canvas
        order = _drawing_order(fig, ax)
        mine = {id(a) for shown in cls.shown for a in _flat(shown)} | {id(ax.title)}
        first = next(i for i, a in enumerate(order) if id(a) in mine)
        below = tuple(id(a) for a in order[:first])
        tail = [a for a in order[first:] if a is not cls.legend]
        renderer = canvas.get_renderer()
        if cls.background is None or cls.below != below:
            hidden = [a for a in tail if a.get_visible()]
            for artist in hidden:
                artist.set_visible(False)
            try:
                canvas.draw()
            finally:
                for artist in hidden:
                    artist.set_visible(True)
            cls.background, cls.below = canvas.copy_from_bbox(fig.bbox), below
            renderer = canvas.get_renderer()
        _place_title(ax, renderer)
        if cls.legend is not None and _overlaps(cls.legend, tail, renderer):
            return None
        canvas.restore_region(cls.background)
        for artist in tail:
            artist.draw(renderer)
        image = io.BytesIO()
        matplotlib.image.imsave(
            image, canvas.buffer_rgba(), format="png", origin="upper", dpi=fig.dpi
        )
        return image.getvalue()


def _place_title(ax: Any, renderer: Any) -> None:
    """Where `Axes.draw` places the axes' titles (`_update_title_position`), without its
    measuring of the y axis where the axes has no other axes beside it, no x ticks or label on
    top, no y offset text and the titles are at the top and clear of the axes: there it would
    leave them where they are."""
    titles = (ax.title, ax._left_title, ax._right_title)
    if (
        ax.child_axes
        or len(ax._twinned_axes.get_siblings(ax)) > 1
        or len(ax.get_figure(root=False)._align_label_groups["title"].get_siblings(ax)) > 1
        or ax.xaxis.get_ticks_position() in ("top", "unknown")
        or ax.xaxis.get_label_position() == "top"
        or (ax.yaxis.offsetText.get_visible() and ax.yaxis.offsetText.get_text())
        or any(t.get_position()[1] != 1.0 for t in titles)
        or any(t.get_text() and t.get_window_extent(renderer).y0 < ax.bbox.y1 for t in titles)
    ):
        ax._update_title_position(renderer)


def _overlaps(artist: Any, others: Sequence[Any], renderer: Any, margin: float = 2.0) -> bool:
    """Whether any of `others` may draw within `margin` pixels of `artist`'s extent (a clipped
    artist anywhere in its clip box)."""
    box = artist.get_window_extent(renderer)
    for other in others:
        if not other.get_visible():
            continue
        clip = other.get_clip_box() if other.get_clip_on() else None
        extent = clip if clip is not None else other.get_window_extent(renderer)
        if (
            extent.x0 < box.x1 + margin
            and box.x0 - margin < extent.x1
            and extent.y0 < box.y1 + margin
            and box.y0 - margin < extent.y1
        ):
            return True
    return False


def _savefig(fig: Any) -> bytes:
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=DPI)
    return image.getvalue()


def _flat(artist: Any) -> list[Any]:
    """An artist, or a container's artists."""
    return artist.get_children() if isinstance(artist, Container) else [artist]


def _drawing_order(fig: Any, ax: Any) -> list[Any]:
    """The figure's artists in the order `Figure.draw` draws them (by zorder, the axes' own
    by zorder after its patch)."""
    order: list[Any] = []
    for artist in sorted(
        (a for a in fig.get_children() if a is not fig.patch and not a.get_animated()),
        key=lambda a: a.get_zorder(),
    ):
        if artist is ax:
            rest = [c for c in ax.get_children() if c is not ax.patch and not c.get_animated()]
            order += [ax.patch, *sorted(rest, key=lambda a: a.get_zorder())]
        else:
            order.append(artist)
    return order


def reliability_diagram(bins: Sequence[Mapping[str, Any]], path: Path, title: str) -> Path | None:
    """Accuracy vs mean confidence per bin (the accuracy suite's artifact), with bin counts."""
    pts = [
        (float(b["mean_confidence"]), float(b["accuracy"]), int(b["count"]))
        for b in bins
        if b.get("count") and b.get("accuracy") is not None
    ]
    if not pts:
        return None
    fig, ax = _Reliability.axes_for()
    xs, ys, ns = zip(*pts, strict=True)
    cis = [wilson(round(y * n), n) for y, n in zip(ys, ns, strict=True)]
    shown: list[Any] = [*ax.plot(xs, ys, "-", color="#0072B2", linewidth=1)]
    shown.append(
        ax.errorbar(
            xs, ys, yerr=errors(ys, cis), fmt="o", color="#0072B2", capsize=2, elinewidth=1,
            label="accuracy per bin (95% Wilson interval; count above)",
        )
    )  # fmt: skip
    for x, y, n in pts:
        shown.append(
            ax.annotate(
                str(n), (x, y), textcoords="offset points", xytext=(0, 5), fontsize=7, ha="center"
            )
        )
    _Reliability.shown = shown
    ax.set_title(label(title, 60))
    if _Reliability.legend is None:  # the same entries for every model
        _Reliability.legend = fig.legend(
            loc="lower left", bbox_to_anchor=(0.02, 0.01), frameon=False
        )
    atomic.write_bytes(path, _Reliability.png(fig, ax), durable=False)
    return path


def _draw_series(
    ax: Any, name: str, pts: Sequence[FigPoint], styles: Styles, shift: Callable[[float], float]
) -> None:
    """One series: a line, interval bars and markers (hollow where the point has a caveat);
    `shift` dodges the x positions so that overlapping series stay visible."""
    st = styles.of(name)
    xs, ys = [shift(p.x) for p in pts], [p.y for p in pts]
    caveat = next((p.caveat for p in pts if p.caveat), "")
    every = bool(caveat) and all(p.caveat for p in pts)
    ax.plot(xs, ys, "--" if every else "-", color=st.colour, linewidth=1.3, alpha=0.9)
    ax.errorbar(
        xs, ys, yerr=errors(ys, [p.ci for p in pts]), fmt="none", ecolor=st.colour, elinewidth=1,
        capsize=3, alpha=0.9,
    )  # fmt: skip
    for x, y, p in zip(xs, ys, pts, strict=True):
        face = "white" if p.caveat else st.colour
        ax.plot([x], [y], st.marker, color=st.colour, markerfacecolor=face, markersize=6)
    face = "white" if every else st.colour
    note = f" ({caveat})" if every else (f" ({caveat} where hollow)" if caveat else "")
    ax.plot([], [], "--" if every else "-", marker=st.marker, color=st.colour,
            markerfacecolor=face, label=label(name) + note)  # fmt: skip


def _dodge(xs: Sequence[float], k: int, i: int, log: bool) -> Callable[[float], float]:
    """x -> x moved a little to the side for series i of k (nothing for one series)."""
    if k < 2:
        return lambda x: x
    offset = (i - (k - 1) / 2) / max(1, k - 1)
    if log:
        return lambda x: x * 1.06**offset
    values = sorted(set(xs))
    # one measured x (a single budget): a step of 1.0 spread the series over 0.06-0.14 around
    # eps 0.1, and the axis labelled those positions as if each model had its own budget
    alone = abs(values[0]) or 1.0
    gap = min((b - a for a, b in zip(values, values[1:], strict=False)), default=alone) or 1.0
    return lambda x: x + offset * 0.08 * gap


def _ticks(ax: Any, xs: Sequence[float], log: bool) -> None:
    """Ticks at the measured x values when there are few (severities, budgets, batch sizes);
    a single one is the only tick, on a log axis too (its locator may find none near it), so
    the series dodged around it read as measured at it."""
    values = sorted(set(xs))
    if not log and 1 < len(values) <= 8:
        ax.set_xticks(values, [f"{v:g}" for v in values])
    elif len(values) == 1:
        v = values[0]
        ax.set_xticks(values, [f"{v:g}"])
        ax.set_xticks([], minor=True)
        if log and v > 0:
            ax.set_xlim(v / 1.1, v * 1.1)  # the dodge is within 3%
        elif not log and v != 0:
            ax.set_xlim(v - 0.1 * abs(v), v + 0.1 * abs(v))  # the dodge is within 4%


def _line_axes(panels: Mapping[str, Series], styles: Styles) -> list[tuple[str, Series]]:
    """(title, series) per axis: each panel split into axes of at most MAX_SERIES series."""
    out: list[tuple[str, Series]] = []
    for panel, given in panels.items():
        series = {k: v for k, v in given.items() if v}
        chunks = [c for c in panels_of(styles.order(series)) if c]
        for i, names in enumerate(chunks):
            suffix = f" ({i + 1}/{len(chunks)})" if len(chunks) > 1 else ""
            out.append((panel + suffix, {n: series[n] for n in names}))
    return out


def _unit_suffix(ax: Any, points: Sequence[FigPoint], axis: str = "y") -> str:
    cis = [p.ci or (p.y, p.y) for p in points]
    return unit_axis(ax, [c[0] for c in cis], [c[1] for c in cis], axis=axis)


def lines(
    panels: Mapping[str, Series],
    path: Path,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    styles: Styles,
    logx: bool = False,
    logy: bool = False,
    unit_interval: bool = False,
    reference: tuple[float, str] | None = None,
) -> Path | None:
    """Lines with interval bars, one axis per panel (e.g. per norm or machine) and at most
    eight series per axis (more go to further axes); `reference`: a level drawn across every
    axis as a dotted grey line, with its legend entry (e.g. chance)."""
    spec = _line_axes(panels, styles)
    if not spec:
        return None
    fig, axes = plt.subplots(len(spec), 1, figsize=(6.6, 3.0 * len(spec)), squeeze=False)
    for ax, (panel, series) in zip(axes[:, 0], spec, strict=True):
        local = styles.local(list(series))
        points = [p for pts in series.values() for p in pts]
        xs = [p.x for p in points]
        for i, (name, pts) in enumerate(series.items()):
            _draw_series(ax, name, pts, local, _dodge(xs, len(series), i, logx))
        if reference is not None:
            ax.axhline(reference[0], color="0.45", linestyle=":", linewidth=1.2, label=reference[1])
        suffix = _unit_suffix(ax, points) if unit_interval else ""
        if logx:
            log_axis(ax, "x", base=2)
        if logy:
            log_axis(ax, "y")
        _ticks(ax, xs, logx)
        ax.set_xlabel(axis_label(xlabel))
        ax.set_ylabel(axis_label(ylabel + suffix, 40))
        ax.set_title(label(f"{title} — {panel}" if panel else title, 80))
        ax.grid(alpha=0.3)
        legend_outside(ax)
    return save(fig, path)


def _dots(
    ax: Any, rows: Sequence[str], pts: Mapping[str, FigPoint], name: str, st: Any, y0: float
) -> list[FigPoint]:
    """One series of a dot plot (filled and hollow points apart); returns the points drawn."""
    drawn = [(len(rows) - 1 - i + y0, pts[r]) for i, r in enumerate(rows) if r in pts]
    caveat = next((p.caveat for _y, p in drawn if p.caveat), "")
    legend = label(name) + (f" ({caveat})" if caveat else "")
    for hollow in (False, True):
        part = [(y, p) for y, p in drawn if bool(p.caveat) == hollow]
        if part:
            _dot_part(ax, part, st, hollow=hollow, legend=legend)
            legend = ""  # one legend entry per series
    return [p for _y, p in drawn]


def _dot_part(
    ax: Any, part: Sequence[tuple[float, FigPoint]], st: Any, *, hollow: bool, legend: str
) -> None:
    xs = [p.y for _y, p in part]
    ax.errorbar(
        xs, [y for y, _p in part], xerr=errors(xs, [p.ci for _y, p in part]), fmt=st.marker,
        color=st.colour, capsize=2, markerfacecolor="white" if hollow else st.colour,
        markersize=5, elinewidth=1, label=legend or None,
    )  # fmt: skip


def dot_rows(
    rows: Sequence[str],
    series: Mapping[str, Mapping[str, FigPoint]],
    path: Path,
    *,
    title: str,
    xlabel: str,
    styles: Styles,
    row_labels: Mapping[str, str] | None = None,
    unit_interval: bool = True,
) -> Path | None:
    """A dot plot: one row per category (group value, corruption), one dot per series with its
    interval as a horizontal bar; at most eight series per axis (more go to further axes)."""
    names = styles.order(n for n in series if any(r in series[n] for r in rows))
    if not rows or not names:
        return None
    chunks = [c for c in panels_of(names) if c]
    height = 0.9 + 0.28 * len(rows) * max(1.0, len(chunks[0]) / 3)
    fig, axes = plt.subplots(len(chunks), 1, figsize=(6.6, height * len(chunks)), squeeze=False)
    shown = [label((row_labels or {}).get(r, r), 40) for r in reversed(rows)]
    for ax, chunk in zip(axes[:, 0], chunks, strict=True):
        local = styles.local(chunk)
        step = 0.7 / max(1, len(chunk))
        drawn: list[FigPoint] = []
        for j, name in enumerate(chunk):
            drawn += _dots(ax, rows, series[name], name, local.of(name), 0.35 - step * (j + 0.5))
        ax.set_yticks(range(len(rows)), shown)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        suffix = _unit_suffix(ax, drawn, axis="x") if unit_interval else ""
        ax.set_xlabel(axis_label(xlabel + suffix))
        ax.grid(axis="x", alpha=0.3)
        ax.set_title(label(title, 80))
        legend_outside(ax)
    return save(fig, path)


def group_figure(fig_data: GroupFigure, path: Path, *, title: str, styles: Styles) -> Path | None:
    """Accuracy per group value (readable labels, values in order), per model, with intervals
    and each group's n in its label."""
    ns: dict[str, int] = {}
    for per in fig_data.per_model.values():
        for v, p in per.items():
            if p.n is not None:
                ns[v] = max(ns.get(v, 0), p.n)
    shown = {
        v: f"{fig_data.labels[v]} (n={ns[v]})" if v in ns else fig_data.labels[v]
        for v in fig_data.values
    }
    return dot_rows(
        fig_data.values,
        fig_data.per_model,
        path,
        title=title,
        xlabel="accuracy (95% interval)",
        styles=styles,
        row_labels=shown,
    )


def _bounds(cis: Sequence[tuple[float, float]]) -> tuple[list[float], list[float]]:
    return [c[0] for c in cis], [c[1] for c in cis]


def _pareto_axis(ax: Any, data: ParetoFigure, chunk: Sequence[str], styles: Styles) -> None:
    """The points (this panel's models in colour, others grey) and the front line."""
    local = styles.local(chunk)
    for name, p in data.points.items():
        st = local.of(name) if name in chunk else None
        colour = st.colour if st else MUTED
        shown = label(name) + (f" ({p.caveat})" if p.caveat else "")
        ax.errorbar(
            [p.x], [p.y], xerr=errors([p.x], [p.x_ci]), yerr=errors([p.y], [p.y_ci]),
            fmt=st.marker if st else ".", color=colour, ecolor=colour, elinewidth=1, capsize=2,
            markersize=7, markerfacecolor="white" if p.caveat else colour, zorder=3,
            label=shown if st else None,
        )  # fmt: skip
    front = sorted((data.points[n] for n in data.front), key=lambda p: p.x)
    if len(front) > 1:
        ax.plot(
            [p.x for p in front], [p.y for p in front], "-", color="#444", alpha=0.5,
            linewidth=1, zorder=1, label="Pareto front (comparable models)",
        )  # fmt: skip


def pareto(
    data: ParetoFigure,
    path: Path,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    styles: Styles,
    x_fraction: bool,
    y_fraction: bool,
    logx: bool = False,
) -> Path | None:
    """Models as points with interval bars on both axes; the front joins the comparable points
    no other comparable point beats on both axes. More than eight models: one panel per eight,
    the others drawn grey for context."""
    if not data.points:
        return None
    chunks = [c for c in panels_of(styles.order(data.points)) if c]
    fig, axes = plt.subplots(len(chunks), 1, figsize=(6.6, 3.8 * len(chunks)), squeeze=False)
    xs = [(p.x_ci or (p.x, p.x)) for p in data.points.values()]
    ys = [(p.y_ci or (p.y, p.y)) for p in data.points.values()]
    for ax, chunk in zip(axes[:, 0], chunks, strict=True):
        _pareto_axis(ax, data, chunk, styles)
        xsuffix = unit_axis(ax, *_bounds(xs), axis="x") if x_fraction else ""
        ysuffix = unit_axis(ax, *_bounds(ys), axis="y") if y_fraction else ""
        if logx:
            log_axis(ax, "x")
        ax.set_xlabel(axis_label(xlabel + xsuffix))
        ax.set_ylabel(axis_label(ylabel + ysuffix, 40))
        ax.set_title(label(title, 80))
        ax.grid(alpha=0.3)
        legend_outside(ax)
    return save(fig, path)


def score_histograms(
    test: Sequence[float] | Any, sets: Mapping[str, Any], path: Path, *, title: str, xlabel: str
) -> Path | None:
    """One panel per OOD set: the test set's score histogram against the set's, on shared bins
    (densities, so sets of different sizes compare); higher scores = more in-distribution."""
    if not sets:
        return None
    import numpy as np

    names = list(sets)[:8]
    fig, axes = plt.subplots(len(names), 1, figsize=(6.6, 2.6 * len(names)), squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        both = np.concatenate([np.asarray(test, float), np.asarray(sets[name], float)])
        finite = both[np.isfinite(both)]
        if finite.size == 0:
            continue
        lo, hi = float(finite.min()), float(finite.max())
        bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 41)
        # one filled outline per histogram (`stairs`), not one rectangle artist per bin (`hist`):
        # the same picture at 0.6x the figure's CPU
        for values, name_shown in ((test, "test (ID)"), (sets[name], label(name))):
            scores = np.asarray(values, float)
            drawn = scores[np.isfinite(scores)]
            density, edges = np.histogram(drawn, bins=bins, density=True)
            # each histogram's n: densities hide how many scores a shape stands on
            n = f"n={drawn.size}" + (f" of {scores.size}" if drawn.size < scores.size else "")
            ax.stairs(density, edges, fill=True, alpha=0.55, label=f"{name_shown}, {n}")
        ax.set_title(label(f"{title} — {name}", 80))
        ax.set_xlabel(axis_label(xlabel))
        ax.set_ylabel("density")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, path)
