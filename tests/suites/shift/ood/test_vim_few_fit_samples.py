"""ViM scales its virtual logit by alpha = mean max logit / mean fit residual outside the
D-dimensional principal subspace. With no more fit samples than D (100 fit samples of 2048-d
features, D = 1000; the default fit_samples 1,000 on any 2048-d model; `fit_samples: 2`), the fit
features lie inside that subspace, so their residual is round-off (~1e-16, not exactly 0): alpha
was ~1e15, scores -2e16 (and AUROC 0.0 "below chance" on a probe with fit_samples 2), with no
note. ViM is now left out with the reason."""

from __future__ import annotations

import pytest
import torch

from harness.suites.shift.ood import head_detectors as hd
from harness.suites.shift.ood.base import FitData, Head, NotFitted
from harness.suites.shift.ood.detectors import Bank, fit_detectors


def _fit_data(n: int, d: int, classes: int = 3) -> FitData:
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(n, d, generator=gen, dtype=torch.float64).relu()
    head = Head(
        torch.randn(classes, d, generator=gen, dtype=torch.float64),
        torch.randn(classes, generator=gen, dtype=torch.float64),
    )
    return FitData(
        logits=head.logits(z),
        features=z,
        labels=torch.arange(n) % classes,
        head=head,
        num_classes=classes,
    )


@pytest.mark.parametrize(("n", "d", "dim"), [(2, 16, None), (40, 256, None), (64, 256, 64)])
def test_vim_with_no_more_fit_samples_than_its_principal_dimension_is_not_fitted(
    n: int, d: int, dim: int | None
) -> None:
    with pytest.raises(NotFitted, match=rf"the {n} fit samples .* principal subspace"):
        hd.ViM(dim).fit(_fit_data(n, d))


def test_vim_with_more_fit_samples_than_its_principal_dimension_fits() -> None:
    vim = hd.ViM(64)
    assert vim.fit(_fit_data(65, 256)) == []
    assert 0 < vim.alpha < 1e6


def test_the_bank_leaves_an_unfitted_detector_out_with_its_reason() -> None:
    bank = Bank(detectors={"vim": hd.ViM()})
    fit_detectors(bank, ["vim"], _fit_data(40, 256))
    assert "vim" not in bank.detectors
    reason = bank.absent["vim"]
    assert "raise fit_samples above 128" in reason and "vim_dim below 40" in reason
