"""Batched, on-device ImageNet-C family image corruptions (Hendrycks & Dietterich, 2019).

The 15 ImageNet-C corruptions and the 4 extra ("validation") ones, at severities 1..5, written as
batched torch operations that run on whatever device the images live on. Definitions and
parameters follow the reference code (the ``imagecorruptions`` package for ImageNet-sized inputs,
``make_cifar_c.py`` for small ones); see ``docs/corruptions.md`` for the size-scaling rule and the
list of known deviations.

Randomness comes only from the per-sample ``seeds`` through the counter-based generator in
``suites.counter_rng``: a sample gets bit-identical output alone or inside any batch, on a rerun,
a resumed run, and regardless of global RNG state.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from suites import counter_rng

logger = logging.getLogger(__name__)

__all__ = [
    "CORRUPTIONS",
    "SEVERITIES",
    "Regime",
    "UnknownCorruptionError",
    "corrupt",
    "resolve_params",
    "resolve_regime",
]

CORRUPTIONS: tuple[str, ...] = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
    "speckle_noise",
    "gaussian_blur",
    "spatter",
    "saturate",
)
"""The 19 corruption names: ImageNet-C order (15), then the 4 extras."""

SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)

Regime = Literal["cifar", "imagenet"]
"""Which published parameter table applies: CIFAR-10-C (32 px) or ImageNet-C (224 px)."""

# Inputs whose shorter side is below this use the CIFAR-10-C table, others the ImageNet-C table.
REGIME_THRESHOLD_PX = 128
_REFERENCE_SIZE: Mapping[str, int] = MappingProxyType({"cifar": 32, "imagenet": 224})

_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as cv2.COLOR_RGB2GRAY and libjpeg use.


class UnknownCorruptionError(ValueError):
    """An unknown corruption name or a severity outside 1..5 (a user error)."""


def _zoom_factors(stop: float, step: float) -> tuple[float, ...]:
    """Zoom factors exactly as the reference builds them (``np.arange(1, stop, step)``)."""
    return tuple(float(v) for v in np.arange(1, stop, step))


# Parameter tables, one tuple per severity, copied from the reference scripts. Spatial entries
# (in pixels) are rescaled in `resolve_params`; see docs/corruptions.md.
_TABLES: Mapping[str, Mapping[str, tuple[Any, ...]]] = MappingProxyType(
    {
        "imagenet": MappingProxyType(
            {
                "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),
                "shot_noise": (60, 25, 12, 5, 3),
                "impulse_noise": (0.03, 0.06, 0.09, 0.17, 0.27),
                "speckle_noise": (0.15, 0.2, 0.35, 0.45, 0.6),
                "gaussian_blur": (1, 2, 3, 4, 6),
                "glass_blur": ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)),
                "defocus_blur": ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
                "motion_blur": ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)),
                "zoom_blur": (
                    _zoom_factors(1.11, 0.01),
                    _zoom_factors(1.16, 0.01),
                    _zoom_factors(1.21, 0.02),
                    _zoom_factors(1.26, 0.02),
                    _zoom_factors(1.31, 0.03),
                ),
                "snow": (
                    (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
                    (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
                    (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
                    (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
                    (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
                ),
                "frost": ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)),
                "fog": ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)),
                "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),
                "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),
                # alpha (x image height in px / 224 handled by the formula), see _elastic.
                "elastic_transform": (
                    250 * 0.05,
                    250 * 0.065,
                    250 * 0.085,
                    250 * 0.1,
                    250 * 0.12,
                ),
                "pixelate": (0.6, 0.5, 0.4, 0.3, 0.25),
                "jpeg_compression": (25, 18, 15, 10, 7),
                "spatter": (
                    (0.65, 0.3, 4, 0.69, 0.6, 0),
                    (0.65, 0.3, 3, 0.68, 0.6, 0),
                    (0.65, 0.3, 2, 0.68, 0.5, 0),
                    (0.65, 0.3, 1, 0.65, 1.5, 1),
                    (0.67, 0.4, 1, 0.65, 1.5, 1),
                ),
                "saturate": ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)),
            }
        ),
        "cifar": MappingProxyType(
            {
                "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
                "shot_noise": (500, 250, 100, 75, 50),
                "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),
                "speckle_noise": (0.06, 0.1, 0.12, 0.16, 0.2),
                "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1),
                "glass_blur": (
                    (0.05, 1, 1),
                    (0.25, 1, 1),
                    (0.4, 1, 1),
                    (0.25, 1, 2),
                    (0.4, 1, 2),
                ),
                "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
                "motion_blur": ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)),
                "zoom_blur": (
                    _zoom_factors(1.06, 0.01),
                    _zoom_factors(1.11, 0.01),
                    _zoom_factors(1.16, 0.01),
                    _zoom_factors(1.21, 0.01),
                    _zoom_factors(1.26, 0.01),
                ),
                "snow": (
                    (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
                    (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
                    (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
                    (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
                    (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
                ),
                "frost": ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
                "fog": ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),
                "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),
                "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
                # (alpha, sigma, affine) as fractions of the image size (IMSIZE in the script).
                "elastic_transform": (
                    (0.0, 0.0, 0.08),
                    (0.05, 0.2, 0.07),
                    (0.08, 0.06, 0.06),
                    (0.1, 0.04, 0.05),
                    (0.1, 0.03, 0.03),
                ),
                "pixelate": (0.95, 0.9, 0.85, 0.75, 0.65),
                "jpeg_compression": (80, 65, 58, 50, 40),
                "spatter": (
                    (0.62, 0.1, 0.7, 0.7, 0.5, 0),
                    (0.65, 0.1, 0.8, 0.7, 0.5, 0),
                    (0.65, 0.3, 1, 0.69, 0.5, 0),
                    (0.65, 0.1, 0.7, 0.69, 0.6, 1),
                    (0.65, 0.1, 0.5, 0.68, 0.6, 1),
                ),
                "saturate": ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)),
            }
        ),
    }
)

# Per-channel (R, G, B) mean and standard deviation of the reference frost photos 1-5 (the ones
# its `np.random.randint(5)` can pick), measured once; the procedural frost matches these moments.
_FROST_PLATES: tuple[tuple[tuple[float, float, float], tuple[float, float, float]], ...] = (
    ((0.305, 0.585, 0.650), (0.106, 0.065, 0.060)),
    ((0.787, 0.805, 0.841), (0.084, 0.087, 0.089)),
    ((0.787, 0.805, 0.841), (0.084, 0.087, 0.089)),
    ((0.540, 0.599, 0.648), (0.112, 0.112, 0.117)),
    ((0.441, 0.484, 0.528), (0.174, 0.170, 0.163)),
)

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

# Stream ids for counter_rng: one per independent draw, so draws never share numbers.
_S_NOISE, _S_FLIP, _S_SALT, _S_ANGLE, _S_PICK, _S_CROP = 1, 2, 3, 4, 5, 6
_S_AFFINE, _S_DX, _S_DY, _S_GLASS, _S_FRACTAL, _S_TEXTURE = 7, 8, 9, 100, 200, 300


# ----------------------------------------------------------------------------------------------
# Parameter resolution (the single place where sizes change parameters)
# ----------------------------------------------------------------------------------------------


def resolve_regime(height: int, width: int) -> Regime:
    """The parameter table for an input size: CIFAR-10-C below 128 px (shorter side), else ImageNet-C."""
    return "cifar" if min(height, width) < REGIME_THRESHOLD_PX else "imagenet"


def resolve_params(
    name: str,
    severity: int,
    height: int,
    width: int,
    *,
    regime: Regime | None = None,
    scale: float | None = None,
) -> dict[str, Any]:
    """The concrete parameters ``corrupt`` uses for this corruption, severity and input size.

    ``regime`` picks the published table (default: by size, see `resolve_regime`); ``scale``
    multiplies every spatial parameter given in pixels (default: shorter side divided by the
    table's reference size, 32 or 224). Overriding both reproduces the reference exactly at any
    size, which is what the fidelity tests do.
    """
    _check_name_severity(name, severity)
    regime = regime if regime is not None else resolve_regime(height, width)
    if scale is None:
        scale = min(height, width) / _REFERENCE_SIZE[regime]
    c = _TABLES[regime][name][severity - 1]
    p: dict[str, Any] = {"regime": regime, "scale": scale}
    if name in ("gaussian_noise", "speckle_noise", "impulse_noise", "contrast", "brightness"):
        p["c"] = float(c)
    elif name == "shot_noise":
        p["rate"] = float(c)
    elif name == "gaussian_blur":
        p["sigma"] = float(c) * scale
    elif name == "glass_blur":
        p.update(sigma=c[0] * scale, delta=max(1, round(c[1] * scale)), iterations=int(c[2]))
    elif name == "defocus_blur":
        p.update(radius=c[0] * scale, alias_blur=c[1] * scale)
    elif name == "motion_blur":
        p.update(radius=max(1, round(c[0] * scale)), sigma=c[1] * scale)
    elif name == "zoom_blur":
        p["zooms"] = tuple(c)
    elif name == "snow":
        p.update(
            loc=c[0],
            std=c[1],
            zoom=float(c[2]),
            threshold=c[3],
            radius=max(1, round(c[4] * scale)),
            sigma=c[5] * scale,
            mix=c[6],
        )
    elif name == "frost":
        p.update(image_weight=float(c[0]), frost_weight=float(c[1]))
    elif name == "fog":
        p.update(strength=float(c[0]), decay=float(c[1]))
    elif name == "elastic_transform":
        if regime == "imagenet":
            # imagecorruptions: sigma = 1% of each side, displacement drawn in +-0.5% of the height.
            p.update(
                kind="imagecorruptions",
                alpha=float(c),
                sigma=(height * 0.01, width * 0.01),
                max_d=height * 0.005,
            )
        else:
            size = _REFERENCE_SIZE[regime] * scale  # IMSIZE, rescaled
            p.update(kind="cifar", alpha=size * c[0], sigma=size * c[1], affine=size * c[2])
    elif name == "pixelate":
        p["factor"] = float(c)
        p["upsample"] = "nearest" if regime == "imagenet" else "box"
    elif name == "jpeg_compression":
        p["quality"] = int(c)
    elif name == "spatter":
        p.update(
            loc=c[0],
            std=c[1],
            sigma=c[2] * scale,
            threshold=c[3],
            intensity=c[4],
            mud=bool(c[5]),
            mud_sigma=c[4] * scale,
        )
    elif name == "saturate":
        p.update(factor=float(c[0]), offset=float(c[1]))
    return p


def _check_name_severity(name: str, severity: int) -> None:
    """Raise UnknownCorruptionError for an unknown name or a severity outside 1..5."""
    if name not in CORRUPTIONS:
        close = difflib.get_close_matches(str(name), CORRUPTIONS, n=3)
        hint = f" Did you mean {', '.join(repr(n) for n in close)}?" if close else ""
        raise UnknownCorruptionError(
            f"unknown corruption {name!r}.{hint} Valid names: {', '.join(CORRUPTIONS)}"
        )
    if isinstance(severity, bool) or not isinstance(severity, int | np.integer):
        raise UnknownCorruptionError(f"severity must be an integer in 1..5, got {severity!r}")
    if int(severity) not in SEVERITIES:
        raise UnknownCorruptionError(f"severity must be an integer in 1..5, got {severity}")


# ----------------------------------------------------------------------------------------------
# Public entry point
# ----------------------------------------------------------------------------------------------


def corrupt(
    images: torch.Tensor,
    name: str,
    severity: int,
    seeds: torch.Tensor,
    *,
    regime: Regime | None = None,
    scale: float | None = None,
) -> torch.Tensor:
    """Apply corruption ``name`` at ``severity`` (1..5) to a batch of images.

    Args:
        images: float32 ``(B, C, H, W)`` in [0, 1] with C in {1, 3} and H, W >= 8, on any device.
        name: one of `CORRUPTIONS`.
        severity: 1..5.
        seeds: int64 ``(B,)``, one seed per sample (derive it from run seed, sample id, corruption
            and severity); the only source of randomness.
        regime, scale: override the size rule of `resolve_params` (for experiments and tests).

    Returns:
        A new tensor with the same shape, dtype and device, clipped to [0, 1].
    """
    _check_name_severity(name, severity)
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a 4-D (B, C, H, W) tensor, got shape {shape}")
    b, c, h, w = images.shape
    if c not in (1, 3):
        raise ValueError(
            f"images must have 1 or 3 channels (B, C, H, W), got shape {tuple(images.shape)}"
        )
    if h < 8 or w < 8:
        raise ValueError(f"images must be at least 8x8, got shape {tuple(images.shape)}")
    if not images.dtype.is_floating_point:
        raise ValueError(f"images must be floating point in [0, 1], got dtype {images.dtype}")
    seeds = torch.as_tensor(seeds)
    if seeds.dtype != torch.int64 or seeds.shape != (b,):
        raise ValueError(
            f"seeds must be an int64 tensor of shape ({b},), got {seeds.dtype} {tuple(seeds.shape)}"
        )
    seeds = seeds.to(images.device)
    params = resolve_params(name, int(severity), h, w, regime=regime, scale=scale)
    x = images.to(torch.float32)
    if b == 0:
        return images.clone()
    # Inference mode skips autograd bookkeeping on the hundreds of small ops some corruptions
    # run; the clone outside it returns an ordinary tensor that callers may use in autograd.
    with torch.inference_mode():
        out = _IMPLEMENTATIONS[name](x, params, seeds).clamp_(0.0, 1.0)
    return out.clone().to(images.dtype)


# ----------------------------------------------------------------------------------------------
# Shared building blocks
# ----------------------------------------------------------------------------------------------


def _pad_index(n: int, before: int, after: int, mode: str, device: torch.device) -> torch.Tensor:
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


def _pad2d(x: torch.Tensor, ph: int, pw: int, mode: str) -> torch.Tensor:
    """Pad the last two axes by ``ph`` rows and ``pw`` columns on each side."""
    if ph:
        x = x.index_select(-2, _pad_index(x.shape[-2], ph, ph, mode, x.device))
    if pw:
        x = x.index_select(-1, _pad_index(x.shape[-1], pw, pw, mode, x.device))
    return x


def _gaussian_kernel1d(sigma: float, truncate: float) -> torch.Tensor:
    """scipy.ndimage's normalised 1-D Gaussian (radius ``int(truncate * sigma + 0.5)``), float64."""
    radius = int(truncate * float(sigma) + 0.5)
    if sigma <= 0 or radius == 0:
        return torch.ones(1, dtype=torch.float64)
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def _depthwise(planes: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
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


def _separable(x: torch.Tensor, ky: torch.Tensor, kx: torch.Tensor, mode: str) -> torch.Tensor:
    """Correlate every (B, C) plane of ``x`` with ``ky`` along H and ``kx`` along W."""
    b, c, h, w = x.shape
    planes = x.reshape(b * c, 1, h, w)
    ry, rx = (ky.numel() - 1) // 2, (kx.numel() - 1) // 2
    if ry:
        planes = _depthwise(_pad2d(planes, ry, 0, mode), ky.reshape(-1, 1))
    if rx:
        planes = _depthwise(_pad2d(planes, 0, rx, mode), kx.reshape(1, -1))
    return planes.reshape(b, c, h, w)


def _gaussian(
    x: torch.Tensor,
    sigma: float | tuple[float, float],
    *,
    mode: str = "edge",
    truncate: float = 4.0,
) -> torch.Tensor:
    """``skimage.filters.gaussian`` on each channel (default mode 'nearest' = edge)."""
    sy, sx = (sigma, sigma) if isinstance(sigma, int | float) else sigma
    return _separable(x, _gaussian_kernel1d(sy, truncate), _gaussian_kernel1d(sx, truncate), mode)


def _luma(x: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma of an RGB batch, keeping a channel axis: (B, 3, H, W) -> (B, 1, H, W)."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return _LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b


def _via_rgb(
    fn: Callable[[torch.Tensor, dict[str, Any], torch.Tensor], torch.Tensor],
) -> Callable[[torch.Tensor, dict[str, Any], torch.Tensor], torch.Tensor]:
    """Run a colour corruption on grayscale input: replicate to RGB, corrupt, take luma."""

    def wrapped(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 3:
            return fn(x, p, seeds)
        return _luma(fn(x.expand(-1, 3, -1, -1).contiguous(), p, seeds).clamp(0.0, 1.0))

    wrapped.__doc__ = fn.__doc__
    return wrapped


def _per_sample_uniform(seeds: torch.Tensor, stream: int) -> torch.Tensor:
    """One uniform (0, 1) float per sample, shape (B,)."""
    return counter_rng.uniform(seeds, (1,), stream)[:, 0]


# ----------------------------------------------------------------------------------------------
# Noise
# ----------------------------------------------------------------------------------------------


def _gaussian_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """x + N(0, c^2) per element."""
    return x + p["c"] * counter_rng.normal(seeds, tuple(x.shape[1:]), _S_NOISE)


def _shot_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Poisson(x * rate) / rate per element, exact Poisson by CDF inversion.

    Pixels holding an 8-bit level (``x == j / 255`` in float32, as decoded images are) read the
    CDF from a table of the 256 possible rates; any other value takes the general path.
    """
    rate = p["rate"]
    levels = torch.arange(256, dtype=torch.float32, device=x.device) / 255.0
    return counter_rng.poisson(seeds, x * rate, _S_NOISE, table_rates=levels * rate) / rate


def _impulse_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """skimage 's&p': each element flips with prob c, to 1 or 0 with prob 1/2 each."""
    shape = tuple(x.shape[1:])
    flipped = counter_rng.uniform(seeds, shape, _S_FLIP) <= p["c"]
    salted = counter_rng.uniform(seeds, shape, _S_SALT) <= 0.5
    out = torch.where(flipped & salted, torch.ones_like(x), x)
    return torch.where(flipped & ~salted, torch.zeros_like(x), out)


def _speckle_noise(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """x + x * N(0, c^2) per element."""
    return x + x * (p["c"] * counter_rng.normal(seeds, tuple(x.shape[1:]), _S_NOISE))


# ----------------------------------------------------------------------------------------------
# Blur
# ----------------------------------------------------------------------------------------------


def _gaussian_blur(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """skimage gaussian (truncate 4, mode 'nearest') per channel."""
    return _gaussian(x, p["sigma"])


def _cv2_gaussian_kernel(ksize: int, sigma: float) -> torch.Tensor:
    """cv2.getGaussianKernel for sigma > 0 (float64)."""
    t = torch.arange(ksize, dtype=torch.float64) - (ksize - 1) / 2
    k = torch.exp(-(t**2) / (2 * sigma**2)) if sigma > 0 else (t == 0).to(torch.float64)
    return k / k.sum()


def _disk_kernel(radius: float, alias_blur: float) -> torch.Tensor:
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
    disk = _separable(disk[None, None], g, g, "reflect101")[0, 0]
    nz = torch.nonzero(disk.abs() > 0)
    r = int(max(abs(nz - half).max().item(), 0))
    return disk[half - r : half + r + 1, half - r : half + r + 1]


def _defocus_blur(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """cv2.filter2D of every channel with the anti-aliased disk (border reflect101)."""
    kernel = _disk_kernel(p["radius"], p["alias_blur"]).to(x)
    r = (kernel.shape[0] - 1) // 2
    b, c, h, w = x.shape
    planes = _pad2d(x.reshape(b * c, 1, h, w), r, r, "reflect101")
    return _depthwise_grouped(planes, kernel).reshape(b, c, h, w)


def _depthwise_grouped(planes: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """`_depthwise` for kernels with many equal weights (the disk): the slices sharing a weight
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


def _glass_blur(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Gaussian blur, 8-bit quantisation, local pixel swaps, Gaussian blur again.

    The reference swaps pixel (h, w) with a random neighbour (dy, dx in [-d, d-1]) for every
    interior pixel in raster order. Swaps whose anchors share ``(h mod 2d+1, w mod 2d+1)`` touch
    disjoint pixels, so we run them together: (2d+1)^2 parallel phases per iteration, each one a
    gather and a scatter. Same swap distribution per pixel; only the order of the swaps differs.
    """
    sigma, d, iterations = p["sigma"], p["delta"], p["iterations"]
    b, c, h, w = x.shape
    x = torch.floor(_gaussian(x, sigma) * 255.0) / 255.0
    # The swaps only move pixels, so track where each pixel comes from (B, H*W) and gather the
    # channels once at the end: same result as swapping values, a fraction of the work.
    perm = torch.arange(h * w, device=x.device).expand(b, -1).clone()
    m = 2 * d + 1
    hs = torch.arange(d + 1, h - d + 1, device=x.device)
    ws = torch.arange(d + 1, w - d + 1, device=x.device)
    phases = []  # anchor indices of each phase, and where each phase starts in their concatenation
    for rh in range(m):
        for rw in range(m):
            hh, ww = hs[hs % m == rh], ws[ws % m == rw]
            if hh.numel() and ww.numel():
                phases.append((hh[:, None] * w + ww[None, :]).reshape(-1))
    anchors = torch.cat(phases) if phases else hs.new_zeros(0)
    bounds = np.cumsum([0] + [len(ph) for ph in phases]).tolist()
    for it in range(iterations):
        shifts = counter_rng.randint(seeds, -d, d, (2, h, w), _S_GLASS + it)
        offsets = (shifts[:, 0] * w + shifts[:, 1]).reshape(b, h * w)
        partners = offsets.index_select(1, anchors).add_(anchors)  # (B, all anchors)
        for k, idx_p in enumerate(phases):
            idx_q = partners[:, bounds[k] : bounds[k + 1]]
            vp = perm.index_select(1, idx_p)
            vq = perm.gather(1, idx_q)
            perm.index_copy_(1, idx_p, vq)
            perm.scatter_(1, idx_q, vp)
    flat = x.reshape(b, c, h * w).gather(2, perm[:, None, :].expand(-1, c, -1))
    return _gaussian(flat.reshape(b, c, h, w), sigma)


def _motion_kernel(radius: int, sigma: float) -> tuple[int, list[float]]:
    """ImageMagick's one-sided Gaussian motion kernel (width 2r+1), as imagecorruptions builds it."""
    width = 2 * radius + 1
    t = np.arange(width, dtype=np.float64)
    k = np.exp(-(t**2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)
    return width, (k / k.sum()).tolist()


def _motion_blur_layer(
    x: torch.Tensor, radius: int, sigma: float, angle_deg: torch.Tensor
) -> torch.Tensor:
    """Sum of edge-clamped shifted copies along a per-sample angle (imagecorruptions `_motion_blur`)."""
    b, c, h, w = x.shape
    width, kernel = _motion_kernel(radius, sigma)
    theta = torch.deg2rad(angle_deg.to(torch.float64))
    sin, cos = torch.sin(theta), torch.cos(theta)
    rows = torch.arange(h, device=x.device)
    cols = torch.arange(w, device=x.device)
    flat = x.reshape(b, c, h * w)
    # Every tap's per-sample shift at once (B, width); a tap whose shift leaves the image stops
    # that sample's kernel there, as the reference's loop does.
    i = torch.arange(width, dtype=torch.float64, device=x.device)[None, :]
    dy = -torch.ceil(i * sin[:, None] - 0.5).to(torch.int64)
    dx = -torch.ceil(i * cos[:, None] - 0.5).to(torch.int64)
    active = torch.cummin(((dy.abs() < h) & (dx.abs() < w)).to(torch.int64), dim=1).values
    weights = active.to(x.dtype) * torch.tensor(kernel, dtype=torch.float64, device=x.device)
    weights = weights.to(x.dtype)
    src_r = (rows[None, None, :] - dy[:, :, None]).clamp(0, h - 1)  # (B, width, H)
    src_c = (cols[None, None, :] - dx[:, :, None]).clamp(0, w - 1)  # (B, width, W)
    idx = (src_r[:, :, :, None] * w + src_c[:, :, None, :]).reshape(b, width, 1, h * w)
    out = torch.zeros_like(flat)
    term = torch.empty_like(flat)
    for t in range(width):
        torch.gather(flat, 2, idx[:, t].expand(b, c, -1), out=term)
        out.add_(term.mul_(weights[:, t, None, None]))  # in place, same roundings as out + w * g
    return out.reshape(b, c, h, w)


def _motion_blur(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Motion blur along a random angle in [-45, 45) degrees per sample."""
    angle = _per_sample_uniform(seeds, _S_ANGLE) * 90.0 - 45.0
    return _motion_blur_layer(x, p["radius"], p["sigma"], angle)


def _clipped_zoom(x: torch.Tensor, zoom: float) -> torch.Tensor:
    """Centre crop of ``ceil(side / zoom)``, order-1 ``scipy.ndimage.zoom``, centre trim."""
    h, w = x.shape[-2:]
    ch, cw = math.ceil(h / zoom), math.ceil(w / zoom)
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = x[..., top : top + ch, left : left + cw]
    oh, ow = round(ch * zoom), round(cw * zoom)
    if (oh, ow) == (ch, cw):
        zoomed = crop
    else:  # scipy.ndimage.zoom (grid_mode=False) aligns corners
        zoomed = F.interpolate(crop, size=(oh, ow), mode="bilinear", align_corners=True)
    tt, tl = (oh - h) // 2, (ow - w) // 2
    return zoomed[..., tt : tt + h, tl : tl + w]


def _zoom_blur(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Average of the image and its centre zooms by each factor."""
    out = x.clone()
    for z in p["zooms"]:
        out.add_(_clipped_zoom(x, z))
    return out.div_(len(p["zooms"]) + 1)


# ----------------------------------------------------------------------------------------------
# Weather
# ----------------------------------------------------------------------------------------------


def _plasma_fractal(seeds: torch.Tensor, mapsize: int, decay: float, stream: int) -> torch.Tensor:
    """Diamond-square height map in [0, 1], shape (B, M, M), as the reference `plasma_fractal`."""
    b = seeds.shape[0]
    m = torch.zeros(b, mapsize, mapsize, dtype=torch.float64, device=seeds.device)
    step = mapsize
    wibble = 100.0

    # All the levels' uniforms in one pass: level L draws three (2^L, 2^L) fields, in call order.
    draws = []
    for lvl in range(int(math.log2(mapsize))):
        side = 2**lvl  # mapsize // step
        draws += [((side, side), stream + 3 * lvl + j) for j in range(3)]
    uniforms = iter(counter_rng.uniform_many(seeds, draws))

    def wibbled_mean(a: torch.Tensor) -> torch.Tensor:
        u = next(uniforms).to(torch.float64)
        return a / 4 + wibble * (wibble * (2.0 * u - 1.0))

    while step >= 2:
        half = step // 2
        corner = m[:, 0:mapsize:step, 0:mapsize:step]
        sq = corner + torch.roll(corner, shifts=-1, dims=1)
        sq = sq + torch.roll(sq, shifts=-1, dims=2)
        m[:, half:mapsize:step, half:mapsize:step] = wibbled_mean(sq)
        dr = m[:, half:mapsize:step, half:mapsize:step]
        ul = m[:, 0:mapsize:step, 0:mapsize:step]
        lt = dr + torch.roll(dr, 1, dims=1) + ul + torch.roll(ul, -1, dims=2)
        m[:, 0:mapsize:step, half:mapsize:step] = wibbled_mean(lt)
        tt = dr + torch.roll(dr, 1, dims=2) + ul + torch.roll(ul, -1, dims=1)
        m[:, half:mapsize:step, 0:mapsize:step] = wibbled_mean(tt)
        step //= 2
        wibble /= decay
    m = m - m.amin(dim=(1, 2), keepdim=True)
    return (m / m.amax(dim=(1, 2), keepdim=True)).to(torch.float32)


def _next_pow2(n: int) -> int:
    return 1 if n <= 1 else 2 ** (n - 1).bit_length()


def _fog(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Add a plasma fractal, then rescale by max / (max + strength)."""
    b, c, h, w = x.shape
    fractal = _plasma_fractal(seeds, _next_pow2(max(h, w)), p["decay"], _S_FRACTAL)
    max_val = x.amax(dim=(1, 2, 3), keepdim=True)
    out = x + p["strength"] * fractal[:, None, :h, :w]
    return out * max_val / (max_val + p["strength"])


def _frost_texture(seeds: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Procedural frost (B, 3, H, W) in [0, 1]: a stand-in for the reference's photos.

    Structure: a rough plasma fractal (large patches) plus ridged, lightly blurred fine noise
    (crystal needles), standardised per sample. Colour: one of the five reference plates is drawn
    per sample and its per-channel mean and standard deviation are imposed.
    """
    coarse = _plasma_fractal(seeds, _next_pow2(max(h, w)), 1.6, _S_TEXTURE)[:, None, :h, :w]
    fine = counter_rng.normal(seeds, (1, h, w), _S_TEXTURE + 50)
    fine = 1.0 - (_gaussian(fine, max(0.5, min(h, w) / 96)) * 3.0).abs().clamp(max=1.0)
    tex = 0.6 * coarse + 0.4 * fine
    tex = tex - tex.mean(dim=(2, 3), keepdim=True)
    tex = tex / tex.std(dim=(2, 3), keepdim=True).clamp(min=1e-6)
    plates = torch.tensor(_FROST_PLATES, dtype=torch.float32, device=seeds.device)  # (5, 2, 3)
    pick = counter_rng.randint(seeds, 0, len(_FROST_PLATES), (1,), _S_PICK)[:, 0]
    mean = plates[pick, 0][:, :, None, None]
    std = plates[pick, 1][:, :, None, None]
    return (mean + std * tex).clamp(0.0, 1.0)


@_via_rgb
def _frost(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """image_weight * x + frost_weight * frost texture (procedural, see `_frost_texture`)."""
    frost = _frost_texture(seeds, x.shape[2], x.shape[3])
    return p["image_weight"] * x + p["frost_weight"] * frost


def _snow(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Zoomed, thresholded, motion-blurred noise layer plus a brightened, greyed image."""
    b, c, h, w = x.shape
    layer = p["loc"] + p["std"] * counter_rng.normal(seeds, (1, h, w), _S_NOISE)
    layer = _clipped_zoom(layer, p["zoom"])
    layer = torch.where(layer < p["threshold"], torch.zeros_like(layer), layer).clamp(0.0, 1.0)
    angle = _per_sample_uniform(seeds, _S_ANGLE) * 90.0 - 135.0
    layer = _motion_blur_layer(layer, p["radius"], p["sigma"], angle)
    layer = torch.round(layer * 255.0).clamp(0, 255) / 255.0
    gray = x if c == 1 else _luma(x)
    mixed = p["mix"] * x + (1 - p["mix"]) * torch.maximum(x, gray * 1.5 + 0.5)
    return mixed + layer + torch.flip(layer, dims=(2, 3))


def _canny_like_edges(mask: torch.Tensor) -> torch.Tensor:
    """Edges of a thresholded liquid layer: mask pixels with a 4-neighbour outside the mask."""
    padded = _pad2d(mask.to(torch.float32), 1, 1, "edge")
    inside = padded[..., 1:-1, 1:-1] > 0
    outside_nb = (
        (padded[..., :-2, 1:-1] == 0)
        | (padded[..., 2:, 1:-1] == 0)
        | (padded[..., 1:-1, :-2] == 0)
        | (padded[..., 1:-1, 2:] == 0)
    )
    return inside & outside_nb


def _truncated_distance(edges: torch.Tensor, cap: int) -> torch.Tensor:
    """Exact Euclidean distance to the nearest edge pixel, capped at ``cap`` (separable passes)."""
    big = float(cap * cap + 1)
    g = torch.where(edges, 0.0, big).to(torch.float32)
    for dim in (-1, -2):
        n = g.shape[dim]
        r = min(cap, n - 1)
        pad = (0, 0, r, r) if dim == -2 else (r, r)
        padded = F.pad(g, pad, value=big)
        # min over the window of (value + offset^2), one shifted slice at a time (no window copy).
        best = padded.narrow(dim, r, n) + 0.0
        term = torch.empty_like(best)
        for o in range(-r, r + 1):
            if o:
                torch.add(padded.narrow(dim, r + o, n), float(o * o), out=term)
                torch.minimum(best, term, out=best)
        g = best
    return g.sqrt().clamp(max=float(cap))


def _box3(x: torch.Tensor) -> torch.Tensor:
    """cv2.blur with a 3x3 box (border reflect101)."""
    k = torch.full((3,), 1.0 / 3.0, dtype=torch.float64)
    return _separable(x, k, k, "reflect101")


def _equalize_hist(x: torch.Tensor) -> torch.Tensor:
    """cv2.equalizeHist per sample on integer-valued (B, 1, H, W) data in 0..255."""
    b = x.shape[0]
    v = x.reshape(b, -1).to(torch.int64)
    hist = torch.zeros(b, 256, dtype=torch.float64, device=x.device)
    hist.scatter_add_(1, v, torch.ones_like(v, dtype=torch.float64))
    total = v.shape[1]
    first = (hist > 0).to(torch.int64).argmax(dim=1)
    first_count = hist.gather(1, first[:, None])
    scale = 255.0 / (total - first_count).clamp(min=1.0)
    cum = hist.cumsum(dim=1) - first_count  # sum of bins after the first non-empty one
    lut = torch.round(cum * scale).clamp(0, 255)
    bins = torch.arange(256, device=x.device)[None, :]
    lut = torch.where(bins <= first[:, None], torch.zeros_like(lut), lut)
    constant = first_count[:, 0] == total
    lut = torch.where(constant[:, None], first[:, None].to(lut.dtype), lut)
    return lut.gather(1, v).reshape(x.shape).to(torch.float32)


@_via_rgb
def _spatter(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Water drops (pale turquoise, edge-shaded) or mud (brown, opaque) from a thresholded field."""
    b, c, h, w = x.shape
    liquid = p["loc"] + p["std"] * counter_rng.normal(seeds, (1, h, w), _S_NOISE)
    liquid = _gaussian(liquid, p["sigma"])
    liquid = torch.where(liquid < p["threshold"], torch.zeros_like(liquid), liquid)
    if not p["mud"]:
        liquid8 = torch.floor(liquid * 255.0).clamp(0, 255)  # astype(uint8)
        edges = _canny_like_edges(liquid8)
        dist = _truncated_distance(edges, 20)
        dist = torch.floor(_box3(dist))
        dist = _equalize_hist(dist)
        ker = torch.tensor([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]]).to(x)
        dist = _depthwise(_pad2d(dist, 1, 1, "reflect101"), ker)
        dist = torch.round(dist).clamp(0, 255)  # CV_8U output saturates
        dist = _box3(dist)
        m = liquid8 * dist
        m = m / m.amax(dim=(2, 3), keepdim=True).clamp(min=1e-12)
        m = m * p["intensity"]
        color = torch.tensor([175 / 255.0, 238 / 255.0, 238 / 255.0]).to(x)[None, :, None, None]
        return x + m * color
    m = (liquid > p["threshold"]).to(x.dtype)
    m = _gaussian(m, p["mud_sigma"])
    m = torch.where(m < 0.8, torch.zeros_like(m), m)
    color = torch.tensor([63 / 255.0, 42 / 255.0, 20 / 255.0]).to(x)[None, :, None, None]
    return x * (1 - m) + color * m


# ----------------------------------------------------------------------------------------------
# Digital
# ----------------------------------------------------------------------------------------------


def _brightness(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """HSV value + c (clipped) with hue and saturation kept: RGB scales by v' / v."""
    v = x.amax(dim=1, keepdim=True)
    v_new = (v + p["c"]).clamp(max=1.0)
    ratio = torch.where(v > 0, v_new / v.clamp(min=1e-12), torch.zeros_like(v))
    return torch.where(v > 0, x * ratio, v_new.expand_as(x))


def _contrast(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """(x - mean) * c + mean, mean per channel over the image."""
    means = x.mean(dim=(2, 3), keepdim=True)
    return (x - means) * p["c"] + means


def _rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    """skimage.color.rgb2hsv on (B, 3, H, W)."""
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    v = x.amax(dim=1)
    delta = v - x.amin(dim=1)
    safe_delta = torch.where(delta > 0, delta, torch.ones_like(delta))
    s = torch.where(v > 0, delta / torch.where(v > 0, v, torch.ones_like(v)), torch.zeros_like(v))
    h = (g - b) / safe_delta
    h = torch.where(g == v, 2.0 + (b - r) / safe_delta, h)
    h = torch.where(b == v, 4.0 + (r - g) / safe_delta, h)
    h = torch.remainder(h / 6.0, 1.0)
    h = torch.where(delta == 0, torch.zeros_like(h), h)
    return torch.stack((h, s, v), dim=1)


def _hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """skimage.color.hsv2rgb on (B, 3, H, W)."""
    h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    hi = torch.floor(h * 6.0)
    f = h * 6.0 - hi
    pp = v * (1 - s)
    q = v * (1 - f * s)
    t = v * (1 - (1 - f) * s)
    hi = torch.remainder(hi, 6).to(torch.int64)
    choices = torch.stack(
        (
            torch.stack((v, t, pp), 1),
            torch.stack((q, v, pp), 1),
            torch.stack((pp, v, t), 1),
            torch.stack((pp, q, v), 1),
            torch.stack((t, pp, v), 1),
            torch.stack((v, pp, q), 1),
        ),
        dim=0,
    )  # (6, B, 3, H, W)
    idx = hi[None, :, None].expand(1, -1, 3, -1, -1)
    return choices.gather(0, idx)[0]


@_via_rgb
def _saturate(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """HSV saturation * factor + offset (clipped)."""
    hsv = _rgb_to_hsv(x)
    s = (hsv[:, 1] * p["factor"] + p["offset"]).clamp(0.0, 1.0)
    return _hsv_to_rgb(torch.stack((hsv[:, 0], s, hsv[:, 2]), dim=1))


def _pil_box_weights(n_in: int, n_out: int, device: torch.device) -> torch.Tensor:
    """PIL's BOX resampling as an (n_out, n_in) matrix; upsampling reduces to nearest."""
    scale = n_in / n_out
    filterscale = max(scale, 1.0)
    support = 0.5 * filterscale
    weights = [[0.0] * n_in for _ in range(n_out)]
    for i in range(n_out):
        center = (i + 0.5) * scale
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        hits = [j for j in range(lo, hi) if -0.5 < (j - center + 0.5) / filterscale <= 0.5]
        for j in hits:
            weights[i][j] = 1.0 / len(hits)
    return torch.tensor(weights, dtype=torch.float64).to(device=device, dtype=torch.float32)


def _nearest_weights(n_in: int, n_out: int, device: torch.device) -> torch.Tensor:
    """PIL's NEAREST resize as an (n_out, n_in) selection matrix: src = floor((i + 0.5) * scale)."""
    src = [min(int((i + 0.5) * n_in / n_out), n_in - 1) for i in range(n_out)]
    weights = [[1.0 if j == src[i] else 0.0 for j in range(n_in)] for i in range(n_out)]
    return torch.tensor(weights, dtype=torch.float32, device=device)


def _pixelate(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """PIL BOX downsample by ``factor`` (sizes truncated to int), then back to full size."""
    h, w = x.shape[-2:]
    sh, sw = max(1, int(h * p["factor"])), max(1, int(w * p["factor"]))
    down_h = _pil_box_weights(h, sh, x.device)
    down_w = _pil_box_weights(w, sw, x.device)
    up = _nearest_weights if p["upsample"] == "nearest" else _pil_box_weights
    up_h, up_w = up(sh, h, x.device), up(sw, w, x.device)
    # Explicit per-axis sums rather than einsum: a batched matrix product may block its sums
    # differently by batch size, and a sample must get the same bits alone or in any batch.
    small = _resample_axis(_resample_axis(x, down_h, -2), down_w, -1)
    return _resample_axis(_resample_axis(small, up_h, -2), up_w, -1)


def _resample_axis(x: torch.Tensor, weights: torch.Tensor, dim: int) -> torch.Tensor:
    """``weights (n_out, n_in) @ x`` along ``dim`` as a fixed-order sum of weighted selections.

    Each output row sums its non-zero taps left to right (rows with fewer taps add exact zeros),
    so the result is elementwise per sample, whatever the batch.
    """
    rows = weights.tolist()
    taps = [[(j, v) for j, v in enumerate(row) if v != 0] for row in rows]
    width = max(len(t) for t in taps)
    out = None
    for t in range(width):
        idx = [row[t][0] if t < len(row) else 0 for row in taps]
        wts = [row[t][1] if t < len(row) else 0.0 for row in taps]
        picked = x.index_select(dim, torch.tensor(idx, device=x.device))
        if all(v == 1.0 for v in wts):
            term = picked
        else:
            shape = [1] * x.dim()
            shape[dim] = len(wts)
            term = picked * torch.tensor(wts, dtype=x.dtype, device=x.device).reshape(shape)
        out = term if out is None else out + term
    assert out is not None
    return out


def _elastic(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
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
    for stream in (_S_DX, _S_DY):
        u = counter_rng.uniform(seeds, (1, h, w), stream).to(torch.float64) * 2.0 - 1.0
        fields.append(
            (_gaussian(u * lo_hi, sigma, mode="symmetric", truncate=3.0) * alpha).to(torch.float32)
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
    noise = counter_rng.uniform(seeds, (3, 2), _S_AFFINE).to(torch.float64) * 2.0 - 1.0
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


# ----------------------------------------------------------------------------------------------
# JPEG
# ----------------------------------------------------------------------------------------------


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
    rows = _pad_index(h, 0, -h % m, "edge", plane.device)
    cols = _pad_index(w, 0, -w % m, "edge", plane.device)
    return plane.index_select(1, rows).index_select(2, cols)


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


def _jpeg_compression(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Baseline JPEG as PIL/libjpeg writes it: YCbCr, 4:2:0, standard tables scaled by quality."""
    quality = p["quality"]
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


_IMPLEMENTATIONS: Mapping[
    str, Callable[[torch.Tensor, dict[str, Any], torch.Tensor], torch.Tensor]
] = MappingProxyType(
    {
        "gaussian_noise": _gaussian_noise,
        "shot_noise": _shot_noise,
        "impulse_noise": _impulse_noise,
        "defocus_blur": _defocus_blur,
        "glass_blur": _glass_blur,
        "motion_blur": _motion_blur,
        "zoom_blur": _zoom_blur,
        "snow": _snow,
        "frost": _frost,
        "fog": _fog,
        "brightness": _brightness,
        "contrast": _contrast,
        "elastic_transform": _elastic,
        "pixelate": _pixelate,
        "jpeg_compression": _jpeg_compression,
        "speckle_noise": _speckle_noise,
        "gaussian_blur": _gaussian_blur,
        "spatter": _spatter,
        "saturate": _saturate,
    }
)
