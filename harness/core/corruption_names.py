"""The names of the ImageNet-C family of image corruptions, as plain data.

The corruptions themselves live in `suites.shift.image_corruptions` (torch); the spec side and the
results side, which never import torch or suites, read the names from here: the task loaders to
recognise a published corrupted set's files, the cross-model metrics for mCE's default set. A test
keeps them equal to the suite's registry (`tests/data/test_corruption_sets.py`).
"""

from __future__ import annotations

CORRUPTION_NAMES: tuple[str, ...] = (
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
"""The 19 corruptions of Hendrycks & Dietterich (2019): the 15 ImageNet-C benchmark ones in the
suite's registry order, then the 4 held-out extras (CIFAR-10-C and ImageNet-C ship all 19)."""

BENCHMARK_CORRUPTIONS: tuple[str, ...] = CORRUPTION_NAMES[:15]
"""The 15 ImageNet-C benchmark corruptions (mCE's default set)."""
