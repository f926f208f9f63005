"""Turn a float32 torch module into a variant: fp16/bf16 cast, dynamic int8, magnitude pruning.

The parent module is deep-copied, never changed. Reduced-precision variants cast inputs inside
and return float32 logits, so suites feed the same raw inputs. Dynamic int8 quantizes the
`nn.Linear` layers (torch's dynamic quantization has no conv kernels); its quantized layers pass
no gradient to the input, so the variant is black-box. A recipe that cannot apply (int8 on a
network without Linear layers) yields an `unavailable` reason instead of a module.
"""

from __future__ import annotations

import copy
import logging
import warnings
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.utils import prune

from harness.adapters.model_dtype import CastInputs
from harness.config.variants import Variant

log = logging.getLogger(__name__)
PRUNABLE: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
CAST_DTYPES: dict[str, torch.dtype] = {"fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass
class BuiltVariant:
    """The variant module (None when unavailable), whether input gradients flow, and notes."""

    module: nn.Module | None
    gradients: bool
    unavailable: str | None = None
    notes: list[str] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)


def _compiled(net: nn.Module) -> str | None:
    """What compiled the network's layers into one graph (a TorchScript program, a torch.export
    program), so it holds no nn.Linear / Conv modules to compress; None for a plain module."""
    for m in net.modules():
        if isinstance(m, torch.jit.ScriptModule):
            return "a TorchScript program"
        if isinstance(m, torch.fx.GraphModule):
            return "a torch.export / fx program"
    return None


def _none_to_compress(net: nn.Module, *, model: str, recipe: str, layers: str) -> str:
    """Why `recipe` found no layers in `net`: a program's compiled graph, or no such layers."""
    compiled = _compiled(net)
    if compiled is None:
        return f"{model!r} has none (layer types: {_layer_types(net)})"
    return (
        f"{model!r} is {compiled}, whose layers are compiled into its graph (no {layers} modules "
        f"left to {recipe}); give the network as an nn.Module (adapter: torch, factory and "
        f"weights) for this variant, or {recipe} it before scripting or exporting"
    )


def _layer_types(net: nn.Module) -> str:
    names = sorted({type(m).__name__ for m in net.modules() if not list(m.children())})
    return ", ".join(names) or "(none)"


def build_variant(
    parent: nn.Module,
    variant: Variant,
    *,
    model: str,
    input_shape: tuple[int, ...] | None = None,
) -> BuiltVariant:
    """Apply `variant` to a copy of `parent` (an eval-mode float32 module). A module that cannot
    be copied yields an `unavailable` reason; int8 and pruning first bake the copy's
    parametrizations (weight norm, spectral norm) into plain weights (`_bake`). With the
    per-sample `input_shape`, int8 and pruning run one probe forward pass to name the compressed
    layers that the forward pass never calls (`_not_run`)."""
    try:
        with warnings.catch_warnings():
            # torch's own deprecation inside copying a torch.export program (its pytree specs):
            # two lines per variant job that the user can do nothing about
            warnings.simplefilter("ignore", FutureWarning)
            net = copy.deepcopy(parent).eval()
    except RuntimeError as err:  # torch refuses to copy non-leaf tensors held as attributes
        return BuiltVariant(
            module=None,
            gradients=False,
            unavailable=(
                f"variant {variant.name} works on a copy of {model!r}, which cannot be copied "
                f"({str(err).split('.')[0]}); a layer wrapped by the old "
                "torch.nn.utils.weight_norm does this: use "
                "torch.nn.utils.parametrizations.weight_norm, or remove_weight_norm after training"
            ),
        )
    if variant.kind in CAST_DTYPES:
        dtype = CAST_DTYPES[variant.kind]
        return BuiltVariant(
            module=CastInputs(net.to(dtype), dtype),
            gradients=True,
            notes=[
                f"weights and activations in {variant.kind}; inputs cast inside, float32 logits"
            ],
            details={"dtype": variant.kind},
        )
    baked = _bake(net)
    built = (
        _quantize(net, model=model) if variant.kind == "int8" else _prune(net, variant, model=model)
    )
    if baked and built.module is not None:
        built.notes.insert(
            0,
            f"parametrized weights baked into plain weights first (their values in eval mode): "
            f"{', '.join(baked)}",
        )
        built.details["baked_parametrizations"] = baked
    if built.module is not None:
        touched = _touched(built)
        untouched = _untouched_weights(built.module, touched)
        if untouched:
            built.notes.append(
                f"layers holding weight matrices that {variant.name} does not compress (they stay "
                f"as in the parent): {untouched}"
            )
        if input_shape is not None:
            _not_run(built, touched, input_shape)
    return built


def _touched(built: BuiltVariant) -> list[str]:
    layers = built.details.get("quantized_layers", built.details.get("pruned_layers", []))
    assert isinstance(layers, list)
    return [str(name) for name in layers]


def _untouched_weights(net: nn.Module, touched: list[str]) -> str:
    """Layers (not Linear/Conv, which the notes cover) holding a weight matrix of their own that
    the recipe left alone, by type: a custom layer calling `F.linear` on its own parameter."""
    by_type: dict[str, list[str]] = {}
    for name, m in net.named_modules():
        if name in touched or isinstance(m, PRUNABLE) or not name:
            continue
        if any(p.dim() >= 2 for p in m.parameters(recurse=False)):
            by_type.setdefault(type(m).__name__, []).append(name)
    return "; ".join(f"{', '.join(names)} ({kind})" for kind, names in sorted(by_type.items()))


def _not_run(built: BuiltVariant, touched: list[str], input_shape: tuple[int, ...]) -> None:
    """One forward pass of a zero input: which compressed layers did it call? A recipe whose
    layers never run leaves the network's function as it was, and with int8's per-sample
    evaluation the outputs still differ from the parent's batched ones in their last bits, so
    the results alone cannot show it. A network that fails on zeros is not judged."""
    assert built.module is not None
    if not touched:
        return
    modules = dict(built.module.named_modules())
    ran: set[str] = set()
    hooks = [
        modules[name].register_forward_hook(lambda *_, n=name: ran.add(n))
        for name in touched
        if name in modules
    ]
    try:
        with torch.no_grad():
            built.module(torch.zeros(1, *input_shape))
    except Exception as err:  # noqa: BLE001 - the probe is advisory; the jobs will say more
        log.debug("probe forward pass of the variant failed: %s", err)
        return
    finally:
        for hook in hooks:
            hook.remove()
    idle = [name for name in touched if name not in ran]
    if idle:
        built.details["layers_not_run"] = idle
    if len(idle) == len(touched):
        built.notes.insert(
            0,
            f"none of the {len(touched)} compressed layer(s) ran in a probe forward pass of a "
            f"zero input ({', '.join(idle)}): unless other inputs take another path through the "
            "network, the variant computes what its parent computes, so its deltas are 0 up to "
            "float rounding, not a measured robustness to compression",
        )
    elif idle:
        built.notes.insert(
            0,
            f"compressed layer(s) that did not run in a probe forward pass of a zero input: "
            f"{', '.join(idle)}",
        )


def _bake(net: nn.Module) -> list[str]:
    """Replace every parametrization of `net` (a copy) by the plain tensor it computes.

    `torch.nn.utils.parametrizations.weight_norm` / `spectral_norm` turn a layer's `weight` into
    a property computed from other parameters: pruning then failed (`weight_orig` cannot hold the
    computed tensor) and int8 skipped the layer (its class is no longer `nn.Linear`). In eval mode
    the computed weight is fixed, so baking it keeps the network's function exactly.

    Not `parametrize.remove_parametrizations`: it deletes the property from the layer's class,
    which the copy shares with the parent (deepcopy keeps classes), so the parent's layer lost
    its `weight`; and it registers the baked tensor as a buffer, which pruning cannot take. Here
    only the copy's layer changes: it gets its plain class back (torch's parametrized class
    subclasses it), loses its `parametrizations`, and holds each baked tensor as a parameter."""
    from torch.nn.utils import parametrize

    held = [(name, m) for name, m in net.named_modules() if parametrize.is_parametrized(m)]
    baked: list[str] = []
    with torch.no_grad():
        for name, module in held:
            parametrizations = module.parametrizations
            values = {t: getattr(module, t).detach().clone() for t in parametrizations}
            kinds = {t: ", ".join(type(p).__name__ for p in parametrizations[t]) for t in values}
            module.__class__ = type(module).__bases__[0]
            del module.parametrizations
            for tensor, value in values.items():
                module.register_parameter(tensor, nn.Parameter(value, requires_grad=False))
                where = f"{name}.{tensor}" if name else tensor
                baked.append(f"{where} ({kinds[tensor]})")
    return baked


def _quantize(net: nn.Module, *, model: str) -> BuiltVariant:
    linears = [name for name, m in net.named_modules() if type(m) is nn.Linear]
    if not linears:
        return BuiltVariant(
            module=None,
            gradients=False,
            unavailable=(
                "int8 dynamic quantization applies to nn.Linear layers only (torch has no dynamic "
                "conv kernels); "
                + _none_to_compress(net, model=model, recipe="quantize", layers="nn.Linear")
            ),
        )
    others = sorted(
        {
            type(m).__name__
            for m in net.modules()
            if isinstance(m, PRUNABLE) and type(m) is not nn.Linear
        }
    )
    # quantize_dynamic's kernels take float32 weights and inputs: a parent held in fp16/bf16
    # (run behind CastInputs, which would feed the quantized layers half inputs) is quantized
    # from its weights in float32 (exact for half types) and then runs in float32
    held = sorted({str(p.dtype) for p in net.parameters() if p.dtype != torch.float32})
    if held:
        net = net.float()
    tied: dict[int, list[str]] = {}
    for name, m in net.named_modules():
        if type(m) is nn.Linear:
            tied.setdefault(id(m.weight), []).append(name)
    shared = [names for names in tied.values() if len(names) > 1]
    with warnings.catch_warnings():
        # torch 2.13 warns that eager-mode quantization moves to torchao; it still works here
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=UserWarning)
        qnet = torch.ao.quantization.quantize_dynamic(net, {nn.Linear}, dtype=torch.qint8)
    notes = [
        f"int8 dynamic quantization of {len(linears)} Linear layer(s): {', '.join(linears)}",
        "quantized Linear layers pass no gradient to the input: gradient-based suites use their "
        "black-box paths",
    ]
    for names in shared:
        notes.append(
            f"Linear layers {', '.join(names)} shared one weight: each is quantized and stored "
            "separately (the tie is lost, the parameter count grows)"
        )
    if held:
        notes.append(
            f"the parent's {', '.join(t.removeprefix('torch.') for t in held)} weights were cast "
            "to float32 before quantization; the variant runs in float32"
        )
    if others:
        notes.append(
            f"{', '.join(others)} layers stay float32 (dynamic quantization does not support them)"
        )
    return BuiltVariant(
        module=qnet,
        gradients=False,
        notes=notes,
        details={"quantized_layers": linears, "float_layers": others},
    )


def _prune(net: nn.Module, variant: Variant, *, model: str) -> BuiltVariant:
    assert variant.sparsity is not None
    layers = [(name, m) for name, m in net.named_modules() if isinstance(m, PRUNABLE)]
    if not layers:
        return BuiltVariant(
            module=None,
            gradients=True,
            unavailable=(
                "magnitude pruning applies to Linear/Conv weights; "
                + _none_to_compress(net, model=model, recipe="prune", layers="Linear/Conv")
            ),
        )
    with torch.no_grad():
        if variant.scope == "global":
            prune.global_unstructured(
                [(m, "weight") for _, m in layers],
                pruning_method=prune.L1Unstructured,
                amount=variant.sparsity,
            )
        else:
            for _, m in layers:
                prune.l1_unstructured(m, "weight", amount=variant.sparsity)
        for _, m in layers:
            prune.remove(m, "weight")  # make the mask permanent: plain weights with zeros
    # a weight shared by several layers (tied weights) counts once
    weights = list({id(w): w for w in (m.get_parameter("weight") for _, m in layers)}.values())
    zeros = sum(int((w == 0).sum()) for w in weights)
    total = sum(w.numel() for w in weights)
    return BuiltVariant(
        module=net,
        gradients=True,
        notes=[
            f"L1 magnitude pruning ({variant.scope}) of {len(layers)} layer weight(s) at sparsity "
            f"{variant.sparsity:g}: {zeros} of {total} weights are zero"
        ],
        details={"pruned_layers": [n for n, _ in layers], "weight_sparsity": zeros / total},
    )
