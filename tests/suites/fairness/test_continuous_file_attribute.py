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
from harness.core.errors import ConfigError, DatasetError
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec


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
    out_err = capsys.readouterr()
    rows = pd.read_csv(__import__("io").StringIO(out_err.out))
    assert set(rows["group_by"]) == {"grp"}
    # "default: each group column", and 'age' was left out without a word
    note = "left out group column 'age' of task 't': it holds continuous values, not groups; "
    said = " ".join(out_err.err.split())
    assert f"{note}only a fairness suite's table stores it binned (by its bins" in said, said
    assert main(["groups", str(out), "--by", "age"]) == 2  # named explicitly: needs bins
    err = capsys.readouterr().err
    assert "'age' holds continuous values in every selected table" in err, err
    # the task declares group_bins: "bin it (... or the task's group_bins)" sent the user in a
    # circle; only the fairness suite's table holds the binned column, the others the values
    assert "bin it" not in err and "only the fairness suite's table stores it binned" in err, err
    assert "--by age_bin" in err and "add a banded copy of 'age'" in err, err
    # with the fairness suite's table beside it, the line names the binned column
    spec.write_text(spec.read_text().replace("accuracy: {}", "fairness: {group_by: [age]}"))
    assert main(["run", str(spec), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["groups", str(out), "--by", "age"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "its binned form is stored: --by age_bin" in err, err
    assert main(["groups", str(out), "--by", "age_bin", "--resamples", "0"]) == 0
    capsys.readouterr()
    # the default shows the accuracy table (the fairness table's rows of clean are repeats):
    # the note names the bins stored beside it; the fairness table's own view shows them
    assert main(["groups", str(out), "--resamples", "0"]) == 0
    assert f"{note}--by age_bin breaks down the bins the fairness suite stored" in " ".join(
        capsys.readouterr().err.split()
    )
    assert main(["groups", str(out), "--suite", "fairness", "--resamples", "0"]) == 0
    assert "left out group column" not in capsys.readouterr().err


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


@pytest.fixture
def int_ages(tmp_path: Path) -> Path:
    gen = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "f0": gen.random(40),
            "f1": gen.random(40),
            "label": gen.integers(0, 2, 40),
            "age": [22, 35, 48, 61] * 10,  # whole years: an integer column
        }
    )
    frame.to_csv(tmp_path / "ints.csv", index=False)
    return tmp_path / "ints.csv"


def _int_task(path: Path, edges: list[float]) -> dict[str, object]:
    return {
        "name": "ints",
        "source": str(path),
        "modality": "tabular",
        "feature_columns": ["f0", "f1"],
        "group_columns": ["age"],
        "group_bins": {"age": edges},
        "bounds": [0, 1],
    }


def test_group_bins_take_an_integer_column(int_ages: Path) -> None:
    module = __import__("torch").nn.Linear(2, 2)
    result = harness.evaluate(
        module,
        task=_int_task(int_ages, [0, 40, 100]),
        suites={"fairness": {"group_by": ["age"], "bootstrap_resamples": 20}},
    )
    acc = {m.context["group"]: m.n for m in result.metrics if m.metric == "group_acc"}
    assert acc == {"[0, 40)": 20, "[40, 100)": 20}


def test_values_outside_group_bins_name_the_split_column_and_setting(int_ages: Path) -> None:
    module = __import__("torch").nn.Linear(2, 2)
    with pytest.raises(DatasetError) as err:
        harness.evaluate(
            module,
            task=_int_task(int_ages, [30, 50, 100]),
            suites={"fairness": {"group_by": ["age"], "bootstrap_resamples": 20}},
        )
    text = str(err.value)
    assert "group column 'age' has 10 of 40 values in the evaluation split of task 'ints'" in text
    assert "outside the bin edges [30, 50, 100] of group_bins.age of task 'ints'" in text
    assert "(e.g. 22)" in text and "widen group_bins.age of task 'ints'" in text
    # edges from the suite config override the task's: the message names that key instead
    with pytest.raises(DatasetError, match=r"outside the bin edges .* of suites.fairness.bins.age"):
        harness.evaluate(
            module,
            task=_int_task(int_ages, [0, 100]),
            suites={"fairness": {"group_by": ["age"], "bins": {"age": [40, 100]}}},
        )


def test_group_bins_on_a_text_column_is_refused_naming_it(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "f0": [0.1, 0.2] * 10,
            "f1": [0.3, 0.4] * 10,
            "label": [0, 1] * 10,
            "age": ["young", "7"] * 10,
        }
    )
    frame.to_csv(tmp_path / "text.csv", index=False)
    module = __import__("torch").nn.Linear(2, 2)
    with pytest.raises(ConfigError) as err:
        harness.evaluate(
            module,
            task=_int_task(tmp_path / "text.csv", [0, 100]),
            suites={"fairness": {"group_by": ["age"], "bootstrap_resamples": 20}},
        )
    assert str(err.value) == (
        "group_bins.age of task 'ints': group column 'age' in the evaluation split of task 'ints' "
        "is not numeric (10 of 20 values are not numbers, e.g. 'young'); bin edges apply to "
        "numeric columns only"
    )


def test_edited_group_bins_rerun_the_fairness_job(
    int_ages: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The task's group_bins were in no job key: editing them (the spec's only change) reused
    the cached fairness job, whose groups were those of the old edges ([0, 50) and [50, 100)
    reported for edges [0, 40, 100]). The edges of the binned columns it groups by are now in
    the fairness job's key; a task whose binned columns are not grouped keeps its key."""
    from dataclasses import replace

    from harness.suites.fairness import FairnessSuite

    sio = pytest.importorskip("skops.io")
    from sklearn.linear_model import LogisticRegression

    frame = pd.read_csv(int_ages)
    fitted = LogisticRegression().fit(frame[["f0", "f1"]].to_numpy(np.float32), frame["label"])
    sio.dump(fitted, tmp_path / "lr.skops")  # fixed weights: the second run may reuse the first
    spec = tmp_path / "spec.yaml"
    task = f"{{name: ints, source: {int_ages}, modality: tabular, feature_columns: [f0, f1], "
    task += "group_columns: [age], group_bins: {age: [EDGES]}, bounds: [0, 1]}"
    body = (
        "name: bins\ndevice: cpu\nbootstrap_resamples: 0\ntasks:\n  - " + task + "\nmodels:\n"
        f"  - {{name: lr, adapter: sklearn, path: {tmp_path / 'lr.skops'}}}\n"
        "suites:\n  fairness: {group_by: [age]}\n"
    )
    out = tmp_path / "results"
    groups, seen = [], set()
    for edges in ("0, 50, 100", "0, 40, 100"):
        spec.write_text(body.replace("EDGES", edges))
        assert main(["run", str(spec), "--out", str(out)]) == 0
        (run,) = {p.name for p in (out / "runs").iterdir()} - seen
        seen.add(run)
        capsys.readouterr()
        assert main(["groups", str(out), "--run", run, "--format", "csv", "--resamples", "0"]) == 0
        rows = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
        groups.append(sorted(set(rows["group"]) - {"*"}))
    assert groups[1] == ["[0, 40)", "[40, 100)"], groups
    # the key holds the edges of grouped binned columns only (the quickstart groups by none)
    fair = FairnessSuite({"group_by": ["age"]})
    base = load_task(
        TaskSpec.model_validate(_int_task(int_ages, [0, 40, 100])), base_dir=int_ages.parent
    )
    a = fair.input_fingerprints(base)
    b = fair.input_fingerprints(replace(base, group_bins={"age": (0.0, 50.0, 100.0)}))
    assert a.get("group_bins") and a["group_bins"] != b["group_bins"]
    overridden = FairnessSuite({"group_by": ["age"], "bins": {"age": [0, 100]}})
    assert "group_bins" not in overridden.input_fingerprints(base)


def test_bin_labels_name_each_bin_apart_and_exactly() -> None:
    """Edges printed with 6 significant digits (`%g`) gave bins the same label when edges
    agreed in those digits (every bin of [1.0000001, 1.0000002, 1.0000003] read `[1, 1)`, so
    their samples merged into one group) and rounded large edges (`1.23457e+06`). A label now
    prints each edge exactly (the shortest text that reads back as it)."""
    from harness.suites.fairness.binning import bin_labels, bin_values

    close = [1.0000001, 1.0000002, 1.0000003]
    assert len(set(bin_labels(close))) == 2
    assert bin_labels([0, 1234567.5, 2e6, 2.5e6]) == [
        "[0, 1234567.5)",
        "[1234567.5, 2000000)",
        "[2000000, 2500000)",
    ]
    assert bin_labels([0, 0.1, 0.1000001]) == ["[0, 0.1)", "[0.1, 0.1000001)"]
    values = np.array([1.00000015, 1.00000025])
    assert len(set(bin_values(values, close, column="x"))) == 2
