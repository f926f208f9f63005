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


def test_scores_beyond_float32_are_named_not_called_inf() -> None:
    """A callable's float64 scores of 1e300 became inf in the float32 cast and were refused as
    'returned NaN or inf logits', which the model had not. The refusal now names the size and
    the range; scores within it pass through, inf from the model stays its own refusal."""
    huge = np.zeros((3, 4))
    huge[:, 0] = 1e300
    with pytest.raises(ModelOutputError, match=r"^model 'm' returned scores up to 1e\+300 in"):
        to_logits(huge, outputs="logits", n=3, model="m")
    fine = np.full((3, 4), 3e38)
    assert torch.isfinite(to_logits(fine, outputs="logits", n=3, model="m")).all()
    inf = np.zeros((3, 4))
    inf[0, 0] = np.inf
    assert not torch.isfinite(to_logits(inf, outputs="logits", n=3, model="m")).all()


def test_nan_rows_of_probabilities_go_on_as_nan() -> None:
    """A NaN row among declared probabilities was refused as 'not probability vectors (max |row
    sum - 1| = nan); set outputs: logits', advice that is wrong: the model failed on that input.
    The row goes on as NaN, which the suites' own finiteness checks name (a failed job on the
    test set, a rejected candidate in an attack); the other rows are checked as before."""
    probs = np.array([[0.2, 0.8], [np.nan, np.nan], [0.5, 0.5]])
    out = to_logits(probs, outputs="probabilities", n=3, model="m")
    assert torch.isnan(out[1]).all() and torch.isfinite(out[[0, 2]]).all()
    with pytest.raises(ModelOutputError, match="rows are not probability vectors"):
        to_logits(np.array([[0.2, 0.9], [np.nan, np.nan]]), outputs="probabilities", n=2, model="m")


@pytest.mark.parametrize("outputs", ["logits", "probabilities", "binary_logit"])
def test_a_model_returning_none_is_named_as_such(outputs: str) -> None:
    """A function that forgot its `return` gave None, read as a NaN scalar: "returned logits of
    shape () for 2 samples", which points at shapes rather than at the missing return."""
    with pytest.raises(ModelOutputError, match=r"^model 'm' returned None, not class scores"):
        to_logits(None, outputs=outputs, n=2, model="m")  # type: ignore[arg-type]


@pytest.mark.parametrize("parts", [1, 2])
def test_a_tuple_of_arrays_is_named_a_tuple(parts: int) -> None:
    """`return logits, features` (or `return (logits,)`) was refused as "logits of shape
    (2, 4, 3)", a shape the callable never built; the line now says it returned a tuple."""
    scores = np.zeros((4, 3))
    with pytest.raises(ModelOutputError, match=rf"returned a tuple of {parts} arrays?") as err:
        to_logits(tuple([scores] * parts), outputs="logits", n=4, model="m")
    assert "(batch, num_classes)" in str(err.value)
