"""Tabular distribution shifts at graded severities 1..5, deterministic from per-sample seeds.

- `gaussian_noise`: add ``N(0, (c_s * std_j)^2)`` to feature j, where std_j is the feature's
  standard deviation on the training split, then clip to the task bounds (models only accept
  inputs within bounds).
- `feature_dropout`: each feature of each sample goes missing with probability p_s and is imputed
  with its training mean (models cannot take NaN, so a missing value is what a mean-imputing
  pipeline would feed them).

Both use training statistics (the evaluation split stands in when a task has no train split;
the suite notes it). Randomness comes from `suites.counter_rng` keyed by the per-sample seeds.
"""

from __future__ import annotations

from typing import Literal

import torch

from suites import counter_rng

TabularFamily = Literal["gaussian_noise", "feature_dropout"]
TABULAR_FAMILIES: tuple[str, ...] = ("gaussian_noise", "feature_dropout")

NOISE_SCALE: tuple[float, ...] = (0.1, 0.2, 0.35, 0.5, 0.75)  # x the training std, severities 1..5
DROPOUT_PROB: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)  # chance a feature goes missing


def gaussian_noise(
    x: torch.Tensor,
    severity: int,
    seeds: torch.Tensor,
    *,
    std: torch.Tensor,
    bounds: tuple[float, float] | None,
) -> torch.Tensor:
    """Feature noise scaled by each feature's training std; clipped to `bounds`."""
    noise = counter_rng.normal(seeds.to(x.device), tuple(x.shape[1:]), stream=11)
    out = x + noise.to(x.dtype) * (NOISE_SCALE[severity - 1] * std.to(x.device, x.dtype))
    return out.clamp(*bounds) if bounds is not None else out


def feature_dropout(
    x: torch.Tensor, severity: int, seeds: torch.Tensor, *, mean: torch.Tensor
) -> torch.Tensor:
    """Missing features (probability p_s each) imputed with the training mean."""
    u = counter_rng.uniform(seeds.to(x.device), tuple(x.shape[1:]), stream=12)
    missing = u < DROPOUT_PROB[severity - 1]
    return torch.where(missing, mean.to(x.device, x.dtype).expand_as(x), x)
