"""Callable numpy models for the scale benchmark (`bench_scale.py`): linear classifiers on
`digits` of graded noise, importable as `benchmarks.scale_models:<factory>` (`factory: true`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

Predictor = Callable[[np.ndarray], np.ndarray]


def templates() -> np.ndarray:
    """(64, 10) class-mean images of scikit-learn's digits, scaled to [0, 1], centred."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = data.data / 16.0
    means = np.stack([x[data.target == c].mean(axis=0) for c in range(10)], axis=1)
    return (means - means.mean(axis=1, keepdims=True)).astype(np.float32)


def noisy_weights(seed: int, noise: float) -> np.ndarray:
    """The class templates plus Gaussian noise of scale `noise` (seeded)."""
    rng = np.random.default_rng(seed)
    return templates() + np.float32(noise) * rng.normal(size=(64, 10)).astype(np.float32)


def _predictor(weights: np.ndarray) -> Predictor:
    def logits(x: np.ndarray) -> np.ndarray:
        return 8.0 * (np.asarray(x, dtype=np.float32).reshape(len(x), -1) @ weights)

    return logits


def linear(seed: int, noise: float) -> Predictor:
    """A linear model with `noisy_weights(seed, noise)`."""
    return _predictor(noisy_weights(seed, noise))


def from_file(weights: str) -> Predictor:
    """A linear model whose (64, 10) weights are the .npy file `weights` (relative paths from the
    working folder): the same spec evaluates other weights when the file changes."""
    return _predictor(np.load(Path(weights), allow_pickle=False).astype(np.float32))
