"""Torch adapter: a module built from a `"module:factory"` reference plus safetensors weights.

Normalisation (mean/std) is applied inside the adapter, so suites feed raw inputs within bounds.
The weights file's sha256 is verified when the spec gives one and is recorded in every result.
"""

from __future__ import annotations

import hashlib
import inspect
import threading
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from harness.adapters.base import NetworkAdapter
from harness.adapters.binary_logit import BINARY_LOGIT, BinaryLogit, refuse_final_sigmoid
from harness.adapters.fixed_batch import FixedBatch, fixed_batch
from harness.adapters.logits_field import LogitsField
from harness.adapters.model_dtype import in_its_float_type
from harness.adapters.model_files import resolve_path, shown_path
from harness.core.adapter import InputSpec
from harness.core.errors import ModelLoadError
from harness.core.model_calls import calling_model
from harness.core.model_code import source_sha256
from harness.core.registry import check_reference, load_target
from harness.core.weights import (
    fit_state_dict,
    load_state_dict,
    strip_wrapper_prefix,
    untied_missing,
)


class Normalization(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mean: list[float]
    std: list[float]

    @field_validator("std")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        if any(s <= 0 for s in v):
            raise ValueError("every std must be > 0")
        return v


class TorchModuleConfig(BaseModel):
    """Model spec fields for `adapter: torch`."""

    model_config = ConfigDict(extra="forbid")
    factory: Annotated[str, AfterValidator(check_reference)] = Field(
        description="'package.module:callable' returning an nn.Module"
    )
    factory_args: dict[str, Any] = Field(default_factory=dict)
    weights: Path | None = Field(
        default=None, description="safetensors file (or pickle + allow_pickle)"
    )
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    allow_pickle: bool = False
    normalize: Normalization | None = None
    input_shape: list[int] | None = None
    bounds: tuple[float, float] | None = None  # the inputs it takes; None: the task's
    modality: str = "image"
    features_layer: str | None = Field(
        default=None,
        description="module whose input is the penultimate features (default: the last nn.Linear)",
    )
    outputs: Literal["logits", "binary_logit"] = Field(
        default="logits",
        description="logits: one score per class; binary_logit: one logit per input, that of "
        "the second class (a BCEWithLogitsLoss model), read as the pair (0, z)",
    )


class _Normalize(torch.nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: list[float], std: list[float], ndim: int) -> None:
        super().__init__()
        shape = (1, -1) + (1,) * max(ndim - 1, 0)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(shape))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).reshape(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = self.mean.shape[1]
        if values != 1 and x.ndim > 1 and x.shape[1] != values:
            # broadcasting would make 3 channels of a grey image: an RGB set scored as grey
            raise ValueError(
                f"normalize has {values} values per channel but the inputs have {x.shape[1]} "
                f"channel(s); declare channels: {values} on the task (how its images decode) "
                "or give normalize one value per input channel"
            )
        return (x - self.mean) / self.std


class TorchModuleAdapter(NetworkAdapter):
    """A plain torch module: white-box (gradients), batched, CPU or CUDA."""

    kind: ClassVar[str] = "torch"
    config_model: ClassVar[type[BaseModel]] = TorchModuleConfig
    location_keys: ClassVar[tuple[str, ...]] = ("weights",)

    @classmethod
    def build(
        cls, *, name: str, config: BaseModel, device: torch.device, base_dir: Path
    ) -> TorchModuleAdapter:
        assert isinstance(config, TorchModuleConfig)
        net = _factory_module(config, name=name)
        weights_path, digest, notes = _load_weights(net, config, name=name, base_dir=base_dir)
        _refuse_meta(net, name)
        shape = tuple(config.input_shape) if config.input_shape else None
        own = net  # layer names (features_layer) are the factory module's own
        # the identity hashes the state of the module as composed before LogitsField existed
        # (its keys would take an "inner." prefix): the same weights keep their results
        plain = _composed(own, config, shape)
        net = _composed(_outputs(LogitsField(own, model=name), config.outputs, name), config, shape)
        n_params = sum(p.numel() for p in net.parameters())
        description: dict[str, Any] = {
            "adapter": cls.kind,
            "factory": config.factory,
            "factory_args": config.factory_args,
            "weights": shown_path(weights_path, base_dir) if weights_path else None,
            "weights_sha256": digest,
            "state_sha256": state_sha256(plain),  # a factory's own init counts too (cache key)
            "parameters": n_params,
            "dtype": str(next(net.parameters()).dtype).removeprefix("torch.") if n_params else None,
            "normalize": config.normalize.model_dump() if config.normalize else None,
        }
        if notes:  # accepted, and said so in every job record (harness/core/weights.py)
            description["weights_notes"] = notes
        code = source_sha256([load_target(config.factory), own])
        if code is not None:  # an edit to the model's code changes its identity
            description["source_sha256"] = code
        if config.features_layer is not None:  # the OOD detectors' features (identity too)
            description["features_layer"] = config.features_layer
        if config.outputs != "logits":  # what the scores are (identity; the default as before)
            description["outputs"] = config.outputs
        spec = InputSpec(shape=shape, bounds=config.bounds, modality=config.modality)
        return cls(
            name,
            net,
            device=device,
            input_spec=spec,
            description=description,
            features_layer=config.features_layer,
            features_root=own,
            binary_logit=config.outputs == BINARY_LOGIT,
        )

    @classmethod
    def code_uses(cls, config: BaseModel) -> list[str]:
        """The factory is imported and called (harness validate lists it)."""
        assert isinstance(config, TorchModuleConfig)
        return [f"factory {config.factory} is imported and called"]

    @classmethod
    def from_module(
        cls,
        module: torch.nn.Module,
        *,
        name: str,
        device: torch.device | str = "cpu",
        bounds: tuple[float, float] | None = None,
        input_shape: tuple[int, ...] | None = None,
        modality: str = "image",
        outputs: str = "logits",
        features_layer: str | None = None,
    ) -> TorchModuleAdapter:
        """Wrap an in-memory module (Python API); its identity hashes the current parameters.
        `outputs`: 'logits' (one score per class) or 'binary_logit' (one logit per input);
        `features_layer`: the module whose input is the penultimate features (default: the
        last nn.Linear), as the spec's key."""
        _refuse_meta(module, name)
        description: dict[str, Any] = {
            "adapter": cls.kind,
            "factory": f"{type(module).__module__}.{type(module).__qualname__}",
            "weights": None,
            "weights_sha256": state_sha256(module),
            "parameters": sum(p.numel() for p in module.parameters()),
        }
        code = source_sha256([module])
        if code is not None:  # the files defining its classes (harness/core/model_code.py)
            description["source_sha256"] = code
        description["attributes_sha256"] = _attributes_sha256(module)
        hooks = _hooks_sha256(module, name)
        if hooks is not None:  # only then: a module without hooks keeps its identity
            description["hooks_sha256"] = hooks
        if outputs != "logits":
            description["outputs"] = outputs
        if features_layer is not None:  # the OOD detectors' features (identity too)
            description["features_layer"] = features_layer
        batch = fixed_batch(module)
        if batch is not None:  # a torch.export program's module exported at one batch size
            description["batch"] = batch
        spec = InputSpec(shape=input_shape, bounds=bounds, modality=modality)
        # a float16 / float64 module takes float32 inputs; a ModelOutput gives its logits
        return cls(
            name,
            in_its_float_type(_outputs(LogitsField(module, model=name), outputs, name, batch)),
            device=torch.device(device),
            input_spec=spec,
            description=description,
            features_layer=features_layer,
            features_root=module,
            binary_logit=outputs == BINARY_LOGIT,
        )


def _outputs(
    net: LogitsField, outputs: str, name: str, batch: int | None = None
) -> torch.nn.Module:
    """`net` fed in chunks of `batch` when its program is fixed at that batch size, behind
    `BinaryLogit` when it returns one logit per input (`outputs`; a network that ends in
    `nn.Sigmoid` returns a probability and is refused)."""
    fed: torch.nn.Module = net if batch is None else FixedBatch(net, batch)
    if outputs != BINARY_LOGIT:
        return fed
    refuse_final_sigmoid(net.inner, model=name)
    return BinaryLogit(fed, model=name)


def _composed(
    net: torch.nn.Module, config: TorchModuleConfig, shape: tuple[int, ...] | None
) -> torch.nn.Module:
    """`net` behind the cast to its float type and the spec's normalisation, if any."""
    net = in_its_float_type(net)  # a float16 / float64 module takes float32 inputs
    if config.normalize is None:
        return net
    ndim = len(shape) if shape else 3
    return torch.nn.Sequential(_Normalize(config.normalize.mean, config.normalize.std, ndim), net)


def _refuse_meta(module: torch.nn.Module, name: str) -> None:
    """Refuse a module with a parameter or buffer on the meta device (made under
    `torch.device("meta")` or an empty-weights context): it has shapes but no values."""
    for key, tensor in module.state_dict(keep_vars=True).items():
        if isinstance(tensor, torch.Tensor) and tensor.is_meta:
            kind = "parameter" if isinstance(tensor, torch.nn.Parameter) else "buffer"
            raise ModelLoadError(
                f"model {name!r}: {kind} {key!r} is on the meta device (a shape without "
                "values); load its weights first (module.to_empty(device='cpu') then "
                "load_state_dict, or load_state_dict(state, assign=True))"
            )


def state_sha256(module: torch.nn.Module) -> str:
    """sha256 of every parameter and buffer: same numbers, same id, wherever they came from."""
    h = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        h.update(key.encode())
        # a dynamic int8 Linear keeps its (weight, bias) as one tuple entry, plus its dtype
        for item in value if isinstance(value, tuple | list) else (value,):
            h.update(tensor_bytes(item) if isinstance(item, torch.Tensor) else repr(item).encode())
    return h.hexdigest()


def tensor_bytes(tensor: torch.Tensor) -> bytes:
    """A tensor's dtype and values as bytes, for a digest (a quantized tensor's integer values;
    bfloat16 and the other types numpy lacks byte for byte). The shape is not in them: the
    state digest's keys name each tensor, and its bytes are the job keys' since they began."""
    t = tensor.detach().cpu()
    t = t.int_repr() if t.is_quantized else t
    return str(t.dtype).encode() + t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def module_sha256(module: torch.nn.Module) -> str:
    """What identifies a module held in memory (`from_module`): its class, parameters and
    buffers, and the plain attributes its forward pass may read."""
    kind = f"{type(module).__module__}.{type(module).__qualname__}"
    parts = [kind, _kept_state_sha256(module), _attributes_sha256(module)]
    hooks = _hooks_sha256(module, "a module's hook")
    if hooks is not None:  # only then: a module without hooks keeps its identity
        parts.append(hooks)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


_PLAIN = (bool, int, float, complex, str, bytes, type(None))


def _attributes_sha256(module: torch.nn.Module) -> str:
    """sha256 of the plain values set on the module and its submodules (`self.temperature =
    1.5`, a threshold, a tensor that is not a buffer): the forward pass reads them but the state
    dict does not hold them, so a module changed only there kept its identity, and saving its
    new results overwrote the old ones under the same run id. Private names (`_...`) and the
    training flag are left out (evaluate sets and restores it)."""
    h = hashlib.sha256()
    for name, sub in module.named_modules():
        for key, value in sorted(vars(sub).items()):
            if key.startswith("_") or key == "training":
                continue
            text = _plain_text(value)
            if text is not None:
                h.update(f"{name}.{key}={text};".encode())
    return h.hexdigest()


_HOOKS = ("_forward_pre_hooks", "_forward_hooks")
_HASHING_HOOKS = threading.local()
"""The modules whose hooks this thread is hashing (a hook may refer to its own module), and
the parameter digests of the modules those hooks refer to (`states`, kept while they are
hashed: a method of the model hooked on each of its layers refers to the whole model)."""


def _kept_state_sha256(module: torch.nn.Module) -> str:
    """`state_sha256(module)`, computed once while one module's hooks are hashed."""
    states: dict[int, str] | None = getattr(_HASHING_HOOKS, "states", None)
    if states is None:
        return state_sha256(module)
    if id(module) not in states:
        states[id(module)] = state_sha256(module)
    return states[id(module)]


def _hooks_sha256(module: torch.nn.Module, name: str) -> str | None:
    """sha256 of the forward and forward pre-hooks registered on the module and its submodules
    (temperature scaling or a clamp in a hook changes the outputs, which parameters, code and
    attributes do not show: the hooked model's results saved over the unhooked one's under the
    same run id), each by its code and what it refers to, as a callable model is identified
    (`python_callable.callable_fingerprint`); None when there is none."""
    hashing = _HASHING_HOOKS.__dict__.setdefault("modules", set())
    if id(module) in hashing:  # a hook that refers to its own module: counted once
        return None
    outermost = not hashing
    if outermost:  # the modules stay as they are while their hooks are hashed
        _HASHING_HOOKS.states = {}
    hashing.add(id(module))
    parts: list[str] = []
    try:
        for path, sub in module.named_modules():
            for kind in _HOOKS:
                for key, hook in getattr(sub, kind, {}).items():
                    kwargs = key in getattr(sub, f"{kind}_with_kwargs", {})
                    parts.append(f"{path}.{kind}[{kwargs}]={_hook_digest(hook, name)}")
    finally:
        hashing.discard(id(module))
        if outermost:
            del _HASHING_HOOKS.states
    if not parts:
        return None
    return hashlib.sha256(";".join(parts).encode()).hexdigest()


def _hook_digest(hook: object, name: str) -> str:
    """A hook's fingerprint, without the contents of the dicts, lists and sets it refers to (a
    hook that records activations fills one on every forward pass: counted, the same model had
    another identity after each evaluation); one that refers to what cannot be pickled (an open
    file, a lock) counts by its qualified name and bytecode instead of refusing the model."""
    from harness.adapters.python_callable import callable_fingerprint  # imports this module

    try:
        return callable_fingerprint(hook, name, containers=False)
    except ModelLoadError:
        code = getattr(getattr(hook, "__code__", None), "co_code", b"")
        qualname = getattr(hook, "__qualname__", type(hook).__qualname__)
        return f"{qualname}:{hashlib.sha256(code).hexdigest()}"


def _plain_text(value: object) -> str | None:
    """A stable text of a plain value (numbers, strings, tensors and numpy arrays, and their
    tuples, lists, dicts and sets: a dict by its items and a set by its members, each in
    sorted order, so the text is the same in every process); None for anything else
    (callables, modules, objects without a stable repr)."""
    if isinstance(value, _PLAIN):
        return repr(value)
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        digest = hashlib.sha256(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        return f"tensor({t.dtype},{list(t.shape)},{digest.hexdigest()})"
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":  # np.int64(3)
        return f"{value.dtype.str}:{value.item()!r}"
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        array = np.ascontiguousarray(value)
        digest = hashlib.sha256(array.reshape(-1).view(np.uint8).tobytes())
        return f"ndarray({array.dtype.str},{list(array.shape)},{digest.hexdigest()})"
    if isinstance(value, tuple | list):
        parts = [_plain_text(v) for v in value]
        return None if any(p is None for p in parts) else f"[{','.join(map(str, parts))}]"
    if isinstance(value, dict):
        items = [(_plain_text(k), _plain_text(v)) for k, v in value.items()]
        if any(k is None or v is None for k, v in items):
            return None
        return "{" + ",".join(sorted(f"{k}:{v}" for k, v in items)) + "}"
    if isinstance(value, set | frozenset):
        members = [_plain_text(v) for v in value]
        if any(m is None for m in members):
            return None
        return "set(" + ",".join(sorted(str(m) for m in members)) + ")"
    return None


def _factory_module(config: TorchModuleConfig, *, name: str) -> torch.nn.Module:
    """The module the spec's `factory` returns for its `factory_args`."""
    with calling_model(name, f"the import of its factory {config.factory!r}"):
        factory = load_target(config.factory)
    if not callable(factory):
        raise ModelLoadError(
            f"model {name!r}: factory {config.factory!r} is a {type(factory).__name__}, "
            "not a callable"
        )
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None  # a builtin without one: let the call decide
    if signature is not None:
        try:
            signature.bind(**config.factory_args)
        except TypeError as err:
            raise ModelLoadError(
                f"model {name!r}: factory {config.factory!r} rejected factory_args "
                f"{config.factory_args}: {err}"
            ) from err
    with calling_model(name, f"the call of its factory {config.factory!r}"):
        net = factory(**config.factory_args)
    if not isinstance(net, torch.nn.Module):
        raise ModelLoadError(
            f"model {name!r}: factory {config.factory!r} returned {type(net).__name__}, "
            "not a torch.nn.Module"
        )
    return net


def _load_weights(
    net: torch.nn.Module, config: TorchModuleConfig, *, name: str, base_dir: Path
) -> tuple[Path | None, str | None, list[str]]:
    """Load the spec's weights file into `net`: (its path, its sha256, notes on dtype casts)."""
    if config.weights is None:
        return None, None, []
    path = resolve_path(config.weights, base_dir)
    try:
        state, digest = load_state_dict(
            path, expected_sha256=config.sha256, allow_pickle=config.allow_pickle
        )
    except ModelLoadError as err:
        raise ModelLoadError(f"model {name!r}: {err}") from err
    state, renamed = strip_wrapper_prefix(net, state)
    notes = renamed + fit_state_dict(net, state, path=path, model=name)
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = untied_missing(net, state, missing, path=path, model=name)
    if missing or unexpected:
        raise ModelLoadError(
            f"model {name!r}: weights {path} do not fit {config.factory!r} "
            f"(missing keys {missing[:5]}, unexpected keys {unexpected[:5]})"
        )
    return path, digest, notes
