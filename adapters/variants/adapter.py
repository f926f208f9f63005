"""The variant adapter: builds the parent model, applies the recipe, and reports size and lineage.

`describe()` (stored in every job.json as `model_description`) records `parent`, `variant`, size
on disk, parameter and nonzero counts and the parent's, so comparisons need no weights. When the
recipe cannot apply, `unavailable_reason` says why and the runner records each job as skipped.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict, SkipValidation

from adapters.variants.build import build_variant
from adapters.variants.size import model_size
from harness.config.variants import Variant, parse_variant
from harness.core.adapter import Capabilities, ModelAdapter
from harness.core.errors import ModelLoadError

BUILD_VERSION = (
    "2"  # bump when a recipe changes the numbers (part of the identity); 2: int8 per sample
)


class VariantConfig(BaseModel):
    """What the plan hands the runner: the parent's adapter kind and validated config, the recipe."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    parent: str
    parent_adapter: SkipValidation[Any]  # the parent's adapter class (has .build)
    parent_config: SkipValidation[BaseModel]
    variant: dict[str, Any]  # Variant.to_dict()


class VariantAdapter:
    """A compressed copy of a torch-module model; black-box when its layers lose gradients."""

    kind: ClassVar[str] = "variant"
    config_model: ClassVar[type[BaseModel]] = VariantConfig

    def __init__(
        self, name: str, parent: ModelAdapter, variant: Variant, *, device: torch.device
    ) -> None:
        self.name = name
        self.device = device
        self.input_spec = parent.input_spec
        self.variant = variant
        self._parent_identity = parent.identity()
        base = parent.describe()
        net = parent.module() if parent.capabilities.gradients else None
        if not isinstance(net, torch.nn.Module):
            self.unavailable_reason: str | None = (
                f"variant {variant.name} needs a torch module; parent {parent.name!r} "
                f"(adapter {base.get('adapter')}) exposes none"
            )
            self._network = None
            gradients, notes, details, size = False, [], {}, None
        else:
            built = build_variant(net.cpu(), variant, model=parent.name)
            net.to(parent.device)
            self.unavailable_reason = built.unavailable
            self._network = built.module
            gradients, notes, details = built.gradients, built.notes, built.details
            size = None
            if built.module is not None:
                # dynamic quantized kernels are CPU-only
                dev = torch.device("cpu") if variant.kind == "int8" else device
                self.device = dev
                built.module.eval().to(dev)
                for p in built.module.parameters():
                    p.requires_grad_(False)
                size = model_size(built.module).to_dict()
            parent_size = model_size(net).to_dict()
        devices = ("cpu",) if variant.kind == "int8" else parent.capabilities.devices
        # Dynamic int8 quantization scales activations over the whole batch, so a batched
        # prediction depends on the other samples in the batch. Evaluate one sample at a time:
        # results stay per-sample, independent of batch size, sharding and attack batches.
        self._per_sample = variant.kind == "int8"
        if self._per_sample:
            notes = [
                *notes,
                "evaluated one sample at a time: dynamic int8 quantization computes activation "
                "scales per batch, so batched predictions would depend on the batch's other samples",
            ]
        self.capabilities = Capabilities(
            gradients=gradients, batching=not self._per_sample, devices=devices
        )
        self._description = {
            **base,
            "adapter": self.kind,
            "parent": parent.name,
            "parent_adapter": base.get("adapter"),
            "variant": variant.name,
            "variant_recipe": variant.to_dict(),
            "gradients": gradients,
            "variant_notes": notes,
            "variant_details": details,
            "unavailable_reason": self.unavailable_reason,
            **(size or {"size_bytes": None, "parameters": None, "nonzero_parameters": None}),
        }
        if isinstance(net, torch.nn.Module):
            self._description.update(
                parent_size_bytes=parent_size["size_bytes"],
                parent_size_format=parent_size["size_format"],
                parent_parameters=parent_size["parameters"],
                parent_nonzero_parameters=parent_size["nonzero_parameters"],
            )
        if variant.kind in ("fp16", "bf16"):
            self._description["dtype"] = {"fp16": "float16", "bf16": "bfloat16"}[variant.kind]
        elif variant.kind == "int8":
            self._description["dtype"] = "qint8 (Linear) / float32"

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

    def logits(self, inputs: torch.Tensor | list[str]) -> torch.Tensor:
        if self._network is None:
            raise ModelLoadError(f"model {self.name!r} is unavailable: {self.unavailable_reason}")
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f"model {self.name!r} takes tensors, got {type(inputs).__name__}")
        x = inputs.to(self.device, non_blocking=True)
        with torch.inference_mode():
            if self._per_sample:
                out = torch.cat([self._network(x[i : i + 1]) for i in range(len(x))])
            else:
                out = self._network(x)
        return out.float()

    def module(self) -> torch.nn.Module:
        if self._network is None:
            raise ModelLoadError(f"model {self.name!r} is unavailable: {self.unavailable_reason}")
        if not self.capabilities.gradients:
            raise ModelLoadError(
                f"model {self.name!r} ({self.variant.name}) has no differentiable module: "
                "inputs get no gradient through it; suites use its black-box path"
            )
        return self._network

    def describe(self) -> dict[str, Any]:
        return dict(self._description, device=str(self.device))

    def identity(self) -> str:
        payload = {
            "parent": self._parent_identity,
            "variant": self.variant.to_dict(),
            "v": BUILD_VERSION,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _entry(recipe: dict[str, Any]) -> str | dict[str, Any]:
    if recipe["kind"] == "prune":
        return {"prune": recipe["sparsity"], "scope": recipe["scope"]}
    return str(recipe["kind"])
