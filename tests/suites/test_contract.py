"""Contract test over every registered suite: valid tables, declared metrics, honest numbers.

Each built-in suite runs with a light config on a small slice of a built-in task; the result must
hold the required table columns, only metrics the suite declares, fractions within [0, 1], no
NaN, intervals that contain their estimate, and artifacts that serialise as strict JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from harness.adapters.torch_module import TorchModuleAdapter
from harness.core.sample_table import REQUIRED_COLUMNS, SampleTable
from harness.core.suite import RunContext, Suite
from harness.data.builtin import diabetes, digits
from harness.run.plugins import suite_registry
from tests.fixture_models import linear_digits, linear_tabular

LIGHT_CONFIGS: dict[str, dict[str, Any]] = {
    "accuracy": {},
    "fairness": {},
    "throughput": {
        "batch_sizes": [8],
        "warmup_iters": 1,
        "timed_iters": 3,
        "isolation": "inprocess",
    },
    "adversarial": {
        "attacks": ["fgsm", "linf_pgd"],
        "epsilons": {"linf": [0.1]},
        "check_samples": 16,
    },
    "shift": {"corruptions": ["gaussian_noise", "fog", "pixelate"], "severities": [1, 5]},
}


def test_every_registered_suite_has_a_light_config() -> None:
    assert set(suite_registry().names()) == set(LIGHT_CONFIGS)


@pytest.fixture(scope="module")
def cases() -> list[tuple[Any, Any]]:
    img = digits().head(40)
    tab = diabetes().head(60)
    return [
        (TorchModuleAdapter.from_module(linear_digits(), name="lin", input_shape=(1, 8, 8)), img),
        (
            TorchModuleAdapter.from_module(
                linear_tabular(), name="tab", input_shape=(10,), modality="tabular"
            ),
            tab,
        ),
    ]


@pytest.mark.parametrize("suite_name", sorted(LIGHT_CONFIGS))
def test_suite_contract(suite_name: str, cases: list[tuple[Any, Any]]) -> None:
    suite_cls = suite_registry().load(suite_name)
    suite = suite_cls(LIGHT_CONFIGS[suite_name])
    assert suite.name == suite_name and suite.version
    declared = {m.name: m for m in suite.metrics}
    assert any(m.headline for m in suite.metrics), f"{suite_name} declares no headline metric"
    ran = 0
    for adapter, task in cases:
        if suite.skip_reason(adapter, task) is not None:
            continue
        ran += 1
        result = suite.run(adapter, task, RunContext(seed=0, batch_size=32, bootstrap_resamples=50))
        if result.table is not None:
            frame = result.table.frame
            assert set(REQUIRED_COLUMNS) <= set(frame.columns)
            assert len(frame) > 0
            clean_ids = set(frame["sample_id"])
            assert clean_ids <= set(task.sample_ids) | {
                i for i in clean_ids if "ood" in str(i) or "shift" in str(i)
            }
        assert result.metrics, f"{suite_name} returned no metrics on {task.name}"
        for m in result.metrics:
            assert m.metric in declared, f"{suite_name} emitted undeclared metric {m.metric}"
            spec = declared[m.metric]
            assert (m.unit, m.higher_is_better) == (spec.unit, spec.higher_is_better), m.metric
            if m.value is None:
                continue
            assert math.isfinite(m.value)
            if m.unit == "fraction":
                assert -1e-9 <= m.value <= 1 + 1e-9, (m.key, m.value)
            if m.ci is not None:
                assert m.ci[0] - 1e-9 <= m.value <= m.ci[1] + 1e-9, (m.key, m.value, m.ci)
            assert m.n >= 0
        json.dumps(result.artifacts, allow_nan=False, default=str)
    assert ran > 0, f"{suite_name} applied to none of the contract tasks"


@pytest.mark.parametrize("suite_name", sorted(LIGHT_CONFIGS))
def test_shardable_suites_rebuild_their_result_from_the_table(
    suite_name: str, cases: list[tuple[Any, Any]]
) -> None:
    """A shardable suite's result is a function of its table (what merging shards relies on)."""
    suite = suite_registry().load(suite_name)(LIGHT_CONFIGS[suite_name])
    if not suite.shardable:
        one_row = SampleTable.build(
            {
                "sample_id": ["s0"],
                "condition": "clean",
                "label": [0],
                "prediction": [0],
                "correct": [True],
                "confidence": [1.0],
            }
        )
        with pytest.raises(NotImplementedError, match="not shardable"):
            suite.result_from_table(one_row, cases[0][1], RunContext())
        return
    ctx = RunContext(seed=0, batch_size=32, bootstrap_resamples=50)
    for adapter, task in cases:
        if suite.skip_reason(adapter, task) is not None:
            continue
        result = suite.run(adapter, task, ctx)
        assert result.table is not None
        again = suite.result_from_table(result.table, task, ctx)
        assert again.metrics == result.metrics
        assert json.dumps(again.artifacts, default=str) == json.dumps(result.artifacts, default=str)


def test_shardable_suite_without_result_from_table_is_refused() -> None:
    with pytest.raises(TypeError, match="sets shardable = True but does not override"):

        class Half(Suite):
            name = "half"
            version = "1"
            shardable = True

    class Whole(Suite):
        name = "whole"
        version = "1"

    assert not Whole.shardable
