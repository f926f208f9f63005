"""Applying a corruption to a batch: the input checks, parameter resolution and the call."""

from __future__ import annotations

import torch

from suites.shift.image_corruptions.params import Regime, resolve_params
from suites.shift.image_corruptions.registry import IMPLEMENTATIONS, check_name_severity


def corrupt(
    images: torch.Tensor,
    name: str,
    severity: int,
    seeds: torch.Tensor,
    *,
    regime: Regime | None = None,
    scale: float | None = None,
) -> torch.Tensor:
    """Apply corruption ``name`` at ``severity`` (1..5) to a batch of images.

    Args:
        images: float32 ``(B, C, H, W)`` in [0, 1] with C in {1, 3} and H, W >= 8, on any device.
        name: one of `CORRUPTIONS`.
        severity: 1..5.
        seeds: int64 ``(B,)``, one seed per sample (derive it from run seed, sample id, corruption
            and severity); the only source of randomness.
        regime, scale: override the size rule of `resolve_params` (for experiments and tests).

    Returns:
        A new tensor with the same shape, dtype and device, clipped to [0, 1], in the standard
        contiguous layout.
    """
    check_name_severity(name, severity)
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a 4-D (B, C, H, W) tensor, got shape {shape}")
    b, c, h, w = images.shape
    if c not in (1, 3):
        raise ValueError(
            f"images must have 1 or 3 channels (B, C, H, W), got shape {tuple(images.shape)}"
        )
    if h < 8 or w < 8:
        raise ValueError(f"images must be at least 8x8, got shape {tuple(images.shape)}")
    if not images.dtype.is_floating_point:
        raise ValueError(f"images must be floating point in [0, 1], got dtype {images.dtype}")
    seeds = torch.as_tensor(seeds)
    if seeds.dtype != torch.int64 or seeds.shape != (b,):
        raise ValueError(
            f"seeds must be an int64 tensor of shape ({b},), got {seeds.dtype} {tuple(seeds.shape)}"
        )
    seeds = seeds.to(images.device)
    params = resolve_params(name, int(severity), h, w, regime=regime, scale=scale)
    x = images.to(torch.float32)
    if b == 0:
        return images.clone()
    # Inference mode: no autograd bookkeeping (nor version counters) on the hundreds of small ops
    # some corruptions run, a tenth of the sweep at 32 px. Its tensors cannot be changed in place
    # outside it, so the final clip runs outside, into a new tensor of the standard layout: the
    # caller gets an ordinary tensor (never its own images clipped in place), laid out as every
    # other batch whatever strides the corruption's last step left (a model's convolution may
    # take another kernel, with other roundings, for a channels-last batch), at no extra copy.
    with torch.inference_mode():
        corrupted = IMPLEMENTATIONS[name](x, params, seeds)
    out = torch.empty((b, c, h, w), dtype=torch.float32, device=images.device)
    torch.clamp(corrupted, 0.0, 1.0, out=out)
    return out if out.dtype == images.dtype else out.to(images.dtype)
