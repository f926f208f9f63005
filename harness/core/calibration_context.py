"""The bins a calibration record's context names: `CalibrationContext`, the one parser of it.

The accuracy suite writes its expected calibration error (`ece`) with `bins`: the number of
equal-width confidence bins it was computed over; the paired tests recompute it over the same
bins through this form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class CalibrationContext:
    """`bins`: the bin count a record's context names; None where it names none, or none that
    reads as a positive integer."""

    bins: int | None

    @classmethod
    def of(cls, context: Mapping[str, object]) -> CalibrationContext:
        value = context.get("bins")
        try:
            bins = None if value is None else int(value)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return cls(None)
        return cls(bins if bins is not None and bins > 0 else None)
