"""The setting a timing record's context names: `TimingContext`, the one parser of it.

The throughput suite writes each of its records with the device type and name, the batch size,
precision, variant, copy mode and torch threads it was measured at
(`suites/throughput/records.py`); the headline, the report's speed figures and the gate's
hardware words read them back through this form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class TimingContext:
    """Each key as stored; None where the context names none (or, for a number, none that
    reads as an integer)."""

    device: str | None
    device_name: str | None
    batch_size: int | None
    precision: str | None
    variant: str | None
    copy_mode: str | None
    threads: int | None

    @classmethod
    def of(cls, context: Mapping[str, object]) -> TimingContext:
        def text(key: str) -> str | None:
            value = context.get(key)
            return None if value is None else str(value)

        def number(key: str) -> int | None:
            value = context.get(key)
            try:
                return None if value is None else int(value)  # type: ignore[call-overload]
            except (TypeError, ValueError):
                return None

        return cls(
            device=text("device"),
            device_name=text("device_name"),
            batch_size=number("batch_size"),
            precision=text("precision"),
            variant=text("variant"),
            copy_mode=text("copy_mode"),
            threads=number("threads"),
        )

    @property
    def where(self) -> str:
        """`cpu (AMD EPYC)`: the device type and its name."""
        device = self.device or ""
        return f"{device} ({self.device_name})" if self.device_name else device

    @property
    def machine(self) -> str:
        """`cpu (AMD EPYC) 4 threads bf16 compiled`: where and how it ran (the eager variant
        and unnamed parts left out)."""
        variant = self.variant if self.variant != "eager" else None
        parts = (
            self.device,
            f"({self.device_name})" if self.device_name else "",
            f"{self.threads} threads" if self.threads else "",
            self.precision,
            variant,
        )
        return " ".join(x for x in parts if x)
