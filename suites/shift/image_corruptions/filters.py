"""Batch-invariant filters shared by the corruption families: index padding, separable and 2-D
correlations written as fixed-order sums of shifted slices, and scipy/skimage's Gaussian.

A sample gets the same bits alone or in any batch: no library convolution (they pick algorithms
by batch size), see docs/corruptions.md. Large kernels go through FFTs of a fixed number of image
planes per call (`FFT_CHUNK`, the last chunk padded with zero planes): every plane goes through
a call of the same shape whatever the batch, so the library cannot pick another algorithm for it
(a batched FFT whose size followed the batch once gave other bits for a plane than the plane
alone); measured 2x faster per plane than one plane per call at 32 px, 10% at 224 px.
"""

from __future__ import annotations

import functools
import math

import torch

FFT_MIN_TAPS = 49
"""Kernels with at least this many taps (7 x 7) are applied by FFT, smaller ones tap by tap."""
FFT_MIN_PIXELS = 64 * 64
"""Separable kernels go through the FFT only on planes this large: on small images the per-plane
FFT calls cost more than the (few) separable taps. Size and kernel decide, never the batch."""
FFT_MIN_TAPS_SMALL = 100
"""On planes smaller than `FFT_MIN_PIXELS`, 2-D kernels with at least this many non-zero taps go
through the FFT (timed on one thread with `FFT_CHUNK` planes per call, defocus disks of the
ImageNet table on 64 photo crops: the FFT wins from about 60 non-zero taps at 32 and 48 px, from
about 100 at 16 px)."""
FFT_CHUNK = 8
"""Planes per FFT call (see the module note)."""


def pad_index(n: int, before: int, after: int, mode: str, device: torch.device) -> torch.Tensor:
    """Source indices for padding a length-``n`` axis; any pad width, any ``n >= 1``.

    Modes: ``edge`` (scipy 'nearest'), ``reflect101`` (cv2 default, torch 'reflect'),
    ``symmetric`` (scipy/skimage 'reflect': the edge sample is repeated).
    """
    i = torch.arange(-before, n + after, device=device)
    if mode == "constant0":  # index n stands for a zero appended by `pad2d`
        return torch.where((i < 0) | (i >= n), n, i)
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


def take(
    x: torch.Tensor, dim: int, index: torch.Tensor, out: torch.Tensor | None = None
) -> torch.Tensor:
    """``x.index_select(dim, index)`` through a 2-D or 3-D view with ``dim`` in the middle: the
    same copied values, several times faster on CPU than selecting along an inner axis of a 4-D
    tensor (measured 5x on the last axis, 3x on the one before). ``out``: a contiguous tensor of
    the result's shape to write into (reusing one saves the page faults of a fresh one)."""
    dim = dim % x.dim()
    shape = x.shape
    before = math.prod(shape[:dim])
    after = math.prod(shape[dim + 1 :])
    view = x.reshape(before, shape[dim]) if after == 1 else x.reshape(before, shape[dim], after)
    result_shape = (*shape[:dim], index.numel(), *shape[dim + 1 :])
    if out is None:
        return view.index_select(1, index).reshape(result_shape)
    flat_out = out.view(before, index.numel()) if after == 1 else out.view(before, -1, after)
    torch.index_select(view, 1, index, out=flat_out)
    return out


class PixelSource:
    """The pixels of a (B, C, H, W) batch as one flat row per pixel, for per-pixel gathers that
    copy every channel at once: ``select`` takes flat pixel indices (``(b * H + y) * W + x``,
    int32 or int64) and returns (B, N, K), the channels last. Float32 with 2-4 channels is
    zero-padded to K = 4 and each pixel moved as one complex128 (16 bytes; measured 2-3x faster at
    32 px than a gather of each channel); one channel is a flat vector (K = 1). Pure copies: the
    values are the input's bits."""

    def __init__(self, x: torch.Tensor) -> None:
        b, c, h, w = x.shape
        self.batch, self.channels, self.height, self.width = b, c, h, w
        self.packed = x.dtype == torch.float32 and 1 < c <= 4
        if self.packed:
            self.k = 4
            padded = x.new_zeros(b, h, w, 4)
            padded[..., :c] = x.permute(0, 2, 3, 1)
            self.rows = padded.view(torch.complex128).reshape(b * h * w)
        elif c == 1:
            self.k = 1
            self.rows = x.reshape(b * h * w)  # 1-D: index_select's fast path
        else:
            self.k = c
            self.rows = x.permute(0, 2, 3, 1).reshape(b * h * w, c)

    def select(self, index: torch.Tensor) -> torch.Tensor:
        picked = self.rows.index_select(0, index.reshape(-1))
        if self.packed:
            picked = picked.view(torch.float32)
        return picked.reshape(self.batch, -1, self.k)

    def to_planes(self, rows: torch.Tensor) -> torch.Tensor:
        """(B, H * W, K) rows from `select` back to (B, C, H, W)."""
        b, c, h, w = self.batch, self.channels, self.height, self.width
        return rows[..., :c].reshape(b, h, w, c).permute(0, 3, 1, 2).contiguous()


def pad2d(x: torch.Tensor, ph: int, pw: int, mode: str) -> torch.Tensor:
    """Pad the last two axes by ``ph`` rows and ``pw`` columns on each side (``constant0``:
    zeros)."""
    if mode == "constant0":
        return torch.nn.functional.pad(x, (pw, pw, ph, ph))
    if ph:
        x = take(x, -2, pad_index(x.shape[-2], ph, ph, mode, x.device))
    if pw:
        x = take(x, -1, pad_index(x.shape[-1], pw, pw, mode, x.device))
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


@functools.lru_cache(maxsize=64)
def good_fft_size(n: int) -> int:
    """The smallest m >= n whose prime factors are 2, 3, 5 and 7 (fast FFT lengths)."""
    m = n
    while True:
        r = m
        for p in (2, 3, 5, 7):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 1


def correlate_fft(x: torch.Tensor, kernel: torch.Tensor, mode: str) -> torch.Tensor:
    """Correlate every (B, C) plane of ``x`` with a 2-D kernel (odd sides), borders by ``mode``,
    via real FFTs of `FFT_CHUNK` planes at a time (see the module note)."""
    b, c, h, w = x.shape
    kh, kw = kernel.shape[-2:]
    ry, rx = (kh - 1) // 2, (kw - 1) // 2
    padded = pad2d(x.reshape(b * c, h, w), ry, rx, mode)
    size = (good_fft_size(h + 2 * ry), good_fft_size(w + 2 * rx))
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    flipped = kernel.reshape(kh, kw).flip(0, 1).to(device=x.device, dtype=dtype)
    kf = torch.fft.rfft2(flipped, s=size)
    n = b * c
    out = torch.empty(n, h, w, dtype=dtype, device=x.device)
    chunk = padded.new_zeros(FFT_CHUNK, *padded.shape[1:], dtype=dtype)
    for start in range(0, n, FFT_CHUNK):
        stop = min(start + FFT_CHUNK, n)
        if stop - start < FFT_CHUNK:
            chunk.zero_()
        chunk[: stop - start] = padded[start:stop]
        full = torch.fft.irfft2(torch.fft.rfft2(chunk, s=size) * kf, s=size)
        out[start:stop] = full[: stop - start, 2 * ry : 2 * ry + h, 2 * rx : 2 * rx + w]
    return out.reshape(b, c, h, w).to(x.dtype)


def separable(x: torch.Tensor, ky: torch.Tensor, kx: torch.Tensor, mode: str) -> torch.Tensor:
    """Correlate every (B, C) plane of ``x`` with ``ky`` along H and ``kx`` along W."""
    b, c, h, w = x.shape
    big = h * w >= FFT_MIN_PIXELS and ky.numel() * kx.numel() >= FFT_MIN_TAPS
    if big and ky.numel() > 1 and kx.numel() > 1:
        return correlate_fft(x, ky.reshape(-1, 1) * kx.reshape(1, -1), mode)
    planes = x.reshape(b * c, 1, h, w)
    ry, rx = (ky.numel() - 1) // 2, (kx.numel() - 1) // 2
    if ry:
        planes = _line(pad2d(planes, ry, 0, mode), ky, -2)
    if rx:
        planes = _line(pad2d(planes, 0, rx, mode), kx, -1)
    return planes.reshape(b, c, h, w)


def _line(planes: torch.Tensor, kernel: torch.Tensor, dim: int) -> torch.Tensor:
    """Correlate padded planes with a 1-D kernel along ``dim`` ("valid" output). A symmetric
    kernel (every Gaussian, the box) adds each pair of mirrored slices before its one multiply,
    the centre tap first, then the pairs from the outermost in: three elementwise passes per pair
    instead of four (about 25% less time); any other kernel goes tap by tap (`depthwise`)."""
    values = kernel.reshape(-1).tolist()
    size = len(values)
    if values != values[::-1]:
        shape = (-1, 1) if dim == -2 else (1, -1)
        return depthwise(planes, kernel.reshape(shape))
    r = size // 2
    n = planes.shape[dim] - size + 1

    def tap(i: int) -> torch.Tensor:
        return planes.narrow(dim, i, n)

    out = torch.mul(tap(r), values[r])
    term = torch.empty_like(out)
    for j in range(r, 0, -1):
        if values[r + j] == 0:
            continue
        torch.add(tap(r - j), tap(r + j), out=term)
        out.add_(term.mul_(values[r + j]))
    return out


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


def fixed_sum(x: torch.Tensor, start_dim: int) -> torch.Tensor:
    """Sum over the dims from ``start_dim`` on by pairwise halving (elementwise adds in a fixed
    order): the same bits whatever the batch or thread count, unlike library reductions, which
    split large sums by thread. Keeps the summed dims as size 1."""
    shape = x.shape
    flat = x.reshape(*shape[:start_dim], -1)
    n = flat.shape[-1]
    size = 1 << max(n - 1, 0).bit_length()
    if size != n:
        flat = torch.cat((flat, flat.new_zeros(*flat.shape[:-1], size - n)), dim=-1)
    while flat.shape[-1] > 1:
        half = flat.shape[-1] // 2
        flat = flat[..., :half] + flat[..., half:]
    return flat.reshape(*shape[:start_dim], *([1] * (len(shape) - start_dim)))


def fixed_mean(x: torch.Tensor, start_dim: int) -> torch.Tensor:
    """Mean over the dims from ``start_dim`` on, in a fixed order (see `fixed_sum`)."""
    count = 1
    for n in x.shape[start_dim:]:
        count *= n
    return fixed_sum(x, start_dim) / count
