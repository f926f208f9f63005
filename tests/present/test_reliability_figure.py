"""The reliability diagram is drawn on one figure reused for every model: each PNG is the same,
byte for byte, as the one a new figure draws, whatever was drawn before it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.present import figures


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


def _fresh(bins: list[dict[str, object]], path: Path, title: str) -> bytes:
    """The diagram on a new figure (the reused one closed first)."""
    figures.plt.close("all")
    assert figures.reliability_diagram(bins, path, title) == path
    return path.read_bytes()


def test_a_reused_figure_draws_what_a_new_one_draws(tmp_path: Path) -> None:
    cases = [(_bins(i, empty=i % 7), f"model-{i} on digits" + "x" * (i * 9)) for i in range(8)]
    fresh = [_fresh(b, tmp_path / f"fresh{i}.png", t) for i, (b, t) in enumerate(cases)]
    figures.plt.close("all")
    for i, (b, t) in enumerate(cases + cases[::-1]):  # after others, in both orders
        path = tmp_path / f"reused{i}.png"
        figures.reliability_diagram(b, path, t)
        assert path.read_bytes() == fresh[i if i < len(cases) else 2 * len(cases) - 1 - i]
    assert figures.reliability_diagram(_bins(0, empty=15), tmp_path / "none.png", "x") is None
