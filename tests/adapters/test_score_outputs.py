"""Declared probabilities (`outputs: probabilities`) are checked within the precision they carry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.adapters.score_outputs import to_logits
from harness.core.errors import ModelOutputError


def _bfloat16_probabilities() -> torch.Tensor:
    logits = torch.randn(400, 10, generator=torch.Generator().manual_seed(0)) * 3
    return torch.softmax(logits.to(torch.bfloat16), dim=1)


def test_bfloat16_probabilities_are_probabilities() -> None:
    """A bfloat16 model's probability rows miss a sum of one by up to ~3e-3 (its rounding);
    they were refused as 'not probability vectors' with the advice to declare logits, which
    would have scored softmax(probabilities)."""
    probs = _bfloat16_probabilities()
    assert (probs.double().sum(1) - 1).abs().max() > 1e-3  # beyond the float32 tolerance
    out = to_logits(probs, outputs="probabilities", n=len(probs), model="m")
    assert torch.allclose(out.double(), probs.double().clamp_min(1e-12).log(), atol=1e-6)


def test_float32_rows_off_by_as_much_are_still_refused() -> None:
    """The wider tolerance is for values a half-precision format holds exactly, not for any
    row: float32 rows that miss one by 2e-3 are not probability vectors."""
    probs = np.full((4, 10), 0.1002, dtype=np.float32)
    with pytest.raises(ModelOutputError, match="rows are not probability vectors"):
        to_logits(probs, outputs="probabilities", n=4, model="m")
