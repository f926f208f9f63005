"""Outputs that are probabilities, not logits: a model that ends in a softmax.

Suites apply a softmax to what an adapter's `logits` returns. A row that already is a probability
vector (non-negative, summing to one) comes out flattened: its argmax, and so accuracy, is kept,
but the confidence, NLL, Brier score and ECE are those of softmax(probabilities), and attack
losses saturate. Log-probabilities are logits and are not such rows. A suite that finds every row
of a model's outputs to be a probability vector raises `FLAG` on the numbers it distorts; suites
store each row's answer in the per-sample column `COLUMN` and decide from the stored rows
(`all_probabilities`), so a sharded job's merged table decides as the whole run would.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Any

import numpy as np
import torch

PROBABILITY_ATOL = 1e-4
FLAG = "probability_outputs"
COLUMN = "probability_output"


def probability_rows(logits: torch.Tensor) -> torch.Tensor:
    """Per row of a (batch, classes) output: whether it is a probability vector (every entry
    at least -PROBABILITY_ATOL, the sum within PROBABILITY_ATOL of one)."""
    out = logits.detach().double().cpu()
    return (out >= -PROBABILITY_ATOL).all(1) & ((out.sum(1) - 1).abs() <= PROBABILITY_ATOL)


def all_probabilities(column: Any) -> bool:
    """Whether every stored row of a `COLUMN` column (numpy array or pandas Series) was a
    probability vector; None (a table stored before the column existed), no rows, or a missing
    value (a row of another condition, where the column is null): False."""
    if column is None or not isinstance(column, Sized) or len(column) == 0:
        return False
    values = np.asarray(column)
    if values.dtype == np.bool_:
        return bool(values.all())
    return all(v is True for v in values.tolist())  # null (NaN, None) is not True
