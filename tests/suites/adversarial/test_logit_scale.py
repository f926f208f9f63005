"""The suite's probes for a forward pass that is not a function of its input (randomness, batch
statistics) judge a model by its decisions, not by the unit of its logits. They compared
changes with 1e-4 x each row's largest logit, clamped to at least 1: a model whose logits are
small (x1e-5; temperature-scaled, or near-uniform scores) changed by less than that absolute
1e-4 while its argmax changed, and a whole-batch-standardising MLP flagged
`batch_dependent_forward` at x1 was published as exact at x1e-5. The PGD loss check reads a
rise in the same unit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.data.builtin import digits_arrays
from harness.suites.adversarial import validity_checks as vc
from harness.suites.adversarial.forward import Forward
from harness.suites.adversarial.noise import sample_seeds
from harness.suites.adversarial.pgd import pgd
from tests.suites.adversarial import models as M


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


def _loss_check(model: torch.nn.Module) -> vc.CheckResult:
    """The suite's `loss_not_increasing` check: PGD tracking its loss on the first 60 digits."""
    images, labels = digits_arrays("test")
    x = torch.as_tensor(np.asarray(images[:60], dtype=np.float32)).reshape(60, 1, 8, 8)
    y = torch.as_tensor(labels[:60]).long()
    a = TorchModuleAdapter.from_module(model, name="m", input_shape=(1, 8, 8))
    fwd = Forward(adapter=a, module=a.module(), num_classes=10)
    base = pgd(
        fwd,
        x,
        y,
        norm="linf",
        eps=0.1,
        steps=10,
        rel_stepsize=2.5,
        restarts=1,
        random_start=True,
        bounds=(0.0, 1.0),
        seeds=sample_seeds(0, [str(i) for i in range(len(x))], "check", device=x.device),
        track_loss=True,
    )
    assert base.loss_start is not None and base.loss_best is not None
    assert base.loss_tolerance is not None
    correct = fwd.logits(x).argmax(1) == y
    return vc.loss_not_increasing(base.loss_start, base.loss_best, base.loss_tolerance, correct)


@pytest.mark.parametrize("scale", [1.0, 1e-7, 1e-10])
def test_the_loss_check_reads_a_rise_in_the_logits_unit(scale: float) -> None:
    """The loss of a model with tiny logits (x1e-7) stays near log 10 while an honest PGD step
    moves it by ~1e-8: a rise relative to the loss alone (1e-6 x 2.3) was never seen, and every
    sample of an honest linear model counted as flat. A quantised input (a loss constant around
    each sample) stays flat at any unit."""
    assert not _loss_check(torch.nn.Sequential(M.control_digits(), M._Scale(scale))).raised
    masked = _loss_check(torch.nn.Sequential(M.quantized_digits(), M._Scale(scale)))
    assert masked.raised and masked.bad > 0.9 * masked.n


class _MaskLast(torch.nn.Module):
    """Class 9's logit at -inf (a model that never predicts it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x[:, :9], torch.full_like(x[:, 9:], -torch.inf)], 1)


def test_the_loss_check_reads_the_unit_of_the_finite_logits() -> None:
    """A class masked to -inf gave each row an inf scale, so the rise was read relative to the
    loss again: an honest linear model x1e-7 with class 9 masked was flagged on 52 of 52
    samples. The -inf class adds nothing to the loss and has no rounding."""
    honest = torch.nn.Sequential(M.control_digits(), M._Scale(1e-7), _MaskLast())
    assert not _loss_check(honest).raised
    masked = _loss_check(torch.nn.Sequential(M.quantized_digits(), M._Scale(1e-7), _MaskLast()))
    assert masked.raised and masked.bad > 0.9 * masked.n


def _masked_class(out: torch.Tensor) -> torch.Tensor:
    """The logits with class 0 masked to -inf (a model that never predicts it)."""
    out = out.clone()
    out[:, 0] = -torch.inf
    return out


def test_a_class_masked_to_minus_inf_does_not_hide_the_other_logits_changes() -> None:
    """A row with a -inf logit took an inf scale: the tolerance became inf and a randomised or
    batch-standardising model with one class masked passed as a function of its input (the
    shift suite's probe and the text suite compare finite logits only, as these now do)."""
    x = torch.rand(32, 64, generator=torch.Generator().manual_seed(2))
    noisy = vc.nondeterministic(lambda t: _masked_class(_noisy(t, 1.0)), x)
    assert noisy.raised and noisy.bad == 32
    batched = vc.batch_dependent(lambda t: _masked_class(_standardised_batch(t, 1.0)), x)
    assert batched.raised and batched.bad == 16
    w = torch.randn(64, 10, generator=torch.Generator().manual_seed(3))
    assert not vc.nondeterministic(lambda t: _masked_class(t @ w), x).raised
    assert not vc.batch_dependent(lambda t: _masked_class(t @ w), x).raised
