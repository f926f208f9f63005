"""Blur corruptions: Gaussian, defocus (anti-aliased disk), glass, motion and zoom blur."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch

from harness.suites import counter_rng
from harness.suites.shift.image_corruptions.filters import (
    FFT_MIN_PIXELS,
    FFT_MIN_TAPS,
    FFT_MIN_TAPS_SMALL,
    PixelSource,
    correlate_fft,
    gaussian,
    pad2d,
    separable,
    take,
)
from harness.suites.shift.image_corruptions.streams import S_ANGLE, S_GLASS, per_sample_uniform


def gaussian_blur(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """skimage gaussian (truncate 4, mode 'nearest') per channel."""
    return gaussian(x, p["sigma"])


def _cv2_gaussian_kernel(ksize: int, sigma: float) -> torch.Tensor:
    """cv2.getGaussianKernel for sigma > 0 (float64)."""
    t = torch.arange(ksize, dtype=torch.float64) - (ksize - 1) / 2
    k = torch.exp(-(t**2) / (2 * sigma**2)) if sigma > 0 else (t == 0).to(torch.float64)
    return k / k.sum()


def disk_kernel(radius: float, alias_blur: float) -> torch.Tensor:
    """The reference's anti-aliased disk: aliased disk then cv2.GaussianBlur (reflect101).

    Trimmed to its non-zero support, so small images do not need pads wider than themselves.
    """
    if radius <= 8:
        half, ksize = 8, 3
    else:
        half, ksize = math.ceil(radius), 5
    t = torch.arange(-half, half + 1, dtype=torch.float64)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    disk = ((xx**2 + yy**2) <= radius**2).to(torch.float64)
    disk = disk / disk.sum()
    g = _cv2_gaussian_kernel(ksize, alias_blur)
    disk = separable(disk[None, None], g, g, "reflect101")[0, 0]
    nz = torch.nonzero(disk.abs() > 0)
    r = int(max(abs(nz - half).max().item(), 0))
    return disk[half - r : half + r + 1, half - r : half + r + 1]


def defocus_blur(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """cv2.filter2D of every channel with the anti-aliased disk (border reflect101): by FFT for
    large disks (`FFT_MIN_TAPS` on large planes, `FFT_MIN_TAPS_SMALL` non-zero taps on small
    ones), else tap by tap."""
    kernel = disk_kernel(p["radius"], p["alias_blur"]).to(x)
    r = (kernel.shape[0] - 1) // 2
    large_plane = x.shape[-2] * x.shape[-1] >= FFT_MIN_PIXELS
    taps = int(torch.count_nonzero(kernel))
    if (large_plane and kernel.numel() >= FFT_MIN_TAPS) or taps >= FFT_MIN_TAPS_SMALL:
        return correlate_fft(x, kernel, "reflect101")
    b, c, h, w = x.shape
    planes = pad2d(x.reshape(b * c, 1, h, w), r, r, "reflect101")
    return _depthwise_grouped(planes, kernel).reshape(b, c, h, w)


def _depthwise_grouped(planes: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """`depthwise` for kernels with many equal weights (the disk): the slices sharing a weight
    are summed first and multiplied once, in a fixed order (nearly halves the work)."""
    kh, kw = kernel.shape[-2:]
    n, _, h, w = planes.shape
    oh, ow = h - kh + 1, w - kw + 1
    groups: dict[float, list[tuple[int, int]]] = {}
    values = kernel.reshape(kh, kw).tolist()
    for i in range(kh):
        for j in range(kw):
            if values[i][j] != 0:
                groups.setdefault(values[i][j], []).append((i, j))
    out = planes.new_zeros(n, 1, oh, ow)
    acc = torch.empty_like(out)
    for weight, taps in sorted(groups.items()):
        (i, j), rest = taps[0], taps[1:]
        acc.copy_(planes[:, :, i : i + oh, j : j + ow])
        for i, j in rest:
            acc.add_(planes[:, :, i : i + oh, j : j + ow])
        out.add_(acc.mul_(weight))
    return out


def glass_sources(offsets: torch.Tensor, h: int, w: int, d: int) -> torch.Tensor:
    """Where each pixel's value comes from after one pass of the reference's local shuffle.

    ``offsets`` (B, H*W) hold ``dy * W + dx`` per pixel. The reference visits the anchors
    ``d < h <= H - d``, ``d < w <= W - d`` in descending raster order and runs
    ``x[h, w], x[h', w'] = x[h', w'], x[h, w]`` on an H x W x 3 array: both right-hand items are
    views, so the first assignment copies ``x[h', w']`` into ``x[h, w]`` and the second writes
    ``x[h', w']`` back onto itself. Each anchor is written once, so its final value is the value
    its source holds when the anchor is visited: the source's final value if the source is an
    anchor visited earlier (later in raster order), else the source's input value. Following
    those links to their ends (pointer doubling, exact integer gathers) gives the same result as
    the sequential loop. Returns (B, H*W) input indices.
    """
    b = offsets.shape[0]
    device = offsets.device
    idx = torch.arange(h * w, device=device)
    rows, cols = idx // w, idx % w
    anchor = (rows > d) & (rows <= h - d) & (cols > d) & (cols <= w - d)
    source = torch.where(anchor, idx + offsets, idx.expand(b, -1))
    src_anchor = anchor.index_select(0, source.reshape(-1)).reshape(source.shape)
    chained = anchor & src_anchor & (source > idx)  # the source was visited first
    link = torch.where(chained, source, idx.expand(b, -1))  # fixed points end a chain
    while True:
        jumped = link.gather(1, link)
        if torch.equal(jumped, link):
            break
        link = jumped
    return source.gather(1, link)


def glass_blur(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Gaussian blur, 8-bit quantisation, the reference's local pixel shuffle, Gaussian blur.

    The shuffle is the published one (`glass_sources`): each anchor pixel takes a copy of a
    random neighbour (dy, dx uniform in [-d, d-1]), visited in descending raster order; the
    reference's "swap" line is a copy on RGB arrays, and CIFAR-10-C / ImageNet-C were made so.
    """
    sigma, d, iterations = p["sigma"], p["delta"], p["iterations"]
    b, c, h, w = x.shape
    x = torch.floor(gaussian(x, sigma) * 255.0) / 255.0
    # The shuffle only moves pixels: track where each pixel comes from (B, H*W) and gather the
    # channels once at the end.
    perm = torch.arange(h * w, device=x.device).expand(b, -1)
    for it in range(iterations):
        shifts = counter_rng.small_randint(seeds, -d, d, (2, h, w), S_GLASS + it)
        offsets = (shifts[:, 0] * w + shifts[:, 1]).reshape(b, h * w)
        perm = perm.gather(1, glass_sources(offsets, h, w, d))
    flat = x.reshape(b, c, h * w).gather(2, perm[:, None, :].expand(-1, c, -1))
    return gaussian(flat.reshape(b, c, h, w), sigma)


def _motion_kernel(radius: int, sigma: float) -> tuple[int, list[float]]:
    """ImageMagick's one-sided Gaussian motion kernel (width 2r+1), as imagecorruptions builds it."""
    width = 2 * radius + 1
    t = np.arange(width, dtype=np.float64)
    k = np.exp(-(t**2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)
    return width, (k / k.sum()).tolist()


def motion_blur_layer(
    x: torch.Tensor, radius: int, sigma: float, angle_deg: torch.Tensor
) -> torch.Tensor:
    """Sum of edge-clamped shifted copies along a per-sample angle (imagecorruptions `motion_blur`)."""
    b, c, h, w = x.shape
    width, kernel = _motion_kernel(radius, sigma)
    theta = torch.deg2rad(angle_deg.to(torch.float64))
    sin, cos = torch.sin(theta), torch.cos(theta)
    rows = torch.arange(h, device=x.device)
    cols = torch.arange(w, device=x.device)
    # Every tap's per-sample shift at once (B, width); a tap whose shift leaves the image stops
    # that sample's kernel there, as the reference's loop does.
    i = torch.arange(width, dtype=torch.float64, device=x.device)[None, :]
    dy = -torch.ceil(i * sin[:, None] - 0.5).to(torch.int64)
    dx = -torch.ceil(i * cos[:, None] - 0.5).to(torch.int64)
    active = torch.cummin(((dy.abs() < h) & (dx.abs() < w)).to(torch.int64), dim=1).values
    weights = active.to(x.dtype) * torch.tensor(kernel, dtype=torch.float64, device=x.device)
    weights = weights.to(x.dtype)
    if h * w >= _SLICE_MIN_PIXELS:
        return _shifted_sum_slices(x, dy, dx, weights)
    # Flat pixel indices (int32: half the memory of int64 to build) of each tap, per row and per
    # column; one pixel gather per tap copies all channels (`PixelSource`).
    first_row = (torch.arange(b, device=x.device) * h)[:, None, None]
    src_r = ((rows[None, None, :] - dy[:, :, None]).clamp(0, h - 1) + first_row) * w
    src_c = (cols[None, None, :] - dx[:, :, None]).clamp(0, w - 1)  # (B, width, W)
    if b * h * w < 2**31:
        src_r, src_c = src_r.to(torch.int32), src_c.to(torch.int32)
    source = PixelSource(x)
    out = x.new_zeros(b, h * w, source.k)
    # Per-tap views made in three calls, not three per tap: at 32 px a tap's few small ops cost
    # more in dispatch than in arithmetic.
    tap_rows = src_r[:, :, :, None].unbind(1)
    tap_cols = src_c[:, :, None, :].unbind(1)
    tap_weights = weights[:, :, None, None].unbind(1)
    for rows_t, cols_t, weight_t in zip(tap_rows, tap_cols, tap_weights, strict=True):
        term = source.select(rows_t + cols_t)
        out.add_(term.mul_(weight_t))  # in place, same roundings as out + w * g
    return source.to_planes(out)


_SLICE_MIN_PIXELS = 64 * 64
"""From this image size on, motion-blur taps are slices of one edge-padded copy per sample
(no index tensors); below, per-tap gathers over the batch (fewer, larger ops). Both add the
same products in the same order, so the size decides the speed, never the values."""


def _shifted_sum_slices(
    x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """``sum_t w[b, t] * x[b]`` shifted by ``(dy, dx)[b, t]`` with edge clamping, per sample."""
    b, c, h, w = x.shape
    live = weights != 0
    reach = int(torch.where(live, dy.abs().maximum(dx.abs()), 0).max()) if b else 0
    padded = pad2d(x, reach, reach, "edge")
    out = torch.zeros_like(x)
    term = torch.empty_like(x[0])
    rows, cols, taps = dy.tolist(), dx.tolist(), weights.tolist()
    for i in range(b):
        for t, weight in enumerate(taps[i]):
            if weight == 0.0:
                continue  # a tap whose shift left the image: the kernel stops (adds nothing)
            top, left = reach - rows[i][t], reach - cols[i][t]
            torch.mul(padded[i, :, top : top + h, left : left + w], weight, out=term)
            out[i].add_(term)
    return out


def motion_blur(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Motion blur along a random angle in [-45, 45) degrees per sample."""
    angle = per_sample_uniform(seeds, S_ANGLE) * 90.0 - 45.0
    return motion_blur_layer(x, p["radius"], p["sigma"], angle)


@functools.lru_cache(maxsize=256)
def _zoom_axis(n: int, zoom: float) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Source rows and weights of one axis of `clipped_zoom` (None: the identity).

    Crop ``ceil(n / zoom)`` centred at ``(n - crop) // 2``, zoom to ``round(crop * zoom)`` with
    corners aligned (``scipy.ndimage.zoom`` order 1, ``grid_mode=False``), trim the centre ``n``:
    output ``i`` reads crop coordinate ``(i + trim) * (crop - 1) / (out - 1)``.
    """
    crop = math.ceil(n / zoom)
    top = (n - crop) // 2
    out = round(crop * zoom)
    if out == crop:
        return None
    trim = (out - n) // 2
    coords = [top + (i + trim) * (crop - 1) / (out - 1) for i in range(n)]
    first = [min(int(math.floor(c)), n - 2) for c in coords]
    weights = [c - f for c, f in zip(coords, first, strict=True)]
    start = torch.tensor(first, dtype=torch.int64)
    return torch.stack((start, start + 1)), torch.tensor(weights, dtype=torch.float32)


def _lerp_axis(x: torch.Tensor, plan: tuple[torch.Tensor, torch.Tensor], dim: int) -> torch.Tensor:
    """Linear interpolation along ``dim`` as separate elementwise steps (the same roundings for
    every element whatever the batch, thread count or vector path: no fused multiply-add)."""
    pairs, weights = (t.to(x.device) for t in plan)
    shape = [1] * x.dim()
    shape[dim] = -1
    # One shared index per axis (`take`): the same values as a gather with an expanded index,
    # several times faster on CPU.
    a = take(x, dim, pairs[0])
    b = take(x, dim, pairs[1])
    b.sub_(a).mul_(weights.reshape(shape))
    return a.add_(b)


def clipped_zoom(x: torch.Tensor, zoom: float) -> torch.Tensor:
    """Centre crop of ``ceil(side / zoom)``, order-1 ``scipy.ndimage.zoom``, centre trim."""
    h, w = x.shape[-2:]
    rows, cols = _zoom_axis(h, zoom), _zoom_axis(w, zoom)
    if rows is not None:
        x = _lerp_axis(x, rows, x.dim() - 2)
    if cols is not None:
        x = _lerp_axis(x, cols, x.dim() - 1)
    return x


def zoom_blur(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Average of the image and its centre zooms by each factor."""
    out = x.clone()
    for z in p["zooms"]:
        out.add_(clipped_zoom(x, z))
    return out.div_(len(p["zooms"]) + 1)
