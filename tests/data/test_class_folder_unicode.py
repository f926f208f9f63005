"""Class folder names in Unicode's two forms are one class: a folder made on macOS (`café` as
`e` + U+0301, NFD) and the same class typed or made elsewhere (U+00E9, NFC) print alike. They
were two classes ("task has 4 (café, café, dog, fox)") across splits, and a declared
`class_names: [café]` did not name the NFD folder ("class folder 'café' is not in class_names")."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from harness.core.errors import DatasetError
from harness.data.loader import load_task
from harness.data.sources import check_task_source
from harness.data.task_spec import TaskSpec
from tests.data.layouts import image_folder

NFC = unicodedata.normalize("NFC", "café")
NFD = unicodedata.normalize("NFD", "café")


def _spec(**kw: object) -> TaskSpec:
    return TaskSpec.model_validate({"name": "t", "modality": "image", **kw})


def test_splits_naming_a_class_in_two_forms_share_it(tmp_path: Path) -> None:
    image_folder(tmp_path / "set" / "test", {NFD: 2, "dog": 2}, size=(2, 2))
    image_folder(tmp_path / "set" / "train", {NFC: 2, "dog": 2}, size=(2, 2), seed=1)
    task = load_task(_spec(source="set", train_split="train"), base_dir=tmp_path)
    assert task.class_names == (NFC, "dog") and task.num_classes == 2
    assert sorted(task.data["label"]) == [0, 0, 1, 1]


def test_declared_class_names_name_a_folder_in_the_other_form(tmp_path: Path) -> None:
    image_folder(tmp_path / "set", {NFD: 2, "dog": 2}, size=(2, 2))
    spec = _spec(source="set", class_names=["dog", NFC])
    check_task_source(spec, tmp_path)
    task = load_task(spec, base_dir=tmp_path)
    assert task.class_names == ("dog", NFC)
    assert [int(x) for x in task.data["label"]] == [1, 1, 0, 0]


def test_one_split_with_a_class_in_both_forms_is_refused(tmp_path: Path) -> None:
    image_folder(tmp_path / "set", {NFD: 2, NFC: 2, "dog": 2}, size=(2, 2))
    with pytest.raises(DatasetError, match="the same name in two Unicode forms"):
        load_task(_spec(source="set"), base_dir=tmp_path)
