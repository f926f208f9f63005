"""The model adapter contract: how suites see any model (torch, Hugging Face, ONNX, sklearn...).

Normalisation lives inside the adapter, so suites always feed raw inputs within `input_spec.bounds`
and attacks and corruptions work in input space. Suites read `capabilities` to pick a white-box or
black-box path, or to skip with a stated reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from pydantic import BaseModel

from harness.core.errors import ModelOutputError


@dataclass(frozen=True, kw_only=True)
class InputSpec:
    """What the model takes: per-sample shape (None: whatever the task gives), dtype, bounds."""

    shape: tuple[int, ...] | None
    dtype: str = "float32"
    bounds: tuple[float, float] | None = (0.0, 1.0)
    modality: str = "image"


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What a suite may ask of the model."""

    gradients: bool  # module() returns a differentiable torch module (white-box attacks)
    batching: bool = True
    devices: tuple[str, ...] = ("cpu",)


@runtime_checkable
class ModelAdapter(Protocol):
    """A model as the suites see it. `logits` takes raw inputs in bounds, returns (B, classes)."""

    name: str
    input_spec: InputSpec
    capabilities: Capabilities
    device: torch.device

    def logits(self, inputs: torch.Tensor | list[str]) -> torch.Tensor: ...

    def module(self) -> torch.nn.Module: ...

    def describe(self) -> dict[str, Any]: ...

    def identity(self) -> str: ...


class AdapterFactory(Protocol):
    """A registered adapter kind: validates its part of a model spec and builds adapters."""

    kind: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]

    @classmethod
    def build(
        cls, *, name: str, config: BaseModel, device: torch.device, base_dir: Path
    ) -> ModelAdapter: ...


def check_logits(logits: torch.Tensor, *, num_classes: int, model: str, task: str) -> None:
    """Refuse outputs that do not fit the task: wrong shape or width, NaN or inf values."""
    if logits.ndim != 2:
        raise ModelOutputError(
            f"model {model!r} returned logits of shape {tuple(logits.shape)} on task {task!r}; "
            "expected (batch, num_classes)"
        )
    if logits.shape[1] != num_classes:
        raise ModelOutputError(
            f"model {model!r} outputs {logits.shape[1]} classes but task {task!r} has "
            f"{num_classes}; pair the model with a task of the same label space"
        )
    if not torch.isfinite(logits).all():
        bad = int((~torch.isfinite(logits)).any(dim=1).sum())
        raise ModelOutputError(
            f"model {model!r} returned NaN or inf logits for {bad} sample(s) of task {task!r}"
        )


def check_fits_task(adapter: ModelAdapter, task: Any) -> None:
    """Refuse a model/task pairing that cannot work, before any suite runs.

    Checks the declared input shape and modality against the task, then the adapter's own
    `check_task(task)` when it has one (label mapping, ONNX input names...).
    """
    spec = adapter.input_spec
    if spec.shape is not None and task.input_shape and tuple(spec.shape) != tuple(task.input_shape):
        raise ModelOutputError(
            f"model {adapter.name!r} takes inputs of shape {list(spec.shape)} but task "
            f"{task.name!r} provides {list(task.input_shape)}"
        )
    own_check = getattr(adapter, "check_task", None)
    if callable(own_check):
        own_check(task)
