"""Size of a module's serialized weights, parameter count and nonzero count.

Quantized modules keep packed int8 weights that safetensors cannot hold, so their state dict is
serialized with `torch.save` into memory; every other module is measured as safetensors bytes.
Parameter counts include the packed weights and biases of quantized layers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import torch
from safetensors.torch import save as safetensors_save
from torch import nn

SizeFormat = Literal["safetensors", "torch.save"]


@dataclass(frozen=True)
class ModelSize:
    bytes: int
    format: SizeFormat
    parameters: int
    nonzero_parameters: int

    def to_dict(self) -> dict[str, object]:
        return {
            "size_bytes": self.bytes,
            "size_format": self.format,
            "parameters": self.parameters,
            "nonzero_parameters": self.nonzero_parameters,
        }


def _quantized_weights(net: nn.Module) -> list[torch.Tensor]:
    out: list[torch.Tensor] = []
    for m in net.modules():
        weight, bias = getattr(m, "weight", None), getattr(m, "bias", None)
        if callable(weight) and hasattr(m, "_packed_params"):  # dynamic quantized Linear
            out.append(weight().dequantize())
            b = bias() if callable(bias) else None
            if b is not None:
                out.append(b)
    return out


def _unshared(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`state` with one name per shared tensor (tied weights): a state dict names a shared
    tensor once per module, a safetensors file (`save_model`) and `torch.save` store it once."""
    seen: set[tuple[object, ...]] = set()
    out: dict[str, torch.Tensor] = {}
    for name, t in state.items():
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride())
        if t.numel() and key in seen:
            continue
        seen.add(key)
        out[name] = t
    return out


def model_size(net: nn.Module) -> ModelSize:
    """Serialized weight bytes plus parameter and nonzero counts of `net`."""
    tensors = [p.detach() for p in net.parameters()]
    quantized = _quantized_weights(net)
    state = net.state_dict()
    if quantized:
        buf = io.BytesIO()
        torch.save(state, buf)
        size, fmt = len(buf.getbuffer()), "torch.save"
    else:
        plain = {k: v.detach().contiguous().clone() for k, v in _unshared(state).items()}
        size, fmt = len(safetensors_save(plain)), "safetensors"
    tensors += quantized
    return ModelSize(
        bytes=size,
        format=fmt,  # type: ignore[arg-type]
        parameters=sum(t.numel() for t in tensors),
        nonzero_parameters=sum(int(torch.count_nonzero(t)) for t in tensors),
    )
