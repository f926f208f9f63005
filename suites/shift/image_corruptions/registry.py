"""The public registry of corruptions: every name, in ImageNet-C order (15) then the 4 extras,
mapped to its implementation; the severities; and the check of a (name, severity) pair."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from harness.suites.shift.image_corruptions import blur, digital, jpeg, noise, weather
from harness.suites.shift.image_corruptions.colour import Corruption

IMPLEMENTATIONS: Mapping[str, Corruption] = MappingProxyType(
    {
        "gaussian_noise": noise.gaussian_noise,
        "shot_noise": noise.shot_noise,
        "impulse_noise": noise.impulse_noise,
        "defocus_blur": blur.defocus_blur,
        "glass_blur": blur.glass_blur,
        "motion_blur": blur.motion_blur,
        "zoom_blur": blur.zoom_blur,
        "snow": weather.snow,
        "frost": weather.frost,
        "fog": weather.fog,
        "brightness": weather.brightness,
        "contrast": digital.contrast,
        "elastic_transform": digital.elastic_transform,
        "pixelate": digital.pixelate,
        "jpeg_compression": jpeg.jpeg_compression,
        "speckle_noise": noise.speckle_noise,
        "gaussian_blur": blur.gaussian_blur,
        "spatter": weather.spatter,
        "saturate": digital.saturate,
    }
)

CORRUPTIONS: tuple[str, ...] = tuple(IMPLEMENTATIONS)
"""The 19 corruption names: ImageNet-C order (15), then the 4 extras."""

SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)


class UnknownCorruptionError(ValueError):
    """An unknown corruption name or a severity outside 1..5 (a user error)."""


def check_name_severity(name: str, severity: int) -> None:
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
