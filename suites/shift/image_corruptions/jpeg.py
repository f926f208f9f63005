"""JPEG compression (a digital corruption) as PIL/libjpeg write it.

On the CPU the images go through libjpeg itself (Pillow's encoder and decoder, exactly what the
reference `imagecorruptions` calls: bit-identical to it, one image at a time, so independent of
the batch). On an accelerator the same codec is emulated in torch so the images stay on the
device: colour conversion, 4:2:0 chroma subsampling, the 8x8 DCT with the standard tables scaled
by quality, and libjpeg's fancy upsampling (float DCT instead of libjpeg's fixed point: PSNR above
40 dB against libjpeg, tested).
"""

from __future__ import annotations

import functools
import io
import math
from typing import Any

import numpy as np
import torch
from PIL import Image

from harness.suites.shift.image_corruptions.filters import pad_index, take

# Standard JPEG quantisation tables (ITU T.81 Annex K), as libjpeg uses them.
_JPEG_LUMA_Q = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)


_JPEG_CHROMA_Q = (
    (17, 18, 24, 47, 99, 99, 99, 99),
    (18, 21, 26, 66, 99, 99, 99, 99),
    (24, 26, 56, 99, 99, 99, 99, 99),
    (47, 66, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
)


def _quant_table(base: tuple[tuple[int, ...], ...], quality: int) -> torch.Tensor:
    """libjpeg's jpeg_set_quality scaling of a base table (force_baseline: 1..255)."""
    q = max(1, min(100, quality))
    scale = 5000 // q if q < 50 else 200 - 2 * q
    table = [[min(max((v * scale + 50) // 100, 1), 255) for v in row] for row in base]
    return torch.tensor(table, dtype=torch.float32)


def _dct_matrix() -> torch.Tensor:
    """Orthonormal 8-point DCT-II matrix (JPEG's DCT is its 2-D separable product)."""
    n = torch.arange(8, dtype=torch.float64)
    k = n[:, None]
    d = torch.cos((2 * n[None, :] + 1) * k * math.pi / 16) * math.sqrt(2 / 8)
    d[0] /= math.sqrt(2)
    return d.to(torch.float32)


def _jpeg_plane(plane: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Level shift, 8x8 DCT, quantise (round half away from zero), dequantise, IDCT, round.

    ``plane`` is (B, H, W) with H and W multiples of 8, integer-valued in 0..255.
    """
    b, hh, ww = plane.shape
    blocks = (plane - 128.0).reshape(b, hh // 8, 8, ww // 8, 8).permute(0, 1, 3, 2, 4)
    d = _dct_matrix().to(plane.device)
    coef = d @ blocks @ d.T
    t = table.to(plane.device)
    q = torch.sign(coef) * torch.floor(coef.abs() / t + 0.5)
    rec = d.T @ (q * t) @ d
    rec = torch.round(rec + 128.0).clamp(0, 255)
    return rec.permute(0, 1, 3, 2, 4).reshape(b, hh, ww)


def _pad_to_multiple(plane: torch.Tensor, m: int) -> torch.Tensor:
    """Pad (B, H, W) at the bottom and right to multiples of ``m`` by edge replication."""
    h, w = plane.shape[1:]
    if h % m == 0 and w % m == 0:
        return plane
    rows = pad_index(h, 0, -h % m, "edge", plane.device)
    cols = pad_index(w, 0, -w % m, "edge", plane.device)
    return take(take(plane, 1, rows), 2, cols)


def _fancy_upsample(c: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """libjpeg h2v2 'fancy' (triangle) chroma upsampling with its integer rounding."""
    b, ch, cw = c.shape
    up = torch.cat((c[:, :1], c[:, :-1]), dim=1)
    down = torch.cat((c[:, 1:], c[:, -1:]), dim=1)
    near_top = 3 * c + up  # output row 2i uses the row above
    near_bottom = 3 * c + down  # output row 2i + 1 uses the row below
    rows = torch.stack((near_top, near_bottom), dim=2).reshape(b, 2 * ch, cw)
    left = torch.cat((rows[:, :, :1], rows[:, :, :-1]), dim=2)
    right = torch.cat((rows[:, :, 1:], rows[:, :, -1:]), dim=2)
    even = torch.floor((3 * rows + left + 8) / 16)
    odd = torch.floor((3 * rows + right + 7) / 16)
    out = torch.stack((even, odd), dim=3).reshape(b, 2 * ch, 2 * cw)
    return out[:, :h, :w]


def jpeg_compression(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Baseline JPEG at ``p["quality"]``: libjpeg on the CPU, its torch emulation elsewhere."""
    if x.device.type == "cpu":
        return jpeg_libjpeg(x, p["quality"])
    return jpeg_torch(x, p["quality"])


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


def jpeg_torch(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Baseline JPEG as PIL/libjpeg writes it: YCbCr, 4:2:0, standard tables scaled by quality."""
    luma_q = _quant_table(_JPEG_LUMA_Q, quality)
    pix = torch.round(x * 255.0)
    h, w = x.shape[-2:]
    if x.shape[1] == 1:  # one component, 8x8 MCUs
        return _jpeg_plane(_pad_to_multiple(pix[:, 0], 8), luma_q)[:, None, :h, :w] / 255.0
    chroma_q = _quant_table(_JPEG_CHROMA_Q, quality)
    r, g, b = pix[:, 0], pix[:, 1], pix[:, 2]
    y = torch.round(0.299 * r + 0.587 * g + 0.114 * b)
    cb = torch.round(-0.168735892 * r - 0.331264108 * g + 0.5 * b + 128.0).clamp(0, 255)
    cr = torch.round(0.5 * r - 0.418687589 * g - 0.081312411 * b + 128.0).clamp(0, 255)
    # 4:2:0 MCUs are 16x16: pad by edge replication, then h2v2 downsample ((sum + 1|2) >> 2).
    y, cb, cr = (_pad_to_multiple(c, 16) for c in (y, cb, cr))
    bias = torch.tensor([1.0, 2.0], device=x.device).repeat(y.shape[2] // 4)[None, None, :]

    def down(c: torch.Tensor) -> torch.Tensor:
        s = c[:, 0::2, 0::2] + c[:, 1::2, 0::2] + c[:, 0::2, 1::2] + c[:, 1::2, 1::2]
        return torch.floor((s + bias) / 4)

    ch, cw = (h + 1) // 2, (w + 1) // 2
    y_rec = _jpeg_plane(y, luma_q)[:, :h, :w]
    cb_rec = _fancy_upsample(_jpeg_plane(down(cb), chroma_q)[:, :ch, :cw], h, w) - 128.0
    cr_rec = _fancy_upsample(_jpeg_plane(down(cr), chroma_q)[:, :ch, :cw], h, w) - 128.0
    r_out = y_rec + torch.round(1.402 * cr_rec)
    g_out = y_rec + torch.floor(-0.344136286 * cb_rec - 0.714136286 * cr_rec + 0.5)
    b_out = y_rec + torch.round(1.772 * cb_rec)
    return torch.stack((r_out, g_out, b_out), dim=1).clamp(0, 255) / 255.0
