"""The perturbation sweep: clean rows and every (family, severity) cell, streamed batch by batch.

One batch of clean inputs at a time is read, perturbed at every configured cell (through the
suite's `CorruptionCache`) and scored. An image corruption that changes the inputs by less than
`NOOP_MEAN_CHANGE` at every severity is not applicable to the task: its rows are dropped and it is
named in `Parts.not_applicable`. The corruption gallery (a few seeded, stratified images at each
severity) is filled on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from harness.core.adapter import ModelAdapter
from harness.core.errors import DatasetError
from harness.core.probability_outputs import COLUMN as PROBABILITY_COLUMN
from harness.core.probability_outputs import probability_rows
from harness.core.sample_table import CLEAN, SampleTable
from harness.core.suite import RunContext
from harness.core.task import Task
from harness.stats import tie_breaks
from harness.suites.shift import batch_dependence, perturbations
from harness.suites.shift.cache import CorruptionCache
from harness.suites.shift.config import ShiftConfig
from harness.suites.shift.image_corruptions import MIN_SIDE
from harness.suites.shift.ood.detectors import Bank
from harness.suites.shift.parts import Parts
from harness.suites.shift.rows import as_tensor, join, predict, rows, step

NOOP_MEAN_CHANGE = 0.5 / 255
"""A corruption "does nothing" on a task when, at every configured severity, its inputs change by
less than half an 8-bit level on average (mean |corrupted - clean| over every input value of the
evaluated samples, on the task's bounds mapped to [0, 1]); it is then not applicable there."""

_CHANGE_CHUNK_VALUES = 1 << 16
"""Values per chunk of `change_sum` (at least one sample): two float64 buffers of 512 KiB stay in
the caches and are recycled by the allocator rather than mapped and faulted in afresh (1 << 20
took 5.5 ms a cell inside the suite at 256 x 32 px, this 1.9 ms)."""


@dataclass(kw_only=True)
class Sweep:
    """What the streamed perturbation sweep accumulates over the batches."""

    stats: perturbations.FeatureStats | None  # tabular training statistics
    gallery: np.ndarray | None  # task rows shown in the corruption gallery
    clean: list[dict[str, Any]] = field(default_factory=list)  # clean row blocks
    blocks: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    change: dict[tuple[str, int], float] = field(default_factory=dict)  # sum |x - clean|, [0, 1]
    changed_texts: dict[tuple[str, int], int] = field(default_factory=dict)  # texts it changed

    def add_change(
        self,
        task: Task,
        cell: tuple[str, int],
        clean: torch.Tensor | list[str],
        x: torch.Tensor | list[str],
    ) -> None:
        if task.modality == "image":
            self.change[cell] = self.change.get(cell, 0.0) + change_sum(clean, x, task)
        elif task.modality == "text":
            changed = sum(a != b for a, b in zip(clean, x, strict=True))
            self.changed_texts[cell] = self.changed_texts.get(cell, 0) + changed


def prefix(task: Task) -> str:
    """The condition prefix of a task's perturbation cells."""
    return "corruption" if task.modality == "image" else task.modality


def _local(gallery: np.ndarray | None, start: int, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The gallery rows inside the batch [start, start + n): (positions in the batch, positions
    in the gallery), or None when there are none."""
    if gallery is None:
        return None
    inside = np.flatnonzero((gallery >= start) & (gallery < start + n))
    if len(inside) == 0:
        return None
    return gallery[inside] - start, inside


def change_sum(clean: torch.Tensor | list[str], x: torch.Tensor | list[str], task: Task) -> float:
    """Sum of |x - clean| over every input value of a batch, on the task's bounds mapped to
    [0, 1] (divided by the number of values, the mean change of `NOOP_MEAN_CHANGE`).

    Each difference is exact in float64, as before; the batch goes in chunks of about
    `_CHANGE_CHUNK_VALUES` values, so the float64 temporaries stay small and are reused instead
    of four fresh copies of twice the batch's size per cell (1.2 s a cell at the suite's
    256-image step at 224 px, against 0.06 s in chunks: more than the corruptions themselves).
    """
    low, high = task.bounds if task.bounds is not None else (0.0, 1.0)
    corrupted, original = as_tensor(x), as_tensor(clean)
    per_sample = max(1, int(np.prod(corrupted.shape[1:])))
    n_rows = max(1, _CHANGE_CHUNK_VALUES // per_sample)
    # Two float64 buffers, filled by copies (a float64 op with a float32 operand is 3x slower).
    first = corrupted[:n_rows]
    a = torch.empty(first.shape, dtype=torch.float64, device=first.device)
    b = torch.empty_like(a)
    total = 0.0
    for start in range(0, corrupted.shape[0], n_rows):
        k = min(n_rows, corrupted.shape[0] - start)
        a[:k].copy_(corrupted[start : start + k])
        b[:k].copy_(original[start : start + k])
        total += float(a[:k].sub_(b[:k]).abs_().sum())
    return total / (high - low)


def _empty_gallery(task: Task, families: list[str], cfg: ShiftConfig) -> np.ndarray:
    k = min(cfg.gallery_samples, len(task))
    shape = (len(families), 1 + len(cfg.severities), k, *task.input_shape)
    return np.zeros(shape, dtype=np.float32)


def check_evaluable(task: Task, families: list[str]) -> None:
    """Refuse an empty task, and images the corruptions cannot take (1 or 3 channels, at least
    `MIN_SIDE` pixels high and wide)."""
    if len(task) == 0:
        raise DatasetError(f"task {task.name!r} has no samples to evaluate")
    if task.modality != "image" or not families:
        return
    if task.input_shape[0] not in (1, 3):
        raise DatasetError(
            f"task {task.name!r}: images have {task.input_shape[0]} channels (input shape "
            f"{tuple(task.input_shape)}); the shift suite's corruptions need 1 (grey) or 3 (RGB) "
            "channels — convert the images or set suites.shift.corruptions: []"
        )
    height, width = task.input_shape[1:3]
    if min(height, width) < MIN_SIDE:
        raise DatasetError(
            f"task {task.name!r}: images are {height}x{width} pixels (input shape "
            f"{tuple(task.input_shape)}); the shift suite's corruptions need at least "
            f"{MIN_SIDE}x{MIN_SIDE} — declare resize on the task or set "
            "suites.shift.corruptions: []"
        )


def negative_bounds_note(task: Task, families: list[str]) -> str | None:
    """A note for image corruptions on a task whose bounds reach below 0: the corruptions are
    defined on pixel intensities in [0, 1], and the task's inputs are mapped to them with one
    linear map of its box. That is the photo only when every channel is that map of the pixels
    ([-1, 1] images); per-channel normalised inputs ((x - mean) / std) are mapped to another
    image (each channel stretched by its own std), and the numbers differ: the same 60 images
    normalised with ImageNet's mean and std, the model undoing it first, moved its mean
    corruption accuracy (fog, contrast, gaussian noise, brightness) from 0.731 to 0.710."""
    if task.modality != "image" or not families or task.bounds is None or task.bounds[0] >= 0:
        return None
    low, high = task.bounds
    return (
        f"task {task.name!r} gives images in [{low:.4g}, {high:.4g}]: the corruptions act on them "
        "mapped linearly to [0, 1], which is the photo only when every channel is that map of "
        "its pixels; per-channel normalised inputs ((x - mean) / std) are corrupted as another "
        "image: feed [0, 1] images and normalise inside the model"
    )


def _gallery_rows(
    task: Task, families: list[str], ctx: RunContext, cfg: ShiftConfig
) -> np.ndarray | None:
    """The rows shown in the corruption gallery (seeded, stratified), or None for none."""
    k = min(cfg.gallery_samples, len(task))
    if task.modality != "image" or not families or k == 0:
        return None
    from harness.core.subsets import stratified_indices

    return stratified_indices(
        task.sample_ids, task.labels, k, seed=ctx.seed, purpose="shift/gallery"
    )


def perturbation_cells(
    adapter: ModelAdapter,
    task: Task,
    families: list[str],
    ctx: RunContext,
    parts: Parts,
    *,
    cfg: ShiftConfig,
    cache: CorruptionCache,
    bank: Bank | None = None,
) -> tuple[dict[str, Any], dict[tuple[str, int], np.ndarray]]:
    """Clean rows, and rows of every (family, severity) with each one's per-sample
    correctness, streamed: one batch of clean inputs at a time is read, perturbed and scored.

    An image corruption that changes the inputs by less than `NOOP_MEAN_CHANGE` at every
    severity is not applicable to the task: its rows are dropped, and it is named in
    `parts.not_applicable`. With a `bank` of OOD detectors the clean rows also get each
    detector's score column, from the same forward pass as their logits. The clean rows also
    record whether each output was a probability vector (`probability_output`).
    """
    sweep = Sweep(
        stats=perturbations.feature_stats(task) if task.modality == "tabular" else None,
        gallery=_gallery_rows(task, families, ctx, cfg),
    )
    temperature = cfg.energy_temperature
    start = 0
    for batch in task.batches(step(ctx)):
        labels = batch.labels.numpy()
        if parts.probe is None:  # the batch-dependence probe's inputs, from this read
            first = batch.inputs[: batch_dependence.PROBE_SAMPLES]
            parts.probe = first.clone() if isinstance(first, torch.Tensor) else list(first)
        if bank is None:
            logits = predict(adapter, task, batch.inputs, ctx, CLEAN)
            extra: dict[str, np.ndarray] = {}
        else:
            out = bank.outputs(adapter, task, batch.inputs, ctx, CLEAN)
            logits = out.logits
            extra = bank.scores(adapter, task, batch.inputs, out, ctx)
        block = rows(
            batch.sample_ids, labels, logits, CLEAN, temperature=temperature, keep_logits=True
        )
        # whether each output was a probability vector (a final softmax): the suite flags the
        # numbers that distorts from these stored rows (`suites.shift.probability_outputs`)
        extra[PROBABILITY_COLUMN] = probability_rows(logits).numpy()
        sweep.clean.append({**block, **extra})
        for f_index, family in enumerate(families):
            for s_index, severity in enumerate(cfg.severities, start=1):
                x = cache.perturbed(task, family, severity, ctx, batch, start, sweep.stats)
                sweep.add_change(task, (family, severity), batch.inputs, x)
                shown = _local(sweep.gallery, start, len(batch))
                if shown is not None:
                    images = parts.gallery.setdefault("images", _empty_gallery(task, families, cfg))
                    images[f_index, 0, shown[1]] = as_tensor(batch.inputs)[shown[0]].numpy()
                    images[f_index, s_index, shown[1]] = as_tensor(x)[shown[0]].numpy()
                condition = f"{prefix(task)}={family}/severity={severity}"
                cell_logits = predict(adapter, task, x, ctx, condition)
                block = rows(
                    batch.sample_ids, labels, cell_logits, condition, temperature=temperature
                )
                sweep.blocks.setdefault((family, severity), []).append(block)
        start += len(batch)
    clean = join(sweep.clean)
    if bank is not None:  # ODIN on a model whose inputs have no gradient: left out
        bank.settle_odin(adapter.name, clean)
    parts.tables.append(SampleTable.build(clean))
    cells = _applicable_cells(task, families, sweep, parts, cfg)
    if sweep.gallery is not None:
        parts.gallery.update(
            corruptions=list(families),
            severities=[0, *cfg.severities],
            sample_ids=[task.sample_ids[i] for i in sweep.gallery.tolist()],
        )
    return clean, cells


def _unchanged(task: Task, family: str, sweep: Sweep) -> str | None:
    """Why a tabular or text family leaves every input as it is (None: it does not):
    gaussian_noise on a task none of whose features is continuous
    (`perturbations.continuous_features`); a text family that changed no text at any severity
    (casing on a script without letter case, word dropout on texts of one word or without
    spaces, as Chinese or Japanese is written). Its cells would be the clean accuracy under the
    family's name."""
    if task.modality == "text":
        counts = [n for (f, _), n in sweep.changed_texts.items() if f == family]
        if not counts or any(counts):
            return None
        return (
            f"no text of task {task.name!r} changes at any severity ({family} needs "
            + {
                "casing": "letters with an upper and lower case",
                "word_dropout": "texts of two or more words separated by spaces",
            }.get(family, "letters")
            + ")"
        )
    if task.modality != "tabular" or family != "gaussian_noise" or sweep.stats is None:
        return None
    if bool(sweep.stats.continuous.any()):
        return None
    return (
        f"every feature of task {task.name!r} is categorical (declared one_hot/ordinal, whole "
        f"numbers with at most {perturbations.DISCRETE_MAX_VALUES} values, or at most two "
        "values: docs/shift.md), and noise leaves categorical features as they are"
    )


def _applicable_cells(
    task: Task, families: list[str], sweep: Sweep, parts: Parts, cfg: ShiftConfig
) -> dict[tuple[str, int], np.ndarray]:
    """Each applicable cell's per-sample correctness (its rows added to `parts.tables`); an
    image corruption below `NOOP_MEAN_CHANGE` at every severity goes to `not_applicable`, a
    tabular family that changes no input (`_unchanged`) to `unchanged`; a text cell that changed
    fewer than half of the texts to `few_changed`."""
    values = max(len(task) * int(np.prod(task.input_shape)), 1)
    cells: dict[tuple[str, int], np.ndarray] = {}
    for family in families:
        why = _unchanged(task, family, sweep)
        if why is not None:
            parts.unchanged[family] = why
            continue
        if task.modality == "image":
            changes = {s: sweep.change[(family, s)] / values for s in cfg.severities}
            if max(changes.values()) < NOOP_MEAN_CHANGE:
                parts.not_applicable[family] = max(changes.values())
                continue
            # a severity that barely changes the inputs at this size: its accuracy is (almost)
            # clean accuracy under the corruption's name, which its record's note says
            faint = {(family, s): c for s, c in changes.items() if c < NOOP_MEAN_CHANGE}
            parts.faint.update(faint)
        for severity in cfg.severities:
            block = join(sweep.blocks[(family, severity)])
            cells[(family, severity)] = block["correct"]
            if task.modality == "text":
                # a family that changes few texts (casing on a mostly Chinese task): its cell is
                # mostly the clean accuracy under the family's name, which its record says
                changed, rows_n = (
                    sweep.changed_texts.get((family, severity), 0),
                    len(block["correct"]),
                )
                if 2 * changed < rows_n:
                    parts.few_changed[(family, severity)] = (changed, rows_n)
            parts.tied[(family, severity)] = block[tie_breaks.COLUMN]
            parts.tables.append(SampleTable.build(block))
    return cells
