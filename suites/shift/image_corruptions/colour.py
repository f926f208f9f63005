"""Colour helpers: ITU-R 601 luma, and running a colour corruption on grayscale input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

Corruption = Callable[[torch.Tensor, dict[str, Any], torch.Tensor], torch.Tensor]
"""A corruption implementation: (images (B, C, H, W) float32, resolved params, seeds) -> images."""

_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as cv2.COLOR_RGB2GRAY and libjpeg use.


def luma(x: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma of an RGB batch, keeping a channel axis: (B, 3, H, W) -> (B, 1, H, W)."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return _LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b


def via_rgb(
    fn: Corruption,
) -> Corruption:
    """Run a colour corruption on grayscale input: replicate to RGB, corrupt, take luma."""

    def wrapped(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 3:
            return fn(x, p, seeds)
        return luma(fn(x.expand(-1, 3, -1, -1).contiguous(), p, seeds).clamp(0.0, 1.0))

    wrapped.__doc__ = fn.__doc__
    return wrapped
