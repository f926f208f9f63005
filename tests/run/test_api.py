"""The Python API: `harness.evaluate` on modules, zoo names and registered tasks."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import harness
from harness.core.errors import ConfigError, UnknownNameError
from tests.fixture_models import linear_digits


def test_evaluate_module_returns_tables_and_metrics() -> None:
    result = harness.evaluate(
        linear_digits(),
        task="digits",
        suites=["accuracy"],
        limit=100,
        device="cpu",
        bootstrap_resamples=100,
    )
    frame = result.table.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 100 and set(frame["suite"]) == {"accuracy"}
    assert {"sample_id", "condition", "label", "prediction", "correct", "confidence"} <= set(
        frame.columns
    )
    top1 = result.metric("top1_acc")
    assert top1.value == pytest.approx(frame["correct"].mean())
    assert top1.n == 100 and top1.ci is not None
    metrics = result.metrics_frame()
    assert "key" in metrics.columns and (metrics["suite"] == "accuracy").all()


def test_evaluate_zoo_model_by_name_with_groups() -> None:
    result = harness.evaluate(
        "diabetes-logreg",
        task="diabetes",
        suites={"accuracy": {}, "fairness": {"group_by": ["sex"]}},
        device="cpu",
        bootstrap_resamples=100,
    )
    frame = result.table.to_pandas()
    assert "group:sex" in frame.columns
    assert result.metric("top1_acc").value > 0.6
    assert any(m.metric == "demographic_parity_difference" for m in result.metrics)


def test_evaluate_records_skips() -> None:
    result = harness.evaluate(
        linear_digits(),
        task="digits",
        suites=["accuracy", "fairness"],
        limit=50,
        device="cpu",
        bootstrap_resamples=0,
    )
    assert "fairness" in result.skipped and "group columns" in result.skipped["fairness"]


def test_evaluate_unknown_names() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'digits'"):
        harness.evaluate(linear_digits(), task="digit", suites=["accuracy"])
    with pytest.raises(UnknownNameError, match="unknown suite 'acuracy'"):
        harness.evaluate(linear_digits(), task="digits", suites=["acuracy"], limit=10)


def test_evaluate_refuses_a_per_task_setting_for_another_task() -> None:
    """A shifted set keyed by a task that is not the evaluated one would never run."""
    suites = {"shift": {"corruptions": [], "shifted_tasks": {"digist": ["digits-shifted"]}}}
    with pytest.raises(ConfigError, match="'digist' is not a task of this run"):
        harness.evaluate(linear_digits(), task="digits", suites=suites, limit=10)


def test_importing_harness_does_not_import_torch() -> None:
    code = "import harness, harness.analysis.leaderboard, harness.store.run_store; import sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
