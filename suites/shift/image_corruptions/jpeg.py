"""JPEG compression (a digital corruption) as PIL/libjpeg write it.

The images go through libjpeg itself (Pillow's encoder and decoder, exactly what the reference
`imagecorruptions` calls: bit-identical to it, one image at a time, so independent of the batch)
on every device: images on an accelerator are copied to the host for the codec and back. A
float emulation of the codec on the device differs from libjpeg by up to several 8-bit levels
(2.7 levels on average on noise images, measured on an H100), which would make a model's JPEG
accuracy depend on the device it was evaluated on.
"""

from __future__ import annotations

import functools
import io
from typing import Any

import numpy as np
import torch
from PIL import Image


def jpeg_compression(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Baseline JPEG at ``p["quality"]``: libjpeg on every device (host round trip off the CPU)."""
    if x.device.type == "cpu":
        return jpeg_libjpeg(x, p["quality"])
    return jpeg_libjpeg(x.cpu(), p["quality"]).to(x.device)


def jpeg_libjpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Each image rounded to 8 bits, saved as JPEG by Pillow (its defaults: 4:2:0 for RGB) and
    decoded again, as the reference does. Only the codec runs per image (`_PillowJpeg`), so a
    sample's output does not depend on the batch; the conversions to and from 8 bits run on
    groups of about `_CONVERT_VALUES` values (one 224 px image, 42 at 32 px), so that they work
    in the caches. numpy does the two casts: its float32 -> uint8 cast is 6x torch's here, and
    its uint8 / 255 is one pass (torch's is a cast, then a division)."""
    b, c, h, w = x.shape
    src = x.detach().to(torch.float32)
    out = torch.empty((b, c, h, w), dtype=torch.float32)
    out_np = out.numpy()
    group = max(1, _CONVERT_VALUES // (c * h * w))
    levels = torch.empty((min(group, b), c, h, w), dtype=torch.float32)
    levels_np = levels.numpy()
    planes = np.empty((min(group, b), c, h, w), dtype=np.uint8)
    codec = _pillow_jpeg("L" if c == 1 else "RGB", quality)
    for start in range(0, b, group):
        n = min(group, b - start)
        torch.mul(src[start : start + n], 255.0, out=levels[:n]).clamp_(0.0, 255.0)
        # Rounded half to even (np.rint, as before): integers 0..255, so the cast is exact. NaN
        # (clamp keeps it) casts to 0, as torch's cast did; numpy would warn of it.
        with np.errstate(invalid="ignore"):
            np.rint(levels_np[:n], out=planes[:n], casting="unsafe")
        for i in range(n):
            codec.round_trip(planes[i], planes[i])  # decoded over the source planes
        np.divide(planes[:n], _LEVELS, out=out_np[start : start + n])  # = j / 255 in float32
    return out.to(x.dtype)


_CONVERT_VALUES = 1 << 17
"""Values per group of `jpeg_libjpeg`'s conversions to and from 8 bits (512 KiB of float32)."""

_LEVELS = np.float32(255.0)


class _PillowJpeg:
    """One image through Pillow's JPEG encoder and decoder at a fixed mode and quality.

    ``Image.save`` / ``Image.open`` spend most of their time at small sizes in Python (format
    plugins, marker parsing). When Pillow's own encoder and decoder, called through the public
    ``Image.tobytes`` / ``Image.frombytes`` with the encoder settings ``save`` used, give the same
    bytes and pixels as ``save`` / ``open`` on a probe image, those are used (about 2x faster at
    32 px); otherwise (a Pillow whose encoder arguments differ) ``save`` / ``open`` themselves.
    """

    def __init__(self, mode: str, quality: int) -> None:
        self.mode = mode
        self.quality = quality
        self.config: tuple[Any, ...] | None = None
        gen = np.random.default_rng(0)
        probe = gen.integers(0, 256, (3 if mode == "RGB" else 1, 24, 40), dtype=np.uint8)
        img = self._image(probe)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        config = getattr(img, "encoderconfig", None)
        if not isinstance(config, tuple):
            return
        try:
            fast = img.tobytes("jpeg", (mode, *config))
            pixels = Image.frombytes(mode, img.size, fast, "jpeg", mode, "").tobytes()
        except (TypeError, ValueError, OSError):
            return
        with Image.open(io.BytesIO(buf.getvalue()), formats=("JPEG",)) as opened:
            if fast == buf.getvalue() and pixels == opened.tobytes():
                self.config = config

    def _image(self, planes: np.ndarray) -> Image.Image:
        """A Pillow image of (C, H, W) uint8 planes (C = 1 or 3): large RGB images from their
        planes (Pillow interleaves them in C), small ones interleaved here (fewer Python calls)."""
        size = (planes.shape[2], planes.shape[1])
        if self.mode == "L":
            return Image.frombuffer("L", size, np.ascontiguousarray(planes[0]), "raw", "L", 0, 1)
        if size[0] * size[1] < _MERGE_MIN_PIXELS:
            pixels = np.ascontiguousarray(planes.transpose(1, 2, 0))
            return Image.frombuffer("RGB", size, pixels, "raw", "RGB", 0, 1)
        bands = [
            Image.frombuffer("L", size, np.ascontiguousarray(p), "raw", "L", 0, 1) for p in planes
        ]
        return Image.merge("RGB", bands)

    def round_trip(self, planes: np.ndarray, out: np.ndarray) -> None:
        """Encode (C, H, W) uint8 planes at ``quality``, decode them into ``out`` (C, H, W; may be
        ``planes`` itself: the planes are read before ``out`` is written)."""
        img = self._image(planes)
        if self.config is not None:
            data = img.tobytes("jpeg", (self.mode, *self.config))
            decoded = Image.frombytes(self.mode, img.size, data, "jpeg", self.mode, "")
        else:
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=self.quality)
            decoded = Image.open(buf, formats=("JPEG",))
        shape = out.shape[1:]
        if self.mode == "L" or shape[0] * shape[1] < _MERGE_MIN_PIXELS:
            pixels = np.frombuffer(decoded.tobytes(), dtype=np.uint8)
            out[:] = pixels.reshape(shape[0], shape[1], out.shape[0]).transpose(2, 0, 1)
            return
        for k, band in enumerate("RGB"):  # Pillow's band packers split the planes in C
            out[k] = np.frombuffer(decoded.tobytes("raw", band), dtype=np.uint8).reshape(shape)


_MERGE_MIN_PIXELS = 64 * 64
"""From this image size on, RGB images reach Pillow as three planes merged in C and come back as
three planes from its band packers; below, as one interleaved array transposed here (measured:
Pillow's calls win at 224 px, the fewer Python calls at 32 px)."""


@functools.lru_cache(maxsize=32)
def _pillow_jpeg(mode: str, quality: int) -> _PillowJpeg:
    return _PillowJpeg(mode, quality)
