"""The run spec: YAML validated into typed objects; every error names its key path.

A spec names tasks, models and suites (by registered name, or inline), plus the run settings.
Unknown keys are errors. Model entries carry adapter-specific fields that the adapter's own
config model validates, so a typo in `weigths:` is caught before anything runs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from harness.core.errors import SpecError
from harness.core.validation import format_validation_error

MAX_SPEC_BYTES = 1 << 20  # a spec is a short text; refuse megabyte YAML (and alias bombs)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ImageTransformName = Literal["imagenet-eval"]
Size = Annotated[int, Field(ge=1, le=1 << 15)]


class TaskSpec(StrictModel):
    """An inline task: a hub dataset (`hf:<id>`) or local files, and how to read them
    (every key is described in docs/tasks.md)."""

    name: str = Field(pattern=NAME_PATTERN)
    source: str = Field(
        description="'hf:<dataset id>', a .parquet/.csv/.json(l) file or a folder of them, an "
        "image folder, or a CIFAR-10-C / ImageNet-C folder"
    )
    split: str = "test"
    train_split: str | None = None
    train_source: str | None = Field(
        default=None, description="the training split from another file or folder"
    )
    revision: str | None = None
    subset: str | None = None
    modality: Literal["image", "tabular", "text"]
    input_column: str | None = None
    feature_columns: list[str] | None = Field(
        default=None,
        description="tabular: the feature columns, in order (default: every column except the "
        "label, id and group columns)",
    )
    label_column: str | None = Field(
        default="label", description="null: an unlabeled set (usable only as an OOD set)"
    )
    id_column: str | None = None
    group_columns: list[str] = Field(default_factory=list)
    group_bins: dict[str, list[float]] = Field(default_factory=dict)
    # readable labels of group values for reports: {column: {value: label}}, in display order
    group_labels: dict[str, dict[str, str]] = Field(default_factory=dict)
    num_classes: int | None = Field(default=None, ge=2)
    class_names: list[str] | None = None
    input_shape: list[int] | None = None
    bounds: tuple[float, float] | None = None
    feature_bounds: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="tabular: declared (low, high) per feature; others come from the data",
    )
    transform: ImageTransformName | None = Field(
        default=None, description="imagenet-eval: resize shorter side 256, center crop 224, RGB"
    )
    resize: Size | tuple[Size, Size] | None = Field(
        default=None, description="resize images: shorter side N, or [height, width]"
    )
    center_crop: Size | tuple[Size, Size] | None = Field(
        default=None, description="center-crop images to N x N or [height, width]"
    )
    channels: Literal[1, 3] | None = Field(
        default=None, description="decode images as grey (1) or RGB (3); default: the first image's"
    )
    corruptions: list[str] | None = Field(
        default=None, description="CIFAR-10-C / ImageNet-C: the corruptions to load (default all)"
    )
    severities: list[Annotated[int, Field(ge=1, le=5)]] | None = Field(
        default=None, description="CIFAR-10-C / ImageNet-C: the severities to load (default 1-5)"
    )

    @model_validator(mode="after")
    def _modality_keys(self) -> TaskSpec:
        if self.modality == "tabular" and self.input_column and self.feature_columns:
            raise ValueError("set feature_columns or input_column (a column of vectors), not both")
        only = {
            "tabular": ("feature_columns", "feature_bounds"),
            "image": (
                "transform",
                "resize",
                "center_crop",
                "channels",
                "corruptions",
                "severities",
            ),
        }
        for modality, keys in only.items():
            used = [k for k in keys if getattr(self, k)] if self.modality != modality else []
            if used:
                raise ValueError(f"{used[0]} is only for {modality} tasks")
        if self.transform is not None and (self.resize or self.center_crop):
            raise ValueError(
                f"transform {self.transform!r} already resizes and crops; drop resize/center_crop "
                "or the transform"
            )
        return self

    @model_validator(mode="after")
    def _bounds(self) -> TaskSpec:
        boxes = {"bounds": self.bounds} if self.bounds is not None else {}
        boxes.update({f"feature_bounds.{f}": box for f, box in self.feature_bounds.items()})
        for key, (low, high) in boxes.items():
            if not low < high:
                raise ValueError(f"{key} must be [low, high] with low < high, got {[low, high]}")
        if self.bounds is not None:
            outside = [
                f
                for f, (lo, hi) in self.feature_bounds.items()
                if lo < self.bounds[0] or hi > self.bounds[1]
            ]
            if outside:
                raise ValueError(
                    f"feature_bounds of {', '.join(outside)} reach outside bounds "
                    f"{list(self.bounds)}; widen bounds or drop it (it is then the features' hull)"
                )
        return self

    @model_validator(mode="after")
    def _group_labels(self) -> TaskSpec:
        unknown = sorted(set(self.group_labels) - set(self.group_columns))
        if unknown:
            raise ValueError(
                f"group_labels names {', '.join(unknown)}, which is not in group_columns; "
                "label the values of a declared group column"
            )
        return self


class ModelSpec(BaseModel):
    """A model: name, adapter kind, the tasks it is for, and adapter-specific fields."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str = Field(pattern=NAME_PATTERN)
    adapter: str = "torch"
    tasks: list[str] | None = None
    description: str = ""
    # compressed variants, each a model `<name>@<variant>` (see docs/variants.md)
    variants: list[str | dict[str, Any]] = Field(default_factory=list)

    def adapter_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ResourceSpec(StrictModel):
    """What one job (or shard) asks the cluster for; GPUs default to 1 when `device: cuda`."""

    cpus_per_job: float = Field(default=1.0, gt=0, le=1024)
    gpus_per_job: float | None = Field(default=None, ge=0, le=64)


class ExecutionSpec(StrictModel):
    """Where and how jobs run (see docs/ray.md). Not part of the spec hash: results are identical
    whichever executor or shard count produced them, so a run resumes across executors."""

    executor: Literal["local", "ray"] = "local"
    address: str | None = Field(
        default=None, description="Ray cluster address; None starts a local one"
    )
    resources: ResourceSpec = Field(default_factory=ResourceSpec)
    shards: int | None = Field(
        default=None, ge=1, le=100_000, description="shards per shardable job"
    )
    shard_size: int | None = Field(
        default=None, ge=1, description="samples per shard (rounded up to whole batches)"
    )
    max_retries: int = Field(
        default=3, ge=0, le=100, description="retries of a unit whose worker died"
    )

    @model_validator(mode="after")
    def _one_sharding(self) -> ExecutionSpec:
        if self.shards is not None and self.shard_size is not None:
            raise ValueError("set either shards or shard_size, not both")
        if self.address is not None and self.executor != "ray":
            raise ValueError("address is only used with executor: ray")
        return self


def _entry_kind(value: Any) -> str:
    """A list entry is a registered name (str) or an inline spec (anything else)."""
    return "name" if isinstance(value, str) else ""


# Validate only the branch the entry's kind selects, so an inline task's error reads
# `tasks.0.source: ...` instead of also listing "not a valid string" and pydantic's union tags
# (the empty tag is dropped from key paths).
_BY_KIND = Discriminator(_entry_kind)


class RunSpec(StrictModel):
    """A whole run: what to evaluate and how."""

    name: str = Field(default="run", pattern=NAME_PATTERN)
    seed: int = Field(default=0, ge=0, lt=2**63)
    device: Literal["cpu", "cuda", "auto"] = "auto"
    batch_size: int = Field(default=256, ge=1, le=1 << 20)
    limit: int | None = Field(default=None, ge=1)
    bootstrap_resamples: int = Field(default=1000, ge=0, le=100_000)
    tasks: list[Annotated[Annotated[str, Tag("name")] | Annotated[TaskSpec, Tag("")], _BY_KIND]] = (
        Field(min_length=1)
    )
    models: list[
        Annotated[Annotated[str, Tag("name")] | Annotated[ModelSpec, Tag("")], _BY_KIND]
    ] = Field(min_length=1)
    suites: dict[str, dict[str, Any] | None] = Field(min_length=1)
    execution: ExecutionSpec | None = None

    @field_validator("models")
    @classmethod
    def _unique_models(cls, models: list[str | ModelSpec]) -> list[str | ModelSpec]:
        _refuse_duplicates([m if isinstance(m, str) else m.name for m in models], "model")
        return models

    @field_validator("tasks")
    @classmethod
    def _unique_tasks(cls, tasks: list[str | TaskSpec]) -> list[str | TaskSpec]:
        _refuse_duplicates([t if isinstance(t, str) else t.name for t in tasks], "task")
        for t in tasks:
            if isinstance(t, TaskSpec) and t.label_column is None:
                raise ValueError(
                    f"task {t.name!r} is unlabeled (label_column: null): models cannot be scored "
                    "on it; use it as an OOD set (suites.shift.ood_sets) or give its label column"
                )
        return tasks

    def spec_hash(self) -> str:
        payload = json.dumps(self.model_dump(mode="json", exclude={"execution"}), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


def _refuse_duplicates(names: list[str], kind: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {kind} name {name!r}; {kind} names must be unique")
        seen.add(name)


def parse_spec_text(text: str, *, source: str) -> RunSpec:
    """Parse and validate YAML text; errors name the file and the key path."""
    if len(text.encode()) > MAX_SPEC_BYTES:
        raise SpecError(
            f"{source}: spec is larger than {MAX_SPEC_BYTES} bytes; is this the right file?"
        )
    try:
        raw = yaml.load(text, Loader=_NoAliasLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise SpecError(f"{source}: malformed YAML{where}: {problem}") from None
    if raw is None:
        raise SpecError(f"{source}: spec is empty; it needs tasks, models and suites")
    if not isinstance(raw, dict):
        raise SpecError(
            f"{source}: spec must be a mapping with tasks, models and suites, got {type(raw).__name__}"
        )
    try:
        return RunSpec.model_validate(raw)
    except ValidationError as err:
        raise SpecError(f"{source}: {format_validation_error(err, prefix='')}") from None


def load_spec(path: Path) -> RunSpec:
    """Read and validate a spec file."""
    if not path.is_file():
        raise SpecError(f"spec file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"cannot read spec file {path}: {err}") from None
    return parse_spec_text(text, source=str(path))


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases: specs never need them, and they enable alias bombs."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in specs", event.start_mark
            )
        return super().compose_node(parent, index)
