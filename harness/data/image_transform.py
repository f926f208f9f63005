"""The declared resize / center-crop applied to each image as it is decoded (PIL + numpy).

The semantics are torchvision's on PIL images (so published evaluation pipelines are reproduced
without torchvision, which this CPU torch build cannot use):
- `resize: N` scales the shorter side to N and the longer side to `int(N * long / short)`;
  `resize: [H, W]` scales to exactly H x W; bilinear (PIL's, which antialiases when shrinking);
- `center_crop: N` or `[H, W]` cuts the centred window (top = round((h - H) / 2)), padding with
  zeros where the image is smaller;
- values become float32 in [0, 1] (uint8 / 255), channels first.
`transform: imagenet-eval` is the standard ImageNet evaluation transform: resize 256, center crop
224, RGB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

IMAGENET_EVAL = "imagenet-eval"


@dataclass(frozen=True)
class ImageTransform:
    """Resize then center-crop; either may be absent. Sizes are (height, width)."""

    resize: int | tuple[int, int] | None = None
    center_crop: tuple[int, int] | None = None
    name: str | None = None  # a preset's name, recorded in the description

    @classmethod
    def from_spec(
        cls,
        preset: str | None,
        resize: int | tuple[int, int] | None,
        center_crop: int | tuple[int, int] | None,
    ) -> ImageTransform:
        if preset == IMAGENET_EVAL:
            return cls(resize=256, center_crop=(224, 224), name=IMAGENET_EVAL)
        if preset is not None:
            raise ValueError(f"unknown image transform {preset!r}")
        crop = (center_crop, center_crop) if isinstance(center_crop, int) else center_crop
        return cls(resize=resize if isinstance(resize, int) else _pair(resize), center_crop=crop)

    @property
    def identity(self) -> bool:
        return self.resize is None and self.center_crop is None

    def describe(self) -> str:
        if self.identity:
            return "no transform"
        parts = [f"resize={_text(self.resize)}", f"center_crop={_text(self.center_crop)}"]
        return f"{self.name or 'custom'}({', '.join(parts)})"

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of an image of this size after the transform."""
        if self.center_crop is not None:
            return self.center_crop
        return self._resized(height, width)

    def _resized(self, height: int, width: int) -> tuple[int, int]:
        if self.resize is None:
            return height, width
        if isinstance(self.resize, tuple):
            return self.resize
        short, long = sorted((height, width))
        new_long = int(self.resize * long / short)
        return (self.resize, new_long) if height <= width else (new_long, self.resize)

    def apply(self, image: Image.Image) -> Image.Image:
        """Resize and crop one PIL image (any mode, including 'F' for float channels)."""
        height, width = image.height, image.width
        new_h, new_w = self._resized(height, width)
        if (new_h, new_w) != (height, width):
            image = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
        if self.center_crop is None:
            return image
        crop_h, crop_w = self.center_crop
        top, left = _crop_start(new_h, crop_h), _crop_start(new_w, crop_w)
        # PIL fills with zeros where the box leaves the image (torchvision pads with zeros)
        return image.crop((left, top, left + crop_w, top + crop_h))

    def apply_array(self, chw: np.ndarray) -> np.ndarray:
        """The transform on a float CHW array (each channel resized as a PIL 'F' image)."""
        if self.identity:
            return chw
        planes = [
            np.asarray(self.apply(Image.fromarray(np.ascontiguousarray(c, dtype=np.float32))))
            for c in chw
        ]
        return np.stack(planes).astype(np.float32)


def _crop_start(size: int, crop: int) -> int:
    """torchvision's offset: centred with round(); a larger crop pads (crop - size) // 2 first."""
    if crop > size:
        return -((crop - size) // 2)
    return int(round((size - crop) / 2.0))


def _pair(size: tuple[int, int] | None) -> tuple[int, int] | None:
    return None if size is None else (int(size[0]), int(size[1]))


def _text(size: int | tuple[int, int] | None) -> str:
    if size is None:
        return "none"
    return str(size) if isinstance(size, int) else f"{size[0]}x{size[1]}"
