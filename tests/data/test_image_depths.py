"""Images of every bit depth and mode Pillow opens are scaled by their own range or refused.

A 16-bit grey PNG converted to 8 bits clips every value above 255 (an all-white image); it is
read at its own depth and scaled by 65535 instead. 8-bit modes (1, L, P, RGB, RGBA, CMYK, LA, PA,
YCbCr) are converted and scaled by 255, float images (F) must hold values in [0, 1], and a
32-bit integer image (I), which has no range of its own, is refused with one line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.core.errors import DatasetError
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec

SIZE = 6


def folder(tmp_path: Path, images: dict[str, Image.Image], fmt: str = "PNG") -> Path:
    root = tmp_path / "imgs"
    for i, (cls, image) in enumerate(images.items()):
        (root / cls).mkdir(parents=True)
        image.save(root / cls / f"{i}.{fmt.lower()}", format=fmt)
    return root


def load(root: Path, **kw: object) -> object:
    spec = TaskSpec.model_validate({"name": "t", "source": str(root), "modality": "image", **kw})
    return load_task(spec, base_dir=root)


def ramp(top: int, dtype: type) -> np.ndarray:
    return np.linspace(0, top, SIZE * SIZE).reshape(SIZE, SIZE).round().astype(dtype)


def test_sixteen_bit_grey_is_scaled_by_65535_not_clipped(tmp_path: Path) -> None:
    wide = ramp(65535, np.uint16)
    eight = ramp(255, np.uint8)
    root = folder(tmp_path, {"a": Image.fromarray(wide), "b": Image.fromarray(eight)})
    task = load(root)
    x = task.all_inputs().numpy()
    assert x.shape == (2, 1, SIZE, SIZE)
    np.testing.assert_array_equal(x[0, 0], (wide.astype(np.float32) / np.float32(65535)))
    np.testing.assert_array_equal(x[1, 0], (eight.astype(np.float32) / np.float32(255)))
    assert len(np.unique(x[0])) == SIZE * SIZE  # not clipped to one white value
    # an RGB decoder repeats the grey values, at their depth
    rgb = load(root, channels=3).all_inputs().numpy()
    np.testing.assert_array_equal(rgb[0], np.repeat(x[0], 3, axis=0))


def test_sixteen_bit_grey_keeps_its_depth_through_a_resize(tmp_path: Path) -> None:
    root = folder(tmp_path, {"a": Image.fromarray(ramp(65535, np.uint16))})
    x = load(root, resize=[3, 3]).all_inputs().numpy()
    assert x.shape == (1, 1, 3, 3) and x.max() > 0.5 and len(np.unique(x)) == 9


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr"])
def test_eight_bit_modes_decode_within_unit_range(tmp_path: Path, mode: str) -> None:
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), np.uint8))
    image = rgb.convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "YCbCr", "PA") else "PNG"
    x = load(folder(tmp_path, {"a": image}, fmt)).all_inputs().numpy()
    grey = mode in ("1", "L", "LA")
    assert x.shape == (1, 1 if grey else 3, SIZE, SIZE)
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.0


def test_float_images_in_unit_range_are_kept_and_others_refused(tmp_path: Path) -> None:
    values = np.random.default_rng(1).random((SIZE, SIZE)).astype(np.float32)
    x = load(folder(tmp_path, {"a": Image.fromarray(values)}, "TIFF")).all_inputs().numpy()
    np.testing.assert_array_equal(x[0, 0], values)
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(
        DatasetError, match=r"0.tiff.* is a 32-bit float image .*values in \[8.2.*, 294.*\]"
    ):
        load(folder(other, {"a": Image.fromarray(values * 300)}, "TIFF")).all_inputs()


def test_a_32_bit_integer_image_is_refused_in_one_line(tmp_path: Path) -> None:
    image = Image.fromarray(ramp(70000, np.int32))
    with pytest.raises(DatasetError, match=r"0.tiff.* is a 32-bit integer image .*8- or 16-bit"):
        load(folder(tmp_path, {"a": image}, "TIFF"))


def test_a_colour_image_in_a_task_read_grey_by_its_first_image_is_refused(tmp_path: Path) -> None:
    """Without `channels`, a task reads every image in its first image's mode: a folder whose
    first image was grey read its colour images grey without a word (a rule on colour scored
    0.75 instead of 1.00, probe99). A colour image there is refused naming it, the first image
    and `channels`; an RGB file of grey pixels (R = G = B) converts exactly and is read, and a
    declared `channels` reads the folder as told."""
    grey = Image.fromarray(ramp(255, np.uint8))
    gen = np.random.default_rng(0)
    colour = Image.fromarray(gen.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
    grey_rgb = grey.convert("RGB")
    root = folder(tmp_path / "mixed", {"a": grey, "b": grey_rgb, "c": colour})
    with pytest.raises(DatasetError) as err:
        load(root).all_inputs()  # type: ignore[attr-defined]
    line = str(err.value)
    assert "c/2.png" in line and "a/0.png" in line and "channels: 3" in line, line
    assert "\n" not in line
    x = load(root, channels=3).all_inputs().numpy()  # type: ignore[attr-defined]
    assert x.shape == (3, 3, SIZE, SIZE)
    assert load(root, channels=1).all_inputs().shape == (3, 1, SIZE, SIZE)  # type: ignore[attr-defined]
    exact = folder(tmp_path / "exact", {"a": grey, "b": grey_rgb})
    x = load(exact).all_inputs().numpy()  # type: ignore[attr-defined]
    np.testing.assert_array_equal(x[0], x[1])
