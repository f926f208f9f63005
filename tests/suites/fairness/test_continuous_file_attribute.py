"""A continuous sensitive attribute in a user's data file (e.g. age) stays numeric, so the fairness
suite bins it with the task's group_bins (or refuses it without bins) instead of treating every
distinct value as its own group."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import harness
from harness.cli.main import main
from harness.config.spec import TaskSpec
from harness.config.tasks.loader import load_task
from harness.core.errors import ConfigError


@pytest.fixture
def data(tmp_path: Path) -> Path:
    gen = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "f0": gen.random(40),
            "f1": gen.random(40),
            "label": gen.integers(0, 2, 40),
            "grp": ["a", "b"] * 20,
            "age": gen.uniform(20, 80, 40),
        }
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    return tmp_path / "t.csv"


def task_spec(path: Path, **kw: object) -> dict[str, object]:
    return {
        "name": "t",
        "source": str(path),
        "modality": "tabular",
        "feature_columns": ["f0", "f1"],
        "group_columns": ["grp", "age"],
        "bounds": [0, 1],
        **kw,
    }


def test_float_group_column_is_binned_or_refused(data: Path) -> None:
    task = load_task(TaskSpec.model_validate(task_spec(data)), base_dir=data.parent)
    assert task.groups()["age"].dtype == np.float64
    assert task.groups()["grp"].tolist()[:2] == ["a", "b"]
    module = __import__("torch").nn.Linear(2, 2)
    with pytest.raises(ConfigError, match="group column 'age' is continuous"):
        harness.evaluate(module, task=task_spec(data), suites={"fairness": {}})
    result = harness.evaluate(
        module,
        task=task_spec(data, group_bins={"age": [0, 50, 100]}),
        suites={"fairness": {"group_by": ["age"], "bootstrap_resamples": 20}},
    )
    acc = [m for m in result.metrics if m.metric == "group_acc"]
    assert sorted(m.context["group"] for m in acc) == ["[0, 50)", "[50, 100)"]
    assert sum(m.n for m in acc) == 40


def test_cli_groups_default_leaves_out_continuous_columns(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: cont\ndevice: cpu\ntasks:\n"
        f"  - {{name: t, source: {data}, modality: tabular, feature_columns: [f0, f1], "
        "group_columns: [grp, age], group_bins: {age: [0, 50, 100]}, bounds: [0, 1]}\n"
        "models:\n  - {name: lin, factory: 'torch.nn:Linear', "
        "factory_args: {in_features: 2, out_features: 2}, input_shape: [2]}\n"
        "suites:\n  accuracy: {}\n"
    )
    out = tmp_path / "results"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["groups", str(out), "--format", "csv", "--resamples", "20"]) == 0
    rows = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert set(rows["group_by"]) == {"grp"}
    assert main(["groups", str(out), "--by", "age"]) == 2  # named explicitly: needs bins


def test_report_group_figure_leaves_out_continuous_columns() -> None:
    from harness.analysis.figure_data import group_accuracy
    from harness.core.sample_table import SampleTable

    table = SampleTable.build(
        {
            "sample_id": ["s0", "s1", "s2"],
            "condition": "clean",
            "label": np.array([0, 1, 1]),
            "prediction": np.array([0, 1, 0]),
            "correct": np.array([True, True, False]),
            "confidence": np.array([0.9, 0.8, 0.6]),
        }
    ).with_groups(
        pd.DataFrame(
            {"grp": ["a", "b", "b"], "age": [21.5, 40.25, 63.0]},
            index=pd.Index(["s0", "s1", "s2"], name="sample_id"),
        )
    )
    assert set(group_accuracy(table)) == {"grp"}
