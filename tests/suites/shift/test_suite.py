"""The shift suite end to end: conditions, determinism, cache, metrics, bad input, CLI + board."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.cli.main import main
from harness.config.tasks.builtin import digits, digits_shifted
from harness.core.errors import ConfigError, DatasetError
from harness.core.suite import RunContext
from suites.shift import ShiftSuite
from tests.fixture_models import linear_digits

CONFIG = {
    "corruptions": ["gaussian_noise", "fog"],
    "severities": [1, 5],
    "max_samples": 60,
    "shifted_tasks": ["digits-shifted"],
    "ood_sets": [{"generated": "uniform_noise", "n": 40}],
}


@pytest.fixture(scope="module")
def task():
    return digits()


def _adapter(task, seed: int = 0):
    from adapters.torch_module import TorchModuleAdapter

    return TorchModuleAdapter.from_module(
        linear_digits(seed),
        name=f"lin{seed}",
        device=torch.device("cpu"),
        bounds=(0.0, 1.0),
        input_shape=task.input_shape,
        modality="image",
    )


def test_conditions_columns_and_metrics(task) -> None:
    suite = ShiftSuite(CONFIG)
    result = suite.run(_adapter(task), task, RunContext(seed=3, bootstrap_resamples=50))
    frame = result.table.frame
    conds = frame.groupby("condition").size().to_dict()
    assert conds == {
        "clean": 60,
        "corruption=fog/severity=1": 60,
        "corruption=fog/severity=5": 60,
        "corruption=gaussian_noise/severity=1": 60,
        "corruption=gaussian_noise/severity=5": 60,
        "shifted=digits-shifted": 60,
        "ood=uniform_noise": 40,
    }
    assert {"msp", "energy"} <= set(frame.columns)
    shifted_ids = frame[frame.condition == "shifted=digits-shifted"].sample_id
    assert shifted_ids.str.startswith("digits-shifted-").all()
    m = {r.key: r for r in result.metrics}
    cells = [
        frame[frame.condition == c].correct.mean() for c in conds if c.startswith("corruption=")
    ]
    assert m["mean_corruption_acc"].value == pytest.approx(np.mean(cells))
    assert m["mean_corruption_acc"].ci is not None and m["mean_corruption_acc"].headline
    clean = frame[frame.condition == "clean"].correct.mean()
    assert m["relative_corruption_drop"].value == pytest.approx(1 - np.mean(cells) / clean)
    fog = [frame[frame.condition == f"corruption=fog/severity={s}"].correct.mean() for s in (1, 5)]
    assert m["corruption_error[corruption=fog]"].value == pytest.approx(1 - np.mean(fog))
    gap = m["shift_acc_gap[shifted=digits-shifted,n_clean=60]"]
    assert gap.value == pytest.approx(
        clean - frame[frame.condition == "shifted=digits-shifted"].correct.mean()
    )
    from suites.shift import ood

    ood_rows = frame[frame.condition == "ood=uniform_noise"]
    clean_rows = frame[frame.condition == "clean"]
    assert m["ood_auroc[ood=uniform_noise,score=energy]"].value == pytest.approx(
        ood.auroc(clean_rows.energy.to_numpy(), ood_rows.energy.to_numpy())
    )


def test_bit_identical_rerun_and_cache_reuse(task) -> None:
    ctx = RunContext(seed=3, bootstrap_resamples=20)
    suite = ShiftSuite(CONFIG)
    first = suite.run(_adapter(task), task, ctx).table.frame
    assert suite._inputs  # the corrupted inputs were cached for the next model
    fresh = ShiftSuite(CONFIG).run(_adapter(task), task, ctx).table.frame
    cached = suite.run(_adapter(task), task, ctx).table.frame
    assert first.equals(fresh) and first.equals(cached)
    torch.manual_seed(12345)  # global RNG state must not matter
    np.random.seed(1)
    assert ShiftSuite(CONFIG).run(_adapter(task), task, ctx).table.frame.equals(first)
    other_seed = ShiftSuite(CONFIG).run(
        _adapter(task), task, RunContext(seed=4, bootstrap_resamples=20)
    )
    assert not other_seed.table.frame.confidence.equals(first.confidence)


def test_tabular_task_rows() -> None:
    from adapters.torch_module import TorchModuleAdapter
    from harness.config.tasks.builtin import diabetes
    from tests.fixture_models import linear_tabular

    tab = diabetes()
    adapter = TorchModuleAdapter.from_module(
        linear_tabular(),
        name="lt",
        device=torch.device("cpu"),
        bounds=(0.0, 1.0),
        input_shape=tab.input_shape,
        modality="tabular",
    )
    res = ShiftSuite({"severities": [2], "shifted_tasks": ["digits-shifted"]}).run(
        adapter, tab, RunContext(bootstrap_resamples=20)
    )
    assert set(res.table.conditions()) == {
        "clean",
        "tabular=gaussian_noise/severity=2",
        "tabular=feature_dropout/severity=2",
    }
    assert any("does not apply" in n for n in res.notes)
    assert "mean_tabular_shift_acc" in {r.key for r in res.metrics}


def test_bad_config_names_key_and_close_match() -> None:
    with pytest.raises(ConfigError, match=r"suites\.shift\.corruptions.*did you mean 'fog'"):
        ShiftSuite({"corruptions": ["fogg"]})
    with pytest.raises(ConfigError, match=r"suites\.shift\.severities.*1\.\.5"):
        ShiftSuite({"severities": [0, 6]})
    with pytest.raises(ConfigError, match=r"suites\.shift\.tabular.*'fog' is a image perturbation"):
        ShiftSuite({"tabular": ["fog"]})
    with pytest.raises(ConfigError, match=r"suites\.shift\.ood_sets"):
        ShiftSuite({"ood_sets": [{"generated": "pink_noise"}]})


def test_wrong_channel_count_and_ood_shape_are_clear_errors(task) -> None:
    four = replace(task, input_shape=(4, 8, 8))
    with pytest.raises(DatasetError, match=r"images have 4 channels.*1 \(grey\) or 3 \(RGB\)"):
        ShiftSuite({"corruptions": ["fog"]}).run(_adapter(task), four, RunContext())
    suite = ShiftSuite({"corruptions": [], "ood_sets": ["digits-shifted"]})
    suite._tasks["digits-shifted"] = replace(digits_shifted(), input_shape=(1, 4, 16))
    with pytest.raises(
        DatasetError,
        match=r"has input shape \(1, 4, 16\) but task 'digits' has input shape \(1, 8, 8\)",
    ):
        suite.run(_adapter(task), task, RunContext())


def test_cli_run_and_board_columns(write_spec, tmp_path: Path) -> None:
    models = "".join(
        f"  - name: lin{i}\n    factory: tests.fixture_models:linear_digits\n"
        f"    factory_args: {{seed: {i}}}\n    input_shape: [1, 8, 8]\n"
        for i in range(3)
    )
    spec = write_spec(
        "name: shift-cli\nseed: 0\ndevice: cpu\nbootstrap_resamples: 50\ntasks: [digits]\n"
        f"models:\n{models}"
        "suites:\n  shift:\n    corruptions: [fog, contrast]\n    severities: [1, 3]\n"
        "    max_samples: 80\n    shifted_tasks: [digits-shifted]\n    mce_baseline: lin0\n"
    )
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    from harness.analysis.leaderboard import build_boards

    board = build_boards(out)[0]
    assert {"mce", "relative_mce", "effective_robustness[shifted=digits-shifted]"} <= set(
        board.columns
    )
    row = {r.model: r for r in board.rows}
    assert row["lin0"].value("mce") == pytest.approx(1.0)
    # random linear models barely degrade: relative mCE may be undefined, and then says why
    rel = row["lin0"].cell("relative_mce")
    assert rel is not None
    assert (
        rel.value == pytest.approx(1.0) if rel.value is not None else "left out" in (rel.note or "")
    )
    assert all(
        isinstance(r.value("effective_robustness[shifted=digits-shifted]"), float)
        for r in board.rows
    )
