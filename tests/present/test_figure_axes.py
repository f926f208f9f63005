"""Axes a reader can read values off: the measured x where there is one, and log axes with at
least two labelled ticks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pytest

from harness.analysis.figure_data import FigPoint
from harness.present import figures
from harness.present.figure_style import log_axis


def _labels(ax: Any, axis: str = "x") -> list[str]:
    """The tick labels a reader sees: non-empty, at ticks inside the axis's view."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = sorted(target.get_view_interval())
    ticks = [*target.get_major_ticks(), *target.get_minor_ticks()]
    return [
        t.label1.get_text()
        for t in ticks
        if t.label1.get_visible() and t.label1.get_text() and lo <= t.get_loc() <= hi
    ]


def _drawn_lines(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **kwargs: Any) -> Any:
    kept: list[Any] = []

    def keep(fig: Any, path: Path, **_: Any) -> Path:
        fig.canvas.draw()
        kept.append(fig)
        return path

    monkeypatch.setattr(figures, "save", keep)
    figures.lines(path=tmp_path / "f.png", **kwargs)
    (fig,) = kept
    return fig.axes[0]


def test_one_budget_is_the_only_x_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Five models at one budget (eps 0.1): dodged over 0.06-0.14, the axis read 0.06, 0.07,
    ... 0.14, as if each model had been attacked at its own budget."""
    names = ["a", "b", "c", "d", "e"]
    panels = {"linf": {n: [FigPoint(0.1, 0.0, (0.0, 0.06), "upper bound", 60)] for n in names}}
    ax = _drawn_lines(
        monkeypatch, tmp_path, panels=panels, title="t", xlabel="eps", ylabel="robust accuracy",
        styles=figures.Styles(names), unit_interval=True,
    )  # fmt: skip
    assert _labels(ax) == ["0.1"]
    xs = [x for line in ax.get_lines() for x in line.get_xdata()]
    assert xs and all(abs(x - 0.1) <= 0.005 for x in xs)  # each series near its budget


def test_one_batch_size_on_a_log_axis_is_labelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    panels = {"cpu": {"m": [FigPoint(16, 3e5, (2.9e5, 3.1e5), "", 6)]}}
    ax = _drawn_lines(
        monkeypatch, tmp_path, panels=panels, title="t", xlabel="batch size",
        ylabel="samples/s", styles=figures.Styles(["m"]), logx=True, logy=True,
    )  # fmt: skip
    assert _labels(ax) == ["16"]


@pytest.mark.parametrize("low, high", [(877e3, 3.54e6), (113e3, 335e3), (1.4e3, 13e3)])
def test_a_log_axis_inside_a_decade_has_two_labels(low: float, high: float) -> None:
    """Quickstart diabetes: throughputs of 877k to 3.5M had the one label 1M, so the second
    model's could not be read off the axis; 113k-335k had none."""
    fig, ax = plt.subplots()
    ax.plot([low, high], [0, 1])
    log_axis(ax, "x")
    fig.canvas.draw()
    labels = _labels(ax)
    plt.close(fig)
    assert len(labels) >= 2, labels


def test_a_log_axis_over_decades_labels_only_its_decades() -> None:
    fig, ax = plt.subplots()
    ax.plot([16e3, 1.35e6], [0, 1])
    log_axis(ax, "x")
    fig.canvas.draw()
    labels = _labels(ax)
    plt.close(fig)
    assert labels == ["100k", "1M"]


def test_score_histograms_state_each_n(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Densities of 719 test scores and 300 OOD scores look alike whatever the n: the legend
    says each histogram's n (and how many scores were not finite)."""
    kept: list[Any] = []
    monkeypatch.setattr(figures, "save", lambda fig, path, **_: kept.append(fig) or path)
    test = [float(i % 7) for i in range(719)]
    noise = [float(i % 3) for i in range(298)] + [float("inf"), float("nan")]
    figures.score_histograms(
        test, {"uniform_noise": noise}, tmp_path / "h.png", title="m", xlabel="s"
    )
    (fig,) = kept
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)
    assert legend == ["test (ID), n=719", "uniform_noise, n=298 of 300"]
