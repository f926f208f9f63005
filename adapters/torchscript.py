"""TorchScript (`.pt`, `torch.jit.load`) and torch.export (`.pt2`, `torch.export.load`) files.

Both formats carry their own graph, so no factory code is needed. Gradients flow through both, so
the adapter is white-box; normalisation can be added in the spec like the torch adapter's. A
program whose forward returns its logits in a dict or an object's `logits` field is read on that
field (`LogitsField`), as the torch adapter does; `outputs: binary_logit` reads one logit per
input as the pair (0, z) (`harness.adapters.binary_logit`).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from harness.adapters.base import NetworkAdapter
from harness.adapters.binary_logit import BINARY_LOGIT, BinaryLogit
from harness.adapters.logits_field import LogitsField
from harness.adapters.model_files import checked_sha256, require_file, resolve_path, shown_path
from harness.adapters.torch_module import Normalization, _Normalize
from harness.core.adapter import Features, FeaturesUnavailable, InputSpec
from harness.core.errors import ModelLoadError


class TorchScriptConfig(BaseModel):
    """Model spec fields for `adapter: torchscript` (a `.pt` or `.pt2` file)."""

    model_config = ConfigDict(extra="forbid")
    path: Path = Field(description="TorchScript .pt or torch.export .pt2 file")
    format: Literal["auto", "torchscript", "export"] = "auto"
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    normalize: Normalization | None = None
    input_shape: list[int] | None = None
    bounds: tuple[float, float] | None = None  # the inputs it takes; None: the task's
    modality: Literal["image", "tabular"] = "image"
    outputs: Literal["logits", "binary_logit"] = Field(
        default="logits",
        description="logits: one score per class; binary_logit: one logit per input (0, z)",
    )


def load_program(path: Path, fmt: str, *, name: str) -> tuple[torch.nn.Module, str]:
    """(callable module, format used); `.pt2` is torch.export, anything else TorchScript."""
    if fmt == "auto":
        fmt = "export" if path.suffix == ".pt2" else "torchscript"
    try:
        if fmt == "export":
            return torch.export.load(str(path)).module(), fmt
        return torch.jit.load(str(path), map_location="cpu"), fmt
    except (RuntimeError, ValueError, OSError, KeyError) as err:
        raise ModelLoadError(
            f"model {name!r}: {path} is not a loadable {fmt} file "
            f"({type(err).__name__}: {str(err).splitlines()[0][:200]})"
        ) from err


class _Frozen(torch.nn.Module):
    """Holds the loaded program (and normalisation) as one module with frozen parameters."""

    def __init__(self, program: torch.nn.Module, pre: torch.nn.Module | None) -> None:
        super().__init__()
        self.pre = pre
        self.program = program
        self.train(False)

    def train(self, mode: bool = True) -> _Frozen:
        """Only flags the wrapper: the program is fixed, and torch.export programs refuse .eval()."""
        self.training = mode
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.program(self.pre(x) if self.pre is not None else x)


class TorchScriptAdapter(NetworkAdapter):
    """A serialized torch program: white-box (gradients flow), batched, CPU or CUDA."""

    kind: ClassVar[str] = "torchscript"
    model_file_keys: ClassVar[tuple[str, ...]] = ("path",)
    config_model: ClassVar[type[BaseModel]] = TorchScriptConfig

    @classmethod
    def build(
        cls, *, name: str, config: BaseModel, device: torch.device, base_dir: Path
    ) -> TorchScriptAdapter:
        assert isinstance(config, TorchScriptConfig)
        path = require_file(resolve_path(config.path, base_dir), model=name)
        digest = checked_sha256(path, expected=config.sha256, model=name)
        program, fmt = load_program(path, config.format, name=name)
        if fmt == "torchscript":
            program.eval()
        shape = tuple(config.input_shape) if config.input_shape else None
        pre = None
        if config.normalize is not None:
            pre = _Normalize(
                config.normalize.mean, config.normalize.std, len(shape) if shape else 3
            )
        # a program that returns a dict or an object with a `logits` field (a scripted or
        # exported transformers model) is read on that field, as the torch adapter reads it
        network: torch.nn.Module = LogitsField(_Frozen(program, pre), model=name)
        if config.outputs == BINARY_LOGIT:  # one logit per input: the pair (0, z)
            network = BinaryLogit(network, model=name)
        description = {
            "adapter": cls.kind,
            "format": fmt,
            "path": shown_path(path, base_dir),
            "sha256": digest,
            "parameters": sum(p.numel() for p in program.parameters()),
            "normalize": config.normalize.model_dump() if config.normalize else None,
        }
        if config.outputs != "logits":  # part of the identity; the default as before
            description["outputs"] = config.outputs
        spec = InputSpec(shape=shape, bounds=config.bounds, modality=config.modality)
        return cls(name, network, device=device, input_spec=spec, description=description)

    def features(self, inputs: torch.Tensor | list[str]) -> Features:
        """None: a serialized program runs compiled code that forward hooks do not see."""
        raise FeaturesUnavailable(
            "a TorchScript / torch.export program runs compiled code that forward hooks do not "
            "see, so its penultimate features cannot be read"
        )
