"""Generated OOD noise on a tabular task with per-feature ranges fills each feature's own range,
as the attacks' clip box and the tabular shifts do, not the hull of every feature's range.

Breast cancer's features span 0.0008-0.03 (`fractal_dimension_error`) to 185-4254 (`worst_area`):
uniform noise over the hull [0, 4254] put every feature in the thousands, inputs no feature can
take, and a standardising MLP scored energy AUROC 0.043 on them."""

from __future__ import annotations

from dataclasses import replace

import torch

from harness.core.seeding import sample_seeds
from harness.core.suite import RunContext
from harness.data.builtin import diabetes
from harness.suites import counter_rng
from harness.suites.shift.config import GeneratedOOD
from harness.suites.shift.ood.sets import generated


def _noise(task, kind: str) -> torch.Tensor:
    entry = GeneratedOOD(generated=kind, n=2000)
    return torch.cat([b.inputs for b in generated(entry, task, RunContext(seed=0))])


def test_noise_fills_each_feature_range() -> None:
    task = diabetes()
    pairs = [(0.4, 0.6), (0.0, 0.01), *[(0.0, 1.0)] * 8]
    boxed = replace(task, feature_bounds=tuple(pairs))
    for kind in ("uniform_noise", "gaussian_noise"):
        x = _noise(boxed, kind)
        low = torch.tensor([p[0] for p in pairs], dtype=x.dtype)
        high = torch.tensor([p[1] for p in pairs], dtype=x.dtype)
        assert bool((x >= low).all() and (x <= high).all()), kind
        # the noise spreads over each range: a uniform over [a, b] has std (b - a) / sqrt(12)
        if kind == "uniform_noise":
            std = x.std(dim=0)
            assert abs(float(std[0]) - 0.2 / 12**0.5) < 0.01
            assert abs(float(std[1]) - 0.01 / 12**0.5) < 0.0005


def test_noise_without_feature_ranges_is_unchanged() -> None:
    task = diabetes()  # one box for every feature: the draws stay those of the task's bounds
    assert task.feature_bounds is None
    low, high = task.bounds
    ids = [f"ood-uniform_noise-{i:05d}" for i in range(50)]
    seeds = torch.as_tensor(sample_seeds(0, ids, "ood", "uniform_noise"))
    expected = low + (high - low) * counter_rng.uniform(seeds, tuple(task.input_shape), stream=21)
    assert torch.equal(_noise(task, "uniform_noise")[:50], expected.clamp(low, high))
