"""The text suite's second clean pass judges a model by its decisions, not by the unit of its
logits: an absolute 1e-4 on the class probabilities let a randomised model whose logits are all
small (x1e-6: probabilities near 1/K, moving by ~1e-7, argmax flipping) pass as deterministic,
and its attacks' "broken" texts were redraws."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.suites.adversarial.text.run import repeat_check

TEXTS = [f"text {i}" for i in range(24)]


def _scorer(scale: float, noisy: bool, classes: int = 4):
    """Texts -> softmax probabilities of fixed logits x `scale` (+ fresh noise of the same unit)."""
    fixed = torch.randn(len(TEXTS), classes, generator=torch.Generator().manual_seed(0))
    index = {t: i for i, t in enumerate(TEXTS)}
    gen = torch.Generator().manual_seed(1)

    def score(texts: list[str]) -> np.ndarray:
        logits = fixed[[index[t] for t in texts]].double()
        if noisy:
            logits = logits + torch.randn(logits.shape, generator=gen, dtype=torch.float64)
        return torch.softmax(logits * scale, 1).numpy()

    return score


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e-6])
def test_a_randomised_model_is_found_whatever_its_logits_unit(scale: float) -> None:
    score = _scorer(scale, noisy=True)
    check = repeat_check(score, TEXTS, score(TEXTS), batch_size=8)
    assert check.raised and check.bad == len(TEXTS)


@pytest.mark.parametrize("scale", [1e3, 1.0, 1e-6])
def test_a_deterministic_model_stays_quiet_at_any_unit(scale: float) -> None:
    score = _scorer(scale, noisy=False)
    assert not repeat_check(score, TEXTS, score(TEXTS), batch_size=8).raised


def test_probabilities_that_underflow_to_zero_alike_are_no_change() -> None:
    score = _scorer(1e4, noisy=False)  # most classes at probability 0 in float64
    probs = score(TEXTS)
    assert (probs == 0).any()
    assert not repeat_check(score, TEXTS, probs, batch_size=8).raised
