"""Pictures of what the model saw: corruption galleries and adversarial examples (PNG).

The corruption gallery shows a few seeded samples per corruption and severity (clean first),
each with the model's prediction on it; the adversarial gallery shows stored examples as
clean | perturbed | amplified perturbation with the true label and both predictions, under a
title naming the model, the attack and the budget. Images are drawn pixel for pixel (nearest
neighbour) in the task's value bounds. Correct predictions are marked ✓, wrong ones ✗ (shape,
not only colour).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from harness.analysis.figure_data import AdversarialGallery, CorruptionGallery
from harness.present.figure_style import label, save

RIGHT, WRONG = "#0072B2", "#D55E00"
CORRUPTIONS_PER_FIGURE = 10
MAX_SAMPLES = 3


def _image(x: np.ndarray, bounds: tuple[float, float]) -> tuple[np.ndarray, str | None]:
    """An input (C x H x W or H x W) as something imshow draws, scaled to [0, 1]."""
    lo, hi = bounds
    img = (np.asarray(x, dtype=np.float64) - lo) / ((hi - lo) or 1.0)
    img = np.clip(img, 0.0, 1.0)
    if img.ndim == 3 and img.shape[0] == 1:
        return img[0], "gray"
    if img.ndim == 3:
        return np.transpose(img, (1, 2, 0)), None
    return img, "gray"


def _show(ax: plt.Axes, x: np.ndarray, bounds: tuple[float, float]) -> None:
    img, cmap = _image(x, bounds)
    ax.imshow(img, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("#d0d7de")


def _name(index: int | None, names: Sequence[str]) -> str:
    if index is None:
        return "?"
    return label(names[index], 14) if 0 <= index < len(names) else str(index)


def _mark(ax: plt.Axes, pred: int | None, truth: int | None, names: Sequence[str]) -> None:
    if pred is None:
        return
    ok = truth is not None and pred == truth
    ax.set_xlabel(
        f"{_name(pred, names)} {'✓' if ok else '✗'}", fontsize=7, color=RIGHT if ok else WRONG,
        labelpad=1,
    )  # fmt: skip


def corruption_gallery(
    gallery: CorruptionGallery,
    out: Path,
    *,
    title: str,
    class_names: Sequence[str],
) -> list[Path]:
    """One figure per block of corruptions: rows = corruptions, columns = samples x severities
    (clean first); under each image the model's prediction (✓ right, ✗ wrong)."""
    k = min(MAX_SAMPLES, len(gallery.sample_ids))
    sevs = gallery.severities
    paths: list[Path] = []
    for start in range(0, len(gallery.corruptions), CORRUPTIONS_PER_FIGURE):
        block = list(range(start, min(start + CORRUPTIONS_PER_FIGURE, len(gallery.corruptions))))
        cols = k * len(sevs)
        fig, axes = plt.subplots(
            len(block), cols, figsize=(0.78 * cols + 1.4, 0.95 * len(block) + 0.9), squeeze=False
        )
        for r, ci in enumerate(block):
            for j in range(k):
                for si, sev in enumerate(sevs):
                    ax = axes[r, j * len(sevs) + si]
                    _show(ax, gallery.images[ci, si, j], gallery.bounds)
                    _mark(ax, gallery.predictions.get((ci, si, j)), gallery.labels[j], class_names)
                    if r == 0:
                        head = "clean" if sev == 0 else f"severity {sev}"
                        if si == 0:
                            head = f"{label(gallery.sample_ids[j], 18)}\n{head}"
                        ax.set_title(head, fontsize=7)
            axes[r, 0].set_ylabel(label(gallery.corruptions[ci], 22), fontsize=8, rotation=0,
                                  ha="right", va="center")  # fmt: skip
        part = (
            f" ({start // CORRUPTIONS_PER_FIGURE + 1})"
            if len(gallery.corruptions) > CORRUPTIONS_PER_FIGURE
            else ""
        )
        fig.suptitle(label(title + part, 90), fontsize=9)
        fig.tight_layout(pad=0.3, h_pad=0.2, w_pad=0.2)
        paths.append(save(fig, out.with_name(f"{out.stem}-{len(paths)}{out.suffix}")))
    return paths


def adversarial_gallery(
    gallery: AdversarialGallery,
    path: Path,
    *,
    model: str,
    class_names: Sequence[str],
    max_examples: int = 6,
) -> Path:
    """Rows of clean | perturbed | amplified perturbation, with labels and predictions."""
    k = min(max_examples, len(gallery.clean))
    width = (gallery.bounds[1] - gallery.bounds[0]) or 1.0
    delta = gallery.perturbed[:k].astype(np.float64) - gallery.clean[:k].astype(np.float64)
    biggest = float(np.abs(delta).max()) if delta.size else 0.0
    gain = 0.5 * width / biggest if biggest > 0 else 1.0
    fig, axes = plt.subplots(k, 3, figsize=(4.6, 1.35 * k + 0.9), squeeze=False)
    for i in range(k):
        truth = gallery.labels[i]
        _show(axes[i, 0], gallery.clean[i], gallery.bounds)
        _mark(axes[i, 0], gallery.clean_pred[i], truth, class_names)
        _show(axes[i, 1], gallery.perturbed[i], gallery.bounds)
        _mark(axes[i, 1], gallery.perturbed_pred[i], truth, class_names)
        shown = gallery.bounds[0] + width * (0.5 + delta[i] * gain / width)
        _show(axes[i, 2], shown, gallery.bounds)
        axes[i, 0].set_ylabel(
            f"{label(gallery.sample_ids[i], 16)}\nlabel {_name(truth, class_names)}",
            fontsize=7, rotation=0, ha="right", va="center",
        )  # fmt: skip
    eps = f"{gallery.eps:g}" if gallery.eps is not None else "?"
    for ax, head in zip(
        axes[0],
        ["clean (prediction)", f"perturbed, eps {eps}", f"perturbation ×{gain:.3g}"],
        strict=True,
    ):
        ax.set_title(head, fontsize=7)
    fig.suptitle(
        label(f"{model}: {gallery.attack} ({gallery.norm}, eps {eps})", 70)
        + "\ngrey = no change; ✓ right, ✗ wrong",
        fontsize=8,
    )
    fig.tight_layout(pad=0.3)
    return save(fig, path)
