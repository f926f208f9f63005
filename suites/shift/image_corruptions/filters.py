"""Batch-invariant filters shared by the corruption families: index padding, separable and 2-D
correlations written as fixed-order sums of shifted slices, and scipy/skimage's Gaussian.

A sample gets the same bits alone or in any batch: no library convolution (they pick algorithms
by batch size), see docs/corruptions.md.
"""

from __future__ import annotations

import torch


def pad_index(n: int, before: int, after: int, mode: str, device: torch.device) -> torch.Tensor:
    """Source indices for padding a length-``n`` axis; any pad width, any ``n >= 1``.

    Modes: ``edge`` (scipy 'nearest'), ``reflect101`` (cv2 default, torch 'reflect'),
    ``symmetric`` (scipy/skimage 'reflect': the edge sample is repeated).
    """
    i = torch.arange(-before, n + after, device=device)
    if mode == "edge" or n == 1:
        return i.clamp(0, n - 1)
    if mode == "reflect101":
        period = 2 * (n - 1)
        j = i.remainder(period)
        return torch.where(j >= n, period - j, j)
    if mode == "symmetric":
        period = 2 * n
        j = i.remainder(period)
        return torch.where(j >= n, period - 1 - j, j)
    raise ValueError(f"unknown pad mode {mode!r}")


def pad2d(x: torch.Tensor, ph: int, pw: int, mode: str) -> torch.Tensor:
    """Pad the last two axes by ``ph`` rows and ``pw`` columns on each side."""
    if ph:
        x = x.index_select(-2, pad_index(x.shape[-2], ph, ph, mode, x.device))
    if pw:
        x = x.index_select(-1, pad_index(x.shape[-1], pw, pw, mode, x.device))
    return x


def gaussian_kernel1d(sigma: float, truncate: float) -> torch.Tensor:
    """scipy.ndimage's normalised 1-D Gaussian (radius ``int(truncate * sigma + 0.5)``), float64."""
    radius = int(truncate * float(sigma) + 0.5)
    if sigma <= 0 or radius == 0:
        return torch.ones(1, dtype=torch.float64)
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def depthwise(planes: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Correlate each plane (N, 1, H, W) with one 2-D kernel ("valid" output), tap by tap.

    An explicit weighted sum of shifted slices in a fixed order, rather than a convolution
    primitive: library convolutions pick algorithms by batch size (grouped and plain convolutions
    gave last-bit differences between a sample alone and in a batch), which would break the
    bit-identical-per-sample guarantee.
    """
    kh, kw = kernel.shape[-2:]
    kernel = kernel.reshape(kh, kw)
    n, _, h, w = planes.shape
    oh, ow = h - kh + 1, w - kw + 1
    values = kernel.tolist()
    taps = [(i, j, values[i][j]) for i in range(kh) for j in range(kw) if values[i][j] != 0]
    if not taps:
        return planes.new_zeros(n, 1, oh, ow)
    # In place into two preallocated buffers (fresh large tensors cost page faults); the same
    # roundings as ``out = out + k * slice`` (no fused multiply-add, which the vectorised and
    # scalar-tail CPU paths would round differently).
    i, j, k = taps[0]
    out = torch.mul(planes[:, :, i : i + oh, j : j + ow], k)
    term = torch.empty_like(out)
    for i, j, k in taps[1:]:
        out.add_(torch.mul(planes[:, :, i : i + oh, j : j + ow], k, out=term))
    return out


def separable(x: torch.Tensor, ky: torch.Tensor, kx: torch.Tensor, mode: str) -> torch.Tensor:
    """Correlate every (B, C) plane of ``x`` with ``ky`` along H and ``kx`` along W."""
    b, c, h, w = x.shape
    planes = x.reshape(b * c, 1, h, w)
    ry, rx = (ky.numel() - 1) // 2, (kx.numel() - 1) // 2
    if ry:
        planes = depthwise(pad2d(planes, ry, 0, mode), ky.reshape(-1, 1))
    if rx:
        planes = depthwise(pad2d(planes, 0, rx, mode), kx.reshape(1, -1))
    return planes.reshape(b, c, h, w)


def gaussian(
    x: torch.Tensor,
    sigma: float | tuple[float, float],
    *,
    mode: str = "edge",
    truncate: float = 4.0,
) -> torch.Tensor:
    """``skimage.filters.gaussian`` on each channel (default mode 'nearest' = edge)."""
    sy, sx = (sigma, sigma) if isinstance(sigma, int | float) else sigma
    return separable(x, gaussian_kernel1d(sy, truncate), gaussian_kernel1d(sx, truncate), mode)
