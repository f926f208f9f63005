"""The corruption registry and the size rule of `resolve_params`, checked by hand."""

from __future__ import annotations

import pytest

from harness.suites.shift.image_corruptions import CORRUPTIONS, SEVERITIES, resolve_params
from harness.suites.shift.image_corruptions.params import RESOLVERS
from harness.suites.shift.image_corruptions.registry import IMPLEMENTATIONS
from harness.suites.shift.image_corruptions.tables import TABLES


def test_every_corruption_has_an_implementation_a_resolver_and_both_tables() -> None:
    assert len(CORRUPTIONS) == 19 and CORRUPTIONS[:3] == (
        "gaussian_noise",
        "shot_noise",
        "impulse_noise",
    )
    assert set(IMPLEMENTATIONS) == set(RESOLVERS) == set(CORRUPTIONS)
    for regime in ("cifar", "imagenet"):
        assert set(TABLES[regime]) == set(CORRUPTIONS)
        assert all(len(TABLES[regime][name]) == len(SEVERITIES) for name in CORRUPTIONS)


def test_small_images_use_the_cifar_table_with_pixel_parameters_scaled() -> None:
    # 8 px: CIFAR-10-C table (designed for 32 px) at scale 8 / 32.
    glass = resolve_params("glass_blur", 1, 8, 8)  # table entry (0.05, 1, 1)
    assert glass == {"regime": "cifar", "scale": 0.25, "sigma": 0.0125, "delta": 1, "iterations": 1}
    motion = resolve_params("motion_blur", 5, 8, 8)  # (9, 2.5): radius round(2.25) = 2
    assert (motion["radius"], motion["sigma"]) == (2, 0.625)
    elastic = resolve_params("elastic_transform", 2, 8, 8)  # (0.05, 0.2, 0.07) x IMSIZE 8
    assert elastic["kind"] == "cifar"
    assert elastic["alpha"] == pytest.approx(0.4) and elastic["affine"] == pytest.approx(0.56)
    assert resolve_params("pixelate", 1, 8, 8)["upsample"] == "box"
    # relative parameters are used as published
    assert resolve_params("jpeg_compression", 5, 8, 8)["quality"] == 40
    assert resolve_params("contrast", 5, 8, 8)["c"] == 0.15


def test_large_images_use_the_imagenet_table_and_its_relative_elastic() -> None:
    elastic = resolve_params("elastic_transform", 1, 224, 200)
    assert elastic["regime"] == "imagenet" and elastic["kind"] == "imagecorruptions"
    assert elastic["sigma"] == pytest.approx((2.24, 2.0)) and elastic["max_d"] == pytest.approx(
        1.12
    )
    assert elastic["alpha"] == 250 * 0.05
    assert resolve_params("pixelate", 1, 224, 224)["upsample"] == "nearest"
    defocus = resolve_params("defocus_blur", 3, 448, 448)  # (6, 0.5) at scale 448 / 224
    assert (defocus["radius"], defocus["alias_blur"]) == (12.0, 1.0)


def test_overrides_reproduce_the_reference_at_any_size() -> None:
    p = resolve_params("snow", 4, 8, 8, regime="imagenet", scale=1.0)
    assert (p["regime"], p["scale"], p["radius"], p["sigma"]) == ("imagenet", 1.0, 12, 8)
