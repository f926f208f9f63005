"""Galleries drawn as one image with their labels (harness/present/galleries.py): every label
inside the picture, and a cell the suite left out said to be so, not shown blank."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.analysis.figure_data import CorruptionGallery
from harness.present import galleries


def _gallery(predictions: dict[tuple[int, int, int], int]) -> CorruptionGallery:
    images = np.random.default_rng(0).random((2, 2, 1, 1, 8, 8))
    return CorruptionGallery(
        corruptions=["contrast", "gaussian_blur"],
        severities=[0, 1],
        sample_ids=["s0"],
        images=images,
        labels=[3],
        predictions=predictions,
        bounds=(0.0, 1.0),
    )


def test_a_cell_left_out_says_not_evaluated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[list[tuple]] = []
    monkeypatch.setattr(
        galleries._Mosaic, "draw", lambda self, path, title: drawn.append(self.texts) or path
    )
    # gaussian_blur was not applicable: the table has no row of it at severity 1
    gallery = _gallery({(0, 0, 0): 3, (0, 1, 0): 5, (1, 0, 0): 3})
    galleries.corruption_gallery(gallery, tmp_path / "g.png", title="t", class_names=[])
    (texts,) = drawn
    under = [(t[2], t[3]) for t in texts if t[4] == "center" and t[1] > galleries.HEAD]
    assert under == [
        ("3 ✓", galleries.RIGHT),
        ("5 ✗", galleries.WRONG),
        ("3 ✓", galleries.RIGHT),
        ("not evaluated", galleries.MUTED),
    ]


def test_the_picture_holds_a_title_wider_than_the_mosaic(tmp_path: Path) -> None:
    gallery = _gallery({})
    long = "a title much wider than two small tiles of eight by eight pixels " * 2
    (path,) = galleries.corruption_gallery(gallery, tmp_path / "g.png", title=long, class_names=[])
    mosaic = galleries._Mosaic(rows=2, cols=2, tile=(72, 72))
    with Image.open(path) as image:
        width, height = image.size
        pixels = np.asarray(image.convert("L"))
    assert width > mosaic.canvas.shape[1] + 300  # grown to the title, as a tight box was
    assert height > mosaic.canvas.shape[0]
    # a margin of white all round: no label cut at the edge
    assert pixels[:, :3].min() == 255 and pixels[:, -3:].min() == 255
    assert pixels[:3, :].min() == 255 and pixels[-3:, :].min() == 255


def test_what_a_gallery_shows_covers_every_pixel(tmp_path: Path) -> None:
    """The figure cache keys a gallery by `shows`: one pixel changed in the middle of the images
    (where an array's repr writes `...`) is another figure, redrawn, never the old one kept."""
    gallery = _gallery({(0, 0, 0): 3})
    images = gallery.images.copy()
    images[1, 0, 0, 0, 4, 4] += 0.25
    other = CorruptionGallery(**{**vars(gallery), "images": images})
    assert galleries.shows(other) != galleries.shows(gallery)
    assert galleries.shows(_gallery({(0, 0, 0): 3})) == galleries.shows(gallery)
    assert galleries.shows(_gallery({(0, 0, 0): 4})) != galleries.shows(gallery)
