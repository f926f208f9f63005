"""Outputs that are probabilities, not logits: a model that ends in a softmax.

Suites apply a softmax to what an adapter's `logits` returns. A row that already is a probability
vector (non-negative, summing to one) comes out flattened: its argmax, and so accuracy, is kept,
but the confidence, NLL, Brier score and ECE are those of softmax(probabilities), and attack
losses saturate. Log-probabilities are logits and are not such rows. A suite that finds every row
of a model's outputs to be a probability vector raises `FLAG` on the numbers it distorts.
"""

from __future__ import annotations

import torch

PROBABILITY_ATOL = 1e-4
FLAG = "probability_outputs"


def probability_rows(logits: torch.Tensor) -> torch.Tensor:
    """Per row of a (batch, classes) output: whether it is a probability vector (every entry
    at least -PROBABILITY_ATOL, the sum within PROBABILITY_ATOL of one)."""
    out = logits.detach().double().cpu()
    return (out >= -PROBABILITY_ATOL).all(1) & ((out.sum(1) - 1).abs() <= PROBABILITY_ATOL)
