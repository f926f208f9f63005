"""`harness.evaluate(model, data=<datasets.Dataset with an Image column>)` decodes the images as
`harness run` decodes image files (docs/tasks.md, "Image tasks stream"): one mode (RGB or grey)
for the set, 16-bit grey by 65535, EXIF orientation not applied. datasets' own decoder gave the
same files other numbers: palette indices, an alpha or K channel as a fourth input channel, raw
16-bit values, and rotated pixels."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from PIL import Image

import harness

FAST = {"device": "cpu", "bootstrap_resamples": 0}


def _rgb(seed: int) -> np.ndarray:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(6, 4, 3), dtype=np.uint8)
    pixels[:, :2] = 0  # a dark left half: a rotated image differs from the stored one
    return pixels


def _save(kind: str, seed: int, path: Path) -> tuple[Path, np.ndarray]:
    """One image file of `kind` and the [0, 1] CHW array `harness run` decodes it to."""
    rgb = _rgb(seed)
    if kind == "rgba":
        image = Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)]), "RGBA")
    elif kind == "palette":
        image = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    elif kind == "cmyk":
        image = Image.fromarray(rgb).convert("CMYK")
    elif kind == "exif":
        image = Image.fromarray(rgb)
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90 degrees": a viewer shows it upright, stored on its side
        file = path.with_suffix(".png")
        image.save(file, exif=exif)
        return file, rgb.transpose(2, 0, 1) / 255.0
    elif kind == "grey16":
        grey = rgb[..., 0].astype(np.uint16) * 257 + 3
        file = path.with_suffix(".png")
        Image.fromarray(grey).save(file)
        return file, grey[None] / 65535.0
    elif kind == "grey-alpha":
        grey = rgb[..., 1]
        file = path.with_suffix(".png")
        Image.fromarray(np.dstack([grey, grey // 2]), "LA").save(file)
        return file, grey[None] / 255.0
    else:
        raise AssertionError(kind)
    file = path.with_suffix(".tif" if kind == "cmyk" else ".png")
    image.save(file)
    expected = np.asarray(Image.open(file).convert("RGB"), dtype=np.float64) / 255.0
    return file, expected.transpose(2, 0, 1)


@pytest.mark.parametrize("kind", ["rgba", "palette", "cmyk", "exif", "grey16", "grey-alpha"])
def test_an_image_column_decodes_as_the_files_of_a_spec_task(tmp_path: Path, kind: str) -> None:
    files, expected = zip(*(_save(kind, i, tmp_path / f"{i}") for i in range(6)), strict=True)
    ds = datasets.Dataset.from_dict({"image": [str(f) for f in files], "label": [0, 1, 2] * 2})
    ds = ds.cast_column("image", datasets.Image())
    channels, height, width = expected[0].shape
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(channels * height * width, 3))
    result = harness.evaluate(model, data=ds, suites=["accuracy"], **FAST)
    inputs = result.provenance.task.all_inputs()
    assert tuple(inputs.shape) == (6, channels, height, width)
    assert torch.allclose(inputs, torch.from_numpy(np.stack(expected)).float(), atol=1e-6)


def test_a_dataset_dict_or_stream_says_to_pass_one_split(tmp_path: Path) -> None:
    files = [str(_save("rgba", i, tmp_path / f"{i}")[0]) for i in range(3)]
    ds = datasets.Dataset.from_dict({"image": files, "label": [0, 1, 2]})
    ds = ds.cast_column("image", datasets.Image())
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(72, 3))
    both = datasets.DatasetDict({"test": ds, "train": ds})
    with pytest.raises(harness.HarnessError, match=r"^data: got a DatasetDict of the splits "):
        harness.evaluate(model, data=both, **FAST)
    with pytest.raises(harness.HarnessError, match=r"^data: got a datasets IterableDataset"):
        harness.evaluate(model, data=ds.to_iterable_dataset(), **FAST)


def test_a_colour_image_after_a_grey_one_names_no_spec_key(tmp_path: Path) -> None:
    """The refusal of a colour image in a set read grey by its first image advised the spec key
    `channels:`, which harness.evaluate has no argument for."""
    grey = tmp_path / "0.png"
    Image.fromarray(_rgb(0)[..., 0]).save(grey)
    colour = tmp_path / "1.png"
    Image.fromarray(_rgb(1)).save(colour)
    ds = datasets.Dataset.from_dict({"image": [str(grey), str(colour)], "label": [0, 1]})
    ds = ds.cast_column("image", datasets.Image())
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(24, 2))
    with pytest.raises(
        harness.HarnessError, match=r"^input_column: image .*'row 1'.* is in colour"
    ) as e:
        harness.evaluate(model, data=ds, **FAST)
    assert "channels:" not in str(e.value) and "the task" not in str(e.value)
    assert "convert" in str(e.value)


def test_a_missing_image_is_named_by_its_row(tmp_path: Path) -> None:
    """A None cell of an Image column said "an image value is NoneType, not a path, bytes or a
    {bytes, path} struct", naming no row."""
    file, _ = _save("palette", 0, tmp_path / "0")
    ds = datasets.Dataset.from_dict({"image": [str(file), None, str(file)], "label": [0, 1, 0]})
    ds = ds.cast_column("image", datasets.Image())
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(72, 2))
    with pytest.raises(harness.HarnessError, match=r"^input_column: 'image' has 1 missing image"):
        harness.evaluate(model, data=ds, **FAST)
