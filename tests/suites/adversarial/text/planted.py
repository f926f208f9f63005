"""A planted bag-of-words sentiment model: known words carry known weights, every other word
(a misspelling included) weighs nothing, so an attack's effect can be computed by hand. A
text without sentiment words is negative (bias -0.1): a positive text breaks when all its
positive words are gone, a negative one never does by removal alone."""

from __future__ import annotations

import re

import numpy as np

WEIGHTS: dict[str, float] = {
    "good": 2.0,
    "great": 2.5,
    "fine": 1.0,
    "superb": 3.0,
    "bad": -2.0,
    "awful": -2.5,
    "boring": -1.5,
    "dull": -1.0,
}
SYNONYMS: dict[str, list[str]] = {
    "good": ["decent", "fine", "solid"],
    "great": ["grand", "good"],
    "superb": ["fine", "grand"],
    "bad": ["poor", "weak"],
    "awful": ["poor", "bad"],
    "boring": ["slow", "dull"],
}
_WORD = re.compile(r"[A-Za-z']+")


def bag_of_words_scores(texts: list[str]) -> np.ndarray:
    """(n, 2) probabilities of (negative, positive): a logistic model over the word weights."""
    out = np.zeros((len(texts), 2))
    for i, text in enumerate(texts):
        s = sum(WEIGHTS.get(w.lower(), 0.0) for w in _WORD.findall(text)) - 0.1
        p = 1.0 / (1.0 + np.exp(-s))
        out[i] = (1.0 - p, p)
    return out


def constant_scores(texts: list[str]) -> np.ndarray:
    """A model that ignores its input: the same probabilities (class 1 likelier) for any text."""
    return np.tile(np.array([[0.3, 0.7]]), (len(texts), 1))


def tied_scores(texts: list[str]) -> np.ndarray:
    """A model whose two classes always tie: argmax gives every text class 0."""
    return np.full((len(texts), 2), 0.5)


_DRAWS = np.random.default_rng(0)


def random_scores(texts: list[str]) -> np.ndarray:
    """A randomised model: new probabilities on every call, whatever the text."""
    p = _DRAWS.random(len(texts))
    return np.stack([1.0 - p, p], axis=1)


_KNOWN = set(WEIGHTS) | {"a", "film", "the", "cast", "was", "and", "acting", "movie", "plot", "is"}
_KNOWN |= {"but", "ok"}


def nan_on_unknown_words(texts: list[str]) -> np.ndarray:
    """The bag-of-words model, NaN for any text holding a word it does not know (every
    character edit makes one): a model that fails on the attack's texts."""
    out = bag_of_words_scores(texts)
    for i, text in enumerate(texts):
        if any(w.lower() not in _KNOWN for w in _WORD.findall(text)):
            out[i] = np.nan
    return out


def nan_everywhere(texts: list[str]) -> np.ndarray:
    return np.full((len(texts), 2), np.nan)


def batch_centred_scores(texts: list[str]) -> np.ndarray:
    """The bag-of-words model with each text's log-odds centred on its batch's mean (a test-time
    normalisation over the batch): a text's scores depend on the texts beside it."""
    p = bag_of_words_scores(texts)[:, 1]
    z = np.log(p) - np.log1p(-p)
    z = z - z.mean() if len(z) > 1 else z
    q = 1.0 / (1.0 + np.exp(-z))
    return np.stack([1.0 - q, q], axis=1)
