"""Noise corruptions: Gaussian, shot (Poisson), impulse (salt and pepper) and speckle noise."""

from __future__ import annotations

import functools
from typing import Any

import torch

from suites import counter_rng
from suites.shift.image_corruptions.streams import S_FLIP, S_NOISE

_BUCKET_BITS = 12  # uniforms are looked up in 2**12 buckets per 8-bit level


def gaussian_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """x + N(0, c^2) per element."""
    return x + p["c"] * counter_rng.normal(seeds, tuple(x.shape[1:]), S_NOISE)


@functools.lru_cache(maxsize=16)
def _shot_tables(rate: float, device: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inversion tables of Poisson(j / 255 * rate) for the 256 8-bit levels j.

    `k_start[j, b]`: the smallest k with ``P(X <= k) >= b / 2**12`` (a lower bound of the answer
    for any uniform in bucket b); `limit[j, b]`: the largest 23-bit uniform index m with
    ``(m + 0.5) / 2**23 <= P(X <= k_start)`` (uniforms up to it answer k_start exactly). Both from
    the float64 CDF table of `counter_rng.poisson`, so the answers are the same.
    """
    levels = torch.arange(256, dtype=torch.float32, device=device) / 255.0
    cdf = counter_rng.poisson_cdf_table(levels * rate)  # (256, K) float64
    edges = torch.arange(1 << _BUCKET_BITS, dtype=torch.float64, device=device)
    edges = (edges / (1 << _BUCKET_BITS)).expand(256, -1).contiguous()
    k_start = torch.searchsorted(cdf, edges).clamp_(max=cdf.shape[1] - 1)
    at = cdf.gather(1, k_start)
    limit = torch.floor(at * (1 << counter_rng.UNIT_BITS) - 0.5).to(torch.int64)
    return levels, k_start.reshape(-1), limit.reshape(-1)


def shot_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Poisson(x * rate) / rate per element, exact Poisson by CDF inversion.

    Pixels holding an 8-bit level (``x == j / 255`` in float32, as decoded images are) invert
    their uniform with per-level lookup tables (`_shot_tables`; the same values as
    `counter_rng.poisson` with the 256 level rates tabled); any other value takes the general
    path of `counter_rng.poisson_from_uniform`.
    """
    rate = float(p["rate"])
    levels, k_start, limit = _shot_tables(rate, str(x.device))
    m = counter_rng.unit_indices(seeds, tuple(x.shape[1:]), S_NOISE)
    j = (x * 255.0).round_().clamp_(0, 255).to(torch.int64)
    hit = levels[j] == x
    idx = j.mul_(1 << _BUCKET_BITS).add_(m >> (counter_rng.UNIT_BITS - _BUCKET_BITS))
    k = k_start[idx]
    slow = (~hit | (m > limit[idx])).nonzero(as_tuple=True)
    if slow[0].numel():
        u = counter_rng.open_unit(m[slow])
        k = k.to(torch.float32)
        k[slow] = counter_rng.poisson_from_uniform(u, x[slow] * rate, table_rates=levels * rate)
        return k / rate
    return k.to(torch.float32) / rate


def impulse_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """skimage 's&p': each element flips with prob c, to 1 or 0 with prob 1/2 each.

    One 16-bit field per element (four per 64-bit word): its top 15 bits decide the flip
    (probability ``round(c * 2**15) / 2**15``, within 2**-16 of c), its last bit salt or pepper.
    """
    fields = counter_rng.random_fields(seeds, tuple(x.shape[1:]), S_FLIP, width=16)
    salted = (fields & 1).to(x.dtype)
    flipped = (fields >> 1) < round(p["c"] * (1 << 15))
    return torch.where(flipped, salted, x)


def speckle_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """x + x * N(0, c^2) per element."""
    return x + x * (p["c"] * counter_rng.normal(seeds, tuple(x.shape[1:]), S_NOISE))
