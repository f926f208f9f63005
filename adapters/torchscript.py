"""TorchScript (`.pt`, `torch.jit.load`) and torch.export (`.pt2`, `torch.export.load`) files.

Both formats carry their own graph, so no factory code is needed. Gradients flow through both, so
the adapter is white-box; normalisation can be added in the spec like the torch adapter's. A
program whose forward returns its logits in a dict or an object's `logits` field is read on that
field (`LogitsField`), as the torch adapter does; `outputs: binary_logit` reads one logit per
input as the pair (0, z) (`harness.adapters.binary_logit`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import ClassVar, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from harness.adapters.base import NetworkAdapter
from harness.adapters.binary_logit import BINARY_LOGIT, BinaryLogit
from harness.adapters.fixed_batch import FixedBatch, fixed_batch
from harness.adapters.logits_field import LogitsField
from harness.adapters.model_dtype import in_its_float_type
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


def archive_kind(path: Path) -> str | None:
    """What a torch file's zip archive holds: `torchscript` (code and constants), `export`
    (a torch.export program), `torch.save` (pickled objects alone: a state dict), None for
    another archive; `truncated` when it is not a complete zip archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = {n.split("/", 1)[-1] for n in archive.namelist()}
    except (zipfile.BadZipFile, OSError, ValueError):
        return "truncated"
    if "constants.pkl" in names or any(n.startswith("code/") for n in names):
        return "torchscript"
    if "archive_format" in names or any(n.startswith("models/") for n in names):
        return "export"
    return "torch.save" if "data.pkl" in names else None


def load_program(path: Path, fmt: str, *, name: str) -> tuple[torch.nn.Module, str]:
    """(callable module, format used); `.pt2` is torch.export, anything else TorchScript."""
    if fmt == "auto":
        fmt = "export" if path.suffix == ".pt2" else "torchscript"
    try:
        if fmt == "export":
            return torch.export.load(str(path)).module(), fmt
        return torch.jit.load(str(path), map_location="cpu"), fmt
    except Exception as err:  # torch raises RuntimeError, zipfile.BadZipFile, KeyError...
        raise ModelLoadError(f"model {name!r}: {path} {_unloadable(path, fmt, err)}") from err


def _unloadable(path: Path, fmt: str, err: Exception) -> str:
    """Why `path` is not a loadable `fmt` file, from what its archive holds."""
    kind = archive_kind(path)
    if kind == "truncated":
        return (
            "is not a complete zip archive, as TorchScript and torch.export files are: "
            "truncated or damaged (copy it again), or not a torch file"
        )
    if kind == "torch.save":
        return (
            "is a torch.save file (a state dict or a pickled module), not a TorchScript or "
            "torch.export program: save one (torch.jit.script(model).save(...), "
            "torch.export.save(...)), or use adapter: torch with its factory and weights"
        )
    if kind is not None and kind != fmt:
        what = "a TorchScript program" if kind == "torchscript" else "a torch.export program"
        return f"is {what}, not {'an export' if fmt == 'export' else 'a TorchScript'} file; set format: {kind}"
    reason = str(err).split(". This is an internal miniz error")[0].splitlines()
    return (
        f"is not a loadable {fmt} file "
        f"({type(err).__name__}: {(reason[0] if reason else '')[:200]})"
    )


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
        batch = fixed_batch(program)
        if batch is not None:  # exported without dynamic_shapes: its guard takes one size
            network = FixedBatch(network, batch)
        if config.outputs == BINARY_LOGIT:  # one logit per input: the pair (0, z)
            network = BinaryLogit(network, model=name)
        # a float64 / float16 program takes the float32 inputs cast to its type, as a torch
        # model does (its first forward pass failed: "mat1 and mat2 must have the same dtype")
        network = in_its_float_type(network)
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
        if batch is not None:
            description["batch"] = batch
        spec = InputSpec(shape=shape, bounds=config.bounds, modality=config.modality)
        return cls(name, network, device=device, input_spec=spec, description=description)

    def features(self, inputs: torch.Tensor | list[str]) -> Features:
        """None: a serialized program runs compiled code that forward hooks do not see."""
        raise FeaturesUnavailable(
            "a TorchScript / torch.export program runs compiled code that forward hooks do not "
            "see, so its penultimate features cannot be read"
        )
