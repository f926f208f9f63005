"""Files in the class folders of an image folder that are not read as images are counted in a
note on every job (a phone's `.heic`, a `.jfif` or `.avif` save), never dropped silently; hidden
files (`.DS_Store`, macOS `._` copies) are not counted. A link to a missing file is refused in
one line naming it: as an image that cannot be read is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import harness
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec
from tests.data.layouts import image_folder, validate_error_line


def _folder(root: Path) -> None:
    image_folder(root, {"cat": 3, "dog": 3}, size=(2, 2))
    (root / "cat" / "IMG_0001.HEIC").write_bytes(b"\0\0\0\x18ftypheic")
    (root / "dog" / "7.jfif").write_bytes((root / "dog" / "0.png").read_bytes())
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "dog" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "dog" / "._0.png").write_bytes(b"\0\5\26\7Mac OS X")


def test_files_not_read_as_images_are_counted_in_a_note(tmp_path: Path) -> None:
    _folder(tmp_path / "set")
    spec = TaskSpec.model_validate({"name": "t", "source": "set", "modality": "image"})
    task = load_task(spec, base_dir=tmp_path)
    assert len(task.data) == 6
    (note,) = task.load_notes
    assert "2 file(s) in its class folders are not read as images" in note
    assert "cat/IMG_0001.HEIC" in note and "dog/7.jfif" in note and "DS_Store" not in note


def test_the_note_is_on_the_job(tmp_path: Path) -> None:
    _folder(tmp_path / "set")
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2))
    task = {"name": "t", "source": str(tmp_path / "set"), "modality": "image"}
    result = harness.evaluate(
        model, task=task, suites=["accuracy"], device="cpu", bootstrap_resamples=0
    )
    assert any("not read as images" in note for note in result.results["accuracy"].notes)


def test_a_link_to_a_missing_image_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image_folder(tmp_path / "set", {"cat": 2, "dog": 2}, size=(2, 2))
    os.symlink(tmp_path / "gone.png", tmp_path / "set" / "dog" / "9.png")
    line = validate_error_line(
        tmp_path, f"{{name: t, source: {tmp_path / 'set'}, modality: image}}", capsys
    )
    assert "dog/9.png" in line and "missing" in line


@pytest.mark.parametrize("where", ["class", "top"])
def test_a_link_loop_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    """Two links naming each other (`9.png` -> `loop` -> `9.png`) made `DirEntry.is_dir()`
    raise ELOOP: an OSError traceback from `harness validate` and the load. Refused as a link
    whose target cannot be reached, naming it."""
    image_folder(tmp_path / "set", {"cat": 2, "dog": 2}, size=(2, 2))
    folder = tmp_path / "set" / ("dog" if where == "class" else "")
    os.symlink(folder / "loop", folder / "9.png")
    os.symlink(folder / "9.png", folder / "loop")
    line = validate_error_line(
        tmp_path, f"{{name: t, source: {tmp_path / 'set'}, modality: image}}", capsys
    )
    assert "9.png" in line or "loop" in line, line
    spec = TaskSpec.model_validate({"name": "t", "source": "set", "modality": "image"})
    with pytest.raises(harness.core.errors.DatasetError, match=r"^task .t.: .*cannot be followed"):
        load_task(spec, base_dir=tmp_path)


@pytest.mark.parametrize("where", ["class", "top"])
def test_a_link_loop_under_an_ignored_name_is_ignored(tmp_path: Path, where: str) -> None:
    """Hidden entries (`.x`) are ignored, but the check for link loops followed every entry
    before looking at its name: a hidden loop (`.9.png` -> `.loop` -> `.9.png`) refused the
    whole folder."""
    image_folder(tmp_path / "set", {"cat": 2, "dog": 2}, size=(2, 2))
    folder = tmp_path / "set" / ("dog" if where == "class" else "")
    os.symlink(folder / ".loop", folder / ".9.png")
    os.symlink(folder / ".9.png", folder / ".loop")
    spec = TaskSpec.model_validate({"name": "t", "source": "set", "modality": "image"})
    assert load_task(spec, base_dir=tmp_path).class_names == ("cat", "dog")


def test_a_class_count_mismatch_names_the_task_classes_and_the_empty_ones(tmp_path: Path) -> None:
    """An empty class folder (or one only the training split holds) adds a class: "outputs 3
    classes but task 't' has 4" left the user counting three folders."""
    image_folder(tmp_path / "set", {"cat": 2, "dog": 2, "fox": 2}, size=(2, 2))
    (tmp_path / "set" / "bird").mkdir()
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    task = {"name": "t", "source": str(tmp_path / "set"), "modality": "image"}
    with pytest.raises(harness.HarnessError) as err:
        harness.evaluate(model, task=task, suites=["accuracy"], device="cpu", bootstrap_resamples=0)
    text = str(err.value)
    assert "outputs 3 classes but task 't' has 4 (bird, cat, dog, fox;" in text
    assert "no sample of class bird" in text


def test_an_unlabeled_folder_counts_its_files_not_read_too(tmp_path: Path) -> None:
    """An unlabeled image folder (an OOD set) skipped its `.heic` files without a word, as
    class folders did: its note now counts them, in the set's job as in the task's."""
    image_folder(tmp_path / "set", {"cat": 3, "dog": 3}, size=(2, 2))
    image_folder(tmp_path / "ood", {"a": 2, "b": 2}, size=(2, 2))
    (tmp_path / "ood" / "a" / "IMG_0002.HEIC").write_bytes(b"\0\0\0\x18ftypheic")
    (tmp_path / "ood" / "cover.avif").write_bytes(b"\0\0\0\x1cftypavif")
    (tmp_path / "ood" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    spec = TaskSpec.model_validate(
        {"name": "o", "source": "ood", "modality": "image", "label_column": None}
    )
    (note,) = load_task(spec, base_dir=tmp_path).load_notes
    assert "2 file(s) in it are not read as images" in note and "only its 4 images" in note
    assert "a/IMG_0002.HEIC" in note and "cover.avif" in note and "DS_Store" not in note
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2))
    task = {"name": "t", "source": str(tmp_path / "set"), "modality": "image"}
    ood = {"name": "o", "source": str(tmp_path / "ood"), "modality": "image", "label_column": None}
    shift = {"corruptions": [], "ood_sets": [ood], "ood": {"detectors": ["msp"], "headline": "msp"}}
    result = harness.evaluate(
        model, task=task, suites={"shift": shift}, device="cpu", bootstrap_resamples=0
    )
    notes = result.results["shift"].notes
    assert any("IMG_0002.HEIC" in n and "not read as images" in n for n in notes), notes


def test_an_empty_class_folder_is_said_in_a_note_with_the_indices_it_shifts(
    tmp_path: Path,
) -> None:
    """An empty class folder still counts as a class (as torchvision's ImageFolder counts it
    with allow_empty): one sorting first ('0-unused') moved every other class one index up
    without a word, so a model trained without it was scored against shifted labels (probe99).
    The class stays (a test split may lack a class the training split has), and a note on every
    job says so; declared class_names fix the indices, and then no note is needed."""
    image_folder(tmp_path / "set", {"cat": 2, "dog": 2}, size=(2, 2))
    (tmp_path / "set" / "0-unused").mkdir()
    spec = TaskSpec.model_validate({"name": "t", "source": "set", "modality": "image"})
    task = load_task(spec, base_dir=tmp_path)
    assert list(task.class_names) == ["0-unused", "cat", "dog"]
    (note,) = task.load_notes
    assert "class folder '0-unused' holds no image" in note
    assert "class 0" in note and "class_names" in note
    declared = TaskSpec.model_validate(
        {
            "name": "t",
            "source": "set",
            "modality": "image",
            "class_names": ["0-unused", "cat", "dog"],
        }
    )
    assert load_task(declared, base_dir=tmp_path).load_notes == ()


def test_an_empty_test_class_folder_whose_train_folder_holds_images_is_not_noted(
    tmp_path: Path,
) -> None:
    """`<split>/<class>/` folders: the class index is the union of the splits' class folders,
    so a test folder that is empty where the train folder holds images takes the index the
    train split gives it. The note ("remove the folder if the model was trained without that
    class") was still on every job, though removing the folder changes no index."""
    image_folder(tmp_path / "set" / "train", {"ant": 2, "bee": 2, "cat": 2}, size=(2, 2))
    image_folder(tmp_path / "set" / "test", {"ant": 2, "cat": 2}, size=(2, 2))
    (tmp_path / "set" / "test" / "bee").mkdir()
    spec = TaskSpec.model_validate(
        {"name": "t", "source": "set", "modality": "image", "train_split": "train"}
    )
    task = load_task(spec, base_dir=tmp_path)
    assert list(task.class_names) == ["ant", "bee", "cat"]
    assert task.load_notes == ()
    (tmp_path / "set" / "train" / "bee").rename(tmp_path / "bee-moved")
    (tmp_path / "set" / "train" / "bee").mkdir()  # empty in every split: noted
    (note,) = load_task(spec, base_dir=tmp_path).load_notes
    assert "class folder 'bee' holds no image" in note
