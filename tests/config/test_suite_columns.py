"""Suite settings that name a task's columns or a label value (the fairness suite's `group_by`,
`bins`, `positive_label`) are checked against each task's columns when the plan is built, so
`harness validate` refuses a typo and `harness run` fails before any job with the same line
(harness/suites/fairness/columns.py, harness/data/task_columns.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import harness
from harness.core.errors import ConfigError
from harness.core.task_columns import TaskColumns
from harness.suites.fairness.columns import check_task_columns
from harness.suites.fairness.config import FairnessConfig
from tests.reliability.hostile.corpus import cli, one_error_line

MODEL = (
    "  - {name: lin, factory: 'torch.nn:Linear', factory_args: {in_features: 2, out_features: 2}, "
    "input_shape: [2]}\n"
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x1": [0.1, 0.3, 0.5, 0.2, 0.7, 0.9],
            "x2": [0.2, 0.1, 0.9, 0.4, 0.3, 0.8],
            "sex": ["m", "f", "m", "f", "m", "f"],
            "race": ["a", "b", "b", "a", "a", "b"],
            "income": [1, 2, 3, 4, 5, 6],
            "label": [0, 1, 1, 0, 1, 0],
        }
    )


def _spec(tmp_path: Path, fairness: str, *, suffix: str = "csv", task_keys: str = "") -> Path:
    data = tmp_path / f"people.{suffix}"
    if suffix == "csv":
        _frame().to_csv(data, index=False)
    else:
        _frame().to_parquet(data, index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: columns\ndevice: cpu\nmodels:\n"
        + MODEL
        + f"tasks:\n  - {{name: people, source: {data.name}, modality: tabular, "
        f"feature_columns: [x1, x2], group_columns: [sex, race]{task_keys}}}\n"
        f"suites:\n  accuracy: {{}}\n  fairness: {fairness}\n"
    )
    return spec


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_group_by_typo_is_refused_by_validate_naming_key_task_column_and_match(
    tmp_path: Path, suffix: str
) -> None:
    spec = _spec(tmp_path, "{group_by: [sexx, [race, sex]]}", suffix=suffix)
    code, out, err = cli("validate", spec)
    assert code == 2 and out == ""
    assert one_error_line(err) == (
        "error: suites.fairness.group_by names 'sexx', which task 'people' does not have; its "
        "columns to group by: sex, race; for 'sexx' did you mean 'sex'?"
    )


def test_a_file_column_that_is_not_a_group_column_is_named_as_such(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "{group_by: [income]}", suffix="parquet")
    code, _out, err = cli("validate", spec)
    assert code == 2
    assert one_error_line(err) == (
        "error: suites.fairness.group_by names 'income', which task 'people' does not have; its "
        f"columns to group by: sex, race; 'income' is a column of {tmp_path / 'people.parquet'} but "
        "not one of the task's group_columns: add it there to group by it"
    )


def test_a_positive_label_a_binary_task_lacks_is_refused(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "{positive_label: 2}", task_keys=", class_names: ['no', 'yes']")
    code, _out, err = cli("validate", spec)
    assert code == 2
    assert one_error_line(err) == (
        "error: suites.fairness.positive_label is 2 but task 'people' is binary (labels 0 and 1)"
    )


def test_a_positive_label_given_as_a_class_name_is_refused_with_its_index(
    tmp_path: Path,
) -> None:
    """`positive_label: yes` (a class name; the key takes the class index the results store)
    said only pydantic's "Input should be a valid integer"."""
    classes = ", class_names: ['no', 'yes']"
    spec = _spec(tmp_path, "{positive_label: 'Yes'}", task_keys=classes)
    code, out, err = cli("validate", spec)
    assert code == 2 and out == ""
    assert one_error_line(err) == (
        "error: suites.fairness.positive_label is a class index, not a class name ('Yes'): "
        "'yes' is class 1 of task 'people'; give positive_label: 1"
    )
    spec = _spec(tmp_path, "{positive_label: yess}", task_keys=classes)
    assert one_error_line(cli("validate", spec)[2]) == (
        "error: suites.fairness.positive_label is a class index, not a class name ('yess'): "
        "task 'people' has no class 'yess' (its classes: 0 'no', 1 'yes'); did you mean 'yes'?"
    )
    spec = _spec(tmp_path, "{positive_label: 'yes'}")  # classes only its labels say
    assert one_error_line(cli("validate", spec)[2]) == (
        "error: suites.fairness.positive_label is a class index (0 for a task's first class, in "
        "the order of its class_names or sorted class folders), not a class name ('yes'); give "
        "the index of the positive class"
    )
    assert cli("validate", _spec(tmp_path, "{positive_label: '1'}", task_keys=classes))[0] == 0


def test_bins_of_a_column_the_suite_never_groups_by_are_refused(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "{bins: {rase: [0, 1]}}")
    code, _out, err = cli("validate", spec)
    assert code == 2
    assert one_error_line(err) == (
        "error: suites.fairness.bins.rase: 'rase' is not a column the suite groups by (did you "
        "mean 'race'?), so its edges would never be read; the tasks' group columns are: race, sex"
    )


def test_a_correct_spec_is_valid_and_says_nothing_unchecked(tmp_path: Path) -> None:
    fairness = "{group_by: [sex, [sex, race]], positive_label: 0}"
    for suffix in ("csv", "parquet"):
        code, out, err = cli("validate", _spec(tmp_path, fairness, suffix=suffix))
        assert code == 0, err
        assert "valid — 2 jobs" in out and "not checked" not in out


def test_a_label_value_on_a_task_whose_classes_are_on_the_hub_is_said_unchecked(
    tmp_path: Path,
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: hub\ndevice: cpu\nmodels:\n"
        + MODEL
        + "tasks:\n  - {name: remote, source: 'hf:someone/people', modality: tabular, "
        "feature_columns: [x1, x2], group_columns: [sex]}\n"
        "suites:\n  fairness: {group_by: [sex], positive_label: 2}\n"
    )
    code, out, err = cli("validate", spec, "--width", "0")
    assert code == 0, err
    (line,) = [line for line in out.splitlines() if "not checked" in line]
    assert line == (
        "suites.fairness.positive_label: not checked on task 'remote': its labels are on the "
        "Hugging Face hub (hf:someone/people); declare num_classes or class_names on the task to "
        "have it checked"
    )
    spec.write_text(spec.read_text().replace("[sex]}\n", "[sex], num_classes: 2}\n"))
    code, _out, err = cli("validate", spec)
    assert code == 2 and "positive_label is 2 but task 'remote' is binary" in err


def test_a_task_known_only_once_loaded_is_said_unchecked_and_never_refused() -> None:
    unknown = TaskColumns(task="plugin", columns=None, unknown="task 'plugin' comes from x")
    config = FairnessConfig(group_by=["sexx"], bins={"age": [0.0, 1.0]}, positive_label=3)
    with pytest.raises(ConfigError, match=r"bins.age: 'age' is not a column"):
        check_task_columns(config, {"plugin": unknown})  # outside group_by: never read anywhere
    config = FairnessConfig(group_by=["sexx"], positive_label=3)
    assert check_task_columns(config, {"plugin": unknown}) == [
        "suites.fairness.group_by: not checked on task 'plugin' (task 'plugin' comes from x)",
        "suites.fairness.positive_label: not checked on task 'plugin' (task 'plugin' comes from x)",
    ]


def test_a_task_without_group_columns_is_skipped_as_the_job_skips_it() -> None:
    """digits beside diabetes: group_by names diabetes' columns, digits has none (skipped)."""
    digits = TaskColumns.of_rows("digits", group_columns=(), num_classes=10)
    diabetes = TaskColumns.of_rows("diabetes", group_columns=("sex", "age_band"), num_classes=2)
    config = FairnessConfig(group_by=["sex"], positive_label=0)
    assert check_task_columns(config, {"digits": digits, "diabetes": diabetes}) == []
    with pytest.raises(ConfigError, match="positive_label is 2 but task 'diabetes' is binary"):
        check_task_columns(FairnessConfig(positive_label=2), {"digits": digits, "d": diabetes})


def test_run_fails_before_any_job_with_the_same_line_and_keeps_earlier_results(
    tmp_path: Path,
) -> None:
    spec = _spec(tmp_path, "{group_by: [sex]}")
    results = tmp_path / "results"
    code, _out, err = cli("run", spec, "--out", results)
    assert code == 0, err
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    spec.write_text(spec.read_text().replace("group_by: [sex]", "group_by: [sexx]"))
    _code, _out, validated = cli("validate", spec)
    code, out, err = cli("run", spec, "--out", results)
    assert code == 2 and out == ""
    assert one_error_line(err) == one_error_line(validated)
    assert "group_by names 'sexx'" in err
    assert {p: p.read_bytes() for p in results.rglob("*") if p.is_file()} == before


def test_evaluate_refuses_a_group_by_typo_before_calling_the_model() -> None:
    import torch

    class Counting(torch.nn.Linear):
        calls = 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            Counting.calls += 1
            return super().forward(x)

    frame = _frame().drop(columns=["income"])
    with pytest.raises(ConfigError, match=r"group_by names 'sexx'.*did you mean 'sex'"):
        harness.evaluate(
            Counting(2, 2),
            data=frame,
            groups=["sex", "race"],
            feature_columns=["x1", "x2"],
            suites={"accuracy": {}, "fairness": {"group_by": ["sexx"]}},
        )
    assert Counting.calls == 0  # the accuracy suite, listed first, never ran
