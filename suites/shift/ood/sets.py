"""OOD sets: generated noise of the task's shape, or a loaded task scored by the task's model.

Every OOD row has label -1 (`UNLABELED`: an OOD set needs no labels) and is never correct; the
rows keep the top logits, as the clean rows do, and every detector's score column. An OOD task
whose class names include the evaluated task's is not refused (a labelled set can hold other
kinds of the same classes), but a note says its samples may be in-distribution.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from harness.core.adapter import ModelAdapter
from harness.core.board_notes import caveat_note
from harness.core.errors import ConfigError, DatasetError
from harness.core.sample_table import SampleTable
from harness.core.seeding import sample_seeds
from harness.core.suite import RunContext
from harness.core.task import UNLABELED, Batch, Task
from harness.stats.detection import OOD_INPUT, OOD_TAG, cluster_codes
from harness.suites.shift.config import (
    GeneratedOOD,
    OODEntry,
    TaskEntry,
    entry_shape_advice,
    ood_name,
    ood_tag,
    ood_task,
)
from harness.suites.shift.ood.detectors import Bank
from harness.suites.shift.ood.metrics import ScoredSet
from harness.suites.shift.parts import Parts
from harness.suites.shift.rows import join, rows, step
from harness.suites.shift.shifted import feature_advice, feature_name_check


def _noise_box(task: Task) -> tuple[float, float] | tuple[torch.Tensor, torch.Tensor]:
    """Where generated noise lies: each feature's own range on a tabular task that has
    per-feature ranges (`Task.feature_box()`, as the attacks' clip box and the tabular shifts
    use), else the task's bounds ([0, 1] without any)."""
    if task.modality == "tabular" and task.feature_bounds is not None:
        box = task.feature_box()
        assert box is not None, "a task with feature bounds has a box"
        low, high = (torch.as_tensor(b, dtype=torch.float32) for b in box)
        return low, high
    return task.bounds if task.bounds is not None else (0.0, 1.0)


def generated(entry: GeneratedOOD, task: Task, ctx: RunContext) -> Iterator[Batch]:
    """A generated noise set, one batch at a time (label -1)."""
    from harness.suites import counter_rng

    if task.modality not in ("image", "tabular"):
        raise ConfigError(
            f"suites.shift.ood_sets: generated noise sets are for image and tabular tasks, "
            f"not the {task.modality} task {task.name!r}; name an OOD task instead"
        )
    low, high = _noise_box(task)
    shape = tuple(task.input_shape)
    for start in range(0, entry.n, step(ctx)):
        ids = [
            f"ood-{entry.generated}-{i:05d}" for i in range(start, min(entry.n, start + step(ctx)))
        ]
        seeds = torch.as_tensor(sample_seeds(ctx.seed, ids, "ood", entry.generated))
        if entry.generated == "uniform_noise":
            x = low + (high - low) * counter_rng.uniform(seeds, shape, stream=21)
        else:
            x = (low + high) / 2 + (high - low) / 4 * counter_rng.normal(seeds, shape, stream=22)
        if isinstance(low, torch.Tensor) and isinstance(high, torch.Tensor):
            x = x.clamp(low, high)
        else:
            x = x.clamp(float(low), float(high))
        yield Batch(ids, x, torch.full((len(ids),), UNLABELED))


def _loaded(
    entry: OODEntry,
    task: Task,
    ctx: RunContext,
    parts: Parts,
    max_samples: int | None,
    load: Callable[[TaskEntry, str], Task],
) -> Task | None:
    """The OOD task of an entry, checked against the evaluated task (None: another modality)."""
    name = ood_name(entry)
    inner = ood_task(entry)
    assert inner is not None
    whole = load(inner, "suites.shift.ood_sets")
    parts.notes.extend(whole.load_notes)  # how the set was read (files of a folder left out)
    if whole.modality != task.modality:
        parts.notes.append(
            f"OOD set {name!r} ({whole.modality}) does not apply to {task.modality} task {task.name!r}"
        )
        return None
    if tuple(whole.input_shape) != tuple(task.input_shape):
        raise DatasetError(
            f"suites.shift.ood_sets: OOD set {name!r} has input shape {tuple(whole.input_shape)} "
            f"but task {task.name!r} has input shape {tuple(task.input_shape)}; the model can "
            "only score inputs of its task's shape"
            + entry_shape_advice(inner, whole, task, "OOD set")
            + feature_advice(inner, whole, task, what="OOD set")
        )
    # a table's features are fed by position: the same columns in another order are refused
    renamed = feature_name_check(whole, task, inner, key="ood_sets", what="OOD set")
    if renamed:
        parts.notes.append(renamed)
    shared = sorted(set(whole.class_names) & set(task.class_names)) if whole.labeled else []
    if shared:
        listed = ", ".join(shared[:5]) + (f" and {len(shared) - 5} more" if len(shared) > 5 else "")
        parts.notes.append(  # on the board: its AUROC counts in-distribution samples as OOD
            caveat_note(
                f"OOD set {name!r} is labelled with {len(shared)} of task {task.name!r}'s classes "
                f"({listed}): its samples may be in-distribution, yet every one counts as OOD in "
                "the detection metrics (use a set of other classes, or an unlabelled one)"
            )
        )
    other = whole.subset(max_samples, seed=ctx.seed, purpose="shift/ood")
    parts.plan(ctx, len(other))
    return other


def input_keys(inputs: torch.Tensor | list[str]) -> list[bytes | str]:
    """One key per input, equal for equal inputs (the text itself, a digest of a tensor row)."""
    if not isinstance(inputs, torch.Tensor):
        return [str(t) for t in inputs]
    x = inputs.detach().cpu().contiguous()
    return [hashlib.blake2b(row.numpy().tobytes(), digest_size=16).digest() for row in x]


NARROWER = 1.05  # copies matter (a note, intervals over the distinct inputs) from this much

WHOLE_SPLIT_KEYS = 20_000
"""Up to this many test samples, a loaded OOD set is compared with the whole test split; above
it (ImageNet's 50,000 validation images: minutes of decoding for a note) with the evaluated
`max_samples` subset alone, and the note says so."""


class TestInputs:
    """The keys (`input_keys`) of the task's test inputs that a loaded OOD set is compared
    with, read once, when a set first asks: the whole test split (its inputs outside the
    evaluated subset are in-distribution all the same: an OOD set of 50 test images was said to
    hold the 3 of them among the 80 evaluated) up to `WHOLE_SPLIT_KEYS` samples, else the
    evaluated subset."""

    def __init__(self, whole: Task, evaluated: Task, ctx: RunContext) -> None:
        self.evaluated_only = len(whole) > WHOLE_SPLIT_KEYS and len(evaluated) < len(whole)
        self.task = evaluated if self.evaluated_only else whole
        self.whole_n = len(whole)
        self._ctx = ctx
        self._keys: set[bytes | str] | None = None

    def keys(self) -> set[bytes | str]:
        if self._keys is None:
            batches = self.task.batches(step(self._ctx))
            self._keys = {k for b in batches for k in input_keys(b.inputs)}
        return self._keys

    def which(self, task: str) -> str:
        """Whose inputs the keys are, for the note."""
        if not self.evaluated_only:
            return f"task {task!r}'s test inputs"
        return (
            f"the {len(self.task):,} evaluated test inputs of task {task!r} (its other "
            f"{self.whole_n - len(self.task):,} not compared: a test split over "
            f"{WHOLE_SPLIT_KEYS:,} samples is not read whole for this note)"
        )


def repeated_note(name: str, keys: Sequence[bytes | str]) -> str | None:
    """What the copies of an OOD set whose inputs repeat do to its numbers, or None when they
    are too few to matter. Intervals that assumed n independent samples would rest on Kish's
    effective size n^2 / sum(c_i^2) with input i present c_i times, so they would be
    sqrt(n / effective) too narrow (6 copies of every input: 2.4x; one input drawn twice among
    300, as in a set of random crops: 0.3%, no note below NARROWER). A set with the note gets
    its detection intervals, the near / far mean AUROC's interval and the task page's paired
    AUROC tests built over its distinct inputs (`ScoredSet.clusters`, the rows'
    `detection.OOD_INPUT`); other comparisons of models on the set go through those intervals
    (unpaired: resampling its rows would count every copy)."""
    n = len(keys)
    counts = Counter(keys)
    if n == 0 or len(counts) == n:
        return None
    effective = n * n / sum(c * c for c in counts.values())
    narrower = math.sqrt(n / effective)
    if narrower < NARROWER:
        return None
    return (
        f"OOD set {name!r} holds {n} samples but {len(counts)} distinct inputs: every copy "
        f"counts in its detection values, while their intervals, the near / far mean AUROC's "
        f"and the paired AUROC tests between detectors and models are built over the "
        f"{len(counts)} distinct inputs (an effective {effective:.0f} samples; counted as {n} "
        f"independent samples they would be {narrower:.1f}x too narrow); other comparisons "
        "of models on this set go through their intervals (unpaired, so they find fewer "
        "differences); drop the copies from the set"
    )


def ood_set(
    adapter: ModelAdapter,
    task: Task,
    entry: OODEntry,
    ctx: RunContext,
    parts: Parts,
    *,
    bank: Bank,
    temperature: float,
    max_samples: int | None,
    load: Callable[[TaskEntry, str], Task],
    test_inputs: TestInputs | None = None,
) -> ScoredSet | None:
    """The rows of a generated or loaded OOD set (label -1), scored in batches by the model and
    every detector; None when the set does not apply to the task's modality. `test_inputs`:
    the task's test inputs a loaded set is compared with, read when one needs them."""
    name = ood_name(entry)
    condition = f"ood={name}"
    if isinstance(entry, GeneratedOOD):
        if task.modality not in ("image", "tabular"):  # a list entry meant for other tasks
            parts.notes.append(
                f"OOD set {name!r} (generated noise) does not apply to {task.modality} task "
                f"{task.name!r}: generated noise sets are for image and tabular tasks; name an "
                "OOD task instead"
            )
            return None
        batches: Iterator[Batch] = generated(entry, task, ctx)
    else:
        other = _loaded(entry, task, ctx, parts, max_samples, load)
        if other is None:
            return None
        batches = other.batches(step(ctx))
    blocks: list[dict[str, Any]] = []
    keys: list[bytes | str] = []
    for b in batches:
        keys += input_keys(b.inputs)
        out = bank.outputs(adapter, task, b.inputs, ctx, condition)
        block = rows(
            b.sample_ids,
            np.full(len(b.sample_ids), UNLABELED, dtype=np.int64),  # a set's labels are not ours
            out.logits,
            condition,
            temperature=temperature,
            keep_logits=True,
        )
        blocks.append({**block, **bank.scores(adapter, task, b.inputs, out, ctx)})
    if not blocks:
        raise DatasetError(f"suites.shift.ood_sets: OOD set {name!r} has no samples")
    scored = join(blocks)
    repeated = repeated_note(name, keys)
    if repeated is not None:
        parts.notes.append(caveat_note(repeated))
    # only copies that move the intervals change them: a set without the note keeps its numbers
    clusters = tuple(keys) if repeated is not None else None
    if test_inputs is not None and not isinstance(entry, GeneratedOOD):
        known = test_inputs.keys()
        shared = sum(1 for k in keys if k in known)
        if shared:
            parts.notes.append(
                caveat_note(
                    f"OOD set {name!r} holds {shared} of {test_inputs.which(task.name)} (of "
                    f"its {len(keys)} samples): they are in-distribution by construction, yet "
                    "each counts as OOD in the detection metrics, which it pulls toward 0.5 "
                    "(remove them from the set)"
                )
            )
    scored["label"] = np.full(len(scored["sample_id"]), UNLABELED, dtype=np.int64)
    scored["correct"] = np.zeros(len(scored["sample_id"]), dtype=bool)
    # the set's tag on its rows: paired comparisons of the near / far means find their sets
    scored[OOD_TAG] = np.full(len(scored["sample_id"]), ood_tag(entry) or "", dtype=object)
    if clusters is not None:  # which rows are copies of one input: paired tests use its inputs
        scored[OOD_INPUT] = cluster_codes(clusters)
    parts.tables.append(SampleTable.build(scored))
    return ScoredSet(name=name, tag=ood_tag(entry), rows=scored, clusters=clusters)
