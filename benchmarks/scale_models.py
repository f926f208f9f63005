"""Callable numpy models for the scale benchmark (`bench_scale.py`): linear classifiers on
`digits` of graded noise, importable as `benchmarks.scale_models:linear` (`factory: true`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _templates() -> np.ndarray:
    """(64, 10) class-mean images of scikit-learn's digits, scaled to [0, 1], centred."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = data.data / 16.0
    means = np.stack([x[data.target == c].mean(axis=0) for c in range(10)], axis=1)
    return (means - means.mean(axis=1, keepdims=True)).astype(np.float32)


def linear(seed: int, noise: float) -> Callable[[np.ndarray], np.ndarray]:
    """A linear model: the class templates plus Gaussian noise of scale `noise` (seeded)."""
    weights = _templates()
    weights = weights + np.float32(noise) * np.random.default_rng(seed).normal(
        size=weights.shape
    ).astype(np.float32)

    def logits(x: np.ndarray) -> np.ndarray:
        return 8.0 * (np.asarray(x, dtype=np.float32).reshape(len(x), -1) @ weights)

    return logits
