"""ASH-S of an input whose penultimate activations are all zero (a dead ReLU layer: a blank or
dark image) is the bias's energy: nothing is left to prune or scale. exp(0 / 0) made its score
NaN, and one such input took away ASH's value on the whole set ("non-finite score": a digits MLP
on 30 near-black images, where every other detector had one)."""

from __future__ import annotations

import numpy as np
import torch

from harness.suites.shift.ood import head_detectors as hd
from harness.suites.shift.ood.base import FitData, Head, Outputs, energy


def _fitted() -> tuple[hd.ASH, Head]:
    gen = torch.Generator().manual_seed(0)
    head = Head(
        torch.randn(3, 8, generator=gen, dtype=torch.float64),
        torch.randn(3, generator=gen, dtype=torch.float64),
    )
    z = torch.rand(20, 8, generator=gen, dtype=torch.float64)
    fit = FitData(
        logits=head.logits(z),
        features=z,
        labels=torch.arange(20) % 3,
        head=head,
        num_classes=3,
    )
    ash = hd.ASH(90.0)
    assert ash.fit(fit) == []
    return ash, head


def test_all_zero_features_score_the_bias_energy() -> None:
    ash, head = _fitted()
    z = torch.rand(4, 8, dtype=torch.float64)
    z[1] = 0.0
    scores = ash.score(Outputs(logits=head.logits(z), features=z))
    assert np.isfinite(scores).all(), scores
    assert scores[1] == float(energy(head.bias[None, :])[0])


def test_other_rows_keep_the_paper_s_scaling() -> None:
    z = torch.tensor([[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    out = hd.ash_s(z, 50.0)
    assert torch.equal(out[0], torch.zeros(4, dtype=torch.float64))
    kept = torch.tensor([0.0, 0.0, 3.0, 4.0], dtype=torch.float64)
    assert torch.allclose(out[1], kept * np.exp(10.0 / 7.0))
