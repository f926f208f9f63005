"""Parameter resolution: the single place where the input size changes a corruption's parameters.

`resolve_regime` picks the published table by size; `resolve_params` reads the severity's entry
and rescales the spatial parameters given in pixels (see docs/corruptions.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from harness.suites.shift.image_corruptions.filters import gaussian_kernel1d
from harness.suites.shift.image_corruptions.registry import check_name_severity
from harness.suites.shift.image_corruptions.tables import TABLES

Regime = Literal["cifar", "imagenet"]
"""Which published parameter table applies: CIFAR-10-C (32 px) or ImageNet-C (224 px)."""


# Inputs whose shorter side is below this use the CIFAR-10-C table, others the ImageNet-C table.
REGIME_THRESHOLD_PX = 128


REFERENCE_SIZE: Mapping[str, int] = MappingProxyType({"cifar": 32, "imagenet": 224})


def resolve_regime(height: int, width: int) -> Regime:
    """The parameter table for an input size: CIFAR-10-C below 128 px (shorter side), else ImageNet-C."""
    return "cifar" if min(height, width) < REGIME_THRESHOLD_PX else "imagenet"


@dataclass(frozen=True)
class _Size:
    """The input size as the tables see it: which table, and the factor for pixel parameters."""

    regime: Regime
    scale: float
    height: int
    width: int


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
    check_name_severity(name, severity)
    regime = regime if regime is not None else resolve_regime(height, width)
    if scale is None:
        scale = min(height, width) / REFERENCE_SIZE[regime]
    c = TABLES[regime][name][severity - 1]
    size = _Size(regime=regime, scale=scale, height=height, width=width)
    return {"regime": regime, "scale": scale, **RESOLVERS[name](c, size)}


def _level(c: Any, s: _Size) -> dict[str, Any]:
    return {"c": float(c)}


def _shot_noise(c: Any, s: _Size) -> dict[str, Any]:
    return {"rate": float(c)}


def _gaussian_blur(c: Any, s: _Size) -> dict[str, Any]:
    return {"sigma": float(c) * s.scale}


def _glass_blur(c: Any, s: _Size) -> dict[str, Any]:
    return {
        "sigma": c[0] * s.scale,
        "delta": max(1, round(c[1] * s.scale)),
        "iterations": int(c[2]),
    }


def _defocus_blur(c: Any, s: _Size) -> dict[str, Any]:
    return {"radius": c[0] * s.scale, "alias_blur": c[1] * s.scale}


def _motion_blur(c: Any, s: _Size) -> dict[str, Any]:
    return {"radius": max(1, round(c[0] * s.scale)), "sigma": c[1] * s.scale}


def _zoom_blur(c: Any, s: _Size) -> dict[str, Any]:
    return {"zooms": tuple(c)}


def _snow(c: Any, s: _Size) -> dict[str, Any]:
    return {
        "loc": c[0],
        "std": c[1],
        "zoom": float(c[2]),
        "threshold": c[3],
        "radius": max(1, round(c[4] * s.scale)),
        "sigma": c[5] * s.scale,
        "mix": c[6],
    }


# The frost photos' zoom in each reference: ImageNet-C crops them at their own resolution,
# CIFAR-10-C first resizes them by 0.2.
_FROST_ZOOM: Mapping[str, float] = MappingProxyType({"imagenet": 1.0, "cifar": 0.2})


def _frost(c: Any, s: _Size) -> dict[str, Any]:
    return {
        "image_weight": float(c[0]),
        "frost_weight": float(c[1]),
        "texture_scale": _FROST_ZOOM[s.regime] * s.scale,
    }


def _fog(c: Any, s: _Size) -> dict[str, Any]:
    return {"strength": float(c[0]), "decay": float(c[1])}


def _elastic_transform(c: Any, s: _Size) -> dict[str, Any]:
    if s.regime == "imagenet":
        # imagecorruptions: sigma = 1% of each side, displacement drawn in +-0.5% of the height.
        return {
            "kind": "imagecorruptions",
            "alpha": float(c),
            "sigma": (s.height * 0.01, s.width * 0.01),
            "max_d": s.height * 0.005,
        }
    size = REFERENCE_SIZE[s.regime] * s.scale  # IMSIZE, rescaled
    return {"kind": "cifar", "alpha": size * c[0], "sigma": size * c[1], "affine": size * c[2]}


def _pixelate(c: Any, s: _Size) -> dict[str, Any]:
    return {"factor": float(c), "upsample": "nearest" if s.regime == "imagenet" else "box"}


def _jpeg_compression(c: Any, s: _Size) -> dict[str, Any]:
    return {"quality": int(c)}


def blurred_noise_spread(sigma_ref: float, sigma: float, truncate: float = 4.0) -> float:
    """The factor on a white-noise field's standard deviation that gives it, blurred with
    `sigma`, the spread it has blurred with `sigma_ref` (1.0 when they are equal).

    A 2-D Gaussian blur with 1-D weights `w` leaves white noise of standard deviation `std` with
    `std * sum(w**2)` (the weights of the separable kernel are `w_i * w_j`); the field is
    Gaussian, so equal spreads give equal distributions. Spatter thresholds such a field: with
    its sigma scaled by the image size alone, the field of a 64 px image had half the reference's
    spread and never reached the threshold (spatter changed nothing at severities 1, 4 and 5 from
    48 to 127 px, at every severity but 3 at 96-127 px), while at 128 px it was 5x stronger than
    at 224 px. With this factor the field keeps the published distribution, and its blobs scale
    with the image."""
    if sigma == sigma_ref:
        return 1.0
    ref = float((gaussian_kernel1d(sigma_ref, truncate) ** 2).sum())
    new = float((gaussian_kernel1d(sigma, truncate) ** 2).sum())
    return ref / new


def _spatter(c: Any, s: _Size) -> dict[str, Any]:
    return {
        "loc": c[0],
        "std": c[1] * blurred_noise_spread(c[2], c[2] * s.scale),
        "sigma": c[2] * s.scale,
        "threshold": c[3],
        "intensity": c[4],
        "mud": bool(c[5]),
        "mud_sigma": c[4] * s.scale,
    }


def _saturate(c: Any, s: _Size) -> dict[str, Any]:
    return {"factor": float(c[0]), "offset": float(c[1])}


RESOLVERS: Mapping[str, Callable[[Any, _Size], dict[str, Any]]] = MappingProxyType(
    {
        "gaussian_noise": _level,
        "shot_noise": _shot_noise,
        "impulse_noise": _level,
        "defocus_blur": _defocus_blur,
        "glass_blur": _glass_blur,
        "motion_blur": _motion_blur,
        "zoom_blur": _zoom_blur,
        "snow": _snow,
        "frost": _frost,
        "fog": _fog,
        "brightness": _level,
        "contrast": _level,
        "elastic_transform": _elastic_transform,
        "pixelate": _pixelate,
        "jpeg_compression": _jpeg_compression,
        "speckle_noise": _level,
        "gaussian_blur": _gaussian_blur,
        "spatter": _spatter,
        "saturate": _saturate,
    }
)
"""Per corruption: its table entry and the input size -> its parameters (pixel ones rescaled)."""
