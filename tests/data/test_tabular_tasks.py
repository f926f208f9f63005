"""Tabular tasks: default feature columns, a training split from its own file, feature bounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.core.errors import DatasetError
from harness.core.task import Task
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec


def load(base: Path, **kw: object) -> Task:
    return load_task(
        TaskSpec.model_validate({"name": "t", "modality": "tabular", **kw}), base_dir=base
    )


def frame(n: int, seed: int, scale: float = 1.0) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": gen.integers(20, 80, n).astype(float),
            "income": gen.random(n) * 4000 * scale,
            "label": np.arange(n) % 2,
            "sex": gen.choice(["f", "m"], n),
            "uid": [f"u{seed}-{i}" for i in range(n)],
        }
    )


def test_default_features_are_every_other_column(tmp_path: Path) -> None:
    frame(10, 0).to_parquet(tmp_path / "t.parquet")
    task = load(tmp_path, source="t.parquet", id_column="uid", group_columns=["sex"])
    assert task.feature_names == ("age", "income") and task.input_shape == (2,)


def test_default_features_refuse_text_with_a_hint(tmp_path: Path) -> None:
    frame(10, 0).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(
        DatasetError, match=r"column 'sex' in split 'test' is not numeric .*list feature_columns"
    ):
        load(tmp_path, source="t.csv", id_column="uid")


def test_train_source_and_per_feature_bounds(tmp_path: Path) -> None:
    train, test = frame(40, 1), frame(12, 2, scale=1.2)
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "eval.csv", index=False)
    task = load(
        tmp_path,
        source="eval.csv",
        train_source="train.csv",
        id_column="uid",
        group_columns=["sex"],
    )
    assert task.train is not None and len(task.train) == 40 and len(task) == 12
    both = pd.concat([train, test])
    assert task.feature_bounds is not None
    np.testing.assert_allclose(
        task.feature_bounds,
        [(both.age.min(), both.age.max()), (both.income.min(), both.income.max())],
        rtol=1e-6,
    )
    assert task.bounds == pytest.approx((both.age.min(), both.income.max()), rel=1e-6)
    box = task.feature_box()
    assert box is not None and box[0].shape == (2,)
    x = task.all_inputs().numpy()
    assert (x >= box[0] - 1e-3).all() and (x <= box[1] + 1e-3).all()


def test_declared_feature_bounds(tmp_path: Path) -> None:
    frame(10, 0).to_parquet(tmp_path / "t.parquet")
    common = {"source": "t.parquet", "id_column": "uid", "group_columns": ["sex"]}
    task = load(tmp_path, **common, feature_bounds={"age": [0, 120]})
    assert task.feature_bounds is not None and task.feature_bounds[0] == (0.0, 120.0)
    with pytest.raises(DatasetError, match=r"feature_bounds names 'agee', not a feature"):
        load(tmp_path, **common, feature_bounds={"agee": [0, 120]})
    with pytest.raises(
        DatasetError, match=r"feature 'income' takes values in .*outside its feature_bounds.income"
    ):
        load(tmp_path, **common, feature_bounds={"income": [0, 10]})
    declared = load(tmp_path, **common, bounds=[0, 5000], feature_bounds={"age": [0, 120]})
    assert declared.bounds == (0.0, 5000.0)
    assert declared.feature_bounds == ((0.0, 120.0), (0.0, 5000.0))


def test_vector_input_column_feature_names(tmp_path: Path) -> None:
    pd.DataFrame({"x": [[0.0, 1.0], [2.0, 3.0]], "label": [0, 1]}).to_parquet(
        tmp_path / "v.parquet"
    )
    task = load(tmp_path, source="v.parquet", input_column="x")
    assert task.feature_names == ("x[0]", "x[1]")
    assert task.feature_bounds == ((0.0, 2.0), (1.0, 3.0))


def test_feature_bounds_are_tabular_only() -> None:
    with pytest.raises(ValueError, match="feature_bounds is only for tabular tasks"):
        TaskSpec.model_validate(
            {"name": "t", "source": "x", "modality": "image", "feature_bounds": {"a": [0, 1]}}
        )
    with pytest.raises(ValueError, match=r"feature_bounds of a reach outside bounds \[0.0, 1.0\]"):
        TaskSpec.model_validate(
            {
                "name": "t",
                "source": "x",
                "modality": "tabular",
                "bounds": [0, 1],
                "feature_bounds": {"a": [0, 2]},
            }
        )


def test_train_and_test_files_holding_the_features_in_other_orders_are_refused(
    tmp_path: Path,
) -> None:
    """Default features follow the evaluation file's header; a training file with the same
    columns in another order was silently reordered to it, so a model fitted on the training
    file got its features shuffled (iris: 0.02 for 0.96) without a word. Refused, naming both
    orders; declared feature_columns fix the order for both files."""
    train, test = frame(40, 1), frame(12, 2)
    train.to_csv(tmp_path / "train.csv", index=False)
    test[["uid", "sex", "income", "age", "label"]].to_csv(tmp_path / "eval.csv", index=False)
    common = {"source": "eval.csv", "train_source": "train.csv", "id_column": "uid"}
    with pytest.raises(
        DatasetError,
        match=r"^task 't': train_source train\.csv holds the feature columns in another order "
        r"\('age', 'income'\) than source eval\.csv \('income', 'age'\); .*feature_columns",
    ):
        load(tmp_path, **common, group_columns=["sex"])
    task = load(tmp_path, **common, group_columns=["sex"], feature_columns=["age", "income"])
    assert task.feature_names == ("age", "income")
    np.testing.assert_allclose(task.all_inputs().numpy()[:, 0], test["age"], rtol=1e-6)


def test_a_training_file_without_the_group_columns_is_read(tmp_path: Path) -> None:
    """Sensitive attributes are often collected for the audit only: the evaluation file has
    them, the training file does not. Group columns are read from the evaluation split (the
    fairness suite's groups); a training split lacking one is read without it, the same
    features in the same order, not refused."""
    train, test = frame(40, 1), frame(12, 2)
    train.drop(columns="sex").to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "eval.csv", index=False)
    spec = {"source": "eval.csv", "train_source": "train.csv", "group_columns": ["sex"]}
    task = load(tmp_path, id_column="uid", **spec)
    assert task.train is not None and len(task.train) == 40
    assert "sex" not in task.train.column_names and task.feature_names == ("age", "income")
    assert list(task.groups()["sex"]) == list(test["sex"])
    # the evaluation split still needs them
    train.to_csv(tmp_path / "train.csv", index=False)
    test.drop(columns="sex").to_csv(tmp_path / "eval.csv", index=False)
    with pytest.raises(DatasetError, match=r"eval\.csv has no column 'sex' \(group_columns\)"):
        load(tmp_path, id_column="uid", **spec)
