"""Tiny factories for variant tests (importable by `factory:` references)."""

from __future__ import annotations

import torch
from torch import nn


def conv_only(num_classes: int = 10) -> nn.Module:
    """1x8x8 -> logits with no Linear layer (int8 dynamic quantization cannot apply)."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, num_classes, kernel_size=8), nn.Flatten())


class _Fp32Fails(nn.Module):
    """A linear digits net that raises while its weights are float32 (so its fp16 copy runs)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.inner = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inner[1].weight.dtype == torch.float32:
            raise RuntimeError("this model fails in float32")
        return self.inner(x)


def fails_in_fp32() -> nn.Module:
    """Parent fails every job, its fp16 variant completes: `harness variants` must say so."""
    return _Fp32Fails()


def fails_in_fp16() -> nn.Module:
    """The opposite: the parent completes, its fp16 variant fails."""
    return _Fp16Fails()


class _Fp16Fails(_Fp32Fails):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inner[1].weight.dtype == torch.float16:
            raise RuntimeError("this model fails in float16")
        return self.inner(x)
