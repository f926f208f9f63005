"""Generic task loading: hub ids and local files (parquet, csv, image folders) through one path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from harness.core.errors import DatasetError
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec


def spec(**kw: object) -> TaskSpec:
    return TaskSpec.model_validate(kw)


@pytest.fixture
def tabular_frame() -> pd.DataFrame:
    gen = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "f1": gen.random(30),
            "f2": gen.random(30) * 10,
            "label": gen.integers(0, 3, 30),
            "region": gen.choice(["north", "south"], 30),
            "uid": [f"u{i}" for i in range(30)],
        }
    )


def test_parquet_tabular(tmp_path: Path, tabular_frame: pd.DataFrame) -> None:
    tabular_frame.to_parquet(tmp_path / "t.parquet")
    task = load_task(
        spec(
            name="t",
            source="t.parquet",
            split="train",
            modality="tabular",
            feature_columns=["f1", "f2"],
            id_column="uid",
            group_columns=["region"],
        ),
        base_dir=tmp_path,
    )
    assert len(task) == 30 and task.input_shape == (2,) and task.num_classes == 3
    assert task.sample_ids[:2] == ["u0", "u1"]
    assert task.bounds == pytest.approx(
        (tabular_frame[["f1", "f2"]].min().min(), tabular_frame[["f1", "f2"]].max().max())
    )
    batch = next(task.batches(8))
    assert batch.inputs.shape == (8, 2)
    np.testing.assert_allclose(
        batch.inputs.numpy(), tabular_frame[["f1", "f2"]].to_numpy()[:8], rtol=1e-6
    )
    assert list(task.groups()["region"]) == list(tabular_frame["region"])


def test_csv_and_hub_path_agree(tmp_path: Path, tabular_frame: pd.DataFrame) -> None:
    tabular_frame.to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "hubdir").mkdir()
    tabular_frame.to_parquet(tmp_path / "hubdir" / "train.parquet")
    common = dict(split="train", modality="tabular", feature_columns=["f1", "f2"], id_column="uid")
    from_csv = load_task(spec(name="t", source="t.csv", **common), base_dir=tmp_path)
    # `hf:<id>` goes through datasets.load_dataset, which also takes a local dataset folder
    from_hub = load_task(
        spec(name="t", source=f"hf:{tmp_path / 'hubdir'}", **common), base_dir=tmp_path
    )
    assert from_csv.fingerprint == from_hub.fingerprint
    assert (
        from_csv.fingerprint
        != load_task(
            spec(name="t", source="t.csv", **{**common, "feature_columns": ["f2", "f1"]}),
            base_dir=tmp_path,
        ).fingerprint
    )


def test_image_folder(tmp_path: Path) -> None:
    gen = np.random.default_rng(1)
    for cls in ("cat", "dog"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(gen.integers(0, 256, (6, 5, 3), dtype=np.uint8)).save(
                tmp_path / "imgs" / cls / f"{i}.png"
            )
    task = load_task(
        spec(name="pets", source="imgs", split="train", modality="image", input_column="image"),
        base_dir=tmp_path,
    )
    assert task.input_shape == (3, 6, 5) and task.class_names == ("cat", "dog")
    x = task.all_inputs()
    assert x.shape == (6, 3, 6, 5) and float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert task.bounds == (0.0, 1.0)


def test_missing_column_names_available_ones(tmp_path: Path, tabular_frame: pd.DataFrame) -> None:
    tabular_frame.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(
        DatasetError,
        match=r"has no column 'f3' \(feature_columns\); its columns: f1, f2, label, region, uid",
    ):
        load_task(
            spec(
                name="t",
                source="t.parquet",
                split="train",
                modality="tabular",
                feature_columns=["f1", "f3"],
            ),
            base_dir=tmp_path,
        )


def test_nan_features_refused_and_group_problems_kept_for_group_readers(
    tmp_path: Path, tabular_frame: pd.DataFrame
) -> None:
    bad = tabular_frame.copy()
    bad.loc[3, "f1"] = np.nan
    bad.to_parquet(tmp_path / "nan.parquet")
    with pytest.raises(
        DatasetError, match=r"'f1' has 1 missing cell\(s\) .*row 4 of .*nan.parquet"
    ):
        load_task(
            spec(
                name="t",
                source="nan.parquet",
                split="train",
                modality="tabular",
                feature_columns=["f1"],
            ),
            base_dir=tmp_path,
        )
    bad = tabular_frame.copy()
    bad["region"] = bad["region"].astype(object)
    bad.loc[2, "region"] = None
    bad.to_parquet(tmp_path / "nogroup.parquet")
    task = load_task(  # an empty group cell fails only the jobs that read groups
        spec(
            name="t",
            source="nogroup.parquet",
            split="train",
            modality="tabular",
            feature_columns=["f1"],
            group_columns=["region"],
        ),
        base_dir=tmp_path,
    )
    assert len(task) == 30 and list(task.groups().columns) == []
    with pytest.raises(DatasetError, match=r"group column 'region' has 1 empty .*row 3 of"):
        task.check_groups(["region"])


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_task(
            spec(name="t", source="nope.parquet", modality="tabular", feature_columns=["a"]),
            base_dir=tmp_path,
        )


def test_head_changes_fingerprint_and_keeps_order() -> None:
    from harness.data.builtin import digits

    task = digits()
    head = task.head(50)
    assert head.fingerprint != task.fingerprint and head.sample_ids == task.sample_ids[:50]
    assert digits().fingerprint == task.fingerprint  # stable across loads
