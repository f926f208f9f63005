"""A Hugging Face image processor rebuilt as torch ops, checked against the processor itself.

`hf-image` feeds raw task images in [0, 1] through `ImagePreprocess` (differentiable: attacks
work in input space). `preprocess_from` translates the processor's settings: the pixel scale
(a task value v is the byte 255·v, so the usual `rescale_factor` 1/255 leaves it as is; another
factor, or `do_rescale: false`, which feeds bytes, is applied), the resize (`size` height/width,
or shortest edge with the processor's rounding), its interpolation (bilinear, bicubic, nearest),
the centre crop (zero-padded where the crop is larger than the image, on the side the processor's
backend pads), RGB -> BGR (`do_flip_channel_order`) and the normalisation; and the rules of the
processors that do more than those settings say:

- ConvNeXt (ResNet and ConvNeXt checkpoints): resize to shortest_edge / crop_pct, then centre crop
  shortest_edge (a plain square resize from shortest_edge 384 up);
- LeViT: resize the shortest edge to int(256 / 224 · shortest_edge), then centre crop;
- PoolFormer: resize by `size` / crop_pct (a shortest edge, or a square size's edge, becomes a
  shortest edge), then centre crop;
- Perceiver: centre crop (size / crop_size) · the image's shorter side first, then resize;
- MobileViT: never normalises (its processor ignores `do_normalize`), flips RGB -> BGR;
- EfficientNet: `rescale_offset` subtracts 1 after the rescale, and `include_top` divides by the
  std a second time (folded here into one division by std²).

A processor does things no rule here names (remote code anything), so `check_against_processor`
runs the real processor on a smooth probe image of the task's size and refuses the model, naming
the processor and the difference, when the rebuilt ops do not give the same pixels: such a model
would be scored on inputs it was never given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from harness.core.errors import ModelLoadError

# PIL's resampling filter numbers (processor `resample`) -> torch interpolation mode; NEAREST is
# Pillow's own rounding with the PIL backend, torch's nearest-exact with torchvision's; LANCZOS,
# BOX and HAMMING are Pillow's own filters (`_PIL_FILTERS`), which torch does not have
_MODES = {
    0: "nearest-pil",
    1: "lanczos-pil",
    2: "bilinear",
    3: "bicubic",
    4: "box-pil",
    5: "hamming-pil",
}
_CONVNEXT_FULL_RESIZE = 384  # ConvNeXt's processor warps to a square from this edge up
PROBE_SHAPE = (48, 64)  # probe image height, width when the task's shape is not declared
MATCH_TOLERANCE = 0.02  # of the processor output's range (about 5 grey levels)


class ImagePreprocess(torch.nn.Module):
    """Differentiable stand-in for the image processor: crop (Perceiver's, before the resize),
    resize, centre crop, flip, scale (and offset), normalise."""

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
        offset: float | None = None,
        crop_first: tuple[float, float] | None = None,
        pad_low_first: bool = True,
    ) -> None:
        super().__init__()
        self.size = size
        self.shortest_edge = shortest_edge
        self.crop = crop
        self.channels = channels
        self.mode = mode
        self.scale = scale
        self.flip_channels = flip_channels
        self.offset = offset
        # before the resize, crop (ratio_h · m, ratio_w · m), m the image's shorter side
        self.crop_first = crop_first
        # a crop larger than the image pads it with zeros; an odd padding's extra row (column)
        # goes first (numpy / PIL processors) or last (torchvision processors)
        self.pad_low_first = pad_low_first
        if mean is not None and std is not None:
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        else:
            self.mean = None
            self.std = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1 and self.channels == 3:
            x = x.expand(-1, 3, -1, -1)
        if self.crop_first is not None:
            shorter = min(x.shape[-2:])
            ratio_h, ratio_w = self.crop_first
            x = center_crop(x, (int(ratio_h * shorter), int(ratio_w * shorter)), self.pad_low_first)
        h, w = x.shape[-2:]
        target = self.size
        if target is None and self.shortest_edge is not None:
            target = shortest_edge_size(h, w, self.shortest_edge)
        if target is not None and tuple(target) != (h, w):
            x = _resize(x, target, self.mode)
        if self.crop is not None:
            x = center_crop(x, self.crop, self.pad_low_first)
        if self.flip_channels:
            x = x.flip(1)
        if self.scale is not None:
            x = x * self.scale
        if self.offset is not None:
            x = x + self.offset
        if self.mean is not None and self.std is not None:
            x = (x - self.mean) / self.std
        return x


def _resize(x: torch.Tensor, target: tuple[int, int], mode: str) -> torch.Tensor:
    if mode == "nearest-pil":
        rows = _pil_nearest_index(x.shape[-2], target[0]).to(x.device)
        cols = _pil_nearest_index(x.shape[-1], target[1]).to(x.device)
        return x.index_select(-2, rows).index_select(-1, cols)
    if mode == "nearest-exact":
        return F.interpolate(x, size=target, mode=mode)
    if mode in _PIL_FILTERS:
        return _pil_resize(x, target, mode)
    out = F.interpolate(x, size=target, mode=mode, align_corners=False, antialias=True)
    return out.clamp(0.0, 1.0) if mode == "bicubic" else out  # PIL rounds bicubic into bytes


def _box(x: float) -> float:
    return 1.0 if -0.5 < x <= 0.5 else 0.0


def _sinc(x: float) -> float:
    return 1.0 if x == 0.0 else math.sin(math.pi * x) / (math.pi * x)


def _hamming(x: float) -> float:
    x = abs(x)
    if x == 0.0:
        return 1.0
    if x >= 1.0:
        return 0.0
    # Pillow's constants are C floats (0.54f, 0.46f), not the doubles 0.54 and 0.46
    return _sinc(x) * (float(np.float32(0.54)) + float(np.float32(0.46)) * math.cos(math.pi * x))


def _lanczos(x: float) -> float:
    return _sinc(x) * _sinc(x / 3.0) if -3.0 <= x < 3.0 else 0.0


# Pillow's filters (libImaging/Resample.c): the function and its support
_PIL_FILTERS = {
    "box-pil": (_box, 0.5),
    "hamming-pil": (_hamming, 1.0),
    "lanczos-pil": (_lanczos, 3.0),
}


@lru_cache(maxsize=64)  # every forward pass (attacks: thousands) of one image size
def _pil_weights(size_in: int, size_out: int, mode: str) -> torch.Tensor:
    """Pillow's resampling weights (`precompute_coeffs`), (size_out, size_in) in float64: output
    pixel i averages the input pixels within the filter's support (widened by the downscale
    factor) around its centre (i + 1/2) · in / out, weighted by the filter and normalised."""
    kernel, support = _PIL_FILTERS[mode]
    scale = size_in / size_out
    widen = max(scale, 1.0)
    reach = support * widen
    weights = np.zeros((size_out, size_in))
    for i in range(size_out):
        centre = (i + 0.5) * scale
        first = max(int(centre - reach + 0.5), 0)
        last = min(int(centre + reach + 0.5), size_in)
        row = [kernel((j - centre + 0.5) / widen) for j in range(first, last)]
        total = sum(row)
        weights[i, first:last] = [w / total for w in row] if total != 0.0 else row
    return torch.from_numpy(weights)


def _pil_resize(x: torch.Tensor, target: tuple[int, int], mode: str) -> torch.Tensor:
    """Pillow's separable resize with its own filter: the width first, then the height, each
    pass only where the size changes; a filter with negative lobes (LANCZOS) is clipped into the
    pixel range after each pass, as Pillow rounds each pass into bytes. Differentiable."""
    clip = mode == "lanczos-pil"
    if x.shape[-1] != target[1]:
        cols = _pil_weights(x.shape[-1], target[1], mode).to(x.device, x.dtype)
        x = x @ cols.T
        x = x.clamp(0.0, 1.0) if clip else x
    if x.shape[-2] != target[0]:
        rows = _pil_weights(x.shape[-2], target[0], mode).to(x.device, x.dtype)
        x = rows @ x
        x = x.clamp(0.0, 1.0) if clip else x
    return x


@lru_cache(maxsize=64)
def _pil_nearest_index(size_in: int, size_out: int) -> torch.Tensor:
    """Pillow's NEAREST source pixel for each output pixel (`ImagingScaleAffine`): a position
    that starts at half a step (in / out) and adds the step, in doubles, truncated. Computing
    (i + 1/2) · step instead (torch's nearest-exact) picks the other neighbour where the
    position falls on a whole number (every 7th pixel from 256 to 224)."""
    step = size_in / size_out
    position = step * 0.5
    index = []
    for _ in range(size_out):
        index.append(min(int(position), size_in - 1))
        position += step
    return torch.tensor(index, dtype=torch.long)


def center_crop(x: torch.Tensor, crop: tuple[int, int], pad_low_first: bool) -> torch.Tensor:
    """The centre (height, width) `crop` of `x`, as transformers' processors cut it: the top
    (left) offset rounded down; an image smaller than the crop is first padded with zeros, the
    odd row (column) on the top (left) when `pad_low_first` (numpy's `center_crop`), else on
    the bottom (right) (torchvision's)."""
    ch, cw = crop
    h, w = x.shape[-2:]
    if ch > h or cw > w:
        dh, dw = max(ch - h, 0), max(cw - w, 0)
        top = (dh + 1) // 2 if pad_low_first else dh // 2
        left = (dw + 1) // 2 if pad_low_first else dw // 2
        x = F.pad(x, (left, dw - left, top, dh - top))
        h, w = x.shape[-2:]
    top, left = (h - ch) // 2, (w - cw) // 2
    return x[..., top : top + ch, left : left + cw]


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


def _family(processor: Any, name: str) -> bool:
    """Whether the processor is transformers' `name` processor (any backend: `...Pil`, `...Fast`)."""
    return type(processor).__name__.startswith(name)


@dataclass(frozen=True)
class _Geometry:
    """Where the pixels come from: resize size or shortest edge, centre crop, and Perceiver's
    crop before the resize."""

    size: tuple[int, int] | None
    edge: int | None
    crop: tuple[int, int] | None
    crop_first: tuple[float, float] | None = None


def _geometry(processor: Any) -> _Geometry:
    """The processor's resize, centre crop and their order, with its family's own rules."""
    resize = getattr(processor, "do_resize", True)
    size, edge = _hw(getattr(processor, "size", None)) if resize else (None, None)
    crop = None
    if getattr(processor, "do_center_crop", False):
        crop, _ = _hw(getattr(processor, "crop_size", None))
    crop_pct = getattr(processor, "crop_pct", None)
    if _family(processor, "ConvNextImageProcessor") and edge is not None:
        if edge >= _CONVNEXT_FULL_RESIZE or not crop_pct:
            return _Geometry((edge, edge), None, crop)
        return _Geometry(None, int(edge / crop_pct), (edge, edge))
    if _family(processor, "LevitImageProcessor") and edge is not None:
        return _Geometry(None, int((256 / 224) * edge), crop)
    if _family(processor, "PoolFormerImageProcessor") and resize and crop_pct is not None:
        if edge is not None:
            return _Geometry(None, int(edge / crop_pct), crop)
        if size is not None and size[0] == size[1]:
            return _Geometry(None, int(size[0] / crop_pct), crop)
        if size is not None:
            return _Geometry((int(size[0] / crop_pct), int(size[1] / crop_pct)), None, crop)
    if _family(processor, "PerceiverImageProcessor") and crop is not None:
        # the crop is (size / crop_size) of the shorter side, taken before the resize
        target, _ = _hw(getattr(processor, "size", None))
        if target is not None:
            ratio = (target[0] / crop[0], target[1] / crop[1])
            return _Geometry(size, edge, None, crop_first=ratio)
    return _Geometry(size, edge, crop)


def _normalisation(processor: Any, channels: int) -> tuple[list[float] | None, list[float] | None]:
    """(mean, std) the processor normalises with, None when it does not."""
    normalize = getattr(processor, "do_normalize", True)
    if _family(processor, "MobileViTImageProcessor"):
        normalize = False  # its preprocessing has no normalisation step
    mean = getattr(processor, "image_mean", None) if normalize else None
    std = getattr(processor, "image_std", None) if normalize else None
    # each a scalar (every channel) or one value per channel, as the processor takes them
    mean = _per_channel(processor, "image_mean", mean, channels) if mean is not None else None
    std = _per_channel(processor, "image_std", std, channels) if std is not None else None
    if std is not None and 0.0 in std:
        raise ModelLoadError(
            f"its image processor {type(processor).__name__} has image_std {std}: a std of 0 "
            "divides the pixels by zero (every logit inf or NaN); fix preprocessor_config.json"
        )
    if _family(processor, "EfficientNetImageProcessor") and getattr(
        processor, "include_top", False
    ):
        # `include_top`: normalise again with mean 0 and the same std, even without do_normalize
        top = getattr(processor, "image_std", None)
        if top is None:
            return mean, std
        top = [float(top)] * channels if not isinstance(top, list | tuple) else list(top)
        if mean is None or std is None:
            return [0.0] * len(top), [float(s) for s in top]
        return mean, [s * float(t) for s, t in zip(std, top, strict=True)]
    return mean, std


def _per_channel(processor: Any, key: str, value: Any, channels: int) -> list[float]:
    """The processor's `key` (image_mean / image_std) as finite floats: one per channel, a
    scalar repeated over the channels."""
    values = list(value) if isinstance(value, list | tuple) else [value] * channels
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        out = []
    if not out or not all(math.isfinite(v) for v in out):
        raise ModelLoadError(
            f"its image processor {type(processor).__name__} has {key} {value!r}: not a finite "
            "number or one per channel; fix preprocessor_config.json"
        )
    return out


def _offset(processor: Any) -> float | None:
    """EfficientNet's `rescale_offset`: the rescaled image minus one."""
    offset = getattr(processor, "rescale_offset", False) and getattr(processor, "do_rescale", True)
    return -1.0 if _family(processor, "EfficientNetImageProcessor") and offset else None


def _resample(processor: Any) -> int:
    """The processor's PIL filter number (0, NEAREST, is a setting, not a missing one)."""
    resample = getattr(processor, "resample", None)
    return 2 if resample is None else int(resample)


def _mode(processor: Any) -> str:
    mode = _MODES.get(_resample(processor), "bilinear")
    torchvision = getattr(processor, "backend", "pil") == "torchvision"
    if torchvision and mode in _PIL_FILTERS:  # Pillow's filters are Pillow's; the check decides
        return "bilinear"
    return "nearest-exact" if mode == "nearest-pil" and torchvision else mode


def preprocess_from(processor: Any, channels: int) -> ImagePreprocess:
    """Translate an image processor's settings (task images hold bytes / 255)."""
    geometry = _geometry(processor)
    mean, std = _normalisation(processor, channels)
    return ImagePreprocess(
        size=geometry.size,
        shortest_edge=geometry.edge,
        crop=geometry.crop,
        mean=mean,
        std=std,
        channels=channels,
        mode=_mode(processor),
        scale=_pixel_scale(processor),
        flip_channels=bool(getattr(processor, "do_flip_channel_order", False)),
        offset=_offset(processor),
        crop_first=geometry.crop_first,
        pad_low_first=getattr(processor, "backend", "pil") != "torchvision",
    )


def probe_image(height: int, width: int) -> np.ndarray:
    """A smooth (height, width, 3) byte image whose channels differ and that no flip, crop or
    zoom maps onto itself: resampling filters agree on it to a grey level or so."""
    y = np.linspace(0.0, 1.0, height)[:, None]
    x = np.linspace(0.0, 1.0, width)[None, :]
    channels = (x + 0 * y, 0.6 * y + 0.2 + 0 * x, 0.5 + 0.4 * np.sin(3.0 * x + 2.0 * y))
    return np.rint(np.stack(channels, axis=-1) * 255).astype(np.uint8)


def check_against_processor(
    processor: Any,
    pre: ImagePreprocess,
    shape: tuple[int, int] | None,
    *,
    name: str,
    channels: int = 3,
) -> float:
    """Largest difference between the processor's pixels and `pre`'s on a probe image of
    `shape` (height, width), as a fraction of the processor output's range; refuse a model
    whose rebuilt preprocessing does not reproduce its processor (MATCH_TOLERANCE). A
    one-channel model (`channels` 1) is probed with a grey image (the probe's first channel)."""
    height, width = shape or PROBE_SHAPE
    image = probe_image(height, width)
    if channels == 1:
        image = image[..., :1]
    what = "grey" if channels == 1 else "RGB"
    kind = type(processor).__name__
    try:
        expected = processor(images=[image], return_tensors="pt")["pixel_values"]
    except Exception as err:  # noqa: BLE001 - any processor failure is the model's, named
        raise ModelLoadError(
            f"model {name!r}: its image processor {kind} failed on a {height}x{width} {what} "
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
