"""`shift` suite: image corruptions, tabular/text perturbations, dataset shift and OOD detection.

Conditions in the per-sample table: `clean` (with `msp` and `energy` OOD-score columns),
`corruption=<name>/severity=<s>`, `tabular=<family>/severity=<s>`, `text=<family>/severity=<s>`,
`shifted=<task>` (the shifted task's own sample ids) and `ood=<set>` (label -1: OOD samples have
no label; `msp`/`energy` columns). All randomness derives from (run seed, sample id, family,
severity) through `harness.core.seeding`. Metrics that need several models of a board (mCE, relative
mCE, effective robustness) are computed from the stored records by `harness.analysis.cross_model`.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.analysis.detection import METHODS
from harness.analysis.intervals import (
    CI_METHOD,
    WILSON_METHOD,
    bootstrap_ci,
    bootstrap_indices,
    mean_ci,
    wilson_ci,
)
from harness.config.spec import TaskSpec
from harness.core.adapter import ModelAdapter, check_logits
from harness.core.errors import ConfigError, DatasetError
from harness.core.metric_record import MetricRecord, MetricSpec, spec_record
from harness.core.sample_table import CLEAN, SampleTable
from harness.core.seeding import sample_seeds
from harness.core.suite import RunContext, Suite, SuiteConfig, SuiteResult
from harness.core.task import Task
from suites.shift import ood, perturbations

log = logging.getLogger(__name__)

CACHE_BYTES = 256 * 1024 * 1024
"""Bound on the corrupted inputs a suite instance keeps (LRU) for reuse by the run's other models."""


class GeneratedOOD(BaseModel):
    """A generated OOD set: `n` noise inputs of the task's shape within its bounds."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    generated: Literal["gaussian_noise", "uniform_noise"]
    n: int = Field(default=500, ge=2, le=100_000)


TaskEntry = str | TaskSpec
OODEntry = GeneratedOOD | str | TaskSpec
E = TypeVar("E")


class ShiftConfig(SuiteConfig):
    corruptions: list[str] | Literal["all"] = "all"
    severities: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], min_length=1)
    max_samples: int | None = Field(default=None, ge=1)
    shifted_tasks: list[TaskEntry] | dict[str, list[TaskEntry]] = Field(default_factory=list)
    ood_sets: list[OODEntry] | dict[str, list[OODEntry]] = Field(default_factory=list)
    mce_baseline: str | None = None
    tabular: list[str] | Literal["all"] = "all"
    text: list[str] | Literal["all"] = "all"
    energy_temperature: float = Field(default=1.0, gt=0)

    @field_validator("severities")
    @classmethod
    def _severities(cls, v: list[int]) -> list[int]:
        bad = [s for s in v if s not in perturbations.SEVERITIES]
        if bad:
            raise ValueError(f"severities must be in 1..5, got {bad}")
        if len(set(v)) != len(v):
            raise ValueError(f"severities repeat: {v}")
        return v

    @field_validator("corruptions", "tabular", "text")
    @classmethod
    def _families(cls, v: list[str] | str, info: Any) -> list[str] | str:
        modality = {"corruptions": "image", "tabular": "tabular", "text": "text"}[info.field_name]
        if v == "all":
            return v
        for name in v:
            try:
                perturbations.check(name, 1, modality, where=f"{modality} family")
            except ConfigError as err:
                raise ValueError(str(err)) from None
        if len(set(v)) != len(v):
            raise ValueError(f"names repeat: {v}")
        return v


def _for_task(value: list[E] | dict[str, list[E]], task: Task) -> list[E]:
    """A list setting, or its entry for this task when given per task name."""
    if isinstance(value, dict):
        return list(value.get(task.name, []))
    return list(value)


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


def _tensor(x: torch.Tensor | list[str]) -> torch.Tensor:
    assert isinstance(x, torch.Tensor), "image and tabular perturbations return tensors"
    return x


def _size(inputs: torch.Tensor | list[str]) -> int:
    """Bytes of a tensor, characters of a list of texts."""
    if isinstance(inputs, torch.Tensor):
        return inputs.numel() * inputs.element_size()
    return sum(len(t) for t in inputs)


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


class ShiftSuite(Suite):
    name = "shift"
    version = "3"  # 3: Wilson intervals for accuracies, intervals for OOD detection metrics
    description = (
        "ImageNet-C corruptions, tabular/text perturbations, dataset-shift accuracy gap and "
        "OOD detection (MSP, energy)"
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
        self._tasks: dict[str, Task] = {}

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

    def _load(self, entry: TaskEntry, where: str) -> Task:
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

                self._tasks[key] = load_task(entry, base_dir=Path.cwd())
            log.info("%s: loaded %s", where, self._tasks[key].name)
        return self._tasks[key].head(self.cfg.max_samples)

    def skip_reason(self, adapter: ModelAdapter, task: Task) -> str | None:
        has_work = bool(self._families(task.modality) and self.cfg.severities)
        has_work = has_work or bool(self._shifted_entries(task) or self._ood_entries(task))
        if not has_work:
            return f"no shift conditions configured for {task.modality} task {task.name!r}"
        return None

    # ------------------------------------------------------------------ prediction
    def _predict(
        self, adapter: ModelAdapter, task: Task, inputs: torch.Tensor | list[str], ctx: RunContext
    ) -> torch.Tensor:
        """Logits (float64, CPU) of inputs, in batches of ctx.batch_size."""
        out = []
        for start in range(0, len(inputs), ctx.batch_size):
            chunk = inputs[start : start + ctx.batch_size]
            if isinstance(chunk, torch.Tensor):
                chunk = chunk.to(adapter.device)
            logits = adapter.logits(chunk)
            check_logits(logits, num_classes=task.num_classes, model=adapter.name, task=task.name)
            out.append(logits.detach().double().cpu())
            if ctx.progress is not None:
                ctx.progress(len(chunk))
        return torch.cat(out) if out else torch.zeros(0, task.num_classes, dtype=torch.float64)

    def _rows(
        self, ids: list[str], labels: np.ndarray, logits: torch.Tensor, condition: str
    ) -> dict[str, Any]:
        probs = torch.softmax(logits, dim=1)
        prediction = probs.argmax(dim=1).numpy()
        return {
            "sample_id": np.asarray(ids, dtype=object),
            "condition": np.full(len(ids), condition, dtype=object),
            "label": labels,
            "prediction": prediction,
            "correct": prediction == labels,
            "confidence": probs.max(dim=1).values.numpy(),
            "msp": ood.msp(logits).numpy(),
            "energy": ood.energy(logits, self.cfg.energy_temperature).numpy(),
        }

    def _perturbed(
        self,
        task: Task,
        family: str,
        severity: int,
        ctx: RunContext,
        clean: torch.Tensor | list[str],
    ) -> torch.Tensor | list[str]:
        """The perturbed evaluation inputs, from the instance cache when another model made them."""
        key = (task.fingerprint, family, severity, ctx.seed)
        hit = self._inputs.get(key)
        if hit is not None:
            self._inputs.move_to_end(key)
            return hit[1]
        seeds = sample_seeds(ctx.seed, task.sample_ids, task.modality, family, severity)
        stats = perturbations.feature_stats(task) if task.modality == "tabular" else None
        parts = []
        step = max(ctx.batch_size, 256)
        for start in range(0, len(clean), step):
            parts.append(
                perturbations.apply(
                    clean[start : start + step],
                    family,
                    severity,
                    seeds[start : start + step],
                    task,
                    stats=stats,
                )
            )
        out: torch.Tensor | list[str] = (
            torch.cat([_tensor(p) for p in parts])
            if isinstance(clean, torch.Tensor)
            else [t for p in parts for t in p]
        )
        self._cache(key, task.sample_ids, out)
        return out

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

    def _clean_inputs(self, task: Task) -> torch.Tensor | list[str]:
        if task.modality == "text":
            return [t for b in task.batches(4096) for t in b.inputs]  # type: ignore[union-attr]
        return task.all_inputs()

    def _generated(
        self, entry: GeneratedOOD, task: Task, ctx: RunContext
    ) -> tuple[list[str], torch.Tensor]:
        from suites import counter_rng

        if task.modality not in ("image", "tabular"):
            raise ConfigError(
                f"suites.shift.ood_sets: generated noise sets are for image and tabular tasks, "
                f"not the {task.modality} task {task.name!r}; name an OOD task instead"
            )
        ids = [f"ood-{entry.generated}-{i:05d}" for i in range(entry.n)]
        seeds = torch.as_tensor(sample_seeds(ctx.seed, ids, "ood", entry.generated))
        low, high = task.bounds if task.bounds is not None else (0.0, 1.0)
        shape = tuple(task.input_shape)
        if entry.generated == "uniform_noise":
            x = low + (high - low) * counter_rng.uniform(seeds, shape, stream=21)
        else:
            x = (low + high) / 2 + (high - low) / 4 * counter_rng.normal(seeds, shape, stream=22)
        return ids, x.clamp(low, high)

    # ------------------------------------------------------------------ run
    def run(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        task = task.head(self.cfg.max_samples)
        families = self._families(task.modality)
        _check_evaluable(task, families)
        clean = self._clean_inputs(task)
        clean_logits = self._predict(adapter, task, clean, ctx)
        clean_rows = self._rows(task.sample_ids, task.labels, clean_logits, CLEAN)
        clean_correct = clean_rows["correct"]
        parts = _Parts(tables=[SampleTable.build(clean_rows)])
        cells = self._perturbation_cells(adapter, task, families, clean, ctx, parts)
        parts.metrics += self._clean_metrics(clean_correct, ctx)
        parts.metrics += self._perturbation_metrics(task, cells, clean_correct, ctx)
        for entry in self._shifted_entries(task):
            self._shifted_task(adapter, task, entry, clean_correct, ctx, parts)
        for ood_entry in self._ood_entries(task):
            self._ood_set(adapter, task, ood_entry, clean_rows, ctx, parts)
        parts.notes += self._scope_notes(task, families)
        return SuiteResult(
            table=SampleTable.concat(parts.tables),
            metrics=parts.metrics,
            artifacts=self._artifacts(task, families),
            notes=parts.notes,
        )

    def _perturbation_cells(
        self,
        adapter: ModelAdapter,
        task: Task,
        families: list[str],
        clean: torch.Tensor | list[str],
        ctx: RunContext,
        parts: _Parts,
    ) -> dict[tuple[str, int], np.ndarray]:
        """Rows of every (family, severity), and each one's per-sample correctness."""
        prefix = "corruption" if task.modality == "image" else task.modality
        cells: dict[tuple[str, int], np.ndarray] = {}
        for family in families:
            for severity in self.cfg.severities:
                x = self._perturbed(task, family, severity, ctx, clean)
                logits = self._predict(adapter, task, x, ctx)
                condition = f"{prefix}={family}/severity={severity}"
                rows = self._rows(task.sample_ids, task.labels, logits, condition)
                cells[(family, severity)] = rows["correct"]
                parts.tables.append(SampleTable.build(rows))
        return cells

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
        apply to this task's modality)."""
        other = self._load(entry, "suites.shift.shifted_tasks")
        if other.modality != task.modality:
            parts.notes.append(
                f"shifted task {other.name!r} ({other.modality}) does not apply to {task.modality} task {task.name!r}"
            )
            return
        if (
            tuple(other.input_shape) != tuple(task.input_shape)
            or other.num_classes != task.num_classes
        ):
            raise DatasetError(
                f"suites.shift.shifted_tasks: task {other.name!r} has input shape {tuple(other.input_shape)} "
                f"and {other.num_classes} classes, but task {task.name!r} has {tuple(task.input_shape)} and "
                f"{task.num_classes}; a shifted task needs the same input shape and label space"
            )
        logits = self._predict(adapter, other, self._clean_inputs(other), ctx)
        rows = self._rows(other.sample_ids, other.labels, logits, f"shifted={other.name}")
        parts.tables.append(SampleTable.build(rows))
        parts.metrics += self._shift_metrics(other.name, clean_correct, rows["correct"], ctx)

    def _ood_set(
        self,
        adapter: ModelAdapter,
        task: Task,
        entry: OODEntry,
        clean_rows: dict[str, Any],
        ctx: RunContext,
        parts: _Parts,
    ) -> None:
        """OOD scores of a generated or loaded set against the clean split's (label -1)."""
        name = _ood_name(entry)
        x: torch.Tensor | list[str]
        if isinstance(entry, GeneratedOOD):
            ood_ids, x = self._generated(entry, task, ctx)
        else:
            other = self._load(entry, "suites.shift.ood_sets")
            if other.modality != task.modality:
                parts.notes.append(
                    f"OOD set {name!r} ({other.modality}) does not apply to {task.modality} task {task.name!r}"
                )
                return
            if tuple(other.input_shape) != tuple(task.input_shape):
                raise DatasetError(
                    f"suites.shift.ood_sets: OOD set {name!r} has input shape {tuple(other.input_shape)} "
                    f"but task {task.name!r} has input shape {tuple(task.input_shape)}; the model can "
                    "only score inputs of its task's shape"
                )
            ood_ids, x = other.sample_ids, self._clean_inputs(other)
        logits = self._predict(adapter, task, x, ctx)
        rows = self._rows(list(ood_ids), np.full(len(ood_ids), -1), logits, f"ood={name}")
        rows["correct"] = np.zeros(len(ood_ids), dtype=bool)
        parts.tables.append(SampleTable.build(rows))
        parts.metrics += self._ood_metrics(name, clean_rows, rows, ctx)

    def _scope_notes(self, task: Task, families: list[str]) -> list[str]:
        notes = []
        if self.cfg.max_samples is not None:
            notes.append(
                f"evaluated on the first {len(task)} samples (max_samples={self.cfg.max_samples})"
            )
        if task.modality == "tabular" and task.train is None and families:
            notes.append(
                "tabular shifts use evaluation-split feature statistics (the task has no train split)"
            )
        return notes

    def _artifacts(self, task: Task, families: list[str]) -> dict[str, Any]:
        return {
            "n": len(task),
            "severities": list(self.cfg.severities),
            "families": families,
            "cache": {
                "entries": len(self._inputs),
                "bytes": self._cached_bytes,
                "limit_bytes": CACHE_BYTES,
            },
        }

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
        clean_correct: np.ndarray,
        ctx: RunContext,
    ) -> list[MetricRecord]:
        if not cells:
            return []
        n = len(clean_correct)
        prefix, cell_metric, mean_metric = {
            "image": ("corruption", "corruption_acc", "mean_corruption_acc"),
            "tabular": ("tabular", "tabular_shift_acc", "mean_tabular_shift_acc"),
            "text": ("text", "text_shift_acc", "mean_text_shift_acc"),
        }[task.modality]
        records = []
        families = list(dict.fromkeys(f for f, _ in cells))
        for family in families:
            per_family = []
            for (f, s), correct in cells.items():
                if f != family:
                    continue
                acc = float(correct.mean())
                per_family.append(acc)
                records.append(
                    self._record(cell_metric, acc, n, condition=f"{prefix}={f}/severity={s}")
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
        per_sample = np.mean(np.stack([c.astype(np.float64) for c in cells.values()]), axis=0)
        ci = mean_ci(
            per_sample,
            seed=ctx.seed,
            name=f"shift/{mean_metric}",
            resamples=ctx.bootstrap_resamples,
        )
        mean_acc = float(per_sample.mean())
        records.append(self._record(mean_metric, mean_acc, n, ci=ci))
        if task.modality == "image":
            clean = clean_correct.astype(np.float64)

            def drop(idx: np.ndarray) -> np.ndarray:
                base = clean[idx].mean(axis=1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    return 1.0 - per_sample[idx].mean(axis=1) / base

            clean_acc = float(clean.mean())
            value = 1.0 - mean_acc / clean_acc if clean_acc > 0 else None
            ci = bootstrap_ci(
                drop,
                n,
                seed=ctx.seed,
                name="shift/relative_corruption_drop",
                resamples=ctx.bootstrap_resamples,
            )
            records.append(
                self._record(
                    "relative_corruption_drop",
                    value,
                    n,
                    ci=ci if value is not None else None,
                    note=None if value is not None else "clean accuracy is 0",
                )
            )
        return records

    def _shift_metrics(
        self, name: str, clean_correct: np.ndarray, shifted_correct: np.ndarray, ctx: RunContext
    ) -> list[MetricRecord]:
        c = clean_correct.astype(np.float64)
        s = shifted_correct.astype(np.float64)
        condition = f"shifted={name}"
        acc_ci = wilson_ci(float(s.sum()), len(s))
        gap_ci = None
        if len(c) >= 2 and len(s) >= 2 and ctx.bootstrap_resamples > 0:
            # independent samples: resample each side on its own
            ic = bootstrap_indices(
                len(c),
                resamples=ctx.bootstrap_resamples,
                seed=ctx.seed,
                name=f"shift/gap-clean/{name}",
            )
            is_ = bootstrap_indices(
                len(s),
                resamples=ctx.bootstrap_resamples,
                seed=ctx.seed,
                name=f"shift/gap-shifted/{name}",
            )
            gaps = c[ic].mean(axis=1) - s[is_].mean(axis=1)
            lo, hi = np.quantile(gaps, [0.025, 0.975])
            gap_ci = (float(lo), float(hi))
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
                context={"n_clean": len(c)},
            ),
        ]

    def _ood_metrics(
        self, name: str, clean_rows: dict[str, Any], ood_rows: dict[str, Any], ctx: RunContext
    ) -> list[MetricRecord]:
        records = []
        n = len(clean_rows["msp"]) + len(ood_rows["msp"])
        values = {"ood_auroc": ood.auroc, "ood_aupr": ood.aupr, "ood_fpr_at_95_tpr": ood.fpr_at_tpr}
        for score in ood.SCORES:
            s_in, s_out = clean_rows[score], ood_rows[score]
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
