"""Split folders named with a capital (`Train/`, `Test/`, as many downloaded sets are) are split
folders: they were read as class folders holding folders ("class folder 'Test' holds folders"),
even with `split: Test` declared."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.data.loader import load_task
from harness.data.sources import check_task_source
from harness.data.task_spec import TaskSpec
from tests.data.layouts import image_folder


def _spec(**kw: object) -> TaskSpec:
    return TaskSpec.model_validate({"name": "t", "modality": "image", "source": "set", **kw})


@pytest.mark.parametrize("split", ["test", "Test"])
def test_capitalised_split_folders_are_splits(tmp_path: Path, split: str) -> None:
    image_folder(tmp_path / "set" / "Test", {"cat": 2, "dog": 3}, size=(2, 2))
    image_folder(tmp_path / "set" / "Train", {"cat": 4, "dog": 1, "fox": 1}, size=(2, 2))
    spec = _spec(split=split, train_split="train")
    check_task_source(spec, tmp_path)
    task = load_task(spec, base_dir=tmp_path)
    assert len(task.data) == 5 and task.train is not None and len(task.train) == 6
    assert task.class_names == ("cat", "dog", "fox")


def test_training_and_testing_folders_are_the_train_and_test_splits(tmp_path: Path) -> None:
    """Sets downloaded as `Training/<class>/` and `Testing/<class>/` (many Kaggle image sets)
    were refused as class folders holding folders; they are the `train` and `test` splits."""
    image_folder(tmp_path / "set" / "Testing", {"cat": 2, "dog": 3}, size=(2, 2))
    image_folder(tmp_path / "set" / "Training", {"cat": 4, "dog": 1}, size=(2, 2))
    spec = _spec(train_split="train")
    check_task_source(spec, tmp_path)
    task = load_task(spec, base_dir=tmp_path)
    assert len(task.data) == 5 and task.train is not None and len(task.train) == 5
