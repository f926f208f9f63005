"""Matplotlib (Agg) figures for the report, saved as PNG next to the pages.

Each function draws one figure from plain data and returns the written path, or None when there
is nothing to draw (the report only shows figures for results that exist). Labels come from
untrusted names; matplotlib renders them as text (mathtext is disabled by escaping `$`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from harness.present.escaping import strip_control  # noqa: E402

log = logging.getLogger(__name__)
Interval = tuple[float, float] | None


def label(text: object) -> str:
    """Untrusted text as a plain matplotlib label (no mathtext, one line, bounded length)."""
    s = strip_control(text).replace("\n", " ").replace("\r", " ").replace("$", r"\$")
    return s if len(s) <= 60 else s[:57] + "..."


def axis_label(text: object) -> str:
    """An axis label wrapped to fit beside a small plot."""
    import textwrap

    return "\n".join(textwrap.wrap(strip_control(text).replace("$", r"\$"), 48)[:3])


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _err(values: Sequence[float], cis: Sequence[Interval]) -> list[list[float]] | None:
    if not any(cis):
        return None
    lo = [v - c[0] if c else 0.0 for v, c in zip(values, cis, strict=True)]
    hi = [c[1] - v if c else 0.0 for v, c in zip(values, cis, strict=True)]
    return [[max(0.0, x) for x in lo], [max(0.0, x) for x in hi]]


def reliability_diagram(bins: Sequence[Mapping[str, Any]], path: Path, title: str) -> Path | None:
    """Accuracy vs mean confidence per bin (from the accuracy suite's artifact), with counts."""
    pts = [
        (float(b["mean_confidence"]), float(b["accuracy"]), int(b["count"]))
        for b in bins
        if b.get("count") and b.get("accuracy") is not None
    ]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="perfect calibration")
    xs, ys, ns = zip(*pts, strict=True)
    ax.plot(xs, ys, "o-", label="model")
    for x, y, n in pts:
        ax.annotate(
            str(n), (x, y), textcoords="offset points", xytext=(0, 5), fontsize=6, ha="center"
        )
    ax.set(
        xlim=(0, 1), ylim=(0, 1), xlabel="mean confidence", ylabel="accuracy", title=label(title)
    )
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def lines(
    series: Mapping[str, Sequence[tuple[float, float, Interval]]],
    path: Path,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    unit_interval: bool = False,
) -> Path | None:
    """One line per series of (x, y, interval) points: robust accuracy vs epsilon, throughput vs
    batch size, accuracy vs corruption severity."""
    series = {k: sorted(v) for k, v in series.items() if v}
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for name, pts in sorted(series.items()):
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        ax.errorbar(
            xs, ys, yerr=_err(ys, [p[2] for p in pts]), marker="o", capsize=3, label=label(name)
        )
    if logx:
        ax.set_xscale("log", base=2)
    if unit_interval:
        ax.set_ylim(0, 1.02)
    ax.set(title=label(title), xlabel=axis_label(xlabel), ylabel=axis_label(ylabel))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return _save(fig, path)


def grouped_bars(
    groups: Mapping[str, Mapping[str, tuple[float, Interval]]],
    path: Path,
    *,
    title: str,
    ylabel: str,
) -> Path | None:
    """Bars per category (e.g. group value) and series (e.g. model), with interval whiskers."""
    categories = sorted({c for per in groups.values() for c in per})
    if not categories:
        return None
    fig, ax = plt.subplots(
        figsize=(max(4.5, 0.9 * len(categories) * max(1, len(groups)) ** 0.5), 3.8)
    )
    width = 0.8 / max(1, len(groups))
    for i, (name, per) in enumerate(sorted(groups.items())):
        xs = [j + i * width for j, c in enumerate(categories) if c in per]
        ys = [per[c][0] for c in categories if c in per]
        cis = [per[c][1] for c in categories if c in per]
        ax.bar(xs, ys, width=width, yerr=_err(ys, cis), capsize=3, label=label(name))
    ax.set_xticks(
        [j + 0.4 - width / 2 for j in range(len(categories))],
        [label(c) for c in categories],
        rotation=30,
        ha="right",
        fontsize=7,
    )
    ax.set(title=label(title), ylabel=ylabel, ylim=(0, 1.02))
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def pareto(
    points: Mapping[str, tuple[float, float]],
    front: Sequence[str],
    path: Path,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
) -> Path | None:
    """Scatter of models with the Pareto front joined by a line."""
    if len(points) < 1:
        return None
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    for name, (x, y) in sorted(points.items()):
        ax.scatter([x], [y], s=30, zorder=3, color="C3" if name in front else "C0")
        ax.annotate(label(name), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ordered = sorted((points[n] for n in front), key=lambda p: p[0])
    if len(ordered) > 1:
        ax.plot(
            [p[0] for p in ordered],
            [p[1] for p in ordered],
            "-",
            color="C3",
            alpha=0.6,
            label="Pareto front",
        )
        ax.legend(fontsize=7)
    if logx:
        ax.set_xscale("log")
    ax.set(title=label(title), xlabel=axis_label(xlabel), ylabel=axis_label(ylabel))
    ax.grid(alpha=0.3)
    return _save(fig, path)
