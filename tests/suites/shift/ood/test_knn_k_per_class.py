"""KNN's k-th neighbour of an in-distribution input lies in its own class only while k is at
most that class's fit samples. With the default k = 50 and fit_samples 200 on mnist-seen (6
classes, 33 fit samples each), mnist-seen-cnn's KNN AUROC fell to 0.212 (near) and 0.060
(uniform noise), both BELOW CHANCE, with no word of why; k = 5 gave 0.954 and 0.941. The fit
now says so."""

from __future__ import annotations

import torch

from harness.suites.shift.ood import feature_detectors as fd
from harness.suites.shift.ood.base import FitData


def _fit(k: int, per_class: int) -> list[str]:
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(3).repeat_interleave(per_class)
    features = torch.randn(len(labels), 4, generator=gen, dtype=torch.float64) + labels[:, None]
    data = FitData(
        logits=torch.zeros(len(labels), 3, dtype=torch.float64),
        features=features,
        labels=labels,
        head=None,
        num_classes=3,
    )
    return fd.KNN(k).fit(data)


def test_k_above_a_class_fit_count_is_said() -> None:
    notes = _fit(k=10, per_class=6)
    assert len(notes) == 1, notes
    assert "k = 10 is more than the 6 fit samples of class 0" in notes[0]
    assert "fit_samples" in notes[0] and "knn_k" in notes[0]
    assert _fit(k=5, per_class=6) == []


def test_a_class_without_fit_samples_is_said() -> None:
    """A class absent from the fit set (a train split without it) has no neighbours of its own at
    any k: KNN said nothing when every present class had k samples or more (mahalanobis's note
    names the missing classes; a spec with `detectors: [knn]` got no word)."""
    data = _three_class_fit(torch.arange(2).repeat_interleave(20))  # classes 0 and 1 of 3
    notes = fd.KNN(5).fit(data)
    assert len(notes) == 1, notes
    assert notes[0].startswith("knn: class(es) [2] have no fit sample")


def test_a_class_without_fit_samples_is_said_at_any_k() -> None:
    """The missing class was named only while every present class had k samples or more: with a
    small class too (k = 10 above its 3), or k above the whole fit set, it went unsaid."""
    data = _three_class_fit(torch.tensor([0] * 3 + [1] * 20))  # 2 absent, 0 below k
    for k in (10, 50):  # above class 0's 3; above all 23
        notes = fd.KNN(k).fit(data)
        assert len(notes) == 2, (k, notes)
        assert notes[1].startswith("knn: class(es) [2] have no fit sample"), (k, notes)


def test_many_classes_without_fit_samples_are_counted_past_ten() -> None:
    # 1,000 classes and a fit set holding 5 of them: the note names 10 and counts the rest
    labels = torch.arange(5).repeat_interleave(4)
    data = FitData(
        logits=torch.zeros(len(labels), 1000, dtype=torch.float64),
        features=torch.randn(len(labels), 4, dtype=torch.float64),
        labels=labels,
        head=None,
        num_classes=1000,
    )
    (note,) = fd.KNN(2).fit(data)
    assert note.startswith("knn: class(es) [5, 6, 7, 8, 9, 10, 11, 12, 13, 14] and 985 more have")


def _three_class_fit(labels: torch.Tensor) -> FitData:
    """A fit set of 3 classes with these labels: seeded 4-d features, no head."""
    gen = torch.Generator().manual_seed(0)
    return FitData(
        logits=torch.zeros(len(labels), 3, dtype=torch.float64),
        features=torch.randn(len(labels), 4, generator=gen, dtype=torch.float64),
        labels=labels,
        head=None,
        num_classes=3,
    )
