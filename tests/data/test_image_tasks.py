"""Image tasks stream: decoded batch by batch, transformed as declared, fingerprinted by content."""

from __future__ import annotations

import shutil
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from harness.core.errors import DatasetError
from harness.core.task import Task
from harness.data.image_transform import ImageTransform
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec
from harness.run.executors.sharding import plan_shards
from tests.data.layouts import image_folder, png_bytes


def load(base: Path, **kw: object) -> Task:
    return load_task(
        TaskSpec.model_validate({"name": "t", "modality": "image", **kw}), base_dir=base
    )


def test_folder_images_decode_exactly_and_stay_encoded(tmp_path: Path) -> None:
    arrays = image_folder(tmp_path / "imgs", {"cat": 2, "dog": 3})
    task = load(tmp_path, source="imgs")
    assert task.decoder is not None and task.input_shape == (3, 6, 5)
    assert task.data.features["input"] == datasets.Value("string")  # paths, not decoded arrays
    assert task.sample_ids == sorted(arrays) and list(task.labels) == [0, 0, 1, 1, 1]
    x = task.all_inputs()
    expected = np.stack([arrays[s].transpose(2, 0, 1) / 255.0 for s in task.sample_ids])
    np.testing.assert_allclose(x.numpy(), expected, rtol=0, atol=1e-7)
    small = torch.cat([b.inputs for b in task.batches(2)])  # type: ignore[misc]
    assert torch.equal(small, x)


def test_fingerprint_is_a_content_hash(tmp_path: Path) -> None:
    image_folder(tmp_path / "a", {"cat": 2, "dog": 2})
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    first = load(tmp_path, source="a").fingerprint
    assert load(tmp_path, source="b").fingerprint == first  # same bytes elsewhere
    assert load(tmp_path, source="a", resize=4).fingerprint != first  # transform is hashed
    changed = np.asarray(Image.open(tmp_path / "b" / "dog" / "1.png")).copy()
    changed[0, 0, 0] ^= 1
    Image.fromarray(changed).save(tmp_path / "b" / "dog" / "1.png")
    assert load(tmp_path, source="b").fingerprint != first


def test_mixed_sizes_need_a_transform(tmp_path: Path) -> None:
    image_folder(tmp_path / "imgs", {"cat": 1}, size=(6, 6))
    Image.fromarray(np.zeros((9, 7, 3), np.uint8)).save(tmp_path / "imgs" / "cat" / "z.png")
    task = load(tmp_path, source="imgs")
    with pytest.raises(
        DatasetError, match=r"image 'cat/z.png' decodes to shape \[3, 9, 7\], .*transform"
    ):
        task.all_inputs()
    fixed = load(tmp_path, source="imgs", resize=[5, 5])
    assert fixed.all_inputs().shape == (2, 3, 5, 5)


def reference_imagenet_eval(image: Image.Image) -> np.ndarray:
    """Resize shorter side to 256 (bilinear), center crop 224, RGB, [0, 1], CHW (by hand)."""
    w, h = image.size
    size = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
    resized = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    left = int(round((size[0] - 224) / 2.0))
    top = int(round((size[1] - 224) / 2.0))
    crop = resized.crop((left, top, left + 224, top + 224))
    return np.asarray(crop, dtype=np.float32).transpose(2, 0, 1) / 255.0


def test_imagenet_eval_transform(tmp_path: Path) -> None:
    gen = np.random.default_rng(3)
    (tmp_path / "imgs" / "a").mkdir(parents=True)
    sources = {
        "a/wide.png": Image.fromarray(gen.integers(0, 256, (300, 451, 3), dtype=np.uint8)),
        "a/tall.png": Image.fromarray(gen.integers(0, 256, (333, 250, 3), dtype=np.uint8)),
        "a/grey.png": Image.fromarray(gen.integers(0, 256, (260, 260), dtype=np.uint8)),
    }
    for name, image in sources.items():
        image.save(tmp_path / "imgs" / name)
    task = load(tmp_path, source="imgs", transform="imagenet-eval")
    assert task.input_shape == (3, 224, 224) and "imagenet-eval" in task.description
    x = task.all_inputs()
    for i, sid in enumerate(task.sample_ids):
        np.testing.assert_allclose(x[i].numpy(), reference_imagenet_eval(sources[sid]), atol=1e-7)


def test_transform_sizes_follow_torchvision() -> None:
    resize = ImageTransform(resize=256)
    assert resize.output_size(300, 451) == (256, 384)  # int(256 * 451 / 300) = 384
    assert resize.output_size(333, 250) == (340, 256)
    crop = ImageTransform(center_crop=(4, 4))
    small = crop.apply(Image.fromarray(np.full((2, 3), 9, np.uint8)))
    padded = np.asarray(small)
    # torchvision pads (4 - 2) // 2 = 1 row on top and (4 - 3) // 2 = 0 columns on the left
    assert padded.shape == (4, 4) and padded[1:3, 0:3].min() == 9 and padded[0].max() == 0


def test_pandas_parquet_image_structs(tmp_path: Path) -> None:
    """pandas writes image columns as {bytes, path} structs (it crashed with float(dict))."""
    gen = np.random.default_rng(4)
    arrays = [gen.integers(0, 256, (5, 4, 3), dtype=np.uint8) for _ in range(4)]
    pd.DataFrame(
        {
            "image": [{"bytes": png_bytes(a), "path": f"{i}.png"} for i, a in enumerate(arrays)],
            "label": [0, 1, 0, 1],
            "site": ["x", "y", "x", "y"],
        }
    ).to_parquet(tmp_path / "p.parquet")
    task = load(tmp_path, source="p.parquet", group_columns=["site"])
    assert task.input_shape == (3, 5, 4) and list(task.groups()["site"]) == ["x", "y", "x", "y"]
    np.testing.assert_allclose(
        task.all_inputs().numpy(), np.stack([a.transpose(2, 0, 1) / 255.0 for a in arrays])
    )


def test_path_only_structs_resolve_next_to_the_table(tmp_path: Path) -> None:
    gen = np.random.default_rng(5)
    (tmp_path / "pics").mkdir()
    arrays = [gen.integers(0, 256, (3, 3), dtype=np.uint8) for _ in range(2)]
    for i, a in enumerate(arrays):
        Image.fromarray(a).save(tmp_path / "pics" / f"{i}.png")
    pd.DataFrame(
        {"image": [{"bytes": None, "path": f"pics/{i}.png"} for i in range(2)], "label": [0, 1]}
    ).to_parquet(tmp_path / "p.parquet")
    task = load(tmp_path, source="p.parquet")
    assert task.input_shape == (1, 3, 3)  # grey images stay one channel
    np.testing.assert_allclose(task.all_inputs().numpy()[:, 0], np.stack(arrays) / 255.0)


def test_hub_image_feature(tmp_path: Path) -> None:
    gen = np.random.default_rng(6)
    images = [Image.fromarray(gen.integers(0, 256, (4, 4, 3), dtype=np.uint8)) for _ in range(3)]
    ds = datasets.Dataset.from_dict(
        {"img": images, "label": [0, 1, 1]},
        features=datasets.Features(
            {"img": datasets.Image(), "label": datasets.ClassLabel(names=["a", "b"])}
        ),
    )
    (tmp_path / "hub").mkdir()
    ds.to_parquet(tmp_path / "hub" / "test.parquet")
    task = load(tmp_path, source=f"hf:{tmp_path / 'hub'}")
    assert task.class_names == ("a", "b") and task.input_shape == (3, 4, 4)
    np.testing.assert_allclose(
        task.all_inputs().numpy(),
        np.stack([np.asarray(i).transpose(2, 0, 1) / 255.0 for i in images]),
        atol=1e-7,
    )


def test_numeric_array_images(tmp_path: Path) -> None:
    gen = np.random.default_rng(7)
    hwc = gen.integers(0, 256, (4, 5, 5, 3), dtype=np.uint8)
    ds = datasets.Dataset.from_dict(
        {"pixels": hwc, "label": [0, 1, 0, 1]},
        features=datasets.Features(
            {
                "pixels": datasets.Array3D(shape=(5, 5, 3), dtype="uint8"),
                "label": datasets.Value("int64"),
            }
        ),
    )
    ds.to_parquet(tmp_path / "arr.parquet")
    task = load(tmp_path, source="arr.parquet", input_column="pixels")
    assert task.input_shape == (3, 5, 5)
    np.testing.assert_allclose(task.all_inputs().numpy(), hwc.transpose(0, 3, 1, 2) / 255.0)
    cropped = load(tmp_path, source="arr.parquet", input_column="pixels", center_crop=3)
    np.testing.assert_allclose(
        cropped.all_inputs().numpy(), hwc.transpose(0, 3, 1, 2)[:, :, 1:4, 1:4] / 255.0, atol=1e-6
    )


def test_numeric_images_outside_bounds_or_ragged(tmp_path: Path) -> None:
    pd.DataFrame(
        {"x": [np.full((2, 2), 0.5).tolist(), np.full((2, 2), 7.0).tolist()], "label": [0, 1]}
    ).to_parquet(tmp_path / "big.parquet")
    task = load(tmp_path, source="big.parquet", input_column="x")
    with pytest.raises(DatasetError, match=r"image 't-000001' has values in \[7, 7\], outside"):
        task.all_inputs()
    pd.DataFrame({"x": [[[0.1, 0.2]], [[0.1, 0.2, 0.3]]], "label": [0, 1]}).to_parquet(
        tmp_path / "ragged.parquet"
    )
    with pytest.raises(DatasetError, match=r"image 't-000001' decodes to shape \[1, 3\]"):
        load(tmp_path, source="ragged.parquet", input_column="x").all_inputs()
    pd.DataFrame(
        {"x": [[[0.1, 0.2], [0.3, 0.4]], [[0.1, 0.2], [0.3]]], "label": [0, 1]}
    ).to_parquet(tmp_path / "ragged2.parquet")
    with pytest.raises(DatasetError, match=r"image 't-000001' decodes to shape \(ragged\)"):
        load(tmp_path, source="ragged2.parquet", input_column="x").all_inputs()


def test_bounds_other_than_unit_are_refused_for_images_that_decode_to_unit(
    tmp_path: Path,
) -> None:
    """Encoded files and uint8 / uint16 arrays decode to [0, 1] whatever the spec says; declared
    `bounds: [0, 255]` (pixel values, a natural slip) made the shift suite map x / 255 into its
    corruptions and back, which took a model that is right on every clean image to chance on
    brightness and noise, unflagged. Refused: at validate for a folder (its layout says so), at
    load for a table (its column's type does). Float arrays keep their declared bounds."""
    from harness.data.sources import check_task_source

    image_folder(tmp_path / "imgs", {"cat": 2, "dog": 2})
    spec = TaskSpec.model_validate(
        {"name": "t", "modality": "image", "source": "imgs", "bounds": [0, 255]}
    )
    with pytest.raises(DatasetError, match=r"bounds \[0.0, 255.0\] do not fit its images: encoded"):
        check_task_source(spec, tmp_path)  # what harness validate runs
    with pytest.raises(DatasetError, match=r"encoded image files decode to \[0, 1\]"):
        load(tmp_path, source="imgs", bounds=[-1, 1])
    assert load(tmp_path, source="imgs", bounds=[0, 1]).bounds == (0.0, 1.0)
    pd.DataFrame(
        {"img": [png_bytes(np.zeros((4, 4, 3), np.uint8))] * 2, "label": [0, 1]}
    ).to_parquet(tmp_path / "enc.parquet")
    with pytest.raises(DatasetError, match=r"encoded image files decode to \[0, 1\]"):
        load(tmp_path, source="enc.parquet", input_column="img", bounds=[0, 255])
    pixels = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    ds = datasets.Dataset.from_dict(
        {"x": pixels, "label": [0, 1]},
        features=datasets.Features(
            {"x": datasets.Array3D((4, 4, 3), "uint8"), "label": datasets.Value("int64")}
        ),
    )
    ds.to_parquet(tmp_path / "u8.parquet")
    with pytest.raises(DatasetError, match=r"uint8 arrays decode to \[0, 1\]"):
        load(tmp_path, source="u8.parquet", input_column="x", bounds=[0, 255])
    floats = datasets.Dataset.from_dict(
        {"x": (pixels / 255.0 * 2 - 1).astype(np.float32), "label": [0, 1]},
        features=datasets.Features(
            {"x": datasets.Array3D((4, 4, 3), "float32"), "label": datasets.Value("int64")}
        ),
    )
    floats.to_parquet(tmp_path / "f32.parquet")
    kept = load(tmp_path, source="f32.parquet", input_column="x", bounds=[-1, 1])
    assert kept.bounds == (-1.0, 1.0) and float(kept.all_inputs().min()) == -1.0


def test_undecodable_image_names_its_file_and_sample(tmp_path: Path) -> None:
    image_folder(tmp_path / "imgs", {"cat": 1})
    (tmp_path / "imgs" / "cat" / "broken.png").write_bytes(b"not a png")
    task = load(tmp_path, source="imgs")
    with pytest.raises(DatasetError) as caught:
        task.all_inputs()
    want = f"image '{tmp_path / 'imgs' / 'cat' / 'broken.png'}' (sample 'cat/broken.png') cannot"
    assert want in str(caught.value) and "BytesIO" not in str(caught.value)


def test_shards_of_a_streamed_task(tmp_path: Path) -> None:
    image_folder(tmp_path / "imgs", {"cat": 3, "dog": 4})
    task = load(tmp_path, source="imgs")
    shards = plan_shards(len(task), batch_size=2, shards=3)
    assert shards is not None
    parts = [shard.apply(task) for shard in shards]
    assert sum((p.sample_ids for p in parts), []) == task.sample_ids
    assert torch.equal(torch.cat([p.all_inputs() for p in parts]), task.all_inputs())


def test_input_shape_mismatch(tmp_path: Path) -> None:
    image_folder(tmp_path / "imgs", {"cat": 1})
    with pytest.raises(DatasetError, match=r"decode to shape \[3, 6, 5\] but input_shape says"):
        load(tmp_path, source="imgs", input_shape=[3, 8, 8])


def test_class_names_keep_the_full_label_space(tmp_path: Path) -> None:
    image_folder(tmp_path / "some", {"b": 1, "d": 2})
    task = load(tmp_path, source="some", class_names=["a", "b", "c", "d"])
    assert list(task.labels) == [1, 3, 3] and task.num_classes == 4
    with pytest.raises(DatasetError, match=r"class folder 'd' is not in class_names"):
        load(tmp_path, source="some", class_names=["a", "b"])
