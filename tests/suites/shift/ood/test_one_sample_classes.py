"""The note on Mahalanobis's zero covariance says why it is zero. The tied covariance is that of
each fit feature less its class mean: with one fit sample a class (`fit_samples: 10` on digits)
it is zero although the features differ, and the note said "every fit feature is the same",
which reads as a broken model."""

from __future__ import annotations

import torch

from harness.suites.shift.ood import feature_detectors as fd
from harness.suites.shift.ood.base import FitData


def _fit(z: torch.Tensor, labels: list[int]) -> list[str]:
    data = FitData(
        logits=torch.zeros(len(z), 10, dtype=torch.float64),
        features=z,
        labels=torch.tensor(labels),
        head=None,
        num_classes=10,
    )
    return fd.Mahalanobis().fit(data)


def test_one_sample_a_class_is_said_not_every_feature_the_same() -> None:
    z = torch.randn(10, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    notes = _fit(z, list(range(10)))
    zero = [n for n in notes if "covariance is zero" in n]
    assert len(zero) == 1, notes
    assert "every fit feature is the same" not in zero[0]
    assert "one fit sample" in zero[0] and "10 classes" in zero[0], zero[0]


def test_identical_features_in_each_class_are_said() -> None:
    row = torch.tensor([[1.0, 2.0, 0.0, 4.0], [0.5, 3.0, 1.0, 2.0]], dtype=torch.float64)
    z = row[[0, 0, 0, 0, 1, 1]]
    notes = _fit(z, [0, 0, 0, 0, 1, 1])
    zero = [n for n in notes if "covariance is zero" in n]
    assert len(zero) == 1, notes
    assert "its class's mean" in zero[0], zero[0]
    assert "every fit feature is the same" not in zero[0]


def test_one_feature_vector_for_every_sample_keeps_its_words() -> None:
    row = torch.randn(1, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    notes = _fit(row.repeat(5, 1), [3] * 5)
    assert any("every fit feature is the same" in n for n in notes), notes
