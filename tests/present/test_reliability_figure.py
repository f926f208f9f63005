"""The reliability diagram is drawn on one figure reused for every model, from a canvas restored
to what is drawn before the model's artists: each PNG is the same, byte for byte, as the one a
new figure's `savefig` writes, whatever was drawn before it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.analysis.figure_data import wilson
from harness.present import figures
from harness.present.figure_style import DPI, MUTED, errors, label


def _bins(seed: int, empty: int = 0) -> list[dict[str, object]]:
    gen = np.random.default_rng(seed)
    out: list[dict[str, object]] = []
    for b in range(15):
        count = 0 if b < empty else int(gen.integers(0, 60))
        out.append(
            {
                "bin_lower": b / 15,
                "bin_upper": (b + 1) / 15,
                "count": count,
                "mean_confidence": (b + 0.5) / 15 if count else None,
                "accuracy": float(gen.integers(0, count + 1) / count) if count else None,
            }
        )
    return out


def _edges() -> list[dict[str, object]]:
    """Points on the axes' edges (over the spines, the corners), large counts."""
    points = [(0.0, 0.0, 1), (1.0, 1.0, 99999), (0.0, 1.0, 7), (1.0, 0.0, 12345), (0.5, 0.0, 3)]
    return [
        {"count": n, "mean_confidence": x, "accuracy": y, "bin_lower": 0.0, "bin_upper": 1.0}
        for x, y, n in points
    ]


def _new_figure(bins: list[dict[str, object]], title: str) -> bytes:
    """The diagram as a new figure draws it: every artist, then `savefig` (the reference)."""
    plt = figures.plt
    pts = [
        (float(b["mean_confidence"]), float(b["accuracy"]), int(b["count"]))  # type: ignore[arg-type]
        for b in bins
        if b.get("count") and b.get("accuracy") is not None
    ]
    fig, ax = plt.subplots(figsize=(4.4, 4.1))
    fig.subplots_adjust(left=0.15, right=0.97, top=0.92, bottom=0.27)
    ax.plot([0, 1], [0, 1], "--", color=MUTED, linewidth=1, label="perfect calibration")
    xs, ys, ns = zip(*pts, strict=True)
    cis = [wilson(round(y * n), n) for y, n in zip(ys, ns, strict=True)]
    ax.plot(xs, ys, "-", color="#0072B2", linewidth=1)
    ax.errorbar(
        xs, ys, yerr=errors(ys, cis), fmt="o", color="#0072B2", capsize=2, elinewidth=1,
        label="accuracy per bin (95% Wilson interval; count above)",
    )  # fmt: skip
    for x, y, n in pts:
        ax.annotate(
            str(n), (x, y), textcoords="offset points", xytext=(0, 5), fontsize=7, ha="center"
        )
    ax.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="mean confidence", ylabel="accuracy")
    ax.set_title(label(title, 60))
    ax.grid(alpha=0.3)
    fig.legend(loc="lower left", bbox_to_anchor=(0.02, 0.01), frameon=False)
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=DPI)
    plt.close(fig)
    return image.getvalue()


CASES = [(_bins(i, empty=i % 7), f"model-{i} on digits" + "x" * (i * 9)) for i in range(8)] + [
    (_edges(), "gjpqy|ÅÉ on the edges"),
    (_bins(9), "m"),
]


@pytest.fixture(autouse=True)
def _fresh_state() -> Any:
    figures.plt.close("all")
    figures._Reliability.blit = None
    yield
    figures.plt.close("all")
    figures._Reliability.blit = None


def test_a_reused_figure_draws_what_a_new_one_draws(tmp_path: Path) -> None:
    expected = [_new_figure(b, t) for b, t in CASES]
    for i, (b, t) in enumerate(CASES + CASES[::-1]):  # after others, in both orders
        path = tmp_path / f"reused{i}.png"
        assert figures.reliability_diagram(b, path, t) == path
        assert path.read_bytes() == expected[i if i < len(CASES) else 2 * len(CASES) - 1 - i]
    assert figures._Reliability.blit is True  # the canvas was restored, not drawn again
    assert figures.reliability_diagram(_bins(0, empty=15), tmp_path / "none.png", "x") is None


def test_a_legend_the_data_reach_is_drawn_over_them(tmp_path: Path) -> None:
    """Where a model's artists reach the legend (drawn in the restored canvas, under them),
    the diagram is drawn whole: the same bytes as savefig."""
    b, t = CASES[0]
    figures.reliability_diagram(b, tmp_path / "first.png", t)
    legend = figures._Reliability.legend
    legend.set_bbox_to_anchor((0.3, 0.5))  # over the data
    figures._Reliability.background = None  # the canvas is drawn again with the moved legend
    fig, ax = figures._Reliability.figure, figures._Reliability.axes
    assert figures._Reliability._blitted(fig, ax) is None
    figures.reliability_diagram(b, tmp_path / "over.png", t)
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=DPI)
    assert (tmp_path / "over.png").read_bytes() == image.getvalue()


def test_a_restored_canvas_that_differs_from_savefig_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first diagram of a process is compared with savefig's; where the two differ (another
    matplotlib), every diagram is saved with savefig."""
    monkeypatch.setattr(figures._Reliability, "_blitted", classmethod(lambda cls, f, a: b"x"))
    for i, (b, t) in enumerate(CASES[:3]):
        figures.reliability_diagram(b, tmp_path / f"{i}.png", t)
        assert (tmp_path / f"{i}.png").read_bytes() == _new_figure(b, t)
    assert figures._Reliability.blit is False
