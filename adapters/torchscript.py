"""TorchScript (`.pt`, `torch.jit.load`) and torch.export (`.pt2`, `torch.export.load`) files.

Both formats carry their own graph, so no factory code is needed. Gradients flow through both, so
the adapter is white-box; normalisation can be added in the spec like the torch adapter's. A
program whose forward returns its logits in a dict or an object's `logits` field is read on that
field (`LogitsField`), as the torch adapter does; `outputs: binary_logit` reads one logit per
input as the pair (0, z) (`harness.adapters.binary_logit`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

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


# operations that behave differently in training mode, with the position of their `training`
# argument: dropout draws a random mask (unless its p, the argument before, is 0), batch norm
# normalises with the batch's own statistics
_TRAINING_ARG = {
    "dropout": 2,
    "feature_dropout": 2,
    "alpha_dropout": 2,
    "feature_alpha_dropout": 2,
    "native_dropout": 2,
    "batch_norm": 5,
    "native_batch_norm": 5,
    "_native_batch_norm_legit": 5,
    "_native_batch_norm_legit_functional": 5,
    "cudnn_batch_norm": 5,
    "miopen_batch_norm": 5,
}


def _jit_training_ops(block: Any) -> list[str]:
    """TorchScript ops of `block` (nested blocks included) whose training flag is a constant
    True: a trace of a model in training mode (a scripted module reads `self.training`)."""
    found: list[str] = []
    for node in block.nodes():
        op = node.kind().removeprefix("aten::")
        index = _TRAINING_ARG.get(op) if node.kind().startswith("aten::") else None
        inputs = list(node.inputs())
        if index is not None and index < len(inputs):
            constant = [
                i.toIValue() if i.node().kind() == "prim::Constant" else None for i in inputs
            ]
            if constant[index] is True and not (index == 2 and constant[1] == 0):
                found.append(op)
        for inner in node.blocks():
            found += _jit_training_ops(inner)
    return found


def _fx_training_ops(program: torch.nn.Module) -> list[str]:
    """torch.export ops (of every graph the program holds) called with training True."""
    found: list[str] = []
    for module in program.modules():
        graph = getattr(module, "graph", None)
        if not isinstance(graph, torch.fx.Graph):
            continue
        for node in graph.nodes:
            schema = getattr(node.target, "_schema", None)
            if node.op != "call_function" or schema is None:
                continue
            op = str(schema.name).removeprefix("aten::")
            index = _TRAINING_ARG.get(op)
            args = node.args
            training = index is not None and index < len(args) and args[index] is True
            if training and not (index == 2 and args[1] == 0):  # dropout with p 0: no change
                found.append(op)
    return found


def refuse_training_ops(program: torch.nn.Module, path: Path, *, name: str) -> None:
    """Refuse a program saved while its model was in training mode: a trace or a torch.export
    program keeps dropout and batch norm in training mode as constants, which `.eval()` does
    not change, so its outputs would be random (dropout) or depend on the other inputs of the
    batch (batch norm); every number would be that of another model (a 0.97 digits model
    scored 0.88)."""
    if isinstance(program, torch.jit.ScriptModule):
        try:
            graph = program.inlined_graph
        except RuntimeError:  # no forward method: calling it fails in the job, naming that
            return
        found = _jit_training_ops(graph)
    else:
        found = _fx_training_ops(program)
    if found:
        ops = ", ".join(sorted(set(found)))
        raise ModelLoadError(
            f"model {name!r}: {path.name} runs {ops} in training mode (it was traced or "
            "exported while the model was in training mode, and the saved graph keeps that, so "
            "its outputs are random or depend on the rest of the batch); call model.eval() "
            "before torch.jit.trace / torch.export.export and save it again"
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
        refuse_training_ops(program, path, name=name)
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
