"""Per-sample random starts drawn by a counter-based hash, batched on the attack's device.

Each sample's noise is a pure function of its own seed (from `derive_seed(run seed, sample id,
...)`) and the element index, so it does not depend on the batch it sits in, the batch size or
the device, and a whole batch is drawn with a handful of vectorised integer ops instead of one
`torch.Generator` per sample (which cost about 35 ms per 719 digits per restart on this CPU).
The mixer is a 32-bit integer hash (two xor-shift-multiply rounds, multiplier 0x45d9f3b) kept in
int64 lanes, so no product can overflow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from suites.adversarial.budgets import Norm

_M32 = 0xFFFFFFFF
_MUL = 0x45D9F3B  # < 2**31: a 32-bit lane times it stays below 2**63
_GOLDEN = 0x9E3779B9


def _mix32(h: torch.Tensor) -> torch.Tensor:
    h = (((h >> 16) ^ h) * _MUL) & _M32
    h = (((h >> 16) ^ h) * _MUL) & _M32
    return (h >> 16) ^ h


def hashed_uniform(seeds: Sequence[int], count: int, device: torch.device) -> torch.Tensor:
    """(len(seeds), count) float32 uniforms in [0, 1), row i a pure function of seeds[i]."""
    s = torch.as_tensor([int(v) for v in seeds], dtype=torch.int64, device=device)
    lo, hi = s & _M32, (s >> 32) & _M32
    key = _mix32(_mix32(lo ^ _GOLDEN) ^ hi)[:, None]
    j = torch.arange(count, dtype=torch.int64, device=device)[None, :]
    h = _mix32(_mix32((key + j * _GOLDEN) & _M32) ^ key)
    return (h >> 8).to(torch.float32) * (1.0 / (1 << 24))


def start_noise(
    shape: tuple[int, ...], norm: Norm, seeds: Sequence[int], device: torch.device
) -> torch.Tensor:
    """Per-sample random start: uniform in the unit L-inf box, or uniform in the unit L2 ball."""
    d = math.prod(shape)
    if norm == "linf":
        return (hashed_uniform(seeds, d, device) * 2 - 1).view(len(seeds), *shape)
    u = hashed_uniform(seeds, 2 * d + 1, device)
    # Box-Muller on (1 - u1) in (0, 1]: a Gaussian direction, then radius r = U^(1/d).
    g = torch.sqrt(-2.0 * torch.log1p(-u[:, :d])) * torch.cos(2 * math.pi * u[:, d : 2 * d])
    r = u[:, 2 * d :] ** (1.0 / d)
    unit = g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return (unit * r).view(len(seeds), *shape)
