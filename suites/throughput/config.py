"""The `throughput` suite's config: which conditions to measure and how many iterations."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from harness.core.suite import SuiteConfig
from harness.stats.timing import DEFAULT_MAX_CV

Precision = Literal["fp32", "fp16", "bf16"]
Variant = Literal["eager", "channels_last", "compile"]
CopyMode = Literal["device", "host"]
Isolation = Literal["auto", "subprocess", "inprocess"]


def _default_precisions() -> list[Precision]:
    return ["fp32"]


def _default_variants() -> list[Variant]:
    return ["eager"]


def _default_copy_modes() -> list[CopyMode]:
    return ["device"]


# `max_batch_size` when the config leaves it unset: the cap of the `auto` sweep per device type.
DEFAULT_MAX_BATCH = {"cpu": 1024, "cuda": 65536}


class ThroughputConfig(SuiteConfig):
    """Conditions are the product batch_sizes x precisions x variants x copy_modes.

    `batch_sizes: auto` sweeps powers of two from 1 until out-of-memory or `max_batch_size`.
    `copy_modes`: `device` stages the batch on the device before timing; `host` times the
    host-to-device copy too (pinned memory). Numbers of different copy modes are never compared.
    Each condition is timed in `rounds` rounds of `timed_iters` calls after `warmup_iters`
    untimed calls; numbers are medians over rounds with the interval of the median, and a
    coefficient of variation of the rounds above `max_round_cv` flags `unstable_timing`.
    """

    batch_sizes: list[int] | Literal["auto"] = Field(default_factory=lambda: [1, 64, 256])
    max_batch_size: int | None = Field(default=None, ge=1)
    precisions: list[Precision] = Field(default_factory=_default_precisions, min_length=1)
    variants: list[Variant] = Field(default_factory=_default_variants, min_length=1)
    copy_modes: list[CopyMode] = Field(default_factory=_default_copy_modes, min_length=1)
    warmup_iters: int = Field(default=10, ge=0, le=10_000)
    timed_iters: int = Field(default=30, ge=2, le=100_000, description="timed calls per round")
    rounds: int = Field(default=6, ge=1, le=1000, description="timing rounds (6+ for a 95% CI)")
    max_round_cv: float = Field(default=DEFAULT_MAX_CV, gt=0, le=10)
    isolation: Isolation = "auto"
    cpu_threads: int | None = Field(default=None, ge=1)
    peak_tflops: dict[Precision, float] | None = Field(
        default=None,
        description="peak dense TFLOP/s of this device per precision (overrides the table)",
    )

    @field_validator("batch_sizes", mode="before")
    @classmethod
    def _list_or_auto(cls, v: object) -> object:
        """One size (`batch_sizes: 64`) got pydantic's two union branches, `list[int]` and
        `literal['auto']`, as the message: say what to write instead."""
        if isinstance(v, list | tuple) or v == "auto":  # a tuple from Python, as pydantic took
            return v
        plain = isinstance(v, int | float | str) and not isinstance(v, bool)
        one = f" ([{v}] for one size)" if plain else ""
        raise ValueError(f"give a list of batch sizes{one} or `auto` (got {v!r})")

    @field_validator("batch_sizes")
    @classmethod
    def _positive_sizes(cls, v: list[int] | str) -> list[int] | str:
        if isinstance(v, list):
            if not v:
                raise ValueError("give at least one batch size, or `auto`")
            bad = [b for b in v if b <= 0]
            if bad:
                raise ValueError(f"batch sizes must be >= 1 (got {bad})")
            if len(set(v)) != len(v):
                raise ValueError("batch sizes must not repeat")
        return v

    @field_validator("max_batch_size")
    @classmethod
    def _caps_auto(cls, v: int | None, info: ValidationInfo) -> int | None:
        sizes = info.data.get("batch_sizes")
        if v is not None and isinstance(sizes, list):
            raise ValueError(
                f"caps `batch_sizes: auto` only; the listed batch sizes {sizes} are measured as "
                "given: drop max_batch_size, or list only the sizes to measure"
            )
        return v

    @field_validator("peak_tflops")
    @classmethod
    def _positive_peaks(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is not None and any(p <= 0 for p in v.values()):
            raise ValueError("peak TFLOP/s figures must be > 0")
        return v

    @field_validator("precisions", "variants", "copy_modes")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("entries must not repeat")
        return v

    def max_batch_for(self, device_type: str) -> int:
        return self.max_batch_size or DEFAULT_MAX_BATCH.get(device_type, 1024)
