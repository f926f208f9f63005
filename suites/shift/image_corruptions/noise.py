"""Noise corruptions: Gaussian, shot (Poisson), impulse (salt and pepper) and speckle noise."""

from __future__ import annotations

from typing import Any

import torch

from suites import counter_rng
from suites.shift.image_corruptions.streams import S_FLIP, S_NOISE, S_SALT


def gaussian_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """x + N(0, c^2) per element."""
    return x + p["c"] * counter_rng.normal(seeds, tuple(x.shape[1:]), S_NOISE)


def shot_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Poisson(x * rate) / rate per element, exact Poisson by CDF inversion.

    Pixels holding an 8-bit level (``x == j / 255`` in float32, as decoded images are) read the
    CDF from a table of the 256 possible rates; any other value takes the general path.
    """
    rate = p["rate"]
    levels = torch.arange(256, dtype=torch.float32, device=x.device) / 255.0
    return counter_rng.poisson(seeds, x * rate, S_NOISE, table_rates=levels * rate) / rate


def impulse_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """skimage 's&p': each element flips with prob c, to 1 or 0 with prob 1/2 each."""
    shape = tuple(x.shape[1:])
    flipped = counter_rng.uniform(seeds, shape, S_FLIP) <= p["c"]
    salted = counter_rng.uniform(seeds, shape, S_SALT) <= 0.5
    out = torch.where(flipped & salted, torch.ones_like(x), x)
    return torch.where(flipped & ~salted, torch.zeros_like(x), out)


def speckle_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """x + x * N(0, c^2) per element."""
    return x + x * (p["c"] * counter_rng.normal(seeds, tuple(x.shape[1:]), S_NOISE))
