"""`shift` suite: image corruptions, tabular/text perturbations, dataset shift and OOD detection.

Conditions in the per-sample table: `clean` (with OOD-score columns `msp`, `energy`, `max_logit`,
`entropy`, and the top logits for later scores), `corruption=<name>/severity=<s>` (on-the-fly, or a
published corrupted set's rows), `tabular=<family>/severity=<s>`, `text=<family>/severity=<s>`,
`shifted=<task>` (the shifted task's own sample ids) and `ood=<set>` (label -1: OOD samples have
no label). All randomness derives from (run seed, sample id, family, severity) through
`harness.core.seeding`. Metrics that need several models of a board (mCE, relative mCE, effective
robustness) are computed from the stored records and tables by `harness.analysis.cross_model`.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
import torch
from pydantic import Field, TypeAdapter, WrapValidator, field_validator

from harness.analysis.detection import METHODS
from harness.analysis.intervals import (
    CELL_MEAN_METHOD,
    CI_METHOD,
    RATIO_METHOD,
    WILSON_METHOD,
    cell_mean,
    newcombe_difference,
    relative_drop,
    wilson_ci,
)
from harness.analysis.model_comparison import newcombe_paired
from harness.config.spec import StrictModel, TaskSpec
from harness.core.adapter import ModelAdapter, check_logits, image_shape_advice
from harness.core.errors import ConfigError, DatasetError, HarnessError
from harness.core.metric_record import MetricRecord, MetricSpec, spec_record
from harness.core.sample_table import CLEAN, SampleTable
from harness.core.seeding import sample_seeds
from harness.core.subsets import subset_note
from harness.core.suite import RunContext, Suite, SuiteConfig, SuiteResult
from harness.core.task import SOURCE_ID, UNLABELED, Batch, Task
from suites.shift import ood, perturbations, selection
from suites.shift.image_corruptions import CORRUPTIONS as IMAGE_CORRUPTIONS
from suites.shift.image_corruptions import fits_out

log = logging.getLogger(__name__)

CACHE_BYTES = 256 * 1024 * 1024
"""Bound on the corrupted inputs a suite instance keeps (LRU) for reuse by the run's other models."""

NOOP_MEAN_CHANGE = 0.5 / 255
"""A corruption "does nothing" on a task when, at every configured severity, its inputs change by
less than half an 8-bit level on average (mean |corrupted - clean| over every input value of the
evaluated samples, on the task's bounds mapped to [0, 1]); it is then not applicable there."""

BENCHMARK_CORRUPTIONS: tuple[str, ...] = IMAGE_CORRUPTIONS[:15]
"""The 15 ImageNet-C benchmark corruptions; the other 4 are held-out validation corruptions."""


class GeneratedOOD(StrictModel):
    """A generated OOD set: `n` noise inputs of the task's shape within its bounds."""

    generated: Literal["gaussian_noise", "uniform_noise"]
    n: int = Field(default=500, ge=2, le=100_000)


E = TypeVar("E")
_TASK_LIKE = ("name", "source")  # keys that say an entry is a task spec


def _entry(value: Any, *, ood: bool) -> Any:
    """One `shifted_tasks` / `ood_sets` entry, validated as the kind it evidently is: a task
    name, a generated set (`generated:`, or a key close to it and no task key) or a task spec.
    Only that kind's errors are reported (`ood_sets.0.lable_column: unknown key (did you mean
    'label_column'?)`), not every member of the union's."""
    if isinstance(value, str | TaskSpec) or (ood and isinstance(value, GeneratedOOD)):
        return value
    if not isinstance(value, dict):
        kinds = "a task name or a task spec ({name, source, modality, ...})"
        if ood:
            kinds = (
                "a task name, a task spec ({name, source, modality, ...}) or a generated set "
                "({generated: gaussian_noise or uniform_noise, n: ...})"
            )
        raise ValueError(f"an entry is {kinds}")
    if ood and _generated_like(value):
        return GeneratedOOD.model_validate(value)
    return TaskSpec.model_validate(value)


def _generated_like(value: dict[Any, Any]) -> bool:
    if "generated" in value:
        return True
    if any(k in value for k in _TASK_LIKE):
        return False
    return any(difflib.get_close_matches(str(k), ["generated"], n=1, cutoff=0.6) for k in value)


def _task_entry(value: Any, _handler: Any) -> Any:
    return _entry(value, ood=False)


def _ood_entry(value: Any, _handler: Any) -> Any:
    return _entry(value, ood=True)


TaskEntry = Annotated[str | TaskSpec, WrapValidator(_task_entry)]
OODEntry = Annotated[GeneratedOOD | str | TaskSpec, WrapValidator(_ood_entry)]
_ENTRY_LISTS: dict[str, tuple[TypeAdapter[Any], TypeAdapter[Any]]] = {
    "shifted task": (TypeAdapter(list[TaskEntry]), TypeAdapter(dict[str, list[TaskEntry]])),
    "OOD set": (TypeAdapter(list[OODEntry]), TypeAdapter(dict[str, list[OODEntry]])),
}


def _entries(what: str) -> WrapValidator:
    """A list of entries (for every task) or a mapping {task name: list}: validated as the one
    the value is, so an error is that form's alone, with its plain key path."""

    def validate(value: Any, _handler: Any) -> Any:
        as_list, per_task = _ENTRY_LISTS[what]
        if isinstance(value, list):
            return as_list.validate_python(value)
        if isinstance(value, dict):
            return per_task.validate_python(value)
        raise ValueError(
            f"a list of {what}s (for every task), or a mapping from task name to such a list"
        )

    return WrapValidator(validate)


class ShiftConfig(SuiteConfig):
    corruptions: list[str] | Literal["all"] = "all"
    severities: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], min_length=1)
    max_samples: int | None = Field(default=None, ge=1)
    shifted_tasks: Annotated[
        list[TaskEntry] | dict[str, list[TaskEntry]], _entries("shifted task")
    ] = Field(default_factory=list)
    ood_sets: Annotated[list[OODEntry] | dict[str, list[OODEntry]], _entries("OOD set")] = Field(
        default_factory=list
    )
    mce_baseline: str | None = None
    mce_corruptions: Literal["benchmark", "all"] | list[str] = "benchmark"
    effective_robustness_testbed: list[str] | None = Field(default=None, min_length=1)
    gallery_samples: int = Field(default=4, ge=0, le=64)
    tabular: list[str] | Literal["all"] = "all"
    text: list[str] | Literal["all"] = "all"
    energy_temperature: float = Field(default=1.0, gt=0)

    @field_validator("severities")
    @classmethod
    def _severities(cls, v: list[int]) -> list[int]:
        bad = [s for s in v if s not in perturbations.SEVERITIES]
        if bad:
            listed = ", ".join(str(s) for s in bad)
            raise ValueError(
                f"severities are 1..5; {listed} {'is' if len(bad) == 1 else 'are'} not"
            )
        if len(set(v)) != len(v):
            raise ValueError("a severity is listed twice")
        return v

    @field_validator("corruptions", "tabular", "text", "mce_corruptions", mode="before")
    @classmethod
    def _family_form(cls, v: Any, info: Any) -> Any:
        """One line saying what the key takes, before the union of a list and a word would list
        each member's complaint in the validation library's own terms."""
        words = ("benchmark", "all") if info.field_name == "mce_corruptions" else ("all",)
        if v in words or (isinstance(v, list) and all(isinstance(n, str) for n in v)):
            return v
        takes = " or ".join(repr(w) for w in words)
        raise ValueError(f"takes a list of names or {takes}")

    @field_validator("corruptions", "tabular", "text", "mce_corruptions")
    @classmethod
    def _families(cls, v: list[str] | str, info: Any) -> list[str] | str:
        modality = {
            "corruptions": "image",
            "mce_corruptions": "image",
            "tabular": "tabular",
            "text": "text",
        }[info.field_name]
        if v in ("all", "benchmark"):
            return v
        if not v and info.field_name == "mce_corruptions":
            raise ValueError(
                "names no corruption: list the corruptions mCE averages, or use 'benchmark' (the "
                "15 ImageNet-C ones, the default) or 'all' (19)"
            )
        for name in v:
            try:
                perturbations.check(name, 1, modality, where=f"{modality} family")
            except ConfigError as err:
                raise ValueError(str(err)) from None
        if len(set(v)) != len(v):
            twice = sorted({n for n in v if v.count(n) > 1})
            raise ValueError(f"{', '.join(twice)} listed twice")
        return v


def _for_task(value: list[E] | dict[str, list[E]], task: Task) -> list[E]:
    """A list setting, or its entry for this task when given per task name."""
    if isinstance(value, dict):
        return list(value.get(task.name, []))
    return list(value)


def _entry_shape_advice(entry: TaskEntry | OODEntry, other: Task, task: Task, what: str) -> str:
    """What to declare on a shifted task's or OOD set's entry (a task spec) so its images decode
    to the task's shape: `channels: 3` for grey images beside an RGB task, a transform for
    another size (`image_shape_advice`)."""
    if not isinstance(entry, TaskSpec):
        return ""  # a catalogue task's decoding is fixed; nothing to declare on a name
    return image_shape_advice(
        other.input_shape, task.input_shape, task.modality, on=f"the {what}'s entry"
    )


def _ood_name(entry: OODEntry) -> str:
    if isinstance(entry, GeneratedOOD):
        return entry.generated
    return entry if isinstance(entry, str) else entry.name


@dataclass(kw_only=True)
class _Parts:
    """What a run collects, in order: table blocks, metric records, notes."""

    tables: list[SampleTable]
    metrics: list[MetricRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_applicable: dict[str, float] = field(default_factory=dict)  # corruption -> max mean change
    gallery: dict[str, Any] = field(default_factory=dict)  # artifact, and "images" (the array)
    # a published set's cells: the source id of each row (cells pair by it, not by position)
    cell_ids: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    planned: int = 0  # samples to predict, counted once per condition (the progress total)

    def plan(self, ctx: RunContext, more: int) -> None:
        """Add `more` samples of work (a loaded shifted or OOD set) to the progress total."""
        self.planned += more
        if ctx.progress is not None:
            ctx.progress(0, total=self.planned)


@dataclass(kw_only=True)
class _Sweep:
    """What the streamed perturbation sweep accumulates over the batches."""

    stats: tuple[torch.Tensor, torch.Tensor] | None  # tabular training (mean, std)
    gallery: np.ndarray | None  # task rows shown in the corruption gallery
    clean: list[dict[str, Any]] = field(default_factory=list)  # clean row blocks
    blocks: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    change: dict[tuple[str, int], float] = field(default_factory=dict)  # sum |x - clean|, [0, 1]

    def add_change(
        self,
        task: Task,
        cell: tuple[str, int],
        clean: torch.Tensor | list[str],
        x: torch.Tensor | list[str],
    ) -> None:
        if task.modality == "image":
            self.change[cell] = self.change.get(cell, 0.0) + _change_sum(clean, x, task)


def _prefix(task: Task) -> str:
    """The condition prefix of a task's perturbation cells."""
    return "corruption" if task.modality == "image" else task.modality


def _tensor(x: torch.Tensor | list[str]) -> torch.Tensor:
    assert isinstance(x, torch.Tensor), "image and tabular perturbations return tensors"
    return x


def _size(inputs: torch.Tensor | list[str]) -> int:
    """Bytes of a tensor, characters of a list of texts."""
    if isinstance(inputs, torch.Tensor):
        return inputs.numel() * inputs.element_size()
    return sum(len(t) for t in inputs)


def _step(ctx: RunContext) -> int:
    """Samples read, perturbed and kept in memory at a time (at least 256)."""
    return max(ctx.batch_size, 256)


def _join(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """Row blocks with the same columns joined in order (numpy arrays, or lists)."""
    out: dict[str, Any] = {}
    for key, first in blocks[0].items():
        if isinstance(first, np.ndarray):
            out[key] = np.concatenate([b[key] for b in blocks])
        else:
            out[key] = [v for b in blocks for v in b[key]]
    return out


def _take(column: Any, rows: np.ndarray) -> Any:
    """Rows of one joined column."""
    if isinstance(column, np.ndarray):
        return column[rows]
    return [column[i] for i in rows.tolist()]


def _local(gallery: np.ndarray | None, start: int, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The gallery rows inside the batch [start, start + n): (positions in the batch, positions
    in the gallery), or None when there are none."""
    if gallery is None:
        return None
    inside = np.flatnonzero((gallery >= start) & (gallery < start + n))
    if len(inside) == 0:
        return None
    return gallery[inside] - start, inside


def _change_sum(clean: torch.Tensor | list[str], x: torch.Tensor | list[str], task: Task) -> float:
    """Sum of |x - clean| over every input value of a batch, on the task's bounds mapped to
    [0, 1] (divided by the number of values, the mean change of `NOOP_MEAN_CHANGE`).

    Each difference is exact in float64, as before; the batch goes in chunks of about
    `_CHANGE_CHUNK_VALUES` values, so the float64 temporaries stay small and are reused instead
    of four fresh copies of twice the batch's size per cell (1.2 s a cell at the suite's
    256-image step at 224 px, against 0.06 s in chunks: more than the corruptions themselves).
    """
    low, high = task.bounds if task.bounds is not None else (0.0, 1.0)
    corrupted, original = _tensor(x), _tensor(clean)
    per_sample = max(1, int(np.prod(corrupted.shape[1:])))
    rows = max(1, _CHANGE_CHUNK_VALUES // per_sample)
    # Two float64 buffers, filled by copies (a float64 op with a float32 operand is 3x slower).
    first = corrupted[:rows]
    a = torch.empty(first.shape, dtype=torch.float64, device=first.device)
    b = torch.empty_like(a)
    total = 0.0
    for start in range(0, corrupted.shape[0], rows):
        k = min(rows, corrupted.shape[0] - start)
        a[:k].copy_(corrupted[start : start + k])
        b[:k].copy_(original[start : start + k])
        total += float(a[:k].sub_(b[:k]).abs_().sum())
    return total / (high - low)


_CHANGE_CHUNK_VALUES = 1 << 16
"""Values per chunk of `_change_sum` (at least one sample): two float64 buffers of 512 KiB stay in
the caches and are recycled by the allocator rather than mapped and faulted in afresh (1 << 20
took 5.5 ms a cell inside the suite at 256 x 32 px, this 1.9 ms)."""


def _empty_gallery(task: Task, families: list[str], suite: ShiftSuite) -> np.ndarray:
    k = min(suite.cfg.gallery_samples, len(task))
    shape = (len(families), 1 + len(suite.cfg.severities), k, *task.input_shape)
    return np.zeros(shape, dtype=np.float32)


def _check_evaluable(task: Task, families: list[str]) -> None:
    """Refuse an empty task, and images the corruptions cannot take (1 or 3 channels)."""
    if len(task) == 0:
        raise DatasetError(f"task {task.name!r} has no samples to evaluate")
    if task.modality == "image" and families and task.input_shape[0] not in (1, 3):
        raise DatasetError(
            f"task {task.name!r}: images have {task.input_shape[0]} channels (input shape "
            f"{tuple(task.input_shape)}); the shift suite's corruptions need 1 (grey) or 3 (RGB) "
            "channels — convert the images or set suites.shift.corruptions: []"
        )


def _refuse_unknown(key: str, name: str, known: Sequence[str], what: str, plural: str) -> None:
    """A ConfigError naming `suites.shift.<key>` when `name` is not in `known` (the first 20
    listed, and the closest as a suggestion)."""
    if name in known:
        return
    listed = ", ".join(known[:20]) + (f", ... ({len(known) - 20} more)" if len(known) > 20 else "")
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"suites.shift.{key}: {name!r} is not {what} ({plural}: {listed}){hint}")


class ShiftSuite(Suite):
    name = "shift"
    # 4: AUPR interval by the two-sample jackknife (t, rare-event df). 5: corrupted images move
    # (docs/corruptions.md): glass blur's shuffle offsets from 16-bit fields, symmetric Gaussians
    # summed in mirrored pairs, large defocus disks on small images by FFT. 6: every corrupted
    # batch has the standard (B, C, H, W) layout (motion blur of one-channel images came back
    # with channels-last strides, which a model's convolution may run by another kernel: logits
    # moved by ~1e-6); saturate in closed form (float32 rounding). 7: `digits-shifted` keeps the
    # `digits` sample ids (the same test images, translated), so its accuracy gap is paired;
    # the gap's interval is Newcombe's score interval (paired or independent), never [0, 0].
    # 8: mean corruption accuracy's interval is Wilson's at Kish's effective n over source
    # images (`intervals.cell_mean`), the relative drop's a MOVER interval; neither is [1, 1] or
    # [0, 0] any more (values unchanged). 9: frost's procedural texture is dense ice crystals
    # (feathery blades with side branches, thinned in places, flipped at random) instead of
    # sparse needles: it looked like white scratches at 224 px (docs/corruptions.md, "Fidelity");
    # the OOD AUPR interval is never a point and spans the bias-corrected AUPR.
    version = "9"
    description = (
        "ImageNet-C corruptions, tabular/text perturbations, dataset-shift accuracy gap and "
        "OOD detection (MSP, energy, max-logit, entropy)"
    )
    config_model = ShiftConfig
    metrics = (
        MetricSpec(name="clean_acc", unit="fraction", higher_is_better=True),
        MetricSpec(name="corruption_acc", unit="fraction", higher_is_better=True),
        MetricSpec(
            name="corruption_error",
            unit="fraction",
            higher_is_better=False,
            description="top-1 error averaged over the severities of one corruption",
        ),
        MetricSpec(
            name="mean_corruption_acc", unit="fraction", higher_is_better=True, headline=True
        ),
        MetricSpec(
            name="relative_corruption_drop",
            unit="ratio",
            higher_is_better=False,
            description="1 - mean corruption accuracy / clean accuracy",
        ),
        MetricSpec(name="tabular_shift_acc", unit="fraction", higher_is_better=True),
        MetricSpec(
            name="mean_tabular_shift_acc", unit="fraction", higher_is_better=True, headline=True
        ),
        MetricSpec(name="text_shift_acc", unit="fraction", higher_is_better=True),
        MetricSpec(
            name="mean_text_shift_acc", unit="fraction", higher_is_better=True, headline=True
        ),
        MetricSpec(name="shift_acc", unit="fraction", higher_is_better=True),
        MetricSpec(
            name="shift_acc_gap",
            unit="difference",
            higher_is_better=False,
            headline=True,
            description="clean accuracy minus accuracy on the shifted task",
        ),
        MetricSpec(name="ood_auroc", unit="fraction", higher_is_better=True, headline=True),
        MetricSpec(name="ood_aupr", unit="fraction", higher_is_better=True),
        MetricSpec(name="ood_fpr_at_95_tpr", unit="fraction", higher_is_better=False),
    )

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        # Per-instance caches (the runner shares one instance across a run's jobs): corrupted
        # inputs do not depend on the model, and shifted / OOD tasks load once.
        self._inputs: OrderedDict[tuple[Any, ...], tuple[list[str], torch.Tensor | list[str]]] = (
            OrderedDict()
        )
        self._cached_bytes = 0
        # The last evicted corrupted batch: the next image corruption is written into it
        # (`_recycled`), not into a freshly mapped output.
        self._spare: torch.Tensor | None = None
        self._tasks: dict[str, Task] = {}
        self._base_dir = Path.cwd()  # the spec file's folder, once bound

    # ------------------------------------------------------------------ config helpers
    @property
    def cfg(self) -> ShiftConfig:
        assert isinstance(self.config, ShiftConfig)
        return self.config

    def _families(self, modality: str) -> list[str]:
        chosen = {
            "image": self.cfg.corruptions,
            "tabular": self.cfg.tabular,
            "text": self.cfg.text,
        }[modality]
        return list(perturbations.families(modality)) if chosen == "all" else list(chosen)

    def _shifted_entries(self, task: Task) -> list[TaskEntry]:
        return _for_task(self.cfg.shifted_tasks, task)

    def _ood_entries(self, task: Task) -> list[OODEntry]:
        return _for_task(self.cfg.ood_sets, task)

    def bind_spec_folder(self, base_dir: Path) -> None:
        """Shifted tasks and OOD sets given as task specs read their `source` relative to the
        spec file's folder; each is checked here (`check_task_source`, what `harness validate`
        runs on tasks) and a named one must be a registered task."""
        from harness.config.tasks.catalogue import check_catalogued, task_registry
        from harness.config.tasks.sources import check_task_source

        self._base_dir = base_dir
        settings = {"shifted_tasks": self.cfg.shifted_tasks, "ood_sets": self.cfg.ood_sets}
        for key, value in settings.items():
            entries = [e for v in value.values() for e in v] if isinstance(value, dict) else value
            for entry in entries:
                if isinstance(entry, TaskSpec):
                    check_task_source(entry, base_dir)
                elif isinstance(entry, str):
                    try:
                        check_catalogued(task_registry().load(entry))
                    except HarnessError as err:
                        raise ConfigError(f"suites.shift.{key}: {err}") from None

    def check_task_names(self, task_names: Sequence[str]) -> None:
        """Shifted tasks and OOD sets given per task (a mapping) must be keyed by the spec's task
        names: an entry under a misspelt name would never run, and nothing would say so."""
        settings = {"shifted_tasks": self.cfg.shifted_tasks, "ood_sets": self.cfg.ood_sets}
        for key, value in settings.items():
            if not isinstance(value, dict):
                continue
            for name in value:
                _refuse_unknown(key, name, task_names, "a task of this run", "tasks")

    def check_model_names(self, model_names: Sequence[str]) -> None:
        """`mce_baseline` and `effective_robustness_testbed` name models of the spec (or their
        variants): a name the spec does not define would never be on the board, and mCE or the
        testbed would silently go without it."""
        named = [("mce_baseline", self.cfg.mce_baseline)] if self.cfg.mce_baseline else []
        testbed = self.cfg.effective_robustness_testbed or []
        named += [("effective_robustness_testbed", m) for m in testbed]
        for key, name in named:
            _refuse_unknown(key, name, model_names, "a model of this spec", "models")

    def _load(self, entry: TaskEntry, where: str) -> Task:
        """A shifted or OOD task, loaded once per suite instance (streamed; callers subset it);
        a spec's `source` is relative to the spec file's folder (`bind_spec_folder`)."""
        key = (
            entry
            if isinstance(entry, str)
            else json.dumps(entry.model_dump(mode="json"), sort_keys=True)
        )
        if key not in self._tasks:
            if isinstance(entry, str):
                from harness.config.tasks.catalogue import task_registry

                self._tasks[key] = task_registry().load(entry)()
            else:
                from harness.config.tasks.loader import load_task

                self._tasks[key] = load_task(entry, base_dir=self._base_dir)
            log.info("%s: loaded %s", where, self._tasks[key].name)
        return self._tasks[key]

    def input_fingerprints(self, task: Task) -> dict[str, str]:
        """The fingerprints of the shifted tasks and OOD sets a job on `task` reads: the entries
        that apply to it (`_shifted_entries`, `_ood_entries`: a per-task mapping's entry for
        its name), loaded through `_load` as `run` loads them (once per instance, so `run` reuses
        them). A generated OOD set is wholly in the config (already in the key), and a published
        corrupted set reads neither setting (`_run_published`). Named `<setting>/<entry name>`;
        a name given twice gets `#<n>` (its place in the setting) so neither print is lost."""
        if selection.is_published(task):
            return {}
        entries: list[tuple[str, int, TaskEntry]] = [
            ("shifted_tasks", i, e) for i, e in enumerate(self._shifted_entries(task))
        ]
        entries += [
            ("ood_sets", i, e)
            for i, e in enumerate(self._ood_entries(task))
            if not isinstance(e, GeneratedOOD)
        ]
        prints: dict[str, str] = {}
        for setting, index, entry in entries:
            name = f"{setting}/{_ood_name(entry)}"
            if name in prints:
                name = f"{name}#{index}"
            prints[name] = self._load(entry, f"suites.shift.{setting}").fingerprint
        return prints

    def skip_reason(self, adapter: ModelAdapter, task: Task) -> str | None:
        has_work = bool(self._families(task.modality) and self.cfg.severities)
        has_work = has_work or bool(self._shifted_entries(task) or self._ood_entries(task))
        has_work = has_work or (selection.is_published(task))
        if not has_work:
            return f"no shift conditions configured for {task.modality} task {task.name!r}"
        return None

    # ------------------------------------------------------------------ prediction
    def _predict(
        self,
        adapter: ModelAdapter,
        task: Task,
        inputs: torch.Tensor | list[str],
        ctx: RunContext,
        stage: str,
    ) -> torch.Tensor:
        """Logits (float64, CPU) of inputs, in batches of ctx.batch_size; progress as `stage`."""
        out = []
        for start in range(0, len(inputs), ctx.batch_size):
            chunk = inputs[start : start + ctx.batch_size]
            if isinstance(chunk, torch.Tensor):
                chunk = chunk.to(adapter.device)
            logits = adapter.logits(chunk)
            check_logits(logits, num_classes=task.num_classes, model=adapter.name, task=task.name)
            out.append(logits.detach().double().cpu())
            if ctx.progress is not None:
                ctx.progress(len(chunk), stage)
        return torch.cat(out) if out else torch.zeros(0, task.num_classes, dtype=torch.float64)

    def _rows(
        self,
        ids: Sequence[str] | np.ndarray,
        labels: np.ndarray,
        logits: torch.Tensor,
        condition: str | np.ndarray,
        *,
        keep_logits: bool = False,
    ) -> dict[str, Any]:
        """One block of table rows; `keep_logits` adds the top logits (clean and OOD rows)."""
        probs = torch.softmax(logits, dim=1)
        prediction = probs.argmax(dim=1).numpy()
        conditions = (
            np.full(len(ids), condition, dtype=object) if isinstance(condition, str) else condition
        )
        rows: dict[str, Any] = {
            "sample_id": np.asarray(list(ids), dtype=object),
            "condition": conditions,
            "label": np.asarray(labels, dtype=np.int64),
            "prediction": prediction,
            "correct": prediction == labels,
            "confidence": probs.max(dim=1).values.numpy(),
            **ood.score_columns(logits, self.cfg.energy_temperature),
        }
        if keep_logits:
            top = ood.logit_columns(logits)
            rows["top_logits"] = [v.tolist() for v in top["top_logits"]]
            rows["top_classes"] = [v.tolist() for v in top["top_classes"]]
            rows["logsumexp"] = top["logsumexp"]
        return rows

    def _task_rows(
        self,
        adapter: ModelAdapter,
        task: Task,
        source: Task,
        condition: str,
        ctx: RunContext,
        *,
        keep_logits: bool = False,
    ) -> dict[str, Any]:
        """Rows of every sample of `source` (a shifted task or an OOD set), streamed in batches;
        the model is `task`'s (its classes)."""
        blocks = [
            self._rows(
                batch.sample_ids,
                batch.labels.numpy(),
                self._predict(adapter, task, batch.inputs, ctx, condition),
                condition,
                keep_logits=keep_logits,
            )
            for batch in source.batches(_step(ctx))
        ]
        return _join(blocks) if blocks else self._empty_rows(task, condition, keep_logits)

    def _empty_rows(self, task: Task, condition: str, keep_logits: bool) -> dict[str, Any]:
        empty = torch.zeros(0, task.num_classes, dtype=torch.float64)
        return self._rows(
            [], np.zeros(0, dtype=np.int64), empty, condition, keep_logits=keep_logits
        )

    def _perturbed(
        self,
        task: Task,
        family: str,
        severity: int,
        ctx: RunContext,
        batch: Batch,
        start: int,
        stats: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> torch.Tensor | list[str]:
        """A batch's perturbed inputs, from the instance cache when another model made them."""
        key = (task.fingerprint, family, severity, ctx.seed, start, len(batch))
        hit = self._inputs.get(key)
        if hit is not None:
            self._inputs.move_to_end(key)
            return hit[1]
        seeds = sample_seeds(ctx.seed, batch.sample_ids, task.modality, family, severity)
        recycled = self._recycled(batch.inputs) if task.modality == "image" else None
        out = perturbations.apply(
            batch.inputs, family, severity, seeds, task, stats=stats, out=recycled
        )
        self._cache(key, batch.sample_ids, out)
        return out

    def _recycled(self, inputs: torch.Tensor | list[str]) -> torch.Tensor | None:
        """The spare buffer (the last corrupted batch evicted from the cache) when `corrupt` can
        write into it for `inputs` (`fits_out`), handed out once; else None.

        On the CPU every output of 32 MB or more is otherwise mapped and faulted in afresh (glibc
        maps such allocations anew each time): at the suite's 256-image step at 224 px, writing
        into a recycled buffer took 0.45-0.81x the time of a fresh output for pixelate,
        saturate, brightness, fog and gaussian noise (`benchmarks/bench_shift_apply.py`; JPEG,
        whose output is made inside it, the same), the whole sweep 0.89-0.92x
        (`benchmarks/bench_shift_suite.py`; docs/shift.md). An
        evicted batch is no longer handed out by the cache, and each model's sweep is done with
        a batch before it asks for the next, so nothing reads the buffer's old values again."""
        spare, self._spare = self._spare, None
        if spare is None or not isinstance(inputs, torch.Tensor):
            return None
        return spare if fits_out(spare, inputs) else None

    def _cache(
        self, key: tuple[Any, ...], sample_ids: list[str], inputs: torch.Tensor | list[str]
    ) -> None:
        """Keep `inputs` for the run's other models, evicting the oldest beyond CACHE_BYTES."""
        size = _size(inputs)
        if size > CACHE_BYTES:
            return
        self._inputs[key] = (sample_ids, inputs)
        self._cached_bytes += size
        while self._cached_bytes > CACHE_BYTES:
            _, (_, old) = self._inputs.popitem(last=False)
            self._cached_bytes -= _size(old)
            if isinstance(old, torch.Tensor) and old.dtype == torch.float32:
                self._spare = old

    def _generated(self, entry: GeneratedOOD, task: Task, ctx: RunContext) -> Iterator[Batch]:
        """A generated noise set, one batch at a time (label -1)."""
        from suites import counter_rng

        if task.modality not in ("image", "tabular"):
            raise ConfigError(
                f"suites.shift.ood_sets: generated noise sets are for image and tabular tasks, "
                f"not the {task.modality} task {task.name!r}; name an OOD task instead"
            )
        low, high = task.bounds if task.bounds is not None else (0.0, 1.0)
        shape = tuple(task.input_shape)
        for start in range(0, entry.n, _step(ctx)):
            ids = [
                f"ood-{entry.generated}-{i:05d}"
                for i in range(start, min(entry.n, start + _step(ctx)))
            ]
            seeds = torch.as_tensor(sample_seeds(ctx.seed, ids, "ood", entry.generated))
            if entry.generated == "uniform_noise":
                x = low + (high - low) * counter_rng.uniform(seeds, shape, stream=21)
            else:
                x = (low + high) / 2 + (high - low) / 4 * counter_rng.normal(
                    seeds, shape, stream=22
                )
            yield Batch(ids, x.clamp(low, high), torch.full((len(ids),), UNLABELED))

    # ------------------------------------------------------------------ run
    def run(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        if selection.is_published(task):
            return self._run_published(adapter, task, ctx)
        full_n = len(task)
        task = task.subset(self.cfg.max_samples, seed=ctx.seed, purpose="shift/rows")
        families = self._families(task.modality)
        _check_evaluable(task, families)
        parts = _Parts(tables=[])
        generated = sum(e.n for e in self._ood_entries(task) if isinstance(e, GeneratedOOD))
        parts.plan(ctx, len(task) * (1 + len(families) * len(self.cfg.severities)) + generated)
        clean_rows, cells = self._perturbation_cells(adapter, task, families, ctx, parts)
        clean_correct = clean_rows["correct"]
        parts.metrics += self._clean_metrics(clean_correct, ctx)
        parts.metrics += self._perturbation_metrics(task, cells, clean_correct, ctx, parts)
        for entry in self._shifted_entries(task):
            self._shifted_task(adapter, task, entry, clean_correct, ctx, parts)
        for ood_entry in self._ood_entries(task):
            self._ood_set(adapter, task, ood_entry, clean_rows, ctx, parts)
        parts.notes += self._scope_notes(task, families, full_n)
        gallery = parts.gallery.pop("images", None)
        return SuiteResult(
            table=SampleTable.concat(parts.tables),
            metrics=parts.metrics,
            artifacts=self._artifacts(task, families, parts),
            notes=parts.notes,
            arrays={"gallery_images": gallery} if gallery is not None else {},
        )

    def _run_published(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        """A published corrupted set (cell columns `corruption` and `severity`): each row is
        evaluated as is, streamed in batches, and reported under its cell's condition (and its
        `source_id`, when the task has one); nothing is corrupted again. `max_samples` keeps that
        many images per cell (`Task.subset`: stratified by label and cell, by source image)."""
        full_n = len(task)
        if self.cfg.max_samples is not None:
            n = self.cfg.max_samples * selection.count_cells(task)
            task = task.subset(n, seed=ctx.seed, purpose="shift/rows")
        _check_evaluable(task, [])
        published = selection.published_cells(task)
        if ctx.progress is not None:
            ctx.progress(0, total=len(task))
        blocks, start = [], 0
        for batch in task.batches(_step(ctx)):
            stop = start + len(batch)
            logits = self._predict(adapter, task, batch.inputs, ctx, "published cells")
            blocks.append(
                self._rows(
                    published.table_ids[start:stop],
                    batch.labels.numpy(),
                    logits,
                    published.conditions[start:stop],
                )
            )
            start = stop
        rows = _join(blocks)
        parts = _Parts(tables=[])
        cells: dict[tuple[str, int], np.ndarray] = {}
        for (name, severity), at in published.cells.items():
            block = {k: _take(v, at) for k, v in rows.items()}
            parts.tables.append(SampleTable.build(block))
            cells[(name, severity)] = block["correct"]
            if SOURCE_ID in task.data.column_names:  # else cells pair by position, if at all
                parts.cell_ids[(name, severity)] = block["sample_id"]  # the source ids
        parts.metrics += self._perturbation_metrics(task, cells, None, ctx, parts)
        parts.notes.append(
            f"published corrupted set: {len(cells)} (corruption, severity) cells read from "
            f"the task's cell columns `corruption` / `severity`; no clean rows, so no clean "
            "accuracy (evaluate the clean set as a task of its own)"
        )
        if self._shifted_entries(task) or self._ood_entries(task):
            parts.notes.append(
                "shifted tasks and OOD sets compare with clean rows: not run on a published "
                "corrupted set"
            )
        if len(task) < full_n:
            parts.notes.append(
                subset_note(
                    len(task),
                    full_n,
                    f"max_samples={self.cfg.max_samples} per cell",
                    strata="label and cell",
                )
            )
        return SuiteResult(
            table=SampleTable.concat(parts.tables),
            metrics=parts.metrics,
            artifacts={"n": len(task), "published_cells": [f"{c}/{s}" for c, s in cells]},
            notes=parts.notes,
        )

    def _perturbation_cells(
        self,
        adapter: ModelAdapter,
        task: Task,
        families: list[str],
        ctx: RunContext,
        parts: _Parts,
    ) -> tuple[dict[str, Any], dict[tuple[str, int], np.ndarray]]:
        """Clean rows, and rows of every (family, severity) with each one's per-sample
        correctness, streamed: one batch of clean inputs at a time is read, perturbed and scored.

        An image corruption that changes the inputs by less than `NOOP_MEAN_CHANGE` at every
        severity is not applicable to the task: its rows are dropped, and it is named in
        `parts.not_applicable`.
        """
        sweep = _Sweep(
            stats=perturbations.feature_stats(task) if task.modality == "tabular" else None,
            gallery=self._gallery_rows(task, families, ctx),
        )
        start = 0
        for batch in task.batches(_step(ctx)):
            labels = batch.labels.numpy()
            logits = self._predict(adapter, task, batch.inputs, ctx, CLEAN)
            sweep.clean.append(
                self._rows(batch.sample_ids, labels, logits, CLEAN, keep_logits=True)
            )
            for f_index, family in enumerate(families):
                for s_index, severity in enumerate(self.cfg.severities, start=1):
                    x = self._perturbed(task, family, severity, ctx, batch, start, sweep.stats)
                    sweep.add_change(task, (family, severity), batch.inputs, x)
                    shown = _local(sweep.gallery, start, len(batch))
                    if shown is not None:
                        images = parts.gallery.setdefault(
                            "images", _empty_gallery(task, families, self)
                        )
                        images[f_index, 0, shown[1]] = _tensor(batch.inputs)[shown[0]].numpy()
                        images[f_index, s_index, shown[1]] = _tensor(x)[shown[0]].numpy()
                    condition = f"{_prefix(task)}={family}/severity={severity}"
                    cell_logits = self._predict(adapter, task, x, ctx, condition)
                    block = self._rows(batch.sample_ids, labels, cell_logits, condition)
                    sweep.blocks.setdefault((family, severity), []).append(block)
            start += len(batch)
        clean = _join(sweep.clean)
        parts.tables.append(SampleTable.build(clean))
        cells = self._applicable_cells(task, families, sweep, parts)
        if sweep.gallery is not None:
            parts.gallery.update(
                corruptions=list(families),
                severities=[0, *self.cfg.severities],
                sample_ids=[task.sample_ids[i] for i in sweep.gallery.tolist()],
            )
        return clean, cells

    def _applicable_cells(
        self, task: Task, families: list[str], sweep: _Sweep, parts: _Parts
    ) -> dict[tuple[str, int], np.ndarray]:
        """Each applicable cell's per-sample correctness (its rows added to `parts.tables`); an
        image corruption below `NOOP_MEAN_CHANGE` at every severity goes to `not_applicable`."""
        values = max(len(task) * int(np.prod(task.input_shape)), 1)
        cells: dict[tuple[str, int], np.ndarray] = {}
        for family in families:
            if task.modality == "image":
                mean = max(sweep.change[(family, s)] for s in self.cfg.severities) / values
                if mean < NOOP_MEAN_CHANGE:
                    parts.not_applicable[family] = mean
                    continue
            for severity in self.cfg.severities:
                rows = _join(sweep.blocks[(family, severity)])
                cells[(family, severity)] = rows["correct"]
                parts.tables.append(SampleTable.build(rows))
        return cells

    def _gallery_rows(self, task: Task, families: list[str], ctx: RunContext) -> np.ndarray | None:
        """The rows shown in the corruption gallery (seeded, stratified), or None for none."""
        k = min(self.cfg.gallery_samples, len(task))
        if task.modality != "image" or not families or k == 0:
            return None
        from harness.core.subsets import stratified_indices

        return stratified_indices(
            task.sample_ids, task.labels, k, seed=ctx.seed, purpose="shift/gallery"
        )

    def _shifted_task(
        self,
        adapter: ModelAdapter,
        task: Task,
        entry: TaskEntry,
        clean_correct: np.ndarray,
        ctx: RunContext,
        parts: _Parts,
    ) -> None:
        """Accuracy on a shifted task with the same inputs and labels (a note when it does not
        apply to this task's modality). When it holds the evaluated sample ids, the very same
        ids are evaluated and the gap is paired."""
        whole = self._load(entry, "suites.shift.shifted_tasks")
        if whole.modality != task.modality:
            parts.notes.append(
                f"shifted task {whole.name!r} ({whole.modality}) does not apply to {task.modality} task {task.name!r}"
            )
            return
        if (
            tuple(whole.input_shape) != tuple(task.input_shape)
            or whole.num_classes != task.num_classes
        ):
            raise DatasetError(
                f"suites.shift.shifted_tasks: task {whole.name!r} has input shape {tuple(whole.input_shape)} "
                f"and {whole.num_classes} classes, but task {task.name!r} has {tuple(task.input_shape)} and "
                f"{task.num_classes}; a shifted task needs the same input shape and label space"
                + _entry_shape_advice(entry, whole, task, "shifted task")
            )
        other = selection.same_rows(whole, task.sample_ids)
        paired = other is not None
        if other is None:
            other = whole.subset(self.cfg.max_samples, seed=ctx.seed, purpose="shift/rows")
        parts.plan(ctx, len(other))
        rows = self._task_rows(adapter, task, other, f"shifted={other.name}", ctx)
        parts.tables.append(SampleTable.build(rows))
        parts.metrics += self._shift_metrics(
            other.name, clean_correct, rows["correct"], ctx, paired=paired
        )

    def _ood_set(
        self,
        adapter: ModelAdapter,
        task: Task,
        entry: OODEntry,
        clean_rows: dict[str, Any],
        ctx: RunContext,
        parts: _Parts,
    ) -> None:
        """OOD scores of a generated or loaded set against the clean split's (label -1; an OOD
        set needs no labels), streamed in batches."""
        name = _ood_name(entry)
        condition = f"ood={name}"
        if isinstance(entry, GeneratedOOD):
            blocks = [
                self._rows(
                    b.sample_ids,
                    b.labels.numpy(),
                    self._predict(adapter, task, b.inputs, ctx, condition),
                    condition,
                    keep_logits=True,
                )
                for b in self._generated(entry, task, ctx)
            ]
            rows = _join(blocks)
        else:
            whole = self._load(entry, "suites.shift.ood_sets")
            if whole.modality != task.modality:
                parts.notes.append(
                    f"OOD set {name!r} ({whole.modality}) does not apply to {task.modality} task {task.name!r}"
                )
                return
            if tuple(whole.input_shape) != tuple(task.input_shape):
                raise DatasetError(
                    f"suites.shift.ood_sets: OOD set {name!r} has input shape {tuple(whole.input_shape)} "
                    f"but task {task.name!r} has input shape {tuple(task.input_shape)}; the model can "
                    "only score inputs of its task's shape"
                    + _entry_shape_advice(entry, whole, task, "OOD set")
                )
            other = whole.subset(self.cfg.max_samples, seed=ctx.seed, purpose="shift/ood")
            parts.plan(ctx, len(other))
            rows = self._task_rows(adapter, task, other, condition, ctx, keep_logits=True)
        rows["label"] = np.full(len(rows["sample_id"]), UNLABELED, dtype=np.int64)
        rows["correct"] = np.zeros(len(rows["sample_id"]), dtype=bool)
        parts.tables.append(SampleTable.build(rows))
        parts.metrics += self._ood_metrics(name, clean_rows, rows, ctx)

    def _scope_notes(self, task: Task, families: list[str], full_n: int) -> list[str]:
        notes = []
        if len(task) < full_n:
            notes.append(subset_note(len(task), full_n, f"max_samples={self.cfg.max_samples}"))
        if task.modality == "tabular" and task.train is None and families:
            notes.append(
                "tabular shifts use evaluation-split feature statistics (the task has no train split)"
            )
        return notes

    def _artifacts(self, task: Task, families: list[str], parts: _Parts) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n": len(task),
            "severities": list(self.cfg.severities),
            "families": families,
            "cache": {
                "entries": len(self._inputs),
                "bytes": self._cached_bytes,
                "limit_bytes": CACHE_BYTES,
            },
        }
        if task.modality == "image" and families:
            out["not_applicable"] = {
                name: {"max_mean_change_x255": round(change * 255, 4)}
                for name, change in parts.not_applicable.items()
            }
            out["noop_rule"] = (
                "not applicable: mean |corrupted - clean| below 0.5/255 at every severity"
            )
        if parts.gallery:
            out["corruption_gallery"] = dict(parts.gallery)
        return out

    # ------------------------------------------------------------------ metrics
    def _record(self, name: str, value: float | None, n: int, **kw: Any) -> MetricRecord:
        ci = kw.pop("ci", None)
        method = kw.pop("ci_method", CI_METHOD)
        return spec_record(
            self.metric_spec(name),
            suite=self.name,
            value=value,
            n=n,
            ci=ci,
            ci_method=method if ci else None,
            **kw,
        )

    def _clean_metrics(self, correct: np.ndarray, ctx: RunContext) -> list[MetricRecord]:
        c = correct.astype(np.float64)
        ci = wilson_ci(float(c.sum()), len(c))  # a proportion: Wilson (harness.analysis.intervals)
        return [self._record("clean_acc", float(c.mean()), len(c), ci=ci, ci_method=WILSON_METHOD)]

    def _perturbation_metrics(
        self,
        task: Task,
        cells: dict[tuple[str, int], np.ndarray],
        clean_correct: np.ndarray | None,
        ctx: RunContext,
        parts: _Parts,
    ) -> list[MetricRecord]:
        n = len(clean_correct) if clean_correct is not None else len(next(iter(cells.values()), []))
        prefix, cell_metric, mean_metric = {
            "image": ("corruption", "corruption_acc", "mean_corruption_acc"),
            "tabular": ("tabular", "tabular_shift_acc", "mean_tabular_shift_acc"),
            "text": ("text", "text_shift_acc", "mean_text_shift_acc"),
        }[task.modality]
        records = [
            self._record(
                "corruption_error",
                None,
                n,
                condition=f"corruption={name}",
                note=(
                    f"not applicable: changes the inputs by at most {change * 255:.3f}/255 on "
                    "average at every severity (below 0.5/255), so it is left out of every mean"
                ),
            )
            for name, change in parts.not_applicable.items()
        ]
        if not cells:
            return records
        families = list(dict.fromkeys(f for f, _ in cells))
        for family in families:
            per_family = []
            for (f, s), correct in cells.items():
                if f != family:
                    continue
                acc = float(correct.mean())
                per_family.append(acc)
                records.append(
                    self._record(
                        cell_metric, acc, len(correct), condition=f"{prefix}={f}/severity={s}"
                    )
                )
            mean_acc = float(np.mean(per_family))
            if task.modality == "image":
                records.append(
                    self._record(
                        "corruption_error", 1.0 - mean_acc, n, condition=f"corruption={family}"
                    )
                )
            else:
                records.append(
                    self._record(cell_metric, mean_acc, n, condition=f"{prefix}={family}")
                )
        records += self._mean_records(task, cells, clean_correct, ctx, mean_metric, parts)
        return records

    def _mean_records(
        self,
        task: Task,
        cells: dict[tuple[str, int], np.ndarray],
        clean_correct: np.ndarray | None,
        ctx: RunContext,
        mean_metric: str,
        parts: _Parts,
    ) -> list[MetricRecord]:
        """The mean over every applicable cell and the relative drop (`intervals.cell_mean`:
        Wilson at Kish's effective n over the source images, and a MOVER interval of the drop).

        On-the-fly cells hold the task's rows in order; a published set's cells are matched by
        the source id of each row (`parts.cell_ids`), so cells of unequal size get the same
        estimator and interval (the mean of the cells' accuracies)."""
        note = None
        if parts.not_applicable:
            note = "not applicable (left out): " + ", ".join(parts.not_applicable)
        ids = [parts.cell_ids[c] for c in cells] if parts.cell_ids else None
        if ids is None and len({len(c) for c in cells.values()}) != 1:
            # a published set without source ids and with unequal cells: no way to pair rows
            value = float(np.mean([c.mean() for c in cells.values()]))
            n = min(len(c) for c in cells.values())
            why = "cells differ in size and name no source image: no interval"
            return [self._record(mean_metric, value, n, note=f"{note}; {why}" if note else why)]
        mean = cell_mean(list(cells.values()), ids)
        records = [
            self._record(
                mean_metric,
                mean.value,
                mean.clusters,
                ci=mean.ci,
                ci_method=CELL_MEAN_METHOD,
                note=note,
            )
        ]
        if task.modality != "image" or clean_correct is None:
            return records
        drop, drop_ci = relative_drop(mean, clean_correct)
        records.append(
            self._record(
                "relative_corruption_drop",
                drop,
                mean.clusters,
                ci=drop_ci,
                ci_method=RATIO_METHOD,
                note=note if drop is not None else "clean accuracy is 0",
            )
        )
        return records

    def _shift_metrics(
        self,
        name: str,
        clean_correct: np.ndarray,
        shifted_correct: np.ndarray,
        ctx: RunContext,
        *,
        paired: bool,
    ) -> list[MetricRecord]:
        c = clean_correct.astype(np.float64)
        s = shifted_correct.astype(np.float64)
        condition = f"shifted={name}"
        acc_ci = wilson_ci(float(s.sum()), len(s))
        # A difference of two proportions: Newcombe's score intervals, which never collapse to
        # [0, 0] when every sample agrees (a bootstrap of the differences did: 24 ids correct on
        # both sides gave a certain gap of 0). Paired when the ids are the same (Newcombe 1998b,
        # method 10, with the pairs' correlation), else the hybrid interval of two independent
        # proportions.
        if paired:
            both = int(np.sum((c == 1) & (s == 1)))
            clean_only = int(np.sum((c == 1) & (s == 0)))
            shifted_only = int(np.sum((c == 0) & (s == 1)))
            gap_ci = newcombe_paired(
                both, clean_only, shifted_only, len(c) - both - clean_only - shifted_only
            )
            gap_method = "Newcombe's square-and-add interval for paired proportions, 95%"
        else:
            lo, hi = newcombe_difference(float(c.sum()), len(c), float(s.sum()), len(s))
            gap_ci = (float(lo), float(hi)) if np.isfinite(lo) and np.isfinite(hi) else None
            gap_method = "Newcombe's hybrid score interval of two independent proportions, 95%"
        pairing = (
            "paired over the same sample ids"
            if paired
            else "unpaired: the shifted task has other sample ids"
        )
        return [
            self._record(
                "shift_acc",
                float(s.mean()),
                len(s),
                condition=condition,
                ci=acc_ci,
                ci_method=WILSON_METHOD,
            ),  # fmt: skip
            self._record(
                "shift_acc_gap",
                float(c.mean() - s.mean()),
                len(s),
                condition=condition,
                ci=gap_ci,
                ci_method=gap_method,
                context={"n_clean": len(c)},
                note=f"clean minus shifted accuracy, {pairing}",
            ),
        ]

    def _ood_metrics(
        self, name: str, clean_rows: dict[str, Any], ood_rows: dict[str, Any], ctx: RunContext
    ) -> list[MetricRecord]:
        records = []
        n = len(clean_rows["msp"]) + len(ood_rows["msp"])
        values = {"ood_auroc": ood.auroc, "ood_aupr": ood.aupr, "ood_fpr_at_95_tpr": ood.fpr_at_tpr}
        for score in ood.SCORES:
            s_in, s_out = ood.score_values(clean_rows, score), ood.score_values(ood_rows, score)
            cis = ood.detection_cis(
                s_in, s_out, seed=ctx.seed, name=f"shift/{name}/{score}",
                resamples=ctx.bootstrap_resamples,
            )  # fmt: skip
            for metric, fn in values.items():
                record = self._record(
                    metric, fn(s_in, s_out), n, condition=f"ood={name}", context={"score": score}
                )
                ci = cis[metric]
                records.append(replace(record, ci=ci, ci_method=METHODS[metric] if ci else None))
        return records
