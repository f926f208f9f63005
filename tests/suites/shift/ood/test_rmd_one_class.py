"""RMD of a fit set holding one class is 0 for every input: its class Gaussian is the
background Gaussian. An own task whose train split held one class got rmd "gives every sample
the same score up to rounding ... no value" with no word why; the fit's note now says it."""

from __future__ import annotations

import torch

from harness.suites.shift.ood import feature_detectors as fd
from harness.suites.shift.ood.base import FitData, Outputs


def test_one_fit_class_is_said() -> None:
    z = torch.randn(30, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    data = FitData(
        logits=torch.zeros(30, 10, dtype=torch.float64),
        features=z,
        labels=torch.full((30,), 3),
        head=None,
        num_classes=10,
    )
    rmd = fd.RelativeMahalanobis()
    notes = rmd.fit(data)
    assert any(n.startswith("rmd: the fit set holds one class (3)") for n in notes), notes
    scores = rmd.score(Outputs(logits=torch.zeros(4, 10, dtype=torch.float64), features=z[:4]))
    assert abs(scores).max() < 1e-9  # what the note says


def test_two_fit_classes_say_nothing_of_it() -> None:
    z = torch.randn(30, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    data = FitData(
        logits=torch.zeros(30, 10, dtype=torch.float64),
        features=z,
        labels=torch.arange(30) % 2,
        head=None,
        num_classes=10,
    )
    assert not any("one class" in n for n in fd.RelativeMahalanobis().fit(data))
