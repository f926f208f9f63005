"""A saved hf-image folder the user broke: one line naming the file and what to fix.

Before, a config.json whose id2label was dropped (num_labels falls back to 2) against a 10-class
head failed with transformers' "You set `ignore_mismatched_sizes` to `False` ... look at the
above report!" (no report above it), and a folder without preprocessor_config.json with
transformers' hub advice, cut off mid-word at 300 characters.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.core.errors import HarnessError, ModelLoadError
from harness.core.task import Task
from tests.adapters.builders import build

pytest.importorskip("transformers")


def _copy(hf_image_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(hf_image_dir, folder)
    return folder


def test_head_of_another_size_than_the_config_names_the_tensor(
    hf_image_dir: Path, tmp_path: Path
) -> None:
    folder = _copy(hf_image_dir, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    del config["id2label"], config["label2id"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError) as err:
        build("hf-image", {"path": str(folder), "input_shape": [3, 16, 16]}, Path("."), name="m")
    message = str(err.value)
    assert "model 'm'" in message and "\n" not in message
    assert "above report" not in message
    assert "classifier.weight" in message and "[10, 16]" in message and "[2, 16]" in message
    assert "config.json" in message


def test_missing_image_processor_names_the_file(hf_image_dir: Path, tmp_path: Path) -> None:
    folder = _copy(hf_image_dir, tmp_path)
    (folder / "preprocessor_config.json").unlink()
    with pytest.raises(ModelLoadError) as err:
        build("hf-image", {"path": str(folder), "input_shape": [3, 16, 16]}, Path("."), name="m")
    message = str(err.value)
    assert "model 'm'" in message and "\n" not in message
    assert "preprocessor_config.json" in message and "huggingface.co" not in message
    assert "save_pretrained" in message


def _image_task(channels: int) -> Task:
    import datasets

    return Task(
        name="t",
        modality="image",
        num_classes=10,
        class_names=tuple(str(i) for i in range(10)),
        input_shape=(channels, 16, 16),
        bounds=(0.0, 1.0),
        data=datasets.Dataset.from_dict({"sample_id": [], "input": [], "label": []}),
    )


def test_grey_model_on_rgb_images_is_refused_before_any_batch(tmp_path: Path) -> None:
    """A one-channel model (num_channels 1) on a task of RGB images, input_shape left out (an
    image folder whose size the spec does not repeat): every batch failed with transformers'
    'Make sure that the channel dimension of the pixel values match', naming no setting."""
    import transformers as tf

    from tests.adapters.conftest import save_tiny_vit

    folder = save_tiny_vit(tmp_path / "grey", num_channels=1)
    (folder / "preprocessor_config.json").unlink()
    tf.ViTImageProcessor(
        size={"height": 16, "width": 16}, image_mean=[0.5], image_std=[0.5]
    ).save_pretrained(folder)
    adapter = build("hf-image", {"path": str(folder)}, Path("."), name="g")
    adapter.check_task(_image_task(1))
    with pytest.raises(HarnessError) as err:
        adapter.check_task(_image_task(3))
    message = str(err.value)
    assert "model 'g'" in message and "task 't'" in message and "\n" not in message
    assert "num_channels 1" in message and "channels: 1" in message


def _with_settings(hf_image_dir: Path, tmp_path: Path, **settings: object) -> Path:
    folder = _copy(hf_image_dir, tmp_path)
    path = folder / "preprocessor_config.json"
    config = json.loads(path.read_text())
    config.update(settings)
    path.write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(
    "settings",
    [
        {"image_mean": 0.5, "image_std": [0.5, 0.25, 0.5]},
        {"image_mean": [0.5] * 3, "image_std": 0.5},
    ],
    ids=["scalar-mean", "scalar-std"],
)
def test_one_scalar_of_mean_and_std_is_broadcast(
    hf_image_dir: Path, tmp_path: Path, settings: dict[str, object]
) -> None:
    """The processor takes a scalar mean beside a per-channel std; the rebuild crashed with
    "TypeError: float() argument must be a string or a real number, not 'tuple'" (no model
    named) converting them as a pair."""
    folder = _with_settings(hf_image_dir, tmp_path, **settings)
    adapter = build("hf-image", {"path": str(folder), "input_shape": [3, 16, 16]}, Path("."))
    assert adapter.describe()["preprocess"]["processor_mismatch"] <= 0.02


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"image_std": [0.5, 0.0, 0.5]}, "image_std"),
        ({"image_mean": [float("nan"), 0.5, 0.5]}, "image_mean"),
    ],
    ids=["zero-std", "nan-mean"],
)
def test_a_normalisation_giving_non_finite_pixels_is_refused(
    hf_image_dir: Path, tmp_path: Path, settings: dict[str, object], named: str
) -> None:
    """A std of 0 or a NaN mean made every logit NaN/inf: the job failed later as 'returned NaN
    or inf logits ... from NaN weights', blaming the model; the check against the processor
    passed (NaN compares as no difference)."""
    folder = _with_settings(hf_image_dir, tmp_path, **settings)
    with pytest.raises(ModelLoadError) as err:
        build("hf-image", {"path": str(folder), "input_shape": [3, 16, 16]}, Path("."), name="m")
    message = str(err.value)
    assert "model 'm'" in message and named in message and "\n" not in message
