"""Penultimate features of a torch network, read by a forward hook in the same forward pass.

`FeatureTap` names one module of the network (by its `named_modules()` name; default: the last
`nn.Linear`, the classifier of nearly every image and text model, Hugging Face heads included)
and records the input that module receives: the penultimate features. When that module is a
linear layer, its weight and bias are handed out too, but only when they reproduce the logits
(`features @ W.T + b`, checked on every call: a temperature, a label subset or any operation
after the layer would otherwise be silently wrong for detectors that rebuild logits).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

import torch

from harness.core.adapter import Features, FeaturesUnavailable
from harness.core.errors import ConfigError, ModelCallError

HEAD_RTOL = 1e-4
"""Relative tolerance (of the logits' scale) within which the tapped layer's weight and bias must
reproduce the logits to be handed out: float32 matmuls in another order differ by ~1e-6."""

HALF_ULPS = 2.0
"""A layer run in float16 or bfloat16 rounds its output to that format: its logits are matched
within HALF_ULPS machine epsilons of their scale instead (float16: 2e-3, bfloat16: 1.6e-2; the
largest seen on the 32-10 last layer of a 64-32-10 network was 0.37 and 0.38 of one epsilon). A float16 layer's weight was
otherwise held back as if something ran after it."""


def head_tolerance(dtype: torch.dtype) -> float:
    """The share of the logits' scale within which a layer computing in `dtype` must rebuild
    them (HEAD_RTOL, or HALF_ULPS epsilons of a half-precision format)."""
    if dtype in (torch.float16, torch.bfloat16):
        return max(HEAD_RTOL, HALF_ULPS * torch.finfo(dtype).eps)
    return HEAD_RTOL


def _is_linear(module: torch.nn.Module) -> bool:
    if isinstance(module, torch.nn.Linear):
        return True
    # a dynamically quantized Linear (the int8 variant) keeps the layer's role
    return type(module).__name__ == "Linear" and hasattr(module, "in_features")


def _weight_bias(module: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """A linear layer's float weight and bias (dequantized for a quantized layer)."""
    if not _is_linear(module):
        return None
    weight: object = module.weight
    bias: object = module.bias
    if callable(weight):  # a quantized layer's accessors
        weight, bias = weight(), bias() if callable(bias) else bias
    if not isinstance(weight, torch.Tensor):
        return None
    if weight.is_quantized:
        weight = weight.dequantize()
    kept = bias.detach().float() if isinstance(bias, torch.Tensor) else None
    return weight.detach().float(), kept


def resolve_layer(network: torch.nn.Module, layer: str | None, *, model: str) -> str:
    """The name of the tapped module: `layer` when the network has it (else a ConfigError with
    the closest names), or the last linear layer."""
    # every name a module is registered under (an alias too: `self.classifier = self.fc`)
    names = [name for name, _ in network.named_modules(remove_duplicate=False) if name]
    if layer is not None:
        if layer in names:
            return layer
        close = difflib.get_close_matches(layer, names, n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listed = ", ".join(names[-8:])
        raise ConfigError(
            f"model {model!r}: features_layer {layer!r} is not a module of the network "
            f"(its last modules: {listed}){hint}"
        )
    linear = [name for name, m in network.named_modules() if name and _is_linear(m)]
    if not linear:
        raise ConfigError(
            f"model {model!r}: the network has no nn.Linear layer to read features before; "
            "name the module whose input is the penultimate features with `features_layer`"
        )
    return linear[-1]


class FeatureTap:
    """The penultimate features of `network`: the input of module `layer` (resolved once)."""

    def __init__(
        self,
        network: torch.nn.Module,
        layer: str | None,
        *,
        model: str,
        keep: list[int] | None = None,
        binary: bool = False,
    ) -> None:
        self.model = model
        self.named = layer is not None  # named by the spec, not the default last nn.Linear
        self.layer = resolve_layer(network, layer, model=model)
        self._module = dict(network.named_modules(remove_duplicate=False))[self.layer]
        self._keep = keep  # the label subset the adapter keeps of the logits (label_map)
        # `outputs: binary_logit`: the layer makes one logit z, the adapter the pair (0, z)
        self._binary = binary

    def run(self, forward: Callable[[], torch.Tensor]) -> Features:
        """Run `forward` (which returns float logits) with the hook on; features and, when they
        reproduce the logits, the layer's weight and bias."""
        seen: list[torch.Tensor] = []
        other: list[str] = []  # the type of each input that was no tensor (a list, a dict)

        def hook(
            _module: torch.nn.Module, args: tuple[object, ...], kwargs: dict[str, object]
        ) -> None:
            # the input: the first positional argument, or the first tensor among the keyword
            # ones for a layer called as `fc(input=h)` or `head(scale=2.0, input=h)` (a hook
            # without kwargs saw no call at all: "ran 0 times")
            first = (
                args[0]
                if args
                else next((v for v in kwargs.values() if isinstance(v, torch.Tensor)), None)
            )
            if isinstance(first, torch.Tensor):
                seen.append(first.detach())
            else:
                other.append(type(first).__name__)

        handle = self._module.register_forward_pre_hook(hook, with_kwargs=True)
        try:
            logits = forward()
        finally:
            handle.remove()
        if other and len(seen) + len(other) == 1:  # ran once, on a list or a dict
            said = (
                f"layer {self.layer!r} ran once, but its input is a {other[0]}, not a tensor, "
                "so it has no penultimate features to read"
            )
            if not self.named:
                raise FeaturesUnavailable(
                    f"{said}; set features_layer to the module whose input is them"
                )
            raise ModelCallError(
                f"model {self.model!r}: {said}; name as features_layer a module whose input is "
                "the features tensor"
            )
        if len(seen) != 1 and not self.named:  # the default guessed wrong: no features
            raise FeaturesUnavailable(
                f"layer {self.layer!r} (the last nn.Linear) ran {len(seen)} times in one "
                "forward pass, so its input is not the penultimate features; set "
                "features_layer to the module that reads them"
            )
        if len(seen) != 1:
            raise ModelCallError(
                f"model {self.model!r}: layer {self.layer!r} ran {len(seen)} times in one forward "
                "pass; name a layer that runs once per input as features_layer"
            )
        if not self.named:
            self._check_default(logits)
        features = seen[0].reshape(seen[0].shape[0], -1).float()
        return self._with_head(logits, features, head_tolerance(seen[0].dtype))

    def _check_default(self, logits: torch.Tensor) -> None:
        """The default layer must be the classifier: one mapping to the logits' count. An
        input embedding (the last nn.Linear of a network whose classifier is a convolution)
        handed its input, the raw inputs, to Mahalanobis and KNN as penultimate features."""
        pair = _weight_bias(self._module)
        outputs = None if pair is None else pair[0].shape[0]
        if self._keep is not None or outputs is None or logits.ndim != 2:
            return
        expected = 1 if self._binary else logits.shape[1]
        if outputs != expected:
            what = "the one logit" if self._binary else f"the {logits.shape[1]} logits"
            raise FeaturesUnavailable(
                f"layer {self.layer!r} (the last nn.Linear) maps to {outputs} outputs, not to "
                f"{what}, so it is not the classifier and its input is "
                "not the penultimate features; set features_layer to the module that reads them"
            )

    def _with_head(
        self, logits: torch.Tensor, features: torch.Tensor, rtol: float = HEAD_RTOL
    ) -> Features:
        pair = _weight_bias(self._module)
        if pair is None:
            return Features(
                logits=logits,
                features=features,
                head_note=f"layer {self.layer!r} is not a linear layer: no weight and bias",
            )
        weight, bias = pair
        if self._binary and weight.shape[0] == 1:  # z's row, under the 0 logit's row of zeros
            if bias is None:
                bias = torch.zeros(1, dtype=weight.dtype, device=weight.device)
            weight = torch.cat([torch.zeros_like(weight), weight])
            bias = torch.cat([torch.zeros_like(bias), bias])
        if self._keep is not None:
            weight = weight[self._keep]
            bias = None if bias is None else bias[self._keep]
        if bias is None:
            bias = torch.zeros(weight.shape[0], dtype=weight.dtype, device=weight.device)
        if weight.shape != (logits.shape[1], features.shape[1]):
            return Features(
                logits=logits,
                features=features,
                head_note=(
                    f"layer {self.layer!r} maps {weight.shape[1]} features to {weight.shape[0]} "
                    f"outputs, not to the {logits.shape[1]} logits"
                ),
            )
        if not bool(torch.isfinite(logits).all()):  # the suites refuse them, naming the model
            return Features(
                logits=logits, features=features, head_note="the logits hold NaN or inf values"
            )
        rebuilt = features.to(weight.device) @ weight.T + bias
        scale = float(logits.abs().max()) if logits.numel() else 1.0
        if not torch.allclose(
            rebuilt.to(logits.device), logits, rtol=0.0, atol=rtol * max(scale, 1.0)
        ):
            return Features(
                logits=logits,
                features=features,
                head_note=(
                    f"the logits are not layer {self.layer!r}'s output (something runs after it), "
                    "so its weight and bias do not rebuild them"
                ),
            )
        return Features(logits=logits, features=features, weight=weight, bias=bias)
