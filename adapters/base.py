"""The shared base of the built-in adapters: describe(), identity(), one inference policy, devices.

Every built-in adapter keeps what identifies its model (file sha256s, settings) in one description
dict: `describe()` adds the device, and `identity()` hashes it minus location-only keys, so cached
results never cross models and a moved file keeps its results. Every forward pass runs under
`torch.inference_mode()` (no autograd graph: gradients come from `module()`) and returns float32
logits. The optional hooks (`check_task`, `count_tokens`, `unavailable_reason`) default to
`harness.core.adapter.AdapterHooks`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import torch
from pydantic import BaseModel

from harness.adapters.features import FeatureTap
from harness.adapters.program_mode import refuse_training_ops, to_eval
from harness.core.adapter import (
    AdapterHooks,
    Capabilities,
    Features,
    FeaturesUnavailable,
    InputSpec,
)
from harness.core.errors import ConfigError
from harness.core.model_calls import check_forward_output


def identity_of(description: Mapping[str, Any], *, drop: tuple[str, ...] = ("path",)) -> str:
    """sha256 of the description minus location-only keys: same files and settings, same id."""
    keyed = {k: v for k, v in description.items() if k not in drop}
    return hashlib.sha256(json.dumps(keyed, sort_keys=True, default=str).encode()).hexdigest()


def no_gradients(model: str, kind: str) -> ConfigError:
    """The error a black-box adapter's `module()` raises: suites must check capabilities first."""
    return ConfigError(
        f"model {model!r} ({kind} adapter) is black-box: it has no differentiable module; "
        "check adapter.capabilities.gradients before asking for module()"
    )


def frozen(network: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """`network` in eval mode on `device`, parameters frozen (attacks need input gradients only);
    a network holding a saved program that refuses `.eval()` comes back wrapped (`to_eval`)."""
    network = to_eval(network).to(device)
    network.requires_grad_(False)  # weight gradients made foolbox's PGD 1.45x slower
    return network


class AdapterBase(AdapterHooks):
    """Name, device, input spec, capabilities and description; black-box unless a subclass says.

    Subclasses set `kind` and `config_model` (the registry's `AdapterFactory`), build their
    description in `build`, and implement `logits` with `infer` and `on_device`.
    """

    kind: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]
    # description keys that only say where the files are: left out of identity()
    location_keys: ClassVar[tuple[str, ...]] = ("path",)
    # config fields that name a model file on this machine: checked at planning (`validate`)
    model_file_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        name: str,
        *,
        device: torch.device,
        input_spec: InputSpec,
        capabilities: Capabilities,
        description: dict[str, Any],
    ) -> None:
        self.name = name
        self.device = device
        self.input_spec = input_spec
        self.capabilities = capabilities
        self._description = description

    @classmethod
    def planned_gradients(cls, config: BaseModel) -> bool | None:
        """Whether a model of this kind and `config` gives input gradients
        (`capabilities.gradients`), known before it is built: `harness run` says which attacks
        run on it before the first job (the adversarial suite's black-box fallback). None: only
        the built adapter says (its jobs decide as they run)."""
        return None

    @classmethod
    def planned_word_vectors(cls, config: BaseModel) -> bool | None:
        """Whether a model of this kind and `config` gives input embeddings (`word_vectors()`,
        the word attacks' default substitute source), known before it is built: False for a
        kind that keeps the default hook (none); None for one that overrides it (only the
        built adapter says). `harness validate` refuses a text attack the model cannot run."""
        return False if cls.word_vectors is AdapterHooks.word_vectors else None

    def describe(self) -> dict[str, Any]:
        return dict(self._description, device=str(self.device))

    def identity(self) -> str:
        return identity_of(self._description, drop=self.identity_ignores())

    def identity_ignores(self) -> tuple[str, ...]:
        """Description keys left out of `identity()` (override when it depends on the model)."""
        return self.location_keys

    def module(self) -> torch.nn.Module:
        raise no_gradients(self.name, self.kind)

    def tensor_inputs(self, inputs: torch.Tensor | list[str]) -> torch.Tensor:
        """The batch as a tensor; a list of texts is refused (this model takes tensors)."""
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f"model {self.name!r} takes tensors, got {type(inputs).__name__}")
        return inputs

    def on_device(self, tensor: torch.Tensor) -> torch.Tensor:
        """`tensor` as float32 on the adapter's device (inputs on their way in, logits out)."""
        return tensor.to(self.device, torch.float32, non_blocking=True)

    def infer(self, forward: Callable[[], object]) -> torch.Tensor:
        """Run a forward pass under the one inference policy: inference mode, float32 out.

        What the forward returned is checked before the cast: anything but a real tensor (a
        tuple, a dict, None, complex numbers) is one line naming the model.
        """
        with torch.inference_mode():
            out = forward()
        return check_forward_output(out, model=self.name).float()


class NetworkAdapter(AdapterBase):
    """A frozen torch module behind the adapter: `logits` runs it, `module()` returns it,
    `features` runs it with a `FeatureTap` on the input of `features_layer` (a module name of
    `features_root`, the user's own network inside the adapter's wrapping; default: its last
    linear layer)."""

    def __init__(
        self,
        name: str,
        network: torch.nn.Module,
        *,
        device: torch.device,
        input_spec: InputSpec,
        description: dict[str, Any],
        features_layer: str | None = None,
        features_root: torch.nn.Module | None = None,
        keep: list[int] | None = None,
        binary_logit: bool = False,
    ) -> None:
        super().__init__(
            name,
            device=device,
            input_spec=input_spec,
            capabilities=Capabilities(gradients=True, batching=True, devices=("cpu", "cuda")),
            description=description,
        )
        self._network = frozen(network, device)
        # a trace or torch.export program saved in training mode keeps dropout on: refused
        shown = description.get("path")
        what = str(shown) if shown else "its network"
        refuse_training_ops(self._network, name=name, what=what)
        self._features_layer = features_layer
        self._features_root = features_root if features_root is not None else network
        self._keep = keep
        self._binary = binary_logit  # `outputs: binary_logit` (harness/adapters/binary_logit.py)
        self._tap: FeatureTap | None = None
        if features_layer is not None:  # a named layer that does not exist fails the build
            self._tap = self._new_tap(features_layer)

    @classmethod
    def planned_gradients(cls, config: BaseModel) -> bool | None:
        return True  # Capabilities(gradients=True) in __init__

    def logits(self, inputs: torch.Tensor | list[str]) -> torch.Tensor:
        x = self.on_device(self.tensor_inputs(inputs))
        return self.infer(lambda: self._network(x))

    def features(self, inputs: torch.Tensor | list[str]) -> Features:
        """Logits and the penultimate features of one forward pass (`FeatureTap`)."""
        tap = self._feature_tap()
        x = self.on_device(self.tensor_inputs(inputs))
        return tap.run(lambda: self.infer(lambda: self._network(x)))

    def _feature_tap(self) -> FeatureTap:
        if self._tap is None:
            try:
                self._tap = self._new_tap(None)
            except ConfigError as err:  # no linear layer and none named: no features
                raise FeaturesUnavailable(str(err)) from None
        return self._tap

    def _new_tap(self, layer: str | None) -> FeatureTap:
        return FeatureTap(
            self._features_root, layer, model=self.name, keep=self._keep, binary=self._binary
        )

    @property
    def features_path(self) -> str | None:
        """The tapped module's full name in the adapter's network (a variant taps the same)."""
        if self._features_layer is None:
            return None
        target = dict(self._features_root.named_modules(remove_duplicate=False))[
            self._features_layer
        ]
        return next(n for n, m in self._network.named_modules() if m is target)

    def module(self) -> torch.nn.Module:
        return self._network
