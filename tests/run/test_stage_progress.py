"""Suites report progress with stage labels and a total that matches the work done."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from harness.core.suite import RunContext
from harness.data.builtin import digits
from harness.suites.shift import ShiftSuite
from tests.fixture_models import linear_digits

Call = tuple[int, str | None, int | None]


def _linear_and_calls() -> tuple[Any, list[Call], Callable[..., None]]:
    """A linear digits model, and the progress calls a suite makes into the callback."""
    from harness.adapters.torch_module import TorchModuleAdapter

    adapter = TorchModuleAdapter.from_module(
        linear_digits(),
        name="lin",
        device=torch.device("cpu"),
        bounds=(0.0, 1.0),
        input_shape=digits().input_shape,
        modality="image",
    )
    calls: list[Call] = []

    def progress(done: int, stage: str | None = None, total: int | None = None) -> None:
        calls.append((done, stage, total))

    return adapter, calls, progress


def test_shift_sweep_reports_every_condition_and_finishes_at_its_total() -> None:
    task = digits()
    adapter, calls, progress = _linear_and_calls()
    config = {
        "corruptions": ["gaussian_noise"],
        "severities": [1, 5],
        "max_samples": 50,
        "shifted_tasks": ["digits-shifted"],
        "ood_sets": [{"generated": "uniform_noise", "n": 30}],
    }
    ShiftSuite(config).run(
        adapter, task, RunContext(seed=1, bootstrap_resamples=0, progress=progress)
    )
    stages = {stage for _, stage, _ in calls if stage is not None}
    assert stages == {
        "clean",
        "corruption=gaussian_noise/severity=1",
        "corruption=gaussian_noise/severity=5",
        "shifted=digits-shifted",
        "ood=uniform_noise",
    }
    total = max(t for _, _, t in calls if t is not None)
    assert total == 50 * 3 + 50 + 30  # clean and two cells, the shifted set, the OOD set
    assert sum(done for done, _, _ in calls) == total


def test_adversarial_stages_say_what_the_sample_count_is() -> None:
    """An attack's stage read "linf_apgd_t (linf, eps 0.05): 187 samples, 60/200 samples": two
    counts of samples, the first unexplained. It says they are the samples still unbroken that
    the attack runs on, and the progress still ends at its total."""
    from harness.suites.adversarial import AdversarialSuite

    task = digits()
    adapter, calls, progress = _linear_and_calls()
    config = {"attacks": ["linf_pgd"], "epsilons": {"linf": [0.05]}, "max_samples": 40}
    config |= {"checks": False, "params": {"linf_pgd": {"steps": 2}}}
    AdversarialSuite(config).run(
        adapter, task, RunContext(seed=1, bootstrap_resamples=0, progress=progress)
    )
    stages = [stage for _, stage, _ in calls if stage is not None]
    attack = [s for s in stages if s.startswith("linf_pgd")]
    assert len(attack) == 1 and attack[0].startswith("linf_pgd (linf, eps 0.05) on "), stages
    assert attack[0].endswith(" unbroken samples")
    total = max(t for _, _, t in calls if t is not None)
    assert sum(done for done, _, _ in calls) == total
