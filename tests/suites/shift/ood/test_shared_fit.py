"""Mahalanobis and RMD fit their class means and tied covariance once per fit set, and score
as they do when each is fitted alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness.suites.shift.ood import feature_detectors as fd
from harness.suites.shift.ood.base import FitData, Outputs


def _fit_data(gen: torch.Generator) -> FitData:
    y = torch.arange(300) % 3
    z = F.relu(torch.randn(300, 8, generator=gen, dtype=torch.float64) + y[:, None])
    logits = torch.randn(300, 3, generator=gen, dtype=torch.float64)
    return FitData(logits=logits, features=z, labels=y, head=None, num_classes=3)


def test_one_fit_for_both(monkeypatch: pytest.MonkeyPatch) -> None:
    gen = torch.Generator().manual_seed(0)
    shared = _fit_data(gen)
    test = Outputs(
        logits=torch.zeros(50, 3, dtype=torch.float64),
        features=torch.randn(50, 8, generator=gen, dtype=torch.float64),
    )
    calls = []
    fit = fd.ClassGaussian.fit

    def counted(data: FitData) -> fd.ClassGaussian:
        calls.append(data)
        return fit(data)

    monkeypatch.setattr(fd.ClassGaussian, "fit", staticmethod(counted))
    maha, rmd = fd.Mahalanobis(), fd.RelativeMahalanobis()
    maha.fit(shared)
    rmd.fit(shared)
    monkeypatch.undo()
    assert len(calls) == 1
    assert rmd.precision is maha.precision and rmd.means is maha.means
    alone = fd.RelativeMahalanobis()
    alone.fit(_fit_data(torch.Generator().manual_seed(0)))
    np.testing.assert_array_equal(rmd.score(test), alone.score(test))
    alone_maha = fd.Mahalanobis()
    alone_maha.fit(_fit_data(torch.Generator().manual_seed(0)))
    np.testing.assert_array_equal(maha.score(test), alone_maha.score(test))
