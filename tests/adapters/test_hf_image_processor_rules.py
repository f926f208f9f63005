"""The processors with their own rules (EfficientNet, LeViT, PoolFormer, Perceiver, MobileViT's
padding crop), rebuilt as torch ops, give the real processor's pixels.

Each processor is built offline with the settings of the public checkpoints (transformers'
conversion scripts: google/efficientnet-b0 is `size` 224, mean [0.485, 0.456, 0.406], std
[0.47853944, 0.4732864, 0.47434163] (the square root of ImageNet's: `include_top` divides twice),
no centre crop, NEAREST (0), the class default when it was converted; facebook/levit-128S,
deepmind/vision-perceiver-* are the class defaults; sail/poolformer_s12 is crop_pct 0.9 (m36 and
m48: 0.95); apple/mobilevit-small resizes to 288 and crops 256, the class default to 224 and
crops 256: zero padding). Before these rules each one was refused by the adapter's check (pixels
off by more than MATCH_TOLERANCE of their range, or of another shape).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from harness.adapters.hf_image_preprocess import (
    MATCH_TOLERANCE,
    center_crop,
    preprocess_from,
)
from tests.adapters.builders import build, with_processor

tf = pytest.importorskip("transformers")
pytest.importorskip("PIL")

EFFICIENTNET_B0 = {
    "size": {"height": 224, "width": 224},
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.47853944, 0.4732864, 0.47434163],
    "do_center_crop": False,
    "resample": 0,
}
CHECKPOINTS: dict[str, Any] = {
    "efficientnet-b0": lambda: tf.EfficientNetImageProcessor(**EFFICIENTNET_B0),
    "efficientnet-offset": lambda: tf.EfficientNetImageProcessor(
        **EFFICIENTNET_B0, rescale_offset=True, rescale_factor=1 / 127.5
    ),
    "efficientnet-top-only": lambda: tf.EfficientNetImageProcessor(
        **EFFICIENTNET_B0, do_normalize=False
    ),
    "efficientnet-class-default": lambda: tf.EfficientNetImageProcessor(),
    "levit-128S": lambda: tf.LevitImageProcessor(),
    "poolformer_s12": lambda: tf.PoolFormerImageProcessor(crop_pct=0.9),
    "poolformer_m36": lambda: tf.PoolFormerImageProcessor(crop_pct=0.95),
    "poolformer-square-size": lambda: tf.PoolFormerImageProcessor(
        size={"height": 224, "width": 224}
    ),
    "poolformer-oblong-size": lambda: tf.PoolFormerImageProcessor(
        size={"height": 200, "width": 240}
    ),
    "perceiver": lambda: tf.PerceiverImageProcessor(),
    "mobilevit-small": lambda: tf.MobileViTImageProcessor(
        size={"shortest_edge": 288}, crop_size={"height": 256, "width": 256}
    ),
    "mobilevit-class-default": lambda: tf.MobileViTImageProcessor(),
}
# (height, width, channels): square and oblong, smaller and larger than the 224-256 targets, gray
SHAPES = [(32, 32, 3), (30, 45, 3), (256, 256, 3), (390, 260, 3), (45, 30, 1), (300, 240, 1)]


def _images(height: int, width: int, channels: int, count: int = 3) -> np.ndarray:
    """Smooth random byte images (count, height, width, channels): resampling filters agree
    on them to a grey level or so."""
    rng = np.random.default_rng(height * 1000 + width)
    noise = rng.random((count, height, width, channels)).cumsum(axis=1).cumsum(axis=2)
    noise /= noise.max(axis=(1, 2), keepdims=True)
    return np.rint(noise * 255).astype(np.uint8)


def _processed(processor: Any, images: np.ndarray) -> torch.Tensor:
    """The processor's pixels; a gray task image reaches it as RGB with equal channels."""
    rgb = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
    return processor(images=list(rgb), return_tensors="pt")["pixel_values"].float()


def _task_values(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


def pixel_mismatch(processor: Any, shape: tuple[int, int, int]) -> float:
    """Largest difference between the processor's pixels and the rebuild's, of their range."""
    images = _images(*shape)
    expected = _processed(processor, images)
    with torch.no_grad():
        got = preprocess_from(processor, channels=3)(_task_values(images))
    assert got.shape == expected.shape
    spread = float(expected.max() - expected.min())
    return float((got - expected).abs().max()) / spread


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("checkpoint", list(CHECKPOINTS))
def test_rebuild_gives_the_checkpoint_processors_pixels(
    checkpoint: str, shape: tuple[int, int, int]
) -> None:
    # measured: at most 0.008 of the range (bicubic: PIL's a=-0.5 kernel, torch's a=-0.75);
    # 0 for EfficientNet-b0's NEAREST
    assert pixel_mismatch(CHECKPOINTS[checkpoint](), shape) <= MATCH_TOLERANCE


def test_efficientnet_nearest_resize_is_exact() -> None:
    """NEAREST (0) is a setting: it was read as missing, and replaced by bilinear."""
    processor = tf.EfficientNetImageProcessor(**EFFICIENTNET_B0)
    assert preprocess_from(processor, channels=3).mode == "nearest-pil"
    for shape in SHAPES:
        assert pixel_mismatch(processor, shape) < 1e-6


@pytest.mark.parametrize("size_in", [3, 30, 45, 256, 257, 390])
@pytest.mark.parametrize("size_out", [1, 16, 224, 289])
def test_nearest_resize_picks_pillows_pixels(size_in: int, size_out: int) -> None:
    """Against Pillow's own NEAREST resize, in both directions, pixel for pixel."""
    from PIL import Image

    from harness.adapters.hf_image_preprocess import _resize

    rng = np.random.default_rng(size_in * 1000 + size_out)
    image = rng.integers(0, 256, (size_in, 11, 3), dtype=np.uint8)
    for height, width in ((size_out, 11), (size_in, size_out)):
        expected = np.asarray(Image.fromarray(image).resize((width, height), resample=0))
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float()
        got = _resize(x, (height, width), "nearest-pil")[0].permute(1, 2, 0)
        np.testing.assert_array_equal(got.numpy(), expected.astype(np.float32))


def test_rules_follow_the_processor_source() -> None:
    """The sizes each family's own rule gives (transformers 5.x image_processing_*.py)."""
    levit = preprocess_from(tf.LevitImageProcessor(), channels=3)
    assert (levit.shortest_edge, levit.crop) == (int((256 / 224) * 224), (224, 224))
    poolformer = preprocess_from(tf.PoolFormerImageProcessor(crop_pct=0.9), channels=3)
    assert (poolformer.shortest_edge, poolformer.crop) == (248, (224, 224))
    oblong = preprocess_from(
        tf.PoolFormerImageProcessor(size={"height": 200, "width": 240}, crop_pct=0.9), 3
    )
    assert (oblong.size, oblong.shortest_edge) == ((222, 266), None)
    perceiver = preprocess_from(tf.PerceiverImageProcessor(), channels=3)
    assert (perceiver.crop_first, perceiver.crop, perceiver.size) == (
        (224 / 256, 224 / 256),
        None,
        (224, 224),
    )
    mobilevit = preprocess_from(tf.MobileViTImageProcessor(do_normalize=True), channels=3)
    assert mobilevit.mean is None and mobilevit.flip_channels  # it never normalises
    effnet = preprocess_from(
        tf.EfficientNetImageProcessor(rescale_offset=True, rescale_factor=1 / 127.5), 3
    )
    assert (effnet.scale, effnet.offset) == (2.0, -1.0)
    assert effnet.std is not None
    expected_std = torch.tensor([0.5 * 0.5] * 3).view(1, 3, 1, 1)  # IMAGENET_STANDARD_STD twice
    torch.testing.assert_close(effnet.std, expected_std)


@pytest.mark.parametrize(
    ("height", "width", "crop"),
    [(5, 7, (8, 8)), (6, 6, (9, 4)), (3, 10, (6, 5)), (9, 9, (4, 4)), (4, 5, (5, 5))],
)
def test_centre_crop_pads_as_numpy_processors_do(
    height: int, width: int, crop: tuple[int, int]
) -> None:
    """Against transformers' own numpy `center_crop` (PIL backend), padding included."""
    from transformers.image_transforms import center_crop as np_center_crop

    image = np.arange(3 * height * width, dtype=np.float32).reshape(3, height, width) + 1
    expected = np_center_crop(
        image, crop, data_format="channels_first", input_data_format="channels_first"
    )
    got = center_crop(torch.from_numpy(image)[None], crop, pad_low_first=True)[0]
    np.testing.assert_array_equal(got.numpy(), expected)


def test_centre_crop_pads_as_torchvision_processors_do() -> None:
    """torchvision's processors put an odd padding's extra row and column last
    (`TorchvisionBackend.center_crop`: left/top (crop - size) // 2): a 1x1 image cropped to
    2x2 sits at the top left there, at the bottom right in numpy's processors."""
    one = torch.ones(1, 1, 1, 1)
    assert center_crop(one, (2, 2), pad_low_first=False)[0, 0].tolist() == [[1, 0], [0, 0]]
    assert center_crop(one, (2, 2), pad_low_first=True)[0, 0].tolist() == [[0, 0], [0, 1]]


def _small(kind: str) -> Any:
    """Each family's processor scaled down to the tiny ViT's 16x16 input."""
    square = {"height": 16, "width": 16}
    if kind == "efficientnet":
        return tf.EfficientNetImageProcessor(**{**EFFICIENTNET_B0, "size": square})
    if kind == "levit":  # resize to int(256 / 224 * 16) = 18, crop 16
        return tf.LevitImageProcessor(size={"shortest_edge": 16}, crop_size=square)
    if kind == "poolformer":  # resize to int(16 / 0.9) = 17, crop 16
        return tf.PoolFormerImageProcessor(size={"shortest_edge": 16}, crop_size=square)
    if kind == "perceiver":  # crop 16/18 of the shorter side, resize to 16
        return tf.PerceiverImageProcessor(size=square, crop_size={"height": 18, "width": 18})
    assert kind == "mobilevit"  # resize to 12, crop 16: zero padding
    return tf.MobileViTImageProcessor(size={"shortest_edge": 12}, crop_size=square)


FAMILIES = ["efficientnet", "levit", "poolformer", "perceiver", "mobilevit"]


@pytest.mark.parametrize("kind", FAMILIES)
def test_gradients_reach_the_raw_pixels(kind: str) -> None:
    """Attacks differentiate through the rebuild: autograd's gradient is the numerical one."""
    pre = preprocess_from(_small(kind), channels=3).double()
    x = (0.2 + 0.6 * torch.rand(1, 3, 20, 26, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(pre, (x,), eps=1e-6, atol=1e-5)
    pre(x).square().sum().backward()
    assert x.grad is not None and bool(x.grad.abs().sum() > 0)


@pytest.mark.parametrize("kind", FAMILIES)
def test_hf_image_model_with_the_processor_runs_the_accuracy_suite(
    kind: str, hf_image_dir: Path, tmp_path: Path
) -> None:
    """End to end: the model loads (it was refused), scores the processor's pixels, and
    `harness.evaluate` runs the accuracy suite on it."""
    from harness import evaluate

    processor = _small(kind)
    folder = with_processor(hf_image_dir, tmp_path, processor)
    spec = {"path": str(folder), "input_shape": [3, 20, 26]}
    adapter = build("hf-image", spec, Path("."))
    mismatch = adapter.describe()["preprocess"]["processor_mismatch"]
    assert mismatch is not None and mismatch <= MATCH_TOLERANCE
    images = _images(20, 26, 3, count=12)
    model = tf.AutoModelForImageClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        expected = model(pixel_values=_processed(processor, images)).logits
    got = adapter.logits(_task_values(images))
    torch.testing.assert_close(got, expected, atol=2e-2 * float(expected.abs().max()), rtol=0)

    labels = np.arange(12) % 10
    out = evaluate(
        {"name": f"vit-{kind}", "adapter": "hf-image", **spec},
        data=(_task_values(images).numpy(), labels),
        class_names=[str(i) for i in range(10)],
        suites=["accuracy"],
        device="cpu",
        bootstrap_resamples=0,
    )
    metrics = {m.metric: m for m in out.results["accuracy"].metrics if m.condition == "clean"}
    assert metrics["top1_acc"].n == 12
    # the suite's NLL is the processor pixels' NLL, up to the logits' difference (twice it bounds
    # the change of a log-softmax)
    reference = float(torch.nn.functional.cross_entropy(expected, torch.from_numpy(labels)))
    bound = 2 * float((got - expected).abs().max()) + 1e-5
    assert metrics["nll"].value == pytest.approx(reference, abs=bound)


def test_pre_defaults_keep_the_older_description(hf_image_dir: Path) -> None:
    """A processor without the new rules describes itself as before (same model identity)."""
    adapter = build("hf-image", {"path": str(hf_image_dir), "input_shape": [3, 16, 16]}, Path("."))
    assert set(adapter.describe()["preprocess"]) == {
        "size",
        "shortest_edge",
        "crop",
        "channels",
        "interpolation",
        "scale",
        "flip_channels",
        "processor_mismatch",
    }


@pytest.mark.parametrize("mode", ["box-pil", "hamming-pil", "lanczos-pil"])
def test_pillows_own_filters_give_pillows_pixels(mode: str) -> None:
    """BOX, HAMMING and LANCZOS (processor `resample` 4, 5, 1) were rebuilt as bilinear, which
    the smooth probe let through (up to 1.9% of the range apart): such models were scored on
    pixels their processor never gives. They are Pillow's own weights now: against Pillow's
    float ('F') resize, down and up, each pass alone and both, to float32 rounding (LANCZOS
    before its clip into the pixel range, which 'F' images do not have)."""
    from PIL import Image

    from harness.adapters.hf_image_preprocess import _pil_weights, _resize

    code = {"box-pil": Image.BOX, "hamming-pil": Image.HAMMING, "lanczos-pil": Image.LANCZOS}
    rng = np.random.default_rng(0)
    sizes = [((48, 64), (24, 20)), ((30, 45), (224, 224)), ((256, 390), (224, 224))]
    sizes += [((17, 23), (17, 40)), ((100, 100), (33, 77)), ((9, 9), (1, 1))]
    for (height, width), (rows_out, cols_out) in sizes:
        image = rng.random((height, width)).astype(np.float32)
        resized = Image.fromarray(image, mode="F").resize((cols_out, rows_out), code[mode])
        x = torch.from_numpy(image).double()
        if mode == "lanczos-pil":  # unclipped: the weights alone
            if width != cols_out:
                x = x @ _pil_weights(width, cols_out, mode).T
            if height != rows_out:
                x = _pil_weights(height, rows_out, mode) @ x
        else:
            x = _resize(x[None, None], (rows_out, cols_out), mode)[0, 0]
        np.testing.assert_allclose(x.numpy(), np.asarray(resized), rtol=0, atol=3e-7)


@pytest.mark.parametrize("resample", [1, 4, 5], ids=["lanczos", "box", "hamming"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_a_processor_with_pillows_own_filter_is_rebuilt_to_its_rounding(
    shape: tuple[int, int, int], resample: int
) -> None:
    """A ViT processor set to LANCZOS, BOX or HAMMING against the rebuild: within 1.25 grey
    levels (measured 0-1.22: Pillow rounds each pass into bytes), where bilinear was 2.3-3.6
    (LANCZOS), 6.8-8.0 (BOX) and 3.3-3.4 (HAMMING) grey levels off on the images it enlarges."""
    processor = tf.ViTImageProcessor(size={"height": 224, "width": 224}, resample=resample)
    assert preprocess_from(processor, channels=3).mode.endswith("-pil")
    assert pixel_mismatch(processor, shape) <= 1.25 / 255
