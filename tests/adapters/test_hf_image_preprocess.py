"""hf-image's torch rebuild of the image processor gives the processor's own pixels, or refuses.

Each case runs the real transformers processor on byte images and the adapter's `ImagePreprocess`
on the same images / 255, the task's [0, 1] form. Before these rules, a ConvNeXt processor (the one
ResNet and ConvNeXt checkpoints ship with: resize to shortest_edge / crop_pct, then centre crop)
was rebuilt as a plain resize (pixels off by 69% of their range on a 32x32 image), MobileViT's
RGB -> BGR flip was dropped, and a processor the rebuild cannot follow (then EfficientNet's
second division by the std, now Donut's thumbnail and padding) was used anyway: the models were
scored on inputs they never see. The processors with their own rules: test_hf_image_processor_rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from harness.core.errors import ModelLoadError
from tests.adapters.builders import build, with_processor

tf = pytest.importorskip("transformers")
pytest.importorskip("PIL")


def _images(height: int, width: int) -> np.ndarray:
    """Four smooth random byte images (height, width, 3): resampling filters agree on them."""
    rng = np.random.default_rng(0)
    noise = rng.random((4, height, width, 3)).cumsum(axis=1).cumsum(axis=2)
    noise /= noise.max(axis=(1, 2), keepdims=True)
    return np.rint(noise * 255).astype(np.uint8)


def _rebuilt(processor: Any, images: np.ndarray) -> torch.Tensor:
    from harness.adapters.hf_image_preprocess import preprocess_from

    pre = preprocess_from(processor, channels=3)
    with torch.no_grad():
        return pre(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255)


def _processed(processor: Any, images: np.ndarray) -> torch.Tensor:
    return processor(images=list(images), return_tensors="pt")["pixel_values"].float()


@pytest.mark.parametrize(
    ("processor", "shape"),
    [
        (lambda: tf.ConvNextImageProcessor(size={"shortest_edge": 24}, crop_pct=0.75), (32, 32)),
        (lambda: tf.ConvNextImageProcessor(size={"shortest_edge": 24}, crop_pct=0.875), (30, 40)),
        (lambda: tf.ConvNextImageProcessor(size={"shortest_edge": 384}), (40, 48)),
        (
            lambda: tf.MobileViTImageProcessor(
                size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
            ),
            (40, 48),
        ),
        (lambda: tf.ViTImageProcessor(size={"height": 16, "width": 16}), (8, 8)),
        (
            lambda: tf.ViTImageProcessor(do_rescale=False, size={"height": 16, "width": 16}),
            (24, 24),
        ),
        (
            lambda: tf.BitImageProcessor(
                size={"shortest_edge": 24}, crop_size={"height": 20, "width": 20}
            ),
            (30, 45),
        ),
    ],
    ids=[
        "convnext-crop",
        "convnext-oblong",
        "convnext-warp",
        "mobilevit-bgr",
        "vit",
        "bytes",
        "bit",
    ],
)
def test_rebuilt_preprocessing_matches_the_processor(
    processor: Any, shape: tuple[int, int]
) -> None:
    proc = processor()
    images = _images(*shape)
    expected = _processed(proc, images)
    got = _rebuilt(proc, images)
    assert got.shape == expected.shape
    spread = float(expected.max() - expected.min())
    # PIL resamples in bytes; the rebuild in float: a grey level or two apart
    assert float((got - expected).abs().max()) <= 0.02 * spread


def test_processor_the_rebuild_cannot_follow_is_refused(hf_image_dir: Path, tmp_path: Path) -> None:
    """Donut's processor shrinks the image into `size` keeping its aspect ratio and pads the
    rest (`do_thumbnail`, `do_pad`): no rule here does that."""
    folder = with_processor(
        hf_image_dir, tmp_path, tf.DonutImageProcessor(size={"height": 16, "width": 16})
    )
    with pytest.raises(ModelLoadError) as err:
        build("hf-image", {"path": str(folder), "input_shape": [3, 24, 40]}, Path("."), name="m")
    message = str(err.value)
    assert "model 'm'" in message and "DonutImageProcessor" in message
    assert "not supported" in message and "\n" not in message


def test_convnext_processor_model_scores_the_processors_pixels(
    hf_image_dir: Path, tmp_path: Path
) -> None:
    """End to end: the adapter's logits are the model's logits on the processor's pixels."""
    proc = tf.ConvNextImageProcessor(size={"shortest_edge": 16}, crop_pct=0.5)
    folder = with_processor(hf_image_dir, tmp_path, proc)
    adapter = build("hf-image", {"path": str(folder), "input_shape": [3, 32, 32]}, Path("."))
    images = _images(32, 32)
    model = tf.AutoModelForImageClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        expected = model(pixel_values=_processed(proc, images)).logits
    got = adapter.logits(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255)
    assert adapter.describe()["preprocess"]["crop"] == (16, 16)
    torch.testing.assert_close(got, expected, atol=2e-2 * float(expected.abs().max()), rtol=0)


def test_grey_model_is_checked_against_its_processor(tmp_path: Path) -> None:
    """A one-channel model (num_channels 1) whose processor normalises with three values (the
    ViT default, left in a grey model's preprocessor_config.json) was built without the check
    and failed on every batch with transformers' 'Expected 1 but got 3' channel error, which
    names neither the processor nor image_mean; now the load is refused naming both, and a
    one-channel processor that the rebuild follows has its mismatch measured."""
    from tests.adapters.conftest import save_tiny_vit

    folder = save_tiny_vit(tmp_path / "grey", num_channels=1)
    with pytest.raises(ModelLoadError) as err:
        build("hf-image", {"path": str(folder), "input_shape": [1, 16, 16]}, Path("."), name="g")
    message = str(err.value)
    assert "model 'g'" in message and "ViTImageProcessor" in message and "mean" in message
    assert "grey" in message and "\n" not in message

    (folder / "preprocessor_config.json").unlink()
    proc = tf.ViTImageProcessor(size={"height": 16, "width": 16}, image_mean=[0.2], image_std=[0.3])
    proc.save_pretrained(folder)
    adapter = build("hf-image", {"path": str(folder), "input_shape": [1, 16, 16]}, Path("."))
    assert adapter.describe()["preprocess"]["processor_mismatch"] == 0.0
