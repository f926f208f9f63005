"""The suite's probes for a forward pass that is not a function of its input (randomness, batch
statistics) judge a model by its decisions, not by the unit of its logits. They compared
changes with 1e-4 x each row's largest logit, clamped to at least 1: a model whose logits are
small (x1e-5; temperature-scaled, or near-uniform scores) changed by less than that absolute
1e-4 while its argmax changed, and a whole-batch-standardising MLP flagged
`batch_dependent_forward` at x1 was published as exact at x1e-5."""

from __future__ import annotations

import pytest
import torch

from harness.suites.adversarial import validity_checks as vc


def _standardised_batch(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Logits of a linear map on the batch-standardised input: each row depends on its batch."""
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(x.shape[1], 10, generator=gen)
    return ((x - x.mean()) / x.std()) @ w * scale


def _noisy(x: torch.Tensor, scale: float) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    w = torch.randn(x.shape[1], 10, generator=gen)
    return (x + 0.2 * torch.randn_like(x)) @ w * scale


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e-6])
def test_batch_dependence_is_found_whatever_the_logits_unit(scale: float) -> None:
    x = torch.rand(32, 64, generator=torch.Generator().manual_seed(2))
    got = vc.batch_dependent(lambda t: _standardised_batch(t, scale), x)
    assert got.raised and got.bad == 16


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e-6])
def test_randomness_is_found_whatever_the_logits_unit(scale: float) -> None:
    x = torch.rand(32, 64, generator=torch.Generator().manual_seed(2))
    got = vc.nondeterministic(lambda t: _noisy(t, scale), x)
    assert got.raised and got.bad == 32


@pytest.mark.parametrize("scale", [1e4, 1.0, 1e-6])
def test_a_deterministic_batch_independent_model_stays_quiet_at_any_unit(scale: float) -> None:
    x = torch.rand(32, 64, generator=torch.Generator().manual_seed(2))
    w = torch.randn(64, 10, generator=torch.Generator().manual_seed(3))
    assert not vc.nondeterministic(lambda t: t @ w * scale, x).raised
    assert not vc.batch_dependent(lambda t: t @ w * scale, x).raised
    assert not vc.nondeterministic(lambda t: torch.zeros(len(t), 10), x).raised


def test_a_nan_row_does_not_restore_the_absolute_tolerance() -> None:
    x = torch.rand(32, 64, generator=torch.Generator().manual_seed(2))

    def noisy_with_a_nan_row(t: torch.Tensor) -> torch.Tensor:
        out = _noisy(t, 1e-6)
        out[0] = torch.nan
        return out

    got = vc.nondeterministic(noisy_with_a_nan_row, x)
    assert got.raised and got.bad == 31
