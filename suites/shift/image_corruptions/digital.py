"""Digital corruptions: contrast, elastic transform, pixelate and the extra saturate (JPEG
compression, also digital, has its own module `jpeg`)."""

from __future__ import annotations

import functools
from typing import Any

import torch

from harness.suites import counter_rng
from harness.suites.shift.image_corruptions.colour import via_rgb
from harness.suites.shift.image_corruptions.filters import gaussian, take
from harness.suites.shift.image_corruptions.streams import S_AFFINE, S_DX, S_DY


def contrast(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """(x - mean) * c + mean, mean per channel over the image."""
    means = x.mean(dim=(2, 3), keepdim=True)
    return (x - means) * p["c"] + means


@via_rgb
def saturate(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """HSV saturation * factor + offset (clipped), hue and value kept: skimage's rgb2hsv /
    hsv2rgb round trip of the reference, in closed form.

    With value v = max and saturation s = (v - min) / v, each channel's distance below the value,
    v - c, is proportional to s at a fixed hue and value; so the new saturation s' gives
    c' = v - (v - c) * s' / s. A grey pixel (s = 0) has hue 0 in skimage, red: (v, v (1 - s'),
    v (1 - s')); black stays black. The same values as the round trip up to float32 rounding
    (closer to the reference's float64: tested), in a few steps on one plane instead of six hue
    sectors (4x faster at 32 px, 10x at 224).
    """
    v = x.amax(dim=1, keepdim=True)
    delta = v - x.amin(dim=1, keepdim=True)
    s = torch.where(v > 0, delta / v.clamp(min=1e-30), torch.zeros_like(v))
    s_new = (s * p["factor"] + p["offset"]).clamp(0.0, 1.0)
    coloured = delta > 0
    safe_delta = torch.where(coloured, delta, torch.ones_like(delta))
    scale = torch.where(coloured, s_new * v / safe_delta, torch.zeros_like(v))
    out = v - (v - x) * scale
    grey = torch.cat((v, (v * (1 - s_new)).expand(-1, 2, -1, -1)), dim=1)
    return torch.where(coloured, out, grey)


@functools.lru_cache(maxsize=256)
def _pil_box_taps(n_in: int, n_out: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """PIL's BOX resampling of one axis: output i averages inputs ``lo[i] .. lo[i] + count[i] - 1``
    (the inputs whose centres fall in its box; upsampling reduces to one input, nearest)."""
    scale = n_in / n_out
    filterscale = max(scale, 1.0)
    support = 0.5 * filterscale
    lo, count = [], []
    for i in range(n_out):
        center = (i + 0.5) * scale
        first = max(int(center - support + 0.5), 0)
        last = min(int(center + support + 0.5), n_in)
        hits = [j for j in range(first, last) if -0.5 < (j - center + 0.5) / filterscale <= 0.5]
        lo.append(hits[0])
        count.append(len(hits))
    return tuple(lo), tuple(count)


@functools.lru_cache(maxsize=256)
def _index(taps: tuple[int, ...]) -> torch.Tensor:
    """``taps`` as an int64 tensor on the CPU, made once per size: a Python tuple of 224 ints
    to a tensor took about as long as the 224 px `index_select` it feeds (pixelate made six a
    chunk). Read-only: no caller writes into it."""
    return torch.tensor(taps, dtype=torch.int64)


@functools.lru_cache(maxsize=256)
def _nearest_taps(n_in: int, n_out: int) -> tuple[int, ...]:
    """PIL's NEAREST resize of one axis: output i reads ``floor((i + 0.5) * n_in / n_out)``."""
    return tuple(min(int((i + 0.5) * n_in / n_out), n_in - 1) for i in range(n_out))


def _box_down(x: torch.Tensor, dim: int, n_out: int) -> torch.Tensor:
    """Box average along ``dim`` (PIL BOX): the taps of each output summed left to right, then
    scaled by 1 / count. Taps past an output's count add an exact zero. The taps are the same for
    every other index, so each is one ``index_select`` (several times faster on CPU than a
    ``gather`` with an expanded index, and the same values)."""
    lo, count = _pil_box_taps(x.shape[dim], n_out)
    shape = [1] * x.dim()
    shape[dim] = n_out
    first = _index(lo).to(x.device)
    counts = _index(count).to(x.device)
    out = take(x, dim, first)
    tap = torch.empty_like(out) if max(count) > 1 else out
    for t in range(1, max(count)):
        idx = (first + t).clamp_(max=x.shape[dim] - 1)
        take(x, dim, idx, out=tap)
        if min(count) > t:
            out.add_(tap)  # every output has this tap: the same sums as the masked form
        else:
            out.addcmul_(tap, (counts > t).to(x.dtype).reshape(shape))  # times 0 or 1: exact
    return out.mul_((1.0 / counts.to(torch.float64)).to(x.dtype).reshape(shape))


def pixelate(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """PIL BOX downsample by ``factor`` (sizes truncated to int), then back to full size by
    copying (PIL NEAREST for the ImageNet table, BOX for CIFAR, which is nearest when upsampling)."""
    b, c, h, w = x.shape
    sh, sw = max(1, int(h * p["factor"])), max(1, int(w * p["factor"]))
    small = _box_down(_box_down(x, 2, sh), 3, sw)
    if p["upsample"] == "nearest":
        rows, cols = _nearest_taps(sh, h), _nearest_taps(sw, w)
    else:
        rows, cols = _pil_box_taps(sh, h)[0], _pil_box_taps(sw, w)[0]
    # Columns first (on the small rows), then whole rows: two copies by shared indices.
    wide = take(small, 3, _index(cols).to(x.device))
    return take(wide, 2, _index(rows).to(x.device))


def elastic_transform(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Smooth random displacement field sampled bilinearly (scipy map_coordinates, 'reflect').

    The CIFAR regime first applies the script's random affine warp (three jittered points,
    cv2.warpAffine with reflect101 borders).
    """
    b, c, h, w = x.shape
    if p["kind"] == "cifar":
        x = _random_affine(x, p["affine"], seeds)
        lo_hi, sigma, alpha = 1.0, (p["sigma"], p["sigma"]), p["alpha"]
    else:
        lo_hi, sigma, alpha = p["max_d"], p["sigma"], p["alpha"]
    fields = []
    for stream in (S_DX, S_DY):
        u = counter_rng.uniform(seeds, (1, h, w), stream).to(torch.float64) * 2.0 - 1.0
        fields.append(
            (gaussian(u * lo_hi, sigma, mode="symmetric", truncate=3.0) * alpha).to(torch.float32)
        )
    dx, dy = fields[0][:, 0], fields[1][:, 0]
    yy = torch.arange(h, device=x.device, dtype=torch.float32)[None, :, None] + dy
    xx = torch.arange(w, device=x.device, dtype=torch.float32)[None, None, :] + dx
    return _bilinear(x, yy, xx, "symmetric")


def _bilinear(x: torch.Tensor, yy: torch.Tensor, xx: torch.Tensor, mode: str) -> torch.Tensor:
    """Sample (B, C, H, W) at per-sample coordinates (B, H', W') bilinearly with index padding."""
    b, c, h, w = x.shape
    y0f, x0f = torch.floor(yy), torch.floor(xx)
    wy, wx = (yy - y0f)[:, None], (xx - x0f)[:, None]
    y0, x0 = y0f.to(torch.int64), x0f.to(torch.int64)

    def fold(i: torch.Tensor, n: int) -> torch.Tensor:
        if mode == "symmetric":
            j = i.remainder(2 * n)
            return torch.where(j >= n, 2 * n - 1 - j, j)
        if n == 1:
            return torch.zeros_like(i)
        j = i.remainder(2 * (n - 1))
        return torch.where(j >= n, 2 * (n - 1) - j, j)

    flat = x.reshape(b, c, h * w)
    out_shape = (b, c, *yy.shape[1:])
    rows0, rows1 = fold(y0, h) * w, fold(y0 + 1, h) * w
    cols0, cols1 = fold(x0, w), fold(x0 + 1, w)

    def at(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        idx = (rows + cols).reshape(b, 1, -1).expand(-1, c, -1)
        return flat.gather(2, idx).reshape(out_shape)

    top = at(rows0, cols0) * (1 - wx) + at(rows0, cols1) * wx
    bottom = at(rows1, cols0) * (1 - wx) + at(rows1, cols1) * wx
    return top * (1 - wy) + bottom * wy


def _random_affine(x: torch.Tensor, jitter: float, seeds: torch.Tensor) -> torch.Tensor:
    """make_cifar_c.py's random affine: three points jittered by U(-jitter, jitter)."""
    b, c, h, w = x.shape
    cy, cx = float(h // 2), float(w // 2)
    sq = float(min(h, w) // 3)
    src = torch.tensor(
        [[cx + sq, cy + sq], [cx + sq, cy - sq], [cx - sq, cy - sq]], dtype=torch.float64
    ).to(x.device)
    noise = counter_rng.uniform(seeds, (3, 2), S_AFFINE).to(torch.float64) * 2.0 - 1.0
    dst = src[None] + jitter * noise  # (B, 3, 2) as (x, y)
    # Inverse map: dst -> src (cv2.warpAffine samples src at M^-1 (x, y)).
    ones = torch.ones(b, 3, 1, dtype=torch.float64, device=x.device)
    a = torch.cat((dst, ones), dim=2)  # (B, 3, 3)
    inv = torch.linalg.solve(a, src[None].expand(b, -1, -1))  # (B, 3, 2): [x y 1] @ inv = src
    gy, gx = torch.meshgrid(
        torch.arange(h, dtype=torch.float64, device=x.device),
        torch.arange(w, dtype=torch.float64, device=x.device),
        indexing="ij",
    )
    grid = torch.stack((gx, gy, torch.ones_like(gx)), dim=-1).reshape(1, h * w, 3)
    mapped = grid @ inv  # (B, HW, 2)
    xs = mapped[..., 0].reshape(b, h, w).to(torch.float32)
    ys = mapped[..., 1].reshape(b, h, w).to(torch.float32)
    return _bilinear(x, ys, xs, "reflect101")
