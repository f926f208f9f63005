"""Pictures of what the model saw: corruption galleries and adversarial examples (PNG).

The corruption gallery shows a few seeded samples per corruption and severity (clean first),
each with the model's prediction on it; the adversarial gallery shows stored examples as
clean | perturbed | amplified perturbation with the true label, both predictions and the attack
that found it, under a title naming the model, the threat model (norm and budget, and whether it
is the task's headline) and the attacks in words. Images are drawn pixel for pixel (nearest
neighbour, enlarged by a whole factor) in the task's value bounds, as one mosaic per figure.
Correct predictions are marked ✓, wrong ones ✗ (shape, not only colour).

A mosaic is pixels and short labels, nothing matplotlib has to lay out: it is composed as one
8-bit image and its labels are drawn with Pillow in matplotlib's own font and sizes (points at
the figures' DPI), 4-5x cheaper than a matplotlib figure of the same picture, whose cost was its
hundreds of text artists drawn twice for a tight box (0.5 against 0.11 s CPU for a
10 x 12 gallery).
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.font_manager import FontProperties, findfont
from PIL import Image, ImageDraw, ImageFont

from harness.analysis.figure_data import AdversarialGallery, CorruptionGallery
from harness.present.attack_names import attack_words, attacks_summary
from harness.present.figure_style import DPI, MUTED
from harness.present.figure_style import plain_label as label
from harness.store import atomic

RIGHT, WRONG = "#0072B2", "#D55E00"
CORRUPTIONS_PER_FIGURE = 10
MAX_SAMPLES = 3  # samples per severity in a corruption gallery
ADVERSARIAL_ROWS = 6  # examples drawn of an adversarial gallery
TILE = 72  # target tile size in pixels
GAP = 6  # pixels between tiles
CAPTION = 16  # pixels under a tile for its prediction
HEAD = 34  # pixels above the grid for column titles
LEFT = 130  # pixels left of the grid for row titles


def _pixels(x: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """An input (C x H x W or H x W) as an RGB tile in [0, 1], enlarged to about TILE pixels."""
    lo, hi = bounds
    img = np.clip((np.asarray(x, dtype=np.float64) - lo) / ((hi - lo) or 1.0), 0.0, 1.0)
    if img.ndim == 3 and img.shape[0] == 1:
        img = img[0]
    if img.ndim == 3:
        img = np.transpose(img, (1, 2, 0))
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    size = max(img.shape[0], img.shape[1])
    step = max(1, math.ceil(size / (TILE * 1.5)))
    img = img[::step, ::step]
    factor = max(1, TILE // max(img.shape[0], img.shape[1]))
    return np.kron(img, np.ones((factor, factor, 1)))


@dataclass
class _Mosaic:
    """Tiles on a white canvas with text around them, drawn as one image."""

    rows: int
    cols: int
    tile: tuple[int, int]
    left: int = LEFT
    head: int = HEAD
    gap: int = GAP
    texts: list[tuple[float, float, str, str, str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        th, tw = self.tile
        self.canvas = np.ones(
            (
                self.head + self.rows * (th + CAPTION + self.gap),
                self.left + self.cols * (tw + self.gap),
                3,
            )
        )

    def origin(self, r: int, c: int) -> tuple[int, int]:
        th, tw = self.tile
        return self.head + r * (th + CAPTION + self.gap), self.left + c * (tw + self.gap)

    def put(self, r: int, c: int, img: np.ndarray) -> None:
        y, x = self.origin(r, c)
        h, w = img.shape[:2]
        self.canvas[y : y + h, x : x + w] = img

    def under(self, r: int, c: int, text: str, colour: str) -> None:
        y, x = self.origin(r, c)
        self.texts.append((x + self.tile[1] / 2, y + self.tile[0] + 2, text, colour, "center", 8))

    def above(self, c: int, text: str) -> None:
        _y, x = self.origin(0, c)
        self.texts.append((x + self.tile[1] / 2, self.head - 4, text, "#1f2328", "center", 8))

    def left_of(self, r: int, text: str) -> None:
        y, _x = self.origin(r, 0)
        self.texts.append((self.left - 8, y + self.tile[0] / 2, text, "#1f2328", "right", 8))

    def draw(self, path: Path, title: str) -> Path:
        """The mosaic under its title as a PNG, written whole (harness/store/atomic.py): the
        picture is as large as the mosaic and every label around it need (as matplotlib's tight
        box was), with a margin of 0.08 inch."""
        h, w = self.canvas.shape[:2]
        labels = [((w / 2, -4.0), title, "black", "md", "center", TITLE_POINTS)]
        for x, y, text, colour, ha, points in self.texts:
            vertical = "a" if ha == "center" and y > self.head else ("d" if ha == "center" else "m")
            anchor = {"center": "m", "right": "r"}[ha] + vertical
            labels.append(((x, y), text, colour, anchor, ha, points))
        boxes = [
            _measure().multiline_textbbox(xy, text, font=_font(pt), anchor=anchor, align=align)
            for xy, text, _colour, anchor, align, pt in labels
        ]
        left = min(0.0, *(b[0] for b in boxes))
        top = min(0.0, *(b[1] for b in boxes))
        right = max(float(w), *(b[2] for b in boxes))
        bottom = max(float(h), *(b[3] for b in boxes))
        pad = round(0.08 * DPI)  # figure_style.save's pad_inches
        dx, dy = pad - math.floor(left), pad - math.floor(top)
        size = (math.ceil(right) + dx + pad, math.ceil(bottom) + dy + pad)
        image = Image.new("RGB", size, "white")
        pixels = np.round(np.clip(self.canvas, 0.0, 1.0) * 255.0).astype(np.uint8)
        image.paste(Image.fromarray(pixels), (dx, dy))
        pen = ImageDraw.Draw(image)
        for (x, y), text, colour, anchor, align, points in labels:
            pen.multiline_text(
                (x + dx, y + dy), text, fill=colour, font=_font(points), anchor=anchor, align=align
            )
        png = io.BytesIO()
        image.save(png, format="png")
        atomic.write_bytes(path, png.getvalue(), durable=False)
        return path


TITLE_POINTS = 9


@cache
def _font(points: int) -> ImageFont.FreeTypeFont:
    """matplotlib's sans-serif font at `points` points on a figure of DPI dots per inch."""
    return ImageFont.truetype(
        findfont(FontProperties(family=matplotlib.rcParams["font.family"])), points * DPI / 72
    )


@cache
def _measure() -> ImageDraw.ImageDraw:
    return ImageDraw.Draw(Image.new("RGB", (1, 1)))


def _name(index: int | None, names: Sequence[str]) -> str:
    if index is None:
        return "?"
    return label(names[index], 12) if 0 <= index < len(names) else str(index)


def _verdict(pred: int | None, truth: int | None, names: Sequence[str]) -> tuple[str, str]:
    if pred is None:
        return "", RIGHT
    ok = truth is not None and pred == truth
    return f"{_name(pred, names)} {'✓' if ok else '✗'}", RIGHT if ok else WRONG


def corruption_samples(gallery: CorruptionGallery) -> int:
    """How many of the gallery's samples a corruption gallery draws (per severity)."""
    return min(MAX_SAMPLES, len(gallery.sample_ids))


def adversarial_rows(gallery: AdversarialGallery) -> int:
    """How many of the stored adversarial examples the gallery draws."""
    return min(ADVERSARIAL_ROWS, len(gallery.clean))


def corruption_parts(gallery: CorruptionGallery) -> int:
    """How many figures the corruption gallery takes: one per block of corruptions."""
    return math.ceil(len(gallery.corruptions) / CORRUPTIONS_PER_FIGURE)


def part_path(out: Path, part: int) -> Path:
    """The file of a corruption gallery's figure `part` (0-based) for the gallery at `out`."""
    return out.with_name(f"{out.stem}-{part}{out.suffix}")


def corruption_gallery(
    gallery: CorruptionGallery,
    out: Path,
    *,
    title: str,
    class_names: Sequence[str],
) -> list[Path]:
    """Every figure of the gallery (`corruption_part`), at `part_path(out, i)`."""
    return [
        corruption_part(gallery, i, out, title=title, class_names=class_names)
        for i in range(corruption_parts(gallery))
    ]


def corruption_part(
    gallery: CorruptionGallery,
    part: int,
    out: Path,
    *,
    title: str,
    class_names: Sequence[str],
) -> Path:
    """Figure `part` of the gallery, one block of corruptions: rows = corruptions, columns =
    severities (clean first) x samples; under each image the model's prediction (✓ right, ✗
    wrong). Drawn at `part_path(out, part)`."""
    k = corruption_samples(gallery)
    sevs = gallery.severities
    tile = _pixels(gallery.images[0, 0, 0], gallery.bounds).shape[:2]
    parts = corruption_parts(gallery)
    start = part * CORRUPTIONS_PER_FIGURE
    block = list(range(start, min(start + CORRUPTIONS_PER_FIGURE, len(gallery.corruptions))))
    mosaic = _Mosaic(rows=len(block), cols=k * len(sevs), tile=(int(tile[0]), int(tile[1])))
    for si, sev in enumerate(sevs):
        for j in range(k):
            head = label(gallery.sample_ids[j], 12)
            if j == k // 2:
                head = ("clean" if sev == 0 else f"severity {sev}") + "\n" + head
            mosaic.above(si * k + j, head)
    for r, ci in enumerate(block):
        mosaic.left_of(r, label(gallery.corruptions[ci], 22))
        for si in range(len(sevs)):
            for j in range(k):
                mosaic.put(r, si * k + j, _pixels(gallery.images[ci, si, j], gallery.bounds))
                pred = gallery.predictions.get((ci, si, j))
                text, colour = _verdict(pred, gallery.labels[j], class_names)
                if pred is None and sevs[si] != 0:  # a cell the suite left out (notes say why)
                    text, colour = "not evaluated", MUTED
                mosaic.under(r, si * k + j, text, colour)
    suffix = f" ({part + 1} of {parts})" if parts > 1 else ""
    return mosaic.draw(part_path(out, part), label(title + suffix, 120))


def shows(gallery: CorruptionGallery | AdversarialGallery) -> tuple[object, ...]:
    """What a gallery's figures show, for the figure cache (harness.present.figure_cache): every
    field, the images by the sha256 of their bytes (an array's repr elides its middle)."""
    fields: list[object] = []
    for name, value in vars(gallery).items():
        if isinstance(value, np.ndarray):
            data = np.ascontiguousarray(value)
            value = (str(data.dtype), data.shape, hashlib.sha256(data.tobytes()).hexdigest())
        elif isinstance(value, dict):
            value = sorted(value.items())
        fields.append((name, value))
    return tuple(fields)


def adversarial_gallery(
    gallery: AdversarialGallery,
    path: Path,
    *,
    model: str,
    class_names: Sequence[str],
    threat: str,
    max_examples: int | None = None,
) -> Path:
    """Rows of clean | perturbed | amplified perturbation, with labels, predictions and the
    attack that found each; `threat` names the threat model in words (`L-inf 0.1, the task's
    headline threat model`)."""
    k = adversarial_rows(gallery) if max_examples is None else min(max_examples, len(gallery.clean))
    width = (gallery.bounds[1] - gallery.bounds[0]) or 1.0
    delta = gallery.perturbed[:k].astype(np.float64) - gallery.clean[:k].astype(np.float64)
    biggest = float(np.abs(delta).max()) if delta.size else 0.0
    gain = 0.5 * width / biggest if biggest > 0 else 1.0
    tile = _pixels(gallery.clean[0], gallery.bounds).shape[:2]
    mosaic = _Mosaic(rows=k, cols=3, tile=(int(tile[0]), int(tile[1])), left=110, gap=28)
    eps = f"{gallery.eps:g}" if gallery.eps is not None else "?"
    heads = ("clean", f"perturbed\neps {eps}", f"perturbation\n×{gain:.3g}, grey = 0")
    shown = gallery.attacks[:k]
    for c, head in enumerate(heads):
        mosaic.above(c, head)
    for i in range(k):
        truth = gallery.labels[i]
        by = f"\nby {label(attack_words(shown[i]), 14)}" if shown[i] else ""
        mosaic.left_of(
            i, f"{label(gallery.sample_ids[i], 14)}\nlabel {_name(truth, class_names)}{by}"
        )
        mosaic.put(i, 0, _pixels(gallery.clean[i], gallery.bounds))
        mosaic.under(i, 0, *_verdict(gallery.clean_pred[i], truth, class_names))
        mosaic.put(i, 1, _pixels(gallery.perturbed[i], gallery.bounds))
        mosaic.under(i, 1, *_verdict(gallery.perturbed_pred[i], truth, class_names))
        amplified = gallery.bounds[0] + width * (0.5 + delta[i] * gain / width)
        mosaic.put(i, 2, _pixels(amplified, gallery.bounds))
    found = attacks_summary(shown)
    title = label(f"{model}: adversarial examples at {threat}", 90)
    if found:
        title += "\n" + label(f"found by {found}", 90)
    return mosaic.draw(path, title + "\nunder each image: prediction, ✓ right, ✗ wrong")
