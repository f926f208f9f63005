"""Per-feature budgets on tabular tasks (Task.feature_bounds): the attacks clip every feature to
its own range, and `eps_units: feature_range` makes eps a fraction of each feature's range."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from harness.adapters.torch_module import TorchModuleAdapter
from harness.core.errors import ConfigError
from harness.core.task import Task
from harness.data import builtin as builtin_tasks
from harness.run.api import evaluate
from harness.suites.adversarial import AdversarialSuite
from harness.suites.adversarial.feature_space import feature_space
from tests.suites.adversarial import models as M

AGE = 100.0  # feature 0 is stretched to [0, 100]; feature 9 is pinned to a constant


class _Unstretch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        factor = torch.ones(10)
        factor[0] = 1 / AGE
        self.register_buffer("factor", factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


@pytest.fixture(scope="module")
def task() -> Task:
    base = builtin_tasks.diabetes().head(80)

    def stretch(row: dict) -> dict:
        v = list(row["input"])
        return {"input": [v[0] * AGE, *v[1:9], 0.5]}

    data = base.data.map(stretch)
    x = np.asarray(data["input"], dtype=np.float64)
    box = tuple((float(lo), float(hi)) for lo, hi in zip(x.min(0), x.max(0), strict=True))
    return replace(
        base,
        name="diabetes-stretched",  # not the catalogue's diabetes: other data
        data=data,
        bounds=(0.0, AGE),
        feature_names=tuple(f"f{i}" for i in range(10)),
        feature_bounds=box,
    )


def adapter() -> TorchModuleAdapter:
    model = nn.Sequential(_Unstretch(), M.control_diabetes())
    return TorchModuleAdapter.from_module(
        model, name="tab", input_shape=(10,), modality="tabular", bounds=(0.0, AGE)
    )


def run(task: Task, units: str, eps: float):
    config = {
        "preset": "fast",
        "epsilons": {"linf": [eps]},
        "eps_units": units,
        "examples": 8,
        "check_samples": 40,
    }
    out = evaluate(
        adapter(), task=task, suites={"adversarial": config}, device="cpu", bootstrap_resamples=0
    )
    return out.results["adversarial"]


def _box(task: Task) -> tuple[np.ndarray, np.ndarray]:
    box = task.feature_box()
    assert box is not None
    return box


def test_input_units_clip_every_feature_to_its_own_range(task: Task) -> None:
    res = run(task, "input", 0.1)
    low, high = _box(task)
    arrays = res.arrays
    assert len(arrays["adv_perturbed"]) > 0
    adv, clean = arrays["adv_perturbed"], arrays["adv_clean"]
    assert (adv >= low - 1e-5).all() and (adv <= high + 1e-5).all()  # not just the hull (0, 100)
    assert np.abs(adv - clean).max() <= 0.1 + 1e-5  # eps in the input's own units
    assert (adv[:, 9] == 0.5).all()  # a constant feature cannot move
    assert res.artifacts["eps_units"] == "input"
    assert res.artifacts["feature_space"]["feature_high"][0] == pytest.approx(high[0])
    assert res.artifacts["bounds"] == pytest.approx([0.0, high.max()])  # the attacks' hull
    rows = res.table.condition("attack=ensemble/norm=linf/eps=0.1")
    assert (rows[rows.attack_success].perturbation_norm <= 0.1 + 1e-5).all()


def test_feature_range_units_scale_eps_by_each_features_width(task: Task) -> None:
    res = run(task, "feature_range", 0.1)
    low, high = _box(task)
    adv, clean = res.arrays["adv_perturbed"], res.arrays["adv_clean"]
    assert len(adv) > 0
    assert (adv >= low - 1e-4).all() and (adv <= high + 1e-4).all()
    moved = np.abs(adv - clean)
    assert (moved <= 0.1 * (high - low) + 1e-4).all()
    assert moved[:, 0].max() > 0.1 + 1e-3  # the stretched feature moves in its own units
    assert (adv[:, 9] == 0.5).all()
    assert res.artifacts["eps_units"] == "feature_range" and res.artifacts["bounds"] == [0.0, 1.0]
    # relative eps: the stretched feature is as attackable as on the unstretched task
    plain = run(replace(builtin_tasks.diabetes().head(80)), "feature_range", 0.1)
    ens = "robust_acc"
    got = {r.metric: r.value for r in res.metrics if r.metric == ens and r.headline}
    ref = {r.metric: r.value for r in plain.metrics if r.metric == ens and r.headline}
    assert got[ens] is not None and ref[ens] is not None
    assert abs(got[ens] - ref[ens]) <= 0.15


def test_space_is_only_built_where_it_changes_something(task: Task) -> None:
    digits = builtin_tasks.digits().head(20)
    assert feature_space(digits, "input") is None
    assert feature_space(builtin_tasks.diabetes().head(20), "input") is None  # no feature ranges
    with pytest.raises(ConfigError, match=r"eps_units: feature_range applies to tabular tasks"):
        feature_space(digits, "feature_range")
    space = feature_space(task, "feature_range")
    assert space is not None and space.bounds == (0.0, 1.0)
    x = task.all_inputs()[:4]
    u = space.to_attack(x)
    assert torch.allclose(space.to_model(u), x, atol=1e-4)
    pushed = space.project(u + 5.0)  # far outside: back onto each feature's upper end
    assert torch.allclose(space.to_model(pushed)[:, :9], torch.as_tensor(_box(task)[1][:9]).float())
    assert (space.to_model(pushed)[:, 9] == 0.5).all()


def test_unknown_eps_units_is_one_line_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"eps_units.*input.*feature_range"):
        AdversarialSuite({"eps_units": "percent"})
