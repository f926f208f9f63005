"""Every suite runs on data passed in memory, and a saved evaluation reads like a CLI run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import harness
from harness.cli.main import main
from harness.data.builtin import diabetes_arrays, digits_arrays
from tests.fixture_models import linear_digits, linear_tabular
from tests.suites.test_contract import LIGHT_CONFIGS

FAST = {"device": "cpu", "bootstrap_resamples": 50}


@pytest.fixture(scope="module")
def images() -> tuple[torch.Tensor, torch.Tensor, pd.DataFrame]:
    x, y = digits_arrays("test")
    groups = pd.DataFrame({"parity": np.where(y[:60] % 2 == 0, "even", "odd")})
    return torch.from_numpy(x[:60].copy()), torch.from_numpy(y[:60].copy()), groups


@pytest.mark.parametrize("suite", sorted(LIGHT_CONFIGS))
def test_every_suite_runs_on_tensors(images, suite: str) -> None:
    x, y, groups = images
    result = harness.evaluate(
        linear_digits(),
        data=(x, y),
        groups=groups,
        name="digits-60",
        suites={suite: LIGHT_CONFIGS[suite]},
        **FAST,
    )
    assert not result.skipped, result.skipped
    assert result.metrics and result.metrics_frame()["suite"].eq(suite).all()


def test_tabular_frame_runs_the_adversarial_suite_in_its_feature_box() -> None:
    x, y = diabetes_arrays("test")
    frame = pd.DataFrame(x[:80], columns=[f"f{i}" for i in range(10)]).assign(label=y[:80])
    config = {"attacks": ["linf_pgd"], "epsilons": {"linf": [0.01]}, "check_samples": 8}
    result = harness.evaluate(linear_tabular(), data=frame, suites={"adversarial": config}, **FAST)
    assert any(m.metric == "robust_acc" for m in result.metrics)


def test_saved_run_reads_like_a_cli_run(images, tmp_path: Path, capsys) -> None:
    x, y, groups = images
    suites = {"accuracy": {}, "fairness": {"group_by": ["parity"]}}
    first = harness.evaluate(
        linear_digits(), data=(x, y), groups=groups, name="digits-60", suites=suites, **FAST
    )
    other = harness.evaluate(
        linear_digits(seed=1), data=(x, y), groups=groups, name="digits-60", suites=suites, **FAST
    )
    run_dir = first.save(tmp_path / "results")
    assert run_dir.parent == tmp_path / "results" / "runs"
    assert first.save(tmp_path / "results") == run_dir  # the same evaluation: the same folder
    other.save(tmp_path / "results")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed" and len(manifest["jobs"]) == 2
    job = json.loads(next((run_dir / "jobs").glob("*accuracy*/job.json")).read_text())
    assert job["task_summary"]["fingerprint"] == first.task_fingerprint

    capsys.readouterr()
    assert main(["leaderboard", str(tmp_path / "results"), "--format", "csv"]) == 0
    board = capsys.readouterr().out
    assert "digits-60" in board and board.count("Sequential") >= 1
    assert main(["groups", str(tmp_path / "results"), "--by", "parity"]) == 0
    policy = tmp_path / "policy.yaml"
    policy.write_text("metrics:\n  top1_acc: {max_drop: 0.5}\n")
    code = main(
        ["check", "--baseline", str(run_dir), "--current", str(run_dir), "--policy", str(policy)]
    )
    assert code == 0


def test_skipped_suite_is_saved_as_skipped(images, tmp_path: Path) -> None:
    x, y, _ = images
    result = harness.evaluate(linear_digits(), data=(x, y), suites=["accuracy", "fairness"], **FAST)
    assert "fairness" in result.skipped
    run_dir = result.save(tmp_path)
    statuses = sorted(
        json.loads(p.read_text())["status"] for p in (run_dir / "jobs").glob("*/job.json")
    )
    assert statuses == ["completed", "skipped"]


def test_fairness_without_groups_says_to_pass_groups(images) -> None:
    """Data in memory without `groups=`: the fairness suite's skip reason said to "declare
    group_columns on the task", a spec key the caller of `evaluate` has no task spec to put
    in (probe95). It names the argument that gives sensitive attributes."""
    x, y, _ = images
    result = harness.evaluate(linear_digits(), data=(x, y), suites=["fairness"], **FAST)
    reason = result.skipped["fairness"]
    assert reason.startswith("task 'in-memory' has no group columns (sensitive attributes)")
    assert "groups=" in reason and "declare group_columns" not in reason
    assert "groups=" in repr(result)


def test_a_result_without_records_has_the_frame_columns(images) -> None:
    """Every suite skipped (fairness without groups): metrics_frame() was a frame without
    columns, so `frame[frame["suite"] == "fairness"]` raised KeyError: 'suite' in the
    caller's code instead of selecting no row."""
    x, y, _ = images
    result = harness.evaluate(linear_digits(), data=(x, y), suites=["fairness"], **FAST)
    frame = result.metrics_frame()
    assert frame.empty
    assert {"suite", "metric", "value", "ci_low", "ci_high", "n", "key"} <= set(frame.columns)
    assert frame[frame["suite"] == "fairness"].empty


def test_a_save_that_fails_leaves_no_run(images, tmp_path: Path, monkeypatch) -> None:
    from harness.core.errors import ResultsError
    from harness.store.run_store import RunStore

    x, y, _ = images
    result = harness.evaluate(linear_digits(), data=(x, y), **FAST)

    def full_disk(self, manifest) -> None:
        raise ResultsError("cannot write manifest.json: No space left on device")

    monkeypatch.setattr(RunStore, "write_manifest", full_disk)
    with pytest.raises(ResultsError, match="No space left"):
        result.save(tmp_path / "results")
    assert list((tmp_path / "results" / "runs").iterdir()) == []
