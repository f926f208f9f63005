"""CIFAR-10-C and ImageNet-C layouts load as corruption cells linked to their clean images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.config.spec import TaskSpec
from harness.config.tasks.loader import load_task
from harness.core.errors import DatasetError
from harness.core.task import SOURCE_ID, Task
from tests.config.layouts import cifar_c, imagenet_c


def load(base: Path, **kw: object) -> Task:
    return load_task(
        TaskSpec.model_validate({"name": "c", "modality": "image", **kw}), base_dir=base
    )


def test_cifar_c_rows_cells_and_sources(tmp_path: Path) -> None:
    labels, stacks = cifar_c(tmp_path / "c10c", ("fog", "snow"), per_severity=4)
    task = load(tmp_path, source="c10c", severities=[1, 3])
    assert len(task) == 2 * 2 * 4 and task.cell_columns == ("corruption", "severity")
    assert task.input_shape == (3, 8, 8) and task.num_classes == 3
    cells = task.cells()
    assert cells.loc["snow/3/00002"].tolist() == ["snow", 3, "00002"]
    row = task.sample_ids.index("snow/3/00002")
    # severity 3 of image 2 is row (3 - 1) * 4 + 2 of snow.npy
    x = task.all_inputs()[row].numpy()
    np.testing.assert_allclose(x, stacks["snow"][10].transpose(2, 0, 1) / 255.0)
    assert task.labels[row] == labels[10]
    assert task.data.features["input"].length == 2  # [file, row] references, not pixels


def test_cifar_c_single_file_and_filters(tmp_path: Path) -> None:
    cifar_c(tmp_path / "c10c", ("fog", "snow", "frost"))
    one = load(tmp_path, source="c10c/frost.npy", split="anything")
    assert set(one.cells()["corruption"]) == {"frost"} and len(one) == 20
    some = load(tmp_path, source="c10c", corruptions=["fog", "frost"], severities=[5])
    assert sorted(set(some.cells()["corruption"])) == ["fog", "frost"]
    assert set(some.cells()["severity"]) == {5}


def test_cifar_c_fingerprint_tracks_the_pixels(tmp_path: Path) -> None:
    _, stacks = cifar_c(tmp_path / "c10c", ("fog",))
    first = load(tmp_path, source="c10c").fingerprint
    assert load(tmp_path, source="c10c").fingerprint == first
    stacks["fog"][7, 0, 0, 0] ^= 1
    np.save(tmp_path / "c10c" / "fog.npy", stacks["fog"])
    assert load(tmp_path, source="c10c").fingerprint != first


def test_cifar_c_bad_files(tmp_path: Path) -> None:
    cifar_c(tmp_path / "c10c", ("fog",))
    np.save(tmp_path / "c10c" / "snow.npy", np.zeros((7, 8, 8, 3), np.uint8))
    with pytest.raises(DatasetError, match=r"snow.npy holds 7 images .* has 20 labels"):
        load(tmp_path, source="c10c")
    np.save(tmp_path / "c10c" / "snow.npy", np.zeros((20, 8, 8, 3), np.uint8))
    np.save(tmp_path / "c10c" / "labels.npy", np.zeros(21, np.int64))
    with pytest.raises(DatasetError, match=r"labels.npy must be a 1-D array of integer labels"):
        load(tmp_path, source="c10c")


def test_imagenet_c_cells_link_to_clean_ids(tmp_path: Path) -> None:
    imagenet_c(tmp_path / "inc", ("blur", "fog"), (1, 5))
    task = load(tmp_path, source="inc")
    assert len(task) == 2 * 2 * 3 and task.class_names == ("n01", "n02")
    assert task.sample_ids[0] == "blur/1/n01/0.png"
    assert task.cells().loc["fog/5/n02/0.png", SOURCE_ID] == "n02/0.png"
    assert task.all_inputs().shape == (12, 3, 7, 7)
    # the source id is the sample id of the same image in a clean `<class>/<image>` folder
    clean = load(tmp_path, source="inc/fog/5")  # a plain <class>/<image> folder
    assert not clean.cell_columns
    cells = task.cells()
    assert clean.sample_ids == list(cells[cells["corruption"] == "fog"][SOURCE_ID].iloc[3:])


def test_imagenet_c_cells_need_the_same_classes(tmp_path: Path) -> None:
    imagenet_c(tmp_path / "inc", ("blur",), (1, 2))
    (tmp_path / "inc" / "blur" / "2" / "n03").mkdir()
    with pytest.raises(DatasetError, match=r"cell blur/2 has 3 class folders and cell blur/1 2"):
        load(tmp_path, source="inc")


def test_limit_keeps_every_cell_and_the_same_clean_images(tmp_path: Path) -> None:
    cifar_c(tmp_path / "c10c", ("fog", "snow"), per_severity=40)
    task = load(tmp_path, source="c10c", severities=[1, 2])
    sub = task.subset(40, seed=0)
    cells = sub.cells()
    counts = cells.groupby(["corruption", "severity"]).size()
    assert len(counts) == 4 and counts.min() >= 9 and counts.max() <= 11
    # rows are drawn by source id, so cells of one label share their clean images
    by_cell = {
        key: set(frame[SOURCE_ID]) for key, frame in cells.groupby(["corruption", "severity"])
    }
    first = by_cell[("fog", 1)]
    assert all(len(first & other) >= 8 for other in by_cell.values())
    assert sub.sample_ids == task.subset(40, seed=0).sample_ids
