"""The look of every report figure: a colour-blind-safe palette, one colour and marker per model
across a page, at most eight series per axis, legends outside the data, honest axes.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies),
each paired with its own marker so that series differ without colour too. A fraction axis shows
[0, 1] unless the data span less than half of it; then it is zoomed and its label says so.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.ticker import Formatter, FuncFormatter, LogLocator  # noqa: E402

from harness.present.escaping import strip_control  # noqa: E402
from harness.store import atomic  # noqa: E402

# Okabe & Ito (2008), most distinct first; yellow last (weak on white)
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#000000",
    "#F0E442",
)
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
MAX_SERIES = len(PALETTE)  # series per axis; more go to further panels
MUTED = "#8c959f"
DPI = 110
BASE_FONT = 9

plt.rcParams.update(
    {
        "font.size": BASE_FONT,
        "axes.titlesize": BASE_FONT + 1,
        "axes.labelsize": BASE_FONT,
        "legend.fontsize": BASE_FONT - 1,
        "xtick.labelsize": BASE_FONT - 1,
        "ytick.labelsize": BASE_FONT - 1,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "text.usetex": False,
        "svg.fonttype": "none",
    }
)


def label(text: object, limit: int = 48) -> str:
    """Untrusted text as a plain matplotlib label (no mathtext, one line, bounded length). A
    leading `_` gets a space before it: matplotlib leaves such labels out of every legend."""
    s = _cut(strip_control(text).replace("\n", " ").replace("\r", " "), limit)
    s = s.replace("$", r"\$")  # after the cut: a cut between `\` and `$` would leave a bare `$`
    return " " + s if s.startswith("_") else s


def plain_label(text: object, limit: int = 48) -> str:
    """Untrusted text as one line of bounded length, for text drawn other than by matplotlib
    (no mathtext to escape)."""
    return _cut(strip_control(text).replace("\n", " ").replace("\r", " "), limit)


def _cut(s: str, limit: int) -> str:
    """`s`, or its start and end around `…` in `limit` characters: names that differ at the end
    (`...&p (n=25)`, `...&q (n=25)`; `resnet-...-fp16`, `resnet-...-int8`) stay apart."""
    if len(s) <= limit:
        return s
    tail = (limit - 1) // 2
    return s[: limit - 1 - tail] + "…" + s[len(s) - tail :]


def axis_label(text: object, width: int = 56) -> str:
    """An axis label wrapped to fit beside a small plot."""
    import textwrap

    return "\n".join(textwrap.wrap(strip_control(text).replace("$", r"\$"), width)[:3])


@dataclass(frozen=True)
class SeriesStyle:
    colour: str
    marker: str


class Styles:
    """One colour and marker per name, in the order the names are first given (a page passes
    its models in board order, so a model looks the same in every figure of the page)."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._order: list[str] = []
        for name in names:
            self.of(name)

    def of(self, name: str) -> SeriesStyle:
        if name not in self._order:
            self._order.append(name)
        i = self._order.index(name)
        return SeriesStyle(PALETTE[i % len(PALETTE)], MARKERS[(i // len(PALETTE)) % len(MARKERS)])

    @property
    def names(self) -> tuple[str, ...]:
        """The names given so far, in page order (each one's colour and marker follow)."""
        return tuple(self._order)

    def order(self, names: Iterable[str]) -> list[str]:
        """Names in page order (first given first)."""
        names = list(names)
        for n in names:
            self.of(n)
        return sorted(names, key=self._order.index)

    def local(self, names: Sequence[str]) -> Styles:
        """Styles for one panel of at most MAX_SERIES names: page colours when they are
        distinct within the panel, else the panel's own order."""
        colours = [self.of(n).colour for n in names]
        if len(set(colours)) == len(colours):
            return self
        return Styles(names)


def panels_of(names: Sequence[str], size: int = MAX_SERIES) -> list[list[str]]:
    """Names split into panels of at most `size` series (one panel when they fit)."""
    names = list(names)
    return [names[i : i + size] for i in range(0, len(names), size)] or [[]]


def legend_outside(ax: Axes, title: str | None = None) -> None:
    """The legend to the right of the axes, never over the data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
            title=title,
            borderaxespad=0.0,
        )


def unit_axis(ax: Axes, lows: Sequence[float], highs: Sequence[float], *, axis: str = "y") -> str:
    """Limits of a fraction axis: [0, 1] when the data (with intervals) span half of it or
    more, else zoomed around them; returns the label suffix saying it is zoomed ('' if not)."""
    lo, hi = (min(lows), max(highs)) if lows else (0.0, 1.0)
    setter = ax.set_ylim if axis == "y" else ax.set_xlim
    if hi - lo >= 0.5:
        setter(0.0, 1.02)
        return ""
    pad = max(0.02, (hi - lo) * 0.15)
    lo, hi = max(0.0, lo - pad), min(1.0, hi + pad)
    setter(lo, hi)
    return f" (axis zoomed to {lo:.2f}–{hi:.2f})"


def _si(value: float, _pos: object = None) -> str:
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:g}{suffix}"
    return f"{value:g}"


class _MinorLabels(Formatter):
    """Minor tick labels of a log axis, only while its view holds fewer than two major ticks: a
    range inside one decade (throughputs of 877k to 3.5M) showed one label or none, and no value
    could be read off the axis. Over a wider range, only 2, 3 and 5 of each decade."""

    def __init__(self, base: float) -> None:
        self.base = base

    def __call__(self, x: float, pos: object = None) -> str:
        if self.axis is None or x <= 0:
            return ""
        lo, hi = sorted(float(v) for v in self.axis.get_view_interval())
        if lo <= 0:
            return ""
        step = math.log(self.base)
        first = math.ceil(math.log(lo) / step - 1e-9)
        if math.floor(math.log(hi) / step + 1e-9) - first + 1 >= 2:  # majors are labelled
            return ""
        mantissa = x / self.base ** math.floor(math.log(x) / step + 1e-9)
        if hi / lo > 3 and round(mantissa) not in (2, 3, 5):
            return ""
        return _si(x)


def log_axis(ax: Axes, axis: str = "x", base: float = 10) -> None:
    """A log axis with readable tick labels (1, 10, 100, 1k, 10k...; minor ticks labelled only
    where fewer than two major ones are in view, `_MinorLabels`)."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log", base=base)
    target.set_major_locator(LogLocator(base=base))
    target.set_major_formatter(FuncFormatter(_si))
    target.set_minor_formatter(_MinorLabels(base))


def errors(
    values: Sequence[float], cis: Sequence[tuple[float, float] | None]
) -> list[list[float]] | None:
    """Matplotlib error-bar lengths from intervals (0 where a point has none)."""
    if not any(cis):
        return None
    lo = [max(0.0, v - c[0]) if c else 0.0 for v, c in zip(values, cis, strict=True)]
    hi = [max(0.0, c[1] - v) if c else 0.0 for v, c in zip(values, cis, strict=True)]
    return [lo, hi]


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels from a PNG header."""
    with path.open("rb") as f:
        head = f.read(24)
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def save(fig: Any, path: Path, *, tight: bool = True, keep: bool = False) -> Path:
    """Write the figure (`tight` box: legends outside the axes stay in the picture, at the cost
    of drawing it twice; a figure laid out to fit draws once), whole and never through a
    symbolic link at `path` (harness/store/atomic.py). `keep`: the figure stays open (it is
    drawn again with other data)."""
    image = io.BytesIO()
    box: dict[str, Any] = {"bbox_inches": tight_box(fig), "pad_inches": PAD_INCHES} if tight else {}
    fig.savefig(image, format="png", dpi=DPI, **box)
    if not keep:
        plt.close(fig)
    atomic.write_bytes(path, image.getvalue(), durable=False)
    return path


PAD_INCHES = 0.08  # around a figure's tight box


def tight_box(fig: Any) -> Any:
    """The box `savefig(bbox_inches="tight", pad_inches=PAD_INCHES)` crops the figure to at
    DPI, measured without drawing the figure: savefig draws a figure once (with drawing
    disabled) before it measures the tight box, for layout engines, and once to render it; a
    figure without a layout engine (every report figure: `tight_layout` is applied once, not
    as an engine) is measured the same without that first draw, and savefig given the box
    draws it once. The same box, so the same PNG bytes (tests/present/test_figure_style.py).
    "tight" (savefig measures) for a figure with a layout engine or a canvas that cannot
    render (one made without pyplot)."""
    get_renderer = getattr(fig.canvas, "get_renderer", None)
    if get_renderer is None or fig.get_layout_engine() is not None:
        return "tight"
    with _at_dpi(fig, DPI):
        return fig.get_tightbbox(get_renderer()).padded(PAD_INCHES, PAD_INCHES)


class _at_dpi:
    """The figure at `dpi` within the block (as savefig sets it), its own dpi after."""

    def __init__(self, fig: Any, dpi: float) -> None:
        self.fig, self.dpi, self.old = fig, dpi, fig.dpi

    def __enter__(self) -> None:
        self.fig.dpi = self.dpi

    def __exit__(self, *exc: object) -> None:
        self.fig.dpi = self.old


def note(fig: Any, text: str) -> None:
    """A line under the plot (the machine of a timing figure, what hollow markers mean)."""
    if text:
        fig.text(0.01, -0.01, axis_label(text, 110), ha="left", va="top", fontsize=BASE_FONT - 1)
