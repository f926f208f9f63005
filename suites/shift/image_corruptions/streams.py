"""Counter-based random draws of the corruptions: one stream id per independent draw.

Randomness comes only from the per-sample seeds through `suites.counter_rng`; distinct streams
never share numbers, so adding a draw to one corruption cannot move another's.
"""

from __future__ import annotations

import torch

from harness.suites import counter_rng

S_NOISE, S_FLIP, S_SALT, S_ANGLE, S_PICK, S_CROP = 1, 2, 3, 4, 5, 6
S_AFFINE, S_DX, S_DY, S_GLASS, S_FRACTAL, S_TEXTURE = 7, 8, 9, 100, 200, 300
# Ranges above a base: glass blur's iterations S_GLASS + i; a plasma fractal takes three streams
# per level (36 up to 4096 px) from its base: fog's at S_FRACTAL, frost's shading at S_TEXTURE
# and its thinning at S_TEXTURE + 100; frost's crystals S_TEXTURE + 60 (seeds), + 61 (branches) and + 62 (flips).


def per_sample_uniform(seeds: torch.Tensor, stream: int) -> torch.Tensor:
    """One uniform (0, 1) float per sample, shape (B,)."""
    return counter_rng.uniform(seeds, (1,), stream)[:, 0]
