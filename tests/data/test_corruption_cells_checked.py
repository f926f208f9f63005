"""`harness validate` refuses corruption sets whose cells would be weighed over different images,
and a CIFAR-10-C `input_shape` its `.npy` headers contradict: both used to pass validate (the
first passed run too, silently; the second failed only once run loaded the task)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.core.errors import DatasetError
from harness.data.loader import load_task
from harness.data.npy_header import decoded_chw, read_npy_header
from harness.data.sources import check_task_source
from harness.data.task_spec import TaskSpec
from tests.data.layouts import cifar_c, imagenet_c, validate_error_line

SAME_IMAGES = "every corruption/severity cell must hold the same source images, file for file"


def spec(source: str, **kw: object) -> TaskSpec:
    return TaskSpec.model_validate({"name": "c", "source": source, "modality": "image", **kw})


def refused_by_run(tmp_path: Path, source: str, **kw: object) -> str:
    with pytest.raises(DatasetError) as caught:
        load_task(spec(source, **kw), base_dir=tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    return message


# ----------------------------------------------------------------------------- ImageNet-C


def test_empty_class_folder_in_one_cell_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """fog/3/n02 exists but is empty: the cell held 2 images instead of 3, and mean corruption
    accuracy / mCE weighed it over other images than fog/1."""
    imagenet_c(tmp_path / "inc", ("fog", "snow"), (1, 3))
    (tmp_path / "inc" / "fog" / "3" / "n02" / "0.png").unlink()
    line = validate_error_line(tmp_path, "{name: c, source: inc, modality: image}", capsys)
    empty, full = tmp_path / "inc" / "fog" / "3" / "n02", tmp_path / "inc" / "fog" / "1" / "n02"
    assert f"error: task 'c': class folder {empty} holds no images, while {full} holds 1" in line
    assert SAME_IMAGES in line and "restore the missing images" in line
    assert refused_by_run(tmp_path, "inc") == line.removeprefix("error: ")
    # one corruption's folder as the source: the same folder named
    assert f"class folder {empty} holds no images" in refused_by_run(tmp_path, "inc/fog")
    # leaving the cell out loads the rest
    assert len(load_task(spec("inc", severities=[1]), base_dir=tmp_path)) == 2 * 3


def test_empty_class_folder_in_the_first_cell_is_named_as_the_one_lacking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imagenet_c(tmp_path / "inc", ("fog",), (1, 2))
    for image in (tmp_path / "inc" / "fog" / "1" / "n01").iterdir():
        image.unlink()
    line = validate_error_line(tmp_path, "{name: c, source: inc, modality: image}", capsys)
    empty, full = tmp_path / "inc" / "fog" / "1" / "n01", tmp_path / "inc" / "fog" / "2" / "n01"
    assert f"class folder {empty} holds no images, while {full} holds 2" in line


def test_cell_missing_one_image_is_refused_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One image fewer in one class of one cell (the published ImageNet-C holds the same 50,000
    file names in every cell) used to pass validate and run."""
    imagenet_c(tmp_path / "inc", ("fog", "snow"), (1, 2))
    (tmp_path / "inc" / "snow" / "2" / "n01" / "0.png").unlink()
    line = validate_error_line(tmp_path, "{name: c, source: inc, modality: image}", capsys)
    short, full = tmp_path / "inc" / "snow" / "2" / "n01", tmp_path / "inc" / "fog" / "1" / "n01"
    assert f"{short} lacks 0.png, which {full} holds (1 of its 2 images missing)" in line
    assert SAME_IMAGES in line
    assert refused_by_run(tmp_path, "inc") == line.removeprefix("error: ")


def test_extra_or_renamed_image_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same number of images is not enough: the cells hold the same file names."""
    imagenet_c(tmp_path / "inc", ("fog",), (1, 2))
    cell = tmp_path / "inc" / "fog" / "2" / "n01"
    (cell / "1.png").rename(cell / "7.png")
    line = validate_error_line(tmp_path, "{name: c, source: inc, modality: image}", capsys)
    assert f"{cell} lacks 1.png, which {tmp_path / 'inc' / 'fog' / '1' / 'n01'} holds" in line
    (cell / "7.png").rename(cell / "1.png")
    (cell / "2.png").write_bytes((cell / "1.png").read_bytes())  # one image more in fog/2
    line = validate_error_line(tmp_path, "{name: c, source: inc, modality: image}", capsys)
    first = tmp_path / "inc" / "fog" / "1" / "n01"
    assert f"{first} lacks 2.png, which {cell} holds" in line and "(or remove the extra" in line


def test_declared_class_names_do_not_excuse_a_missing_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With class_names declared the cells' class folders are not compared (labels index the
    declared names); their images still are."""
    import shutil

    imagenet_c(tmp_path / "inc", ("fog",), (1, 2))
    shutil.rmtree(tmp_path / "inc" / "fog" / "2" / "n02")
    task = "{name: c, source: inc, modality: image, class_names: [n01, n02]}"
    line = validate_error_line(tmp_path, task, capsys)
    gone, full = tmp_path / "inc" / "fog" / "2" / "n02", tmp_path / "inc" / "fog" / "1" / "n02"
    assert f"class folder {gone} does not exist, while {full} holds 1 images" in line


def test_a_cell_without_images_is_refused_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the run refused it (when listing the images)."""
    imagenet_c(tmp_path / "inc", ("fog",), (1, 2))
    for folder in (tmp_path / "inc" / "fog" / "1").iterdir():
        for image in folder.iterdir():
            image.unlink()
    line = validate_error_line(tmp_path, "{name: c, source: inc, modality: image}", capsys)
    assert f"{tmp_path / 'inc' / 'fog' / '1'}: the class folders hold no images" in line


def test_cells_are_compared_by_name_without_opening_an_image(tmp_path: Path) -> None:
    """The check lists names (one directory listing per class folder, as validate already did);
    files that are not images at all pass it, so nothing was decoded."""
    imagenet_c(tmp_path / "inc", ("fog", "snow"), (1, 2, 5))
    for path in (tmp_path / "inc").rglob("*.png"):
        path.write_bytes(b"not a png")
    check_task_source(spec("inc"), tmp_path)


@pytest.mark.parametrize("key", ["corruptions", "severities"])
def test_an_empty_cell_selection_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    """`corruptions: []` / `severities: []` passed validate; the run then failed inside the
    loader (an assertion, numpy's or Arrow's words) rather than with a line saying why."""
    cifar_c(tmp_path / "c10c", ("fog",))
    imagenet_c(tmp_path / "inc", ("fog",), (1,))
    for source in ("c10c", "inc"):
        task = f"{{name: c, source: {source}, modality: image, {key}: []}}"
        line = validate_error_line(tmp_path, task, capsys)
        assert f"{key} is empty, which selects no cell" in line


# ----------------------------------------------------------------------------- CIFAR-10-C


def test_cifar_c_input_shape_is_checked_against_the_npy_header_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate passed `input_shape: [3, 32, 32]` on 8x8 images; run refused it after loading."""
    cifar_c(tmp_path / "c10c", ("fog", "snow"))
    task = "{name: c, source: c10c, modality: image, input_shape: [3, 32, 32]}"
    line = validate_error_line(tmp_path, task, capsys)
    fog = tmp_path / "c10c" / "fog.npy"
    assert (
        f"error: task 'c': input_shape [3, 32, 32] but {fog} holds images of shape [8, 8, 3] "
        "(height, width, channels), which decode to [3, 8, 8]; fix input_shape" in line
    )
    assert refused_by_run(tmp_path, "c10c", input_shape=[3, 32, 32]) == line.removeprefix("error: ")
    one = "{name: c, source: c10c/snow.npy, modality: image, input_shape: [1, 8, 8]}"
    assert "decode to [3, 8, 8]" in validate_error_line(tmp_path, one, capsys)
    # the transform counts: a resize to the declared size passes, and loads that shape
    check_task_source(spec("c10c", input_shape=[3, 8, 8]), tmp_path)
    resized = spec("c10c", input_shape=[3, 32, 32], resize=32, severities=[1])
    check_task_source(resized, tmp_path)
    assert load_task(resized, base_dir=tmp_path).input_shape == (3, 32, 32)
    wrong = "{name: c, source: c10c, modality: image, input_shape: [3, 16, 16], resize: 24}"
    line = validate_error_line(tmp_path, wrong, capsys)
    assert "which decode to [3, 24, 24] after the transform" in line


@pytest.mark.parametrize("image", [(8, 8), (3, 8, 8), (8, 8, 1), (4, 8, 8), (8, 6, 4)])
def test_the_header_shape_rule_is_the_loaders(tmp_path: Path, image: tuple[int, ...]) -> None:
    """validate reads the decoded shape from the header with the rule the loader applies to the
    first image (grey, channels first, channels last)."""
    cifar_c(tmp_path / "c10c", ())
    gen = np.random.default_rng(0)
    np.save(tmp_path / "c10c" / "fog.npy", gen.integers(0, 256, (20, *image), dtype=np.uint8))
    header = read_npy_header(tmp_path / "c10c" / "fog.npy", "t")
    decoded = decoded_chw(header.shape[1:])
    task = load_task(spec("c10c", severities=[1]), base_dir=tmp_path)
    assert task.input_shape == decoded
    check_task_source(spec("c10c", input_shape=list(decoded)), tmp_path)
    assert task.all_inputs().shape[1:] == decoded
