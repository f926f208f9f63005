"""`figure_style.save`: the PNG `savefig(bbox_inches="tight", pad_inches=0.08)` writes, from
one drawing of the figure instead of two."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from harness.analysis.figure_data import FigPoint
from harness.present import figure_style, figures
from harness.present.figure_style import DPI, legend_outside, log_axis, note


def _tight(fig: Any) -> bytes:
    """What `save` wrote before: savefig measuring the tight box itself."""
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.08)
    return image.getvalue()


def _legend_and_note() -> Any:
    fig, axes = plt.subplots(2, 1, figsize=(6.6, 6.0), squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        for k in range(5):
            ax.errorbar([1, 10, 100], [k, k + 1, k + i], yerr=0.3, marker="o", label=f"model {k}")
        log_axis(ax)
        ax.set_title(f"panel {i}: a long title that reaches far to the right of the axes")
        ax.set_ylabel("robust accuracy (zoomed)")
        legend_outside(ax, title="models")
    note(fig, "Hollow markers: not comparable. " * 4)
    return fig


def _labels_out_left() -> Any:
    fig, ax = plt.subplots(figsize=(4.0, 2.0), dpi=72)  # another dpi than savefig's
    ax.barh(range(4), [0.2, 0.5, 0.9, 0.1])
    ax.set_yticks(range(4), [f"a very long group name {i}" for i in range(4)])
    ax.text(1.05, 0.5, "outside the axes", transform=ax.transAxes)
    return fig


@pytest.mark.parametrize("make", [_legend_and_note, _labels_out_left])
def test_save_writes_the_tight_savefig_bytes(
    make: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same bytes as savefig's own tight box, with the figure drawn once (savefig drew it
    twice: once to measure, with drawing disabled, once to render), and the figure's own dpi
    left as it was."""
    expected = _tight(make())  # another figure: savefig's drawing stays in the figure it drew
    fig = make()
    dpi = fig.dpi
    draws = 0
    draw = Figure.draw

    def counted(self: Figure, renderer: Any) -> None:
        nonlocal draws
        draws += 1
        draw(self, renderer)

    monkeypatch.setattr(Figure, "draw", counted)
    figure_style.save(fig, tmp_path / "f.png", keep=True)
    assert (tmp_path / "f.png").read_bytes() == expected
    assert draws == 1
    assert fig.dpi == dpi
    plt.close(fig)


def test_report_figures_keep_their_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A report figure (`figures.lines`: panels, dodged series, legends outside) saved by `save`
    is the PNG savefig's tight box gives."""
    expected: list[bytes] = []

    def measured_by_savefig(fig: Any, path: Path, **_: Any) -> Path:
        expected.append(_tight(fig))
        plt.close(fig)
        return path

    names = ["a", "b", "c"]
    panels = {
        "linf": {n: [FigPoint(e, 0.9 - e - i / 10, (0.7 - e, 0.95 - e), "", 60)
                     for e in (0.0, 0.1, 0.3)] for i, n in enumerate(names)},
        "l2": {n: [FigPoint(e, 0.8 - e / 2, None, "upper bound", 60) for e in (0.5, 1.0)]
               for n in names},
    }  # fmt: skip

    def draw() -> Path | None:
        return figures.lines(
            panels, tmp_path / "f.png", title="t", xlabel="eps", ylabel="robust accuracy",
            styles=figures.Styles(names), unit_interval=True,
        )  # fmt: skip

    with monkeypatch.context() as patched:
        patched.setattr(figures, "save", measured_by_savefig)
        draw()
    out = draw()  # a new figure, saved by figure_style.save
    assert out is not None
    assert expected and out.read_bytes() == expected[0]


def test_a_figure_without_an_agg_canvas_is_saved_as_savefig_would(tmp_path: Path) -> None:
    """A figure made without pyplot (its canvas cannot render) is measured by savefig itself:
    the same bytes."""
    fig = Figure(figsize=(3.0, 2.0))
    ax = fig.add_subplot()
    ax.plot([0, 1], [1, 0], label="a line")
    legend_outside(ax)
    expected = _tight(fig)
    figure_style.save(fig, tmp_path / "f.png", keep=True)
    assert (tmp_path / "f.png").read_bytes() == expected


def test_a_figure_with_a_layout_engine_is_saved_as_savefig_would(tmp_path: Path) -> None:
    """savefig's first drawing runs a layout engine (constrained layout) before it measures:
    such a figure is left to savefig."""

    def made() -> Any:  # a fresh figure each time: savefig's layout stays in the figure
        fig, axes = plt.subplots(1, 2, figsize=(4.0, 2.0), layout="constrained")
        for ax in axes:
            ax.set_title("a title long enough to need the layout")
            ax.set_ylabel("accuracy")
        return fig

    expected = _tight(made())
    figure_style.save(made(), tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes() == expected
    plt.close("all")


def test_a_series_named_with_a_leading_underscore_keeps_its_legend_entry() -> None:
    """matplotlib leaves labels that start with `_` out of a legend: a model the Python API
    named `_hidden` was drawn (an orange series) with no legend entry saying whose it was."""
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label=figure_style.label("_hidden"))
    ax.plot([0, 1], [1, 0], label=figure_style.label("shown"))
    legend_outside(ax)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(fig)
    assert [t.strip() for t in texts] == ["_hidden", "shown"]
