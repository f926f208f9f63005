"""Outputs that are probabilities, not logits: a model that ends in a softmax.

Suites apply a softmax to what an adapter's `logits` returns. A row that already is a probability
vector (non-negative, summing to one) comes out flattened: its argmax, and so accuracy, is kept,
but the confidence, NLL, Brier score and ECE are those of softmax(probabilities), and attack
losses saturate. Log-probabilities are logits and are not such rows. A row of a half-precision
model (float16, bfloat16: `model.half()`, mixed-precision inference) sums to one only within its
format's rounding, which is larger than float32's: each of its values is held to the tolerance of
the narrowest format it is exact in (`sum_tolerance`), whatever dtype it reaches the suite in (an
adapter hands float32 on). A suite that finds every row
of a model's outputs to be a probability vector raises `FLAG` on the numbers it distorts; suites
store each row's answer in the per-sample column `COLUMN` and decide from the stored rows
(`all_probabilities`), so a sharded job's merged table decides as the whole run would.
"""

from __future__ import annotations

import torch

from harness.core.calibration_flags import COLUMN as COLUMN
from harness.core.calibration_flags import FLAG as FLAG
from harness.core.calibration_flags import all_probabilities as all_probabilities

PROBABILITY_ATOL = 1e-4
PROBABILITY_FLOOR = 1e-12
"""A declared probability of exactly 0 (a decision tree's) is raised to this before the logarithm
(adapters' score_outputs): a label given 0 counts NLL -log(1e-12) = 27.63, where the model's own
NLL is infinite; the accuracy suite's NLL note counts such samples."""
REDUCED_PRECISION: tuple[tuple[torch.dtype, float], ...] = (
    (torch.float16, 2.0**-11),
    (torch.bfloat16, 2.0**-8),
)
"""Half-precision formats and their unit roundoff, narrowest tolerance first. A probability
vector stored in one sums to one within twice its unit roundoff: each value is rounded by at most
u of itself (u in all, as the values sum to one), and what computed them in float32 before adds
far less. Measured: float16 softmax rows miss by up to 3.8e-4, bfloat16 by up to 2.95e-3, over
2 to 21,843 classes and logit scales 0.1-30 (2.4e-4 and 1.95e-3 with 2 classes)."""


def sum_tolerance(rows: torch.Tensor, atol: float = PROBABILITY_ATOL) -> torch.Tensor:
    """Per row of a (batch, classes) output: how far from one its sum may be for a probability
    vector, `atol` plus twice the unit roundoff of the widest-rounding half-precision format
    (`REDUCED_PRECISION`) that holds every value of the row exactly; `atol` alone for a row
    that needs float32 (float64 tolerances)."""
    out = rows.detach().cpu()
    tolerance = torch.full((len(out),), atol, dtype=torch.float64)
    for dtype, unit in REDUCED_PRECISION:  # a later (wider) format overrides an earlier one
        exact = (out.to(dtype).to(out.dtype) == out).all(1)
        tolerance[exact] = atol + 2.0 * unit
    return tolerance


def probability_rows(logits: torch.Tensor) -> torch.Tensor:
    """Per row of a (batch, classes) output: whether it is a probability vector (every entry
    at least -PROBABILITY_ATOL, the sum within `sum_tolerance` of one)."""
    out = logits.detach().double().cpu()
    near_one = (out.sum(1) - 1).abs() <= sum_tolerance(logits)
    return (out >= -PROBABILITY_ATOL).all(1) & near_one
