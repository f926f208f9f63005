"""Python API: evaluate a model on a task with some suites, in-process, without a results folder.

import harness
result = harness.evaluate(my_module, task="digits", suites=["accuracy"])
result.table.to_pandas()      # per-sample rows (sample_id, condition, label, prediction...)
result.metrics_frame()        # one row per metric with value, ci and n
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
import torch

from harness.config.plan import model_plan, suite_registry, task_plan
from harness.config.spec import ModelSpec, TaskSpec
from harness.core.adapter import MinimalAdapter, ModelAdapter, check_fits_task, with_default_hooks
from harness.core.errors import HarnessError
from harness.core.metric_record import MetricRecord
from harness.core.model_calls import CheckedAdapter
from harness.core.sample_table import SampleTable
from harness.core.suite import RunContext, SuiteResult
from harness.core.task import Task
from harness.run.environment import resolve_device
from harness.run.model_adapter import build_model_adapter


@dataclass(frozen=True)
class EvaluationResult:
    """Per-suite results of one model on one task."""

    model: str
    task: str
    results: dict[str, SuiteResult] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> SampleTable:
        """All suites' per-sample rows, with a `suite` column."""
        frames = [
            r.table.frame.assign(suite=name)
            for name, r in self.results.items()
            if r.table is not None
        ]
        if not frames:
            raise HarnessError("no suite produced results (all were skipped)")
        return SampleTable(pd.concat(frames, ignore_index=True))

    @property
    def metrics(self) -> list[MetricRecord]:
        return [m for r in self.results.values() for m in r.metrics]

    def metrics_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{**m.to_dict(), "key": m.key} for m in self.metrics])

    def metric(self, key: str) -> MetricRecord:
        for m in self.metrics:
            if m.key == key:
                return m
        raise KeyError(f"no metric {key!r}; have {sorted({m.key for m in self.metrics})[:20]}")


def _resolve_task(task: str | Task | Mapping[str, Any], base_dir: Path) -> Task:
    if isinstance(task, Task):
        return task
    if isinstance(task, str):  # a catalogue task, with its declared headline threat model
        return task_plan(task, base_dir).load()
    from harness.config.tasks.loader import load_task

    loaded = load_task(TaskSpec.model_validate(dict(task)), base_dir=base_dir)
    if not loaded.labeled:
        raise HarnessError(
            f"task {loaded.name!r} is unlabeled (label_column: null): models cannot be scored on "
            "it; use it as an OOD set (suites.shift.ood_sets) or give its label column"
        )
    return loaded


def _resolve_adapter(model: Any, task: Task, device: torch.device, base_dir: Path) -> ModelAdapter:
    from adapters.torch_module import TorchModuleAdapter

    if isinstance(model, torch.nn.Module):
        return TorchModuleAdapter.from_module(
            model,
            name=type(model).__name__,
            device=device,
            bounds=task.bounds or (0.0, 1.0),
            input_shape=task.input_shape,
            modality=task.modality,
        )
    if isinstance(model, str):
        entry: str | ModelSpec = model  # a zoo name; model_plan refuses unknown names
    elif isinstance(model, Mapping):
        entry = ModelSpec.model_validate(dict(model))
    elif isinstance(model, MinimalAdapter):
        return with_default_hooks(model)
    else:
        raise HarnessError(
            f"cannot evaluate a {type(model).__name__}; pass an nn.Module, a model adapter, "
            "a zoo model name or a model spec mapping"
        )
    return build_model_adapter(model_plan(entry, 0, base_dir), device=device, base_dir=base_dir)


def evaluate(
    model: Any,
    *,
    task: str | Task | Mapping[str, Any],
    suites: Iterable[str] | Mapping[str, Mapping[str, Any] | None] = ("accuracy",),
    seed: int = 0,
    device: str = "auto",
    batch_size: int = 256,
    limit: int | None = None,
    bootstrap_resamples: int = 1000,
    base_dir: Path | None = None,
) -> EvaluationResult:
    """Run suites on one model and task and return the results in memory."""
    base = base_dir or Path.cwd()
    dev = resolve_device(device)
    the_task = _resolve_task(task, base).subset(limit, seed=seed, purpose="limit", per_source=True)
    adapter = _resolve_adapter(model, the_task, dev, base)
    configs = dict(suites) if isinstance(suites, Mapping) else {name: None for name in suites}
    registry = suite_registry()
    ctx = RunContext(
        seed=seed, device=dev, batch_size=batch_size, bootstrap_resamples=bootstrap_resamples
    )
    check_fits_task(adapter, the_task)
    out = EvaluationResult(model=adapter.name, task=the_task.name)
    for name, config in configs.items():
        suite = registry.load(name)(config or {})
        suite.bind_spec_folder(base)
        suite.check_task_names([the_task.name])
        reason = suite.skip_reason(adapter, the_task)
        if reason is not None:
            out.skipped[name] = reason
            continue
        result = suite.run(CheckedAdapter(adapter, the_task), the_task, ctx)  # one-line failures
        out.results[name] = SuiteResult(
            table=result.table.with_groups(the_task.groups()) if result.table is not None else None,
            metrics=result.metrics,
            artifacts=result.artifacts,
            notes=result.notes,
            arrays=result.arrays,
        )
    return out
