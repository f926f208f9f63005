"""The variant adapter: builds the parent model, applies the recipe, and reports size and lineage.

`describe()` (stored in every job.json as `model_description`) records `parent`, `variant`, size
on disk, parameter and nonzero counts and the parent's, so comparisons need no weights. When the
recipe cannot apply, `unavailable_reason` says why and the runner records each job as skipped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict, SkipValidation

from harness.adapters.base import AdapterBase, frozen
from harness.adapters.binary_logit import BINARY_LOGIT
from harness.adapters.features import FeatureTap
from harness.adapters.variants.build import build_variant
from harness.adapters.variants.size import model_size
from harness.config.variants import Variant, parse_variant
from harness.core.adapter import Capabilities, Features, FeaturesUnavailable, ModelAdapter
from harness.core.errors import ConfigError, ModelLoadError
from harness.core.task_columns import TaskColumns

# bump when a recipe changes what a variant is (part of the identity); 2: int8 per sample; 3:
# parametrized weights baked before int8 and pruning (such variants were skipped or failed)
BUILD_VERSION = "3"


class VariantConfig(BaseModel):
    """What the plan hands the runner: the parent's adapter kind and validated config, the recipe."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    parent: str
    parent_adapter: SkipValidation[Any]  # the parent's adapter class (has .build)
    parent_config: SkipValidation[BaseModel]
    variant: dict[str, Any]  # Variant.to_dict()


class VariantAdapter(AdapterBase):
    """A compressed copy of a torch-module model; black-box when its layers lose gradients."""

    kind: ClassVar[str] = "variant"
    config_model: ClassVar[type[BaseModel]] = VariantConfig

    def __init__(
        self, name: str, parent: ModelAdapter, variant: Variant, *, device: torch.device
    ) -> None:
        parent_identity = parent.identity()
        base = parent.describe()
        net = parent.module() if parent.capabilities.gradients else None
        network: torch.nn.Module | None = None
        size: dict[str, object] | None = None
        parent_size: dict[str, object] | None = None
        if not isinstance(net, torch.nn.Module):
            unavailable: str | None = (
                f"variant {variant.name} needs a torch module; parent {parent.name!r} "
                f"(adapter {base.get('adapter')}) exposes none"
            )
            gradients, notes, details = False, [], {}
        else:
            built = build_variant(
                net.cpu(), variant, model=parent.name, input_shape=parent.input_spec.shape
            )
            net.to(parent.device)
            unavailable = built.unavailable
            gradients, notes, details = built.gradients, built.notes, built.details
            if built.module is not None:
                # dynamic quantized kernels are CPU-only
                device = torch.device("cpu") if variant.kind == "int8" else device
                network = frozen(built.module, device)
                size = model_size(network).to_dict()
            parent_size = model_size(net).to_dict()
        # Dynamic int8 quantization scales activations over the whole batch, so a batched
        # prediction depends on the other samples in the batch. Evaluate one sample at a time:
        # results stay per-sample, independent of batch size, sharding and attack batches.
        per_sample = variant.kind == "int8" and unavailable is None
        if per_sample:
            notes = [
                *notes,
                "evaluated one sample at a time: dynamic int8 quantization computes activation "
                "scales per batch, so batched predictions would depend on the batch's other samples",
            ]
        description = {
            **base,
            "adapter": self.kind,
            "parent": parent.name,
            "parent_adapter": base.get("adapter"),
            "variant": variant.name,
            "variant_recipe": variant.to_dict(),
            "gradients": gradients,
            "variant_notes": notes,
            "variant_details": details,
            "unavailable_reason": unavailable,
            **(size or {"size_bytes": None, "parameters": None, "nonzero_parameters": None}),
            **_parent_size(parent_size),
            **_dtype(variant),
        }
        super().__init__(
            name,
            device=device,
            input_spec=parent.input_spec,
            capabilities=Capabilities(
                gradients=gradients,
                batching=not per_sample,
                devices=("cpu",) if variant.kind == "int8" else parent.capabilities.devices,
                probabilities=parent.capabilities.probabilities,
            ),
            description=description,
        )
        self.variant = variant
        self.unavailable_reason = unavailable
        self._features_path = getattr(parent, "features_path", None)
        self._binary = base.get("outputs") == BINARY_LOGIT  # the parent's one logit per input
        self._tap: FeatureTap | None = None
        self._parent_identity = parent_identity
        self._network = network
        self._per_sample = per_sample

    @classmethod
    def check_task_columns(
        cls, config: BaseModel, *, name: str, base_dir: Path, tasks: Mapping[str, TaskColumns]
    ) -> list[str]:
        """The parent adapter's plan-time check (a Hugging Face model's label names against
        each task's classes), under the variant's name: a variant planned without its parent
        (`harness run --models m@int8`) is checked as its parent would be."""
        assert isinstance(config, VariantConfig)
        hook = getattr(config.parent_adapter, "check_task_columns", None)
        if hook is None:
            return []
        lines: list[str] = hook(config.parent_config, name=name, base_dir=base_dir, tasks=tasks)
        return lines

    @classmethod
    def planned_gradients(cls, config: BaseModel) -> bool | None:
        """int8 loses gradients (dynamic quantized kernels); the other recipes keep the
        parent's (None when the parent's are known only once built)."""
        assert isinstance(config, VariantConfig)
        if config.variant.get("kind") == "int8":
            return False
        hook = getattr(config.parent_adapter, "planned_gradients", None)
        return hook(config.parent_config) if hook is not None else None

    @classmethod
    def build(
        cls, *, name: str, config: BaseModel, device: torch.device, base_dir: Path
    ) -> VariantAdapter:
        assert isinstance(config, VariantConfig)
        parent = config.parent_adapter.build(
            name=config.parent, config=config.parent_config, device=device, base_dir=base_dir
        )
        variant = parse_variant(_entry(config.variant), where=f"model {name!r}")
        return cls(name, parent, variant, device=device)

    def _available(self) -> torch.nn.Module:
        if self._network is None:
            raise ModelLoadError(f"model {self.name!r} is unavailable: {self.unavailable_reason}")
        return self._network

    def logits(self, inputs: torch.Tensor | list[str]) -> torch.Tensor:
        network = self._available()
        x = self.on_device(self.tensor_inputs(inputs))
        if self._per_sample:
            return self.infer(lambda: torch.cat([network(x[i : i + 1]) for i in range(len(x))]))
        return self.infer(lambda: network(x))

    def features(self, inputs: torch.Tensor | list[str]) -> Features:
        """Logits and penultimate features of the compressed network (`FeatureTap` on the
        parent's features layer, or the last linear layer), in the same forward pass."""
        network = self._available()
        if self._tap is None:
            try:
                self._tap = FeatureTap(
                    network, self._features_path, model=self.name, binary=self._binary
                )
            except ConfigError as err:
                raise FeaturesUnavailable(str(err)) from None
        tap = self._tap
        x = self.on_device(self.tensor_inputs(inputs))
        if self._per_sample:
            rows = [self._one(tap, network, x[i : i + 1]) for i in range(len(x))]
            return Features(
                logits=torch.cat([r.logits for r in rows]),
                features=torch.cat([r.features for r in rows]),
                head_note="evaluated one sample at a time: the int8 layer's weight is not the "
                "float computation that made the logits",
            )
        return tap.run(lambda: self.infer(lambda: network(x)))

    def _one(self, tap: FeatureTap, network: torch.nn.Module, x: torch.Tensor) -> Features:
        return tap.run(lambda: self.infer(lambda: network(x)))

    def module(self) -> torch.nn.Module:
        network = self._available()
        if not self.capabilities.gradients:
            raise ModelLoadError(
                f"model {self.name!r} ({self.variant.name}) has no differentiable module: "
                "inputs get no gradient through it; suites use its black-box path"
            )
        return network

    def identity(self) -> str:
        payload = {
            "parent": self._parent_identity,
            "variant": self.variant.to_dict(),
            "v": BUILD_VERSION,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _parent_size(size: dict[str, object] | None) -> dict[str, object]:
    """The parent's size entries of the description (none when the parent has no module)."""
    if size is None:
        return {}
    return {
        "parent_size_bytes": size["size_bytes"],
        "parent_size_format": size["size_format"],
        "parent_parameters": size["parameters"],
        "parent_nonzero_parameters": size["nonzero_parameters"],
    }


def _dtype(variant: Variant) -> dict[str, str]:
    """The variant's own `dtype` entry, overriding the parent's (none for pruning)."""
    if variant.kind in ("fp16", "bf16"):
        return {"dtype": {"fp16": "float16", "bf16": "bfloat16"}[variant.kind]}
    if variant.kind == "int8":
        return {"dtype": "qint8 (Linear) / float32"}
    return {}


def _entry(recipe: dict[str, Any]) -> str | dict[str, Any]:
    if recipe["kind"] == "prune":
        return {"prune": recipe["sparsity"], "scope": recipe["scope"]}
    return str(recipe["kind"])
