"""Callables for the `callable` adapter tests (importable as `tests.adapters.callables:<name>`)."""

from __future__ import annotations

import numpy as np

_W = np.random.default_rng(0).normal(size=(10, 2)).astype(np.float32)


def tabular_probabilities(x: np.ndarray) -> np.ndarray:
    """Softmax of a fixed linear map: a valid probability model for diabetes (10 -> 2)."""
    z = x.reshape(len(x), -1) @ _W
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def tabular_logits(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1) @ _W


def wrong_shape(x: np.ndarray) -> np.ndarray:
    """A planted bug: one score per sample instead of (batch, classes)."""
    return x.reshape(len(x), -1).sum(axis=1)


def not_probabilities(x: np.ndarray) -> np.ndarray:
    return tabular_logits(x)  # rows do not sum to one


def text_length_scores(texts: list[str]) -> np.ndarray:
    """Text 'model': longer texts lean to class 1."""
    n = np.asarray([len(t.split()) for t in texts], dtype=np.float64)
    return np.stack([np.zeros_like(n), n - 3.0], axis=1)


def input_kind(x: object) -> np.ndarray:
    """Class 0 for a numpy batch, class 1 for a torch one: says what `input_format` passed."""
    kind = 0 if isinstance(x, np.ndarray) else 1
    scores = np.zeros((len(x), 2))  # type: ignore[arg-type]
    scores[:, kind] = 1.0
    return scores


def weights_from_file(path: str, **options: object) -> object:
    """Factory form: a linear map whose weights a numpy file holds (the callable reads it, not
    the harness)."""
    w = np.load(path)

    def predict(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1) @ w

    return predict
