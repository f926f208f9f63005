"""The published parameter tables, one tuple per severity, copied from the reference scripts:
ImageNet-C (`imagecorruptions`, 224 px) and CIFAR-10-C (`make_cifar_c.py`, 32 px).

Spatial entries (in pixels) are rescaled by `params.resolve_params`; see docs/corruptions.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np


def _zoom_factors(stop: float, step: float) -> tuple[float, ...]:
    """Zoom factors exactly as the reference builds them (``np.arange(1, stop, step)``)."""
    return tuple(float(v) for v in np.arange(1, stop, step))


TABLES: Mapping[str, Mapping[str, tuple[Any, ...]]] = MappingProxyType(
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
                # alpha (x image height in px / 224 handled by the formula), see elastic_transform.
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
"""regime -> corruption -> one entry per severity (1..5)."""
