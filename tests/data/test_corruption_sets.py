"""CIFAR-10-C and ImageNet-C layouts load as corruption cells linked to their clean images."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.core.errors import DatasetError
from harness.core.task import SOURCE_ID, Task
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec
from tests.data.layouts import cifar_c, imagenet_c, validate_error_line


def load(base: Path, **kw: object) -> Task:
    return load_task(
        TaskSpec.model_validate({"name": "c", "modality": "image", **kw}), base_dir=base
    )


def refused(base: Path, source: str) -> str:
    """The one-line message loading `source` fails with."""
    with pytest.raises(DatasetError) as caught:
        load(base, source=source)
    assert "\n" not in str(caught.value)
    return str(caught.value)


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
    imagenet_c(tmp_path / "inc", ("defocus_blur", "fog"), (1, 5))
    task = load(tmp_path, source="inc")
    assert len(task) == 2 * 2 * 3 and task.class_names == ("n01", "n02")
    assert task.sample_ids[0] == "defocus_blur/1/n01/0.png"
    assert task.cells().loc["fog/5/n02/0.png", SOURCE_ID] == "n02/0.png"
    assert task.all_inputs().shape == (12, 3, 7, 7)
    # the source id is the sample id of the same image in a clean `<class>/<image>` folder
    clean = load(tmp_path, source="inc/fog/5")  # a plain <class>/<image> folder
    assert not clean.cell_columns
    cells = task.cells()
    assert clean.sample_ids == list(cells[cells["corruption"] == "fog"][SOURCE_ID].iloc[3:])


def test_imagenet_c_cells_need_the_same_classes(tmp_path: Path) -> None:
    imagenet_c(tmp_path / "inc", ("defocus_blur",), (1, 2))
    (tmp_path / "inc" / "defocus_blur" / "2" / "n03").mkdir()
    extra, first = tmp_path / "inc" / "defocus_blur" / "2", tmp_path / "inc" / "defocus_blur" / "1"
    with pytest.raises(DatasetError) as caught:
        load(tmp_path, source="inc")
    assert (
        f"source {extra} has 3 class folders and {first} has 2 (it has n03, which the other "
        "lacks)" in str(caught.value)
    )


def test_limit_keeps_every_cell_and_the_same_clean_images(tmp_path: Path) -> None:
    cifar_c(tmp_path / "c10c", ("fog", "snow"), per_severity=40)
    task = load(tmp_path, source="c10c", severities=[1, 2])
    sub = task.subset(10, seed=0, per_source=True)  # --limit: 10 source images, in every cell
    cells = sub.cells()
    counts = cells.groupby(["corruption", "severity"]).size()
    assert len(counts) == 4 and set(counts) == {10} and len(sub) == 40
    by_cell = [set(frame[SOURCE_ID]) for _, frame in cells.groupby(["corruption", "severity"])]
    assert all(images == by_cell[0] for images in by_cell)
    assert sub.sample_ids == task.subset(10, seed=0, per_source=True).sample_ids
    # without per_source n counts rows (the shift suite's max_samples asks for per-cell count x cells):
    # strata are label x cell, rows drawn by source id, so cells of one label share images
    rows = task.subset(40, seed=0, purpose="shift/rows").cells()
    counts = rows.groupby(["corruption", "severity"]).size()
    assert len(counts) == 4 and counts.min() >= 9 and counts.max() <= 11
    by_cell = [set(frame[SOURCE_ID]) for _, frame in rows.groupby(["corruption", "severity"])]
    assert all(len(by_cell[0] & other) >= 8 for other in by_cell)


def test_cifar_c_damaged_after_loading_fails_its_batch_naming_the_file(tmp_path: Path) -> None:
    """Rows are memory-mapped batch by batch: a file cut after the task was loaded is one line
    naming it when a batch is read, not numpy's `mmap length is greater than file size`."""
    cifar_c(tmp_path / "c10c", ("fog",))
    task = load(tmp_path, source="c10c")
    with (tmp_path / "c10c" / "fog.npy").open("r+b") as f:
        f.truncate(200)
    with pytest.raises(DatasetError) as caught:
        task.all_inputs()
    message = str(caught.value)
    assert f"cannot read {tmp_path / 'c10c' / 'fog.npy'} (" in message
    assert "changed or was damaged after the run was planned" in message
    with pytest.raises(DatasetError, match=r"fog.npy is truncated: 200 bytes"):
        load(tmp_path, source="c10c")  # planning again: refused from the header


def test_task_cell_and_group_columns_must_exist() -> None:
    from dataclasses import replace

    from harness.data.builtin import digits

    base = digits()
    with pytest.raises(DatasetError, match=r"cell column 'severity' is not a column of its data"):
        replace(base, cell_columns=("severity",))
    with pytest.raises(DatasetError, match=r"group column 'sex' is not a column of its data"):
        replace(base, group_columns=("sex",))


def test_published_corruption_names_are_the_suites() -> None:
    """The torch-free side keeps the 19 names as data (harness.core.corruption_names: the config
    and results sides import no plugin); they are the suite's, and its 15 benchmark ones."""
    from harness.core.corruption_names import BENCHMARK_CORRUPTIONS, CORRUPTION_NAMES
    from harness.suites.shift import suite
    from harness.suites.shift.image_corruptions import CORRUPTIONS

    assert CORRUPTION_NAMES == CORRUPTIONS
    assert BENCHMARK_CORRUPTIONS == suite.BENCHMARK_CORRUPTIONS


@pytest.mark.parametrize("stray", ["fogg", "fog_backup"])
def test_cifar_c_file_with_an_unknown_corruption_name_is_refused(
    tmp_path: Path, stray: str
) -> None:
    """A copy `fogg.npy` (or `fog_backup.npy`) was read as one more corruption and pooled into
    mean_corruption_acc."""
    from harness.data.sources import check_task_source

    _, stacks = cifar_c(tmp_path / "c10c", ("fog", "snow"))
    np.save(tmp_path / "c10c" / f"{stray}.npy", stacks["fog"])
    spec = TaskSpec(name="c", source="c10c", modality="image")
    with pytest.raises(DatasetError) as caught:
        check_task_source(spec, tmp_path)
    message = str(caught.value)
    file = tmp_path / "c10c" / f"{stray}.npy"
    named = f"source {file} is not named after one of the 19 published corruptions"
    assert named in message
    assert "gaussian_noise, shot_noise" in message and "saturate" in message
    assert "\n" not in message
    with pytest.raises(DatasetError, match=re.escape(named)):
        load(tmp_path, source="c10c")
    # the file itself as the source: named once (it was `.../fogg.npy: fogg.npy is not ...`)
    with pytest.raises(DatasetError, match=re.escape(named)):
        load(tmp_path, source=f"c10c/{stray}.npy")
    # listing the real corruptions leaves the stray file out
    assert len(load(tmp_path, source="c10c", corruptions=["fog", "snow"])) == 2 * 5 * 4


def test_imagenet_c_folder_with_an_unknown_corruption_name_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imagenet_c(tmp_path / "inc", ("fog", "fogg"), (1, 2))
    line = validate_error_line(tmp_path, "{name: c, source: inc, modality: image}", capsys)
    named = f"source {tmp_path / 'inc' / 'fogg'} is not named after one of the 19 published"
    assert named in line
    assert "did you mean 'fog'" in line
    with pytest.raises(DatasetError, match=re.escape(named)):
        load(tmp_path, source="inc")
    with pytest.raises(DatasetError, match=re.escape(named)):
        load(tmp_path, source="inc/fogg")  # one corruption's folder, named once


def test_imagenet_c_cell_missing_a_class_folder_is_refused_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imagenet_c(tmp_path / "inc", ("fog",), (1, 3))
    shutil.rmtree(tmp_path / "inc" / "fog" / "3" / "n02")
    line = validate_error_line(tmp_path, "{name: c, source: inc, modality: image}", capsys)
    short, first = tmp_path / "inc" / "fog" / "3", tmp_path / "inc" / "fog" / "1"
    assert f"source {short} has 1 class folders and {first} has 2 (it lacks n02)" in line
    assert refused(tmp_path, "inc") == line.removeprefix("error: ")


@pytest.mark.parametrize("bad", ["6", "five"])
def test_imagenet_c_bad_severity_folder_is_named(
    tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to say "class folder 'fog' holds folders", naming the wrong thing."""
    imagenet_c(tmp_path / "inc", ("fog", "snow"), (1, 2))
    imagenet_c(tmp_path / "extra", ("fog",), (1,))
    shutil.copytree(tmp_path / "extra" / "fog" / "1", tmp_path / "inc" / "fog" / bad)
    line = validate_error_line(tmp_path, "{name: c, source: inc, modality: image}", capsys)
    named = f"source {tmp_path / 'inc' / 'fog' / bad} is not a severity folder (1-5)"
    assert named in line
    assert refused(tmp_path, "inc/fog") == line.removeprefix("error: ")  # the same folder named


def test_cifar_c_labels_are_checked_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels, _ = cifar_c(tmp_path / "c10c", ("fog",))
    bad = labels.astype(np.int64)
    bad[0] = -3
    np.save(tmp_path / "c10c" / "labels.npy", bad)
    line = validate_error_line(tmp_path, "{name: c, source: c10c, modality: image}", capsys)
    assert "labels.npy holds label -3 (row 0); labels are class indices, never negative" in line
    np.save(tmp_path / "c10c" / "labels.npy", labels)
    task = "{name: c, source: c10c, modality: image, num_classes: 2}"
    line = validate_error_line(tmp_path, task, capsys)
    assert "labels.npy holds label 2 (row" in line and "outside 0..1 (2 classes declared" in line
    varied = labels.copy()
    varied[6] = (varied[6] + 1) % 3  # severity 2's copy of image 2 differs from severity 1's
    np.save(tmp_path / "c10c" / "labels.npy", varied)
    line = validate_error_line(tmp_path, "{name: c, source: c10c, modality: image}", capsys)
    assert "row 6 (severity 2, image 00002)" in line and "the 5 severities" in line
