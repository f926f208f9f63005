"""A transformers image classifier and its image processor held in memory go into
`harness.evaluate(model, image_processor=...)` as the `hf-image` adapter's saved folder does:
the processor rebuilt in front of the model (raw pixels in [0, 1] in, gradients back to them),
the same numbers, and an identity that follows the weights, config and processor."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import harness
from harness.core.errors import HarnessError, ModelLoadError

pytest.importorskip("transformers")

CLASSES = [str(i) for i in range(10)]


def _objects(folder: Path):  # noqa: ANN202
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    return (
        AutoModelForImageClassification.from_pretrained(folder),
        AutoImageProcessor.from_pretrained(folder),
    )


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    return torch.rand(40, 3, 16, 16), torch.arange(40) % 10


def test_in_memory_objects_give_the_saved_folders_numbers(hf_image_dir: Path) -> None:
    model, processor = _objects(hf_image_dir)
    options = {"data": _data(), "class_names": CLASSES, "name": "own", "device": "cpu"}
    held = harness.evaluate(model, image_processor=processor, **options)
    saved = harness.evaluate(
        {"name": "vit", "adapter": "hf-image", "path": str(hf_image_dir)}, **options
    )
    for key in ("top1_acc", "ece", "nll"):
        assert held.metric(key).value == saved.metric(key).value, key
    # without the processor the module sees the raw pixels: other logits, another model
    bare = harness.evaluate(model, **options)
    assert bare.metric("nll").value != held.metric("nll").value


def test_the_identity_follows_weights_and_processor(hf_image_dir: Path) -> None:
    from harness.adapters.hf_image import HFImageAdapter

    model, processor = _objects(hf_image_dir)
    first = HFImageAdapter.from_objects(model, processor, name="m").identity()
    assert HFImageAdapter.from_objects(model, processor, name="m").identity() == first
    processor.image_mean = [0.4, 0.4, 0.4]
    assert HFImageAdapter.from_objects(model, processor, name="m").identity() != first


def test_what_does_not_fit_is_one_line(hf_image_dir: Path) -> None:
    model, processor = _objects(hf_image_dir)
    options = {"class_names": CLASSES, "name": "own"}
    with pytest.raises(HarnessError, match="image_processor: task 'own' is text"):
        harness.evaluate(
            model, image_processor=processor, data=(["a b"] * 10, list(range(10))), **options
        )
    with pytest.raises(HarnessError, match="pass one"):
        harness.evaluate(model, image_processor=processor, tokenizer=object(), data=_data())
    with pytest.raises(ModelLoadError, match="not a transformers image processor"):
        harness.evaluate(model, image_processor={"size": 16}, data=_data(), **options)
    with pytest.raises(HarnessError, match="image_processor: goes with"):
        harness.evaluate(lambda x: x, image_processor=processor, data=_data(), **options)
