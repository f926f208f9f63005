"""Models whose forward returns a tensor of the wrong kind, for the corpus
(`tests.reliability.hostile.output_models:<name>`): right shape, wrong kind of values."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from tests.fixture_models import linear_digits

TENSOR_KINDS = ("meta", "sparse", "sparse_csr", "mkldnn", "nested", "quantized", "bool", "complex")
ARRAY_KINDS = ("numpy-bool", "numpy-complex", "numpy-object")


def as_kind(out: torch.Tensor, kind: str) -> Any:
    """`out` (batch, classes logits) turned into a tensor of `kind` of the same shape."""
    out = out.detach()
    if kind == "meta":
        return torch.empty(out.shape, device="meta")
    if kind == "sparse":
        return out.to_sparse()
    if kind == "sparse_csr":
        return out.to_sparse_csr()
    if kind == "mkldnn":
        return out.float().to_mkldnn()
    if kind == "nested":
        return torch.nested.nested_tensor(list(out))
    if kind == "quantized":
        return torch.quantize_per_tensor(out.float(), 0.1, 0, torch.qint8)
    if kind == "bool":
        return out > 0
    if kind == "complex":
        return torch.complex(out, torch.zeros_like(out))
    array = out.numpy()
    if kind == "numpy-bool":
        return array > 0
    if kind == "numpy-complex":
        return array.astype(np.complex128)
    if kind == "numpy-object":
        return np.array([[object()] * array.shape[1]] * len(array), dtype=object)
    raise AssertionError(kind)


class _Emitting(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.inner = linear_digits()
        self.kind = kind

    def forward(self, x: torch.Tensor) -> Any:
        return as_kind(self.inner(x), self.kind)


def emitting(kind: str) -> nn.Module:
    """A digits model (a torch module) whose forward returns a tensor of `kind`."""
    return _Emitting(kind)


def scoring(kind: str) -> Any:
    """A digits model as a plain callable (`adapter: callable`, factory: true) returning `kind`."""
    inner = linear_digits()

    def score(batch: Any) -> Any:
        with torch.no_grad():
            return as_kind(inner(torch.as_tensor(batch).float()), kind)

    return score
