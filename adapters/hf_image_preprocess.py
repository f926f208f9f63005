"""A Hugging Face image processor rebuilt as torch ops, checked against the processor itself.

`hf-image` feeds raw task images in [0, 1] through `ImagePreprocess` (differentiable: attacks
work in input space). `preprocess_from` translates the processor's settings: the pixel scale
(a task value v is the byte 255·v, so the usual `rescale_factor` 1/255 leaves it as is; another
factor, or `do_rescale: false`, which feeds bytes, is applied), the resize (`size` height/width,
or shortest edge with the processor's rounding; ConvNeXt's `crop_pct`, the processor of ResNet
and ConvNeXt checkpoints: resize to shortest_edge / crop_pct, then centre crop), its
interpolation (bilinear, bicubic, nearest), the centre crop, RGB -> BGR
(`do_flip_channel_order`, MobileViT) and the normalisation.

A processor does things no setting here names (EfficientNet divides by the std twice, LeViT and
PoolFormer resize by their own rules, remote code anything), so `check_against_processor` runs
the real processor on a smooth probe image of the task's size and refuses the model, naming the
processor and the difference, when the rebuilt ops do not give the same pixels: such a model would
be scored on inputs it was never given.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from harness.core.errors import ModelLoadError

# PIL's resampling filter numbers (processor `resample`) -> torch interpolation mode
_MODES = {0: "nearest-exact", 2: "bilinear", 3: "bicubic"}
_CONVNEXT_FULL_RESIZE = 384  # ConvNeXt's processor warps to a square from this edge up
PROBE_SHAPE = (48, 64)  # probe image height, width when the task's shape is not declared
MATCH_TOLERANCE = 0.02  # of the processor output's range (about 5 grey levels)


class ImagePreprocess(torch.nn.Module):
    """Differentiable stand-in for the image processor: scale, resize, crop, flip, normalise."""

    mean: torch.Tensor | None
    std: torch.Tensor | None

    def __init__(
        self,
        *,
        size: tuple[int, int] | None,
        shortest_edge: int | None,
        crop: tuple[int, int] | None,
        mean: list[float] | None,
        std: list[float] | None,
        channels: int,
        mode: str = "bilinear",
        scale: float | None = None,
        flip_channels: bool = False,
    ) -> None:
        super().__init__()
        self.size = size
        self.shortest_edge = shortest_edge
        self.crop = crop
        self.channels = channels
        self.mode = mode
        self.scale = scale
        self.flip_channels = flip_channels
        if mean is not None and std is not None:
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        else:
            self.mean = None
            self.std = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1 and self.channels == 3:
            x = x.expand(-1, 3, -1, -1)
        h, w = x.shape[-2:]
        target = self.size
        if target is None and self.shortest_edge is not None:
            target = shortest_edge_size(h, w, self.shortest_edge)
        if target is not None and tuple(target) != (h, w):
            x = _resize(x, target, self.mode)
        if self.crop is not None:
            ch, cw = self.crop
            top = max(0, (x.shape[-2] - ch) // 2)
            left = max(0, (x.shape[-1] - cw) // 2)
            x = x[..., top : top + ch, left : left + cw]
        if self.flip_channels:
            x = x.flip(1)
        if self.scale is not None:
            x = x * self.scale
        if self.mean is not None and self.std is not None:
            x = (x - self.mean) / self.std
        return x


def _resize(x: torch.Tensor, target: tuple[int, int], mode: str) -> torch.Tensor:
    if mode == "nearest-exact":
        return F.interpolate(x, size=target, mode=mode)
    out = F.interpolate(x, size=target, mode=mode, align_corners=False, antialias=True)
    return out.clamp(0.0, 1.0) if mode == "bicubic" else out  # PIL rounds bicubic into bytes


def shortest_edge_size(h: int, w: int, edge: int) -> tuple[int, int]:
    """(height, width) with the shorter side `edge`, the longer one scaled and truncated, as
    transformers' `get_resize_output_image_size` does."""
    if w <= h:
        return int(edge * h / w), edge
    return edge, int(edge * w / h)


def _hw(value: Any) -> tuple[tuple[int, int] | None, int | None]:
    """(height, width) or shortest edge from a processor `size`/`crop_size` entry."""
    if value is None:
        return None, None
    if isinstance(value, int):
        return (value, value), None
    if not isinstance(value, dict):
        value = {k: getattr(value, k, None) for k in ("height", "width", "shortest_edge")}
    if value.get("height") and value.get("width"):
        return (int(value["height"]), int(value["width"])), None
    if value.get("shortest_edge"):
        return None, int(value["shortest_edge"])
    return None, None


def _pixel_scale(processor: Any) -> float | None:
    """What the processor multiplies a task value by (None: one): bytes times rescale_factor."""
    factor = getattr(processor, "rescale_factor", 1 / 255)
    scale = 255.0 * float(factor) if getattr(processor, "do_rescale", True) else 255.0
    return None if math.isclose(scale, 1.0, rel_tol=1e-6) else scale


def _geometry(
    processor: Any,
) -> tuple[tuple[int, int] | None, int | None, tuple[int, int] | None]:
    """(resize size, shortest edge, centre crop) of the processor."""
    size, edge = (
        _hw(getattr(processor, "size", None))
        if getattr(processor, "do_resize", True)
        else (None, None)
    )
    crop = None
    if getattr(processor, "do_center_crop", False):
        crop, _ = _hw(getattr(processor, "crop_size", None))
    crop_pct = getattr(processor, "crop_pct", None)
    if type(processor).__name__.startswith("ConvNextImageProcessor") and edge is not None:
        if edge >= _CONVNEXT_FULL_RESIZE or not crop_pct:
            return (edge, edge), None, crop
        return None, int(edge / crop_pct), (edge, edge)
    return size, edge, crop


def preprocess_from(processor: Any, channels: int) -> ImagePreprocess:
    """Translate an image processor's settings (task images hold bytes / 255)."""
    size, edge, crop = _geometry(processor)
    normalize = getattr(processor, "do_normalize", True)
    mean = getattr(processor, "image_mean", None) if normalize else None
    std = getattr(processor, "image_std", None) if normalize else None
    if mean is not None and std is not None and not isinstance(mean, list | tuple):
        mean, std = [float(mean)] * channels, [float(std)] * channels
    return ImagePreprocess(
        size=size,
        shortest_edge=edge,
        crop=crop,
        mean=list(mean) if mean is not None else None,
        std=list(std) if std is not None else None,
        channels=channels,
        mode=_MODES.get(int(getattr(processor, "resample", 2) or 2), "bilinear"),
        scale=_pixel_scale(processor),
        flip_channels=bool(getattr(processor, "do_flip_channel_order", False)),
    )


def probe_image(height: int, width: int) -> np.ndarray:
    """A smooth (height, width, 3) byte image whose channels differ and that no flip, crop or
    zoom maps onto itself: resampling filters agree on it to a grey level or so."""
    y = np.linspace(0.0, 1.0, height)[:, None]
    x = np.linspace(0.0, 1.0, width)[None, :]
    channels = (x + 0 * y, 0.6 * y + 0.2 + 0 * x, 0.5 + 0.4 * np.sin(3.0 * x + 2.0 * y))
    return np.rint(np.stack(channels, axis=-1) * 255).astype(np.uint8)


def check_against_processor(
    processor: Any, pre: ImagePreprocess, shape: tuple[int, int] | None, *, name: str
) -> float:
    """Largest difference between the processor's pixels and `pre`'s on a probe image of
    `shape` (height, width), as a fraction of the processor output's range; refuse a model
    whose rebuilt preprocessing does not reproduce its processor (MATCH_TOLERANCE)."""
    height, width = shape or PROBE_SHAPE
    image = probe_image(height, width)
    kind = type(processor).__name__
    try:
        expected = processor(images=[image], return_tensors="pt")["pixel_values"]
    except Exception as err:  # noqa: BLE001 - any processor failure is the model's, named
        raise ModelLoadError(
            f"model {name!r}: its image processor {kind} failed on a {height}x{width} RGB "
            f"image: {(str(err).strip().splitlines() or [type(err).__name__])[0][:200]}"
        ) from err
    with torch.no_grad():
        got = pre(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255)
    expected = torch.as_tensor(expected, dtype=torch.float32)
    if tuple(got.shape) != tuple(expected.shape):
        raise ModelLoadError(
            f"model {name!r}: its image processor {kind} turns a {height}x{width} image into "
            f"pixels of shape {list(expected.shape[1:])}, the harness's rebuild of it into "
            f"{list(got.shape[1:])}; this processor's resizing is not supported"
        )
    spread = float(expected.max() - expected.min()) or 1.0
    worst = float((got - expected).abs().max()) / spread
    if worst > MATCH_TOLERANCE:
        raise ModelLoadError(
            f"model {name!r}: its image processor {kind} prepares a {height}x{width} image "
            f"differently from the harness's rebuild of it (resize, crop, scale, channel order, "
            f"normalisation): the pixels differ by up to {worst:.0%} of their range; the model "
            "would be scored on inputs it never sees, so this processor is not supported"
        )
    return worst
