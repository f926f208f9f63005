"""`harness check` on fairness disparities of a model that predicts one class on every sample:
its selection rates, TPRs and FPRs are equal in every group by construction, so demographic
parity, equalized odds and equal opportunity read 0 (ratios 1 or undefined). The fairness job
says so in a caveat; the gate passed such a run as "improved (significant)" (probe95)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import harness

N = 300
ONE_CLASS_METRICS = (
    "demographic_parity_difference",
    "equalized_odds_difference",
    "equal_opportunity_difference",
)


def _model(constant: bool) -> Callable[[np.ndarray], np.ndarray]:
    def lin(batch: np.ndarray) -> np.ndarray:
        if constant:
            return np.stack([np.ones(len(batch)), np.zeros(len(batch))], 1)
        z = batch[:, 0] * 2.0 + batch[:, 1] * 0.3
        return np.stack([-z / 2, z / 2], 1)

    return lin


def _saved(out: Path, constant: bool) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 3)).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.normal(size=N) > 0).astype(int)
    groups = {"g": np.where(rng.random(N) < 0.5, "a", "b")}
    model = harness.callable_model(_model(constant), outputs="logits", name="lin")
    result = harness.evaluate(
        model,
        data=(x, y),
        groups=groups,
        name="tab",
        suites=["fairness"],
        device="cpu",
        bootstrap_resamples=0,
    )
    result.save(out)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("one-class")
    return _saved(root / "base", constant=False), _saved(root / "cur", constant=True)


def _policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    return path


def test_a_model_turned_constant_does_not_pass_its_fairness_gate(runs, tmp_path: Path) -> None:
    base, cur = runs
    policy = _policy(
        tmp_path,
        "default: {ignore: true}\nmetrics:\n"
        + "".join(f"  {m}: {{max_drop: 0.02}}\n" for m in ONE_CLASS_METRICS),
    )
    gate = harness.check(base, cur, policy=policy)
    rows = {r.metric.split("[")[0]: r for r in gate.report.rows}
    for metric in ONE_CLASS_METRICS:
        row = rows[metric]
        assert row.current == 0.0
        assert row.status == "fail", (metric, row.reason)
        assert "predicts class 0 on every one of the 300 samples" in row.reason
        assert "improved" not in row.reason
    assert not gate.passed and gate.exit_code == 1


def test_a_model_constant_in_both_runs_is_still_flagged_without_a_policy(runs) -> None:
    """As a reliability flag the baseline had: without a policy it is shown, not failed."""
    _, cur = runs
    gate = harness.check(cur, cur)
    rows = {r.metric.split("[")[0]: r for r in gate.report.rows}
    row = rows["equalized_odds_difference"]
    assert row.status == "pass"
    assert "predicts class 0 on every one of the 300 samples" in row.reason
    assert "as in the baseline" in row.reason


def test_a_model_that_is_not_constant_is_compared_as_before(runs) -> None:
    base, _ = runs
    gate = harness.check(base, base)
    assert gate.passed
    assert not any("on every one of" in r.reason for r in gate.report.rows)


def test_harness_groups_says_a_one_class_models_disparities_are_zero_by_construction(
    runs,
) -> None:
    """`harness groups` printed demographic_parity_difference 0.000 and equalized odds 0.000
    for the constant model without a word (the fairness job's caveat is its own); under an
    attack a model can fall to one class too. The disparity rows say why they read 0."""
    base, cur = runs
    frame = harness.groups(cur, by="g")
    disparities = frame[frame["group"] == "*"].set_index("metric")
    for metric in ONE_CLASS_METRICS:
        note = disparities.loc[metric, "note"]
        assert disparities.loc[metric, "value"] == 0.0
        assert "predicts class 0 on every one of the 300 samples" in note, note
        assert "by construction" in note
    assert "predicts class" not in disparities.loc["worst_group_acc", "note"]
    before = harness.groups(base, by="g")
    assert not before["note"].str.contains("predicts class").any()


def test_a_baseline_that_was_constant_is_named_when_the_current_run_differs(runs) -> None:
    """A model fixed after it collapsed to one class: the baseline's 0 was by construction, and
    the row said only "significant regression beyond tolerance" (EOD 0 -> 0.1125; review96)."""
    base, cur = runs
    gate = harness.check(cur, base)
    rows = {r.metric.split("[")[0]: r for r in gate.report.rows}
    row = rows["equalized_odds_difference"]
    assert row.baseline == 0.0 and row.current is not None and row.current > 0.05
    assert "the baseline's model predicts class 0 on every one of the 300 samples" in row.reason
