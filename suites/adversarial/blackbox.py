"""A foolbox `Model` over `adapter.logits`, for adapters that expose no gradients.

Decision-based attacks (HopSkipJump, Boundary) only need the predicted label, so they can attack
any adapter (ONNX, scikit-learn, remote APIs) through its ordinary `logits` call.
"""

from __future__ import annotations

from typing import TypeVar

import eagerpy as ep
import foolbox as fb
import torch

from harness.core.adapter import ModelAdapter

T = TypeVar("T")


class LogitsModel(fb.models.Model):
    """Foolbox model calling the adapter's inference-only `logits` (no gradients needed)."""

    def __init__(self, adapter: ModelAdapter, bounds: tuple[float, float]) -> None:
        self._adapter = adapter
        self._bounds = fb.types.Bounds(float(bounds[0]), float(bounds[1]))

    @property
    def bounds(self) -> fb.types.Bounds:
        return self._bounds

    def __call__(self, inputs: T) -> T:  # foolbox's generic signature
        x, restore = ep.astensor_(inputs)
        raw: torch.Tensor = x.raw
        out = self._adapter.logits(raw.detach()).to(raw.device)
        return restore(ep.astensor(out))
