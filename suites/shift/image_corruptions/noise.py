"""Noise corruptions: Gaussian, shot (Poisson), impulse (salt and pepper) and speckle noise."""

from __future__ import annotations

import functools
from typing import Any

import torch

from harness.suites import counter_rng
from harness.suites.shift.image_corruptions.streams import S_FLIP, S_NOISE

_BUCKET_BITS = 9  # uniforms are looked up in 2**9 buckets per 8-bit level


def gaussian_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """x + N(0, c^2) per element."""
    return x + p["c"] * counter_rng.normal(seeds, tuple(x.shape[1:]), S_NOISE)


@functools.lru_cache(maxsize=16)
def _shot_tables(rate: float, device: str) -> tuple[torch.Tensor, ...]:
    """Inversion tables of Poisson(j / 255 * rate) for the 256 8-bit levels j, flat (j, bucket).

    ``k_start[j, b]``: the smallest k with ``P(X <= k) >= b / 2**9`` (the answer for uniform
    index m in bucket b is at least k_start); ``limit1`` / ``limit2``: the largest m with
    ``(m + 0.5) / 2**23 <= P(X <= k_start)``, resp. ``P(X <= k_start + 1)`` (up to limit1 the
    answer is k_start, up to limit2 k_start + 1; beyond, the general inversion). From the float64
    CDF table of `counter_rng.poisson`, so the answers are the same. Small enough (~1.25 MB) to
    stay in cache: lookups into larger tables were slower than the arithmetic they save. The CDF
    table itself comes last, for the general inversion (rebuilding it took a millisecond a call).
    """
    levels = torch.arange(256, dtype=torch.float32, device=device) / 255.0
    cdf = counter_rng.poisson_cdf_table(levels * rate)  # (256, K) float64
    width = cdf.shape[1]
    edges = torch.arange(1 << _BUCKET_BITS, dtype=torch.float64, device=device)
    edges = (edges / (1 << _BUCKET_BITS)).expand(256, -1).contiguous()
    k_start = torch.searchsorted(cdf, edges).clamp_(max=width - 1)
    scale = float(1 << counter_rng.UNIT_BITS)
    limits = [
        torch.floor(cdf.gather(1, (k_start + step).clamp(max=width - 1)) * scale - 0.5)
        .to(torch.int32)
        .reshape(-1)
        for step in (0, 1)
    ]
    return levels, k_start.to(torch.int16).reshape(-1), *limits, cdf


def shot_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Poisson(x * rate) / rate per element, exact Poisson by CDF inversion.

    Pixels holding an 8-bit level (``x == j / 255`` in float32, as decoded images are) invert
    their uniform with per-level lookup tables (`_shot_tables`; the same values as
    `counter_rng.poisson` with the 256 level rates tabled); any other value, and the rare
    uniform past two CDF steps of its bucket, takes `counter_rng.poisson_from_uniform`.
    """
    rate = float(p["rate"])
    levels, k_start, limit1, limit2, cdf = _shot_tables(rate, str(x.device))
    shape = x.shape
    m = counter_rng.unit_indices(seeds, tuple(shape[1:]), S_NOISE).reshape(-1)
    flat = x.reshape(-1)
    # int32 indices (< 2**17) and uniforms (< 2**23): half the memory traffic of int64.
    m32 = m.to(torch.int32)
    j = (flat * 255.0).round_().clamp_(0, 255).to(torch.int32)
    hit = levels.index_select(0, j) == flat
    idx = j.mul_(1 << _BUCKET_BITS).add_(m32 >> (counter_rng.UNIT_BITS - _BUCKET_BITS))
    above1 = m32 > limit1.index_select(0, idx)
    above2 = m32 > limit2.index_select(0, idx)
    k = k_start.index_select(0, idx).to(torch.float32)
    k += above1.to(torch.float32)
    slow = (~hit | above2).nonzero()[:, 0]
    if slow.numel():
        u = counter_rng.open_unit(m[slow])
        k[slow] = counter_rng.poisson_from_uniform(
            u, flat[slow] * rate, table_rates=levels * rate, table_cdf=cdf
        )
    return k.div_(rate).reshape(shape)


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
