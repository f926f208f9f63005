"""A torch model that holds its weights in another float type than the float32 inputs it is fed.

Suites feed float32 inputs and read float32 logits. A module whose floating-point parameters
are all float16, bfloat16 or float64 (a user's `model.half()` or `model.double()`, a factory
that returns one, a compressed variant) is run behind `CastInputs`: its inputs are cast to its
type on the way in and its logits back to float32, so every suite, gradients included, runs it
in the precision it was given (without it the first forward pass failed, e.g. "Input type
(float) and bias type (double) should be the same").
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class CastInputs(nn.Module):
    """Runs `inner` in its own float type: inputs cast in, float32 logits out."""

    def __init__(self, inner: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.inner = inner
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.to(self.dtype)).float()

    def _apply(self, fn: Any, recurse: bool = True) -> CastInputs:
        # `.half()`, `.double()`, `.to(dtype)` on the wrapper (a variant of a float64 model):
        # the inputs follow the parameters' new type
        super()._apply(fn, recurse)
        types = {p.dtype for p in self.inner.parameters() if p.is_floating_point()}
        if len(types) == 1:
            (self.dtype,) = types
        return self


def own_float_type(module: nn.Module) -> torch.dtype | None:
    """The one floating-point type of `module`'s parameters when it is not float32 (None when
    it is float32, mixed, or the module has no floating-point parameters)."""
    types = {p.dtype for p in module.parameters() if p.is_floating_point()}
    if len(types) != 1:
        return None
    (dtype,) = types
    return None if dtype == torch.float32 else dtype


def in_its_float_type(module: nn.Module) -> nn.Module:
    """`module`, behind `CastInputs` when its parameters are all of another float type."""
    dtype = own_float_type(module)
    return module if dtype is None else CastInputs(module, dtype)
