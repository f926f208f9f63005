"""Tiny factories for variant tests (importable by `factory:` references)."""

from __future__ import annotations

import torch
from torch import nn


def conv_only(num_classes: int = 10) -> nn.Module:
    """1x8x8 -> logits with no Linear layer (int8 dynamic quantization cannot apply)."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, num_classes, kernel_size=8), nn.Flatten())
