"""A torch model whose forward returns its logits inside a mapping or an object.

A transformers classifier (`AutoModelForImageClassification`, `AutoModelForSequenceClassification`)
returns a `ModelOutput`; other models return a dict with key 'logits' or a dataclass with a
`logits` tensor. The torch adapter runs every module behind `LogitsField`, which hands on that
field (`harness.core.model_calls.logits_field`), so suites, attacks included, see the (batch,
classes) tensor and its gradients. A module that returns a tensor goes through untouched.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from harness.core.model_calls import logits_field


class LogitsField(nn.Module):
    """Runs `inner` and returns the `logits` of what it returned (a tensor stays as it is)."""

    def __init__(self, inner: nn.Module, *, model: str) -> None:
        super().__init__()
        self.inner = inner
        self.model = model  # named in the refusal of a `logits` field that holds no tensor

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        # `inner` read from `_modules` (an instance attribute: no nn.Module lookup), never a
        # reference kept aside: `quantize_dynamic` swaps a child by writing `_modules`, and a
        # stale reference ran the float layer of an int8 variant of a one-Linear model
        inner: nn.Module = self._modules["inner"]  # type: ignore[assignment]  # set in __init__
        out = inner(*args, **kwargs)
        return out if isinstance(out, torch.Tensor) else logits_field(out, model=self.model)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """`forward`, without `nn.Module.__call__`'s hook dispatch (no hook is ever registered
        on this layer: the harness hooks the model's own layers). With the inner module read
        from the instance's `_modules` dict, this layer costs 0.3-0.4 us a call on the CPU where an
        ordinary one cost 1.3, and the throughput suite times every call
        (`benchmarks/bench_logits_field.py`). A `forward` set on the instance is honoured."""
        return self.forward(*args, **kwargs)
