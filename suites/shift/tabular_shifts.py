"""Tabular distribution shifts at graded severities 1..5, deterministic from per-sample seeds.

- `gaussian_noise`: add ``N(0, (c_s * scale_j)^2)`` to feature j, then clip to the task bounds
  (models only accept inputs within bounds). scale_j is the feature's standard deviation on the
  training split; when the task declares per-feature bounds (`Task.feature_bounds`, read through
  `Task.feature_box()`), scale_j is instead ``(high_j - low_j) / sqrt(12)`` (the spread of a
  feature uniform over its declared range, so the noise follows what the task says a feature may
  take rather than what one split happens to hold) and the result is clipped to each feature's
  own (low_j, high_j). Categorical features (one-hot, binary, integer codes:
  `perturbations.continuous_features`) are left as they are: noise would give them values a
  model never sees (sex = 0.37).
- `feature_dropout`: each feature of each sample goes missing with probability p_s and is imputed
  with its training mean (models cannot take NaN, so a missing value is what a mean-imputing
  pipeline would feed them); a categorical feature with its most frequent training value, and
  a one-hot column goes missing whole, imputed with its most frequent category (what a
  most-frequent imputer before the encoding feeds a model; the mean would be sex = 0.37).

Both use training statistics (the evaluation split stands in when a task has no train split;
the suite notes it). Randomness comes from `suites.counter_rng` keyed by the per-sample seeds.
"""

from __future__ import annotations

import math

import torch

from harness.suites import counter_rng

TABULAR_FAMILIES: tuple[str, ...] = ("gaussian_noise", "feature_dropout")

NOISE_SCALE: tuple[float, ...] = (0.1, 0.2, 0.35, 0.5, 0.75)  # x the training std, severities 1..5
DROPOUT_PROB: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)  # chance a feature goes missing


def box_scale(low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """The noise scale of features with declared bounds: the std of a uniform over each range."""
    return (high - low) / math.sqrt(12.0)


def gaussian_noise(
    x: torch.Tensor,
    severity: int,
    seeds: torch.Tensor,
    *,
    std: torch.Tensor,
    bounds: tuple[float, float] | None,
    box: tuple[torch.Tensor, torch.Tensor] | None = None,
    continuous: torch.Tensor | None = None,
    observed: torch.Tensor | None = None,
) -> torch.Tensor:
    """Feature noise scaled by each feature's training std, clipped to `bounds`; with a
    per-feature `box` (low, high), scaled by `box_scale` and clipped to the box instead, except
    the `observed` features (bool per feature; None: none), whose box is only the range the
    data takes: they keep the training std (a range grows with the sample and with one
    outlier) and are clipped to it. Only the `continuous` features (bool per feature; all when
    None) change."""
    noise = counter_rng.normal(seeds.to(x.device), tuple(x.shape[1:]), stream=11)
    if box is not None:
        low, high = (b.to(x.device, x.dtype) for b in box)
        scale = box_scale(low, high)
        if observed is not None:
            trained = std.to(x.device, x.dtype).reshape(scale.shape)
            scale = torch.where(observed.to(x.device).reshape(scale.shape), trained, scale)
        out = x + noise.to(x.dtype) * (NOISE_SCALE[severity - 1] * scale)
        out = torch.minimum(torch.maximum(out, low), high)
    else:
        out = x + noise.to(x.dtype) * (NOISE_SCALE[severity - 1] * std.to(x.device, x.dtype))
        out = out.clamp(*bounds) if bounds is not None else out
    if continuous is None:
        return out
    return torch.where(continuous.to(x.device).reshape(x.shape[1:]), out, x)


def feature_dropout(
    x: torch.Tensor,
    severity: int,
    seeds: torch.Tensor,
    *,
    fill: torch.Tensor,
    group: torch.Tensor | None = None,
) -> torch.Tensor:
    """Missing features (probability p_s each) imputed with `fill` (`perturbations.
    imputed_values`: the training mean, the most frequent value of a categorical feature).
    `group` (int64 per feature; None: each its own): the feature whose draw decides each one's,
    so a one-hot column goes missing whole."""
    u = counter_rng.uniform(seeds.to(x.device), tuple(x.shape[1:]), stream=12)
    missing = u < DROPOUT_PROB[severity - 1]
    if group is not None:
        flat = missing.reshape(len(x), -1)
        missing = flat[:, group.to(x.device)].reshape(missing.shape)
    return torch.where(missing, fill.to(x.device, x.dtype).reshape(x.shape[1:]).expand_as(x), x)
