"""Byte counts as people read them (the cache listing, the throughput suite's memory notes)."""

from __future__ import annotations


def size_text(n: int) -> str:
    """Bytes in decimal units, three significant digits (`85.2 kB`, `1.20 GB`)."""
    if n < 1000:
        return f"{n} B"
    for factor, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if n >= factor:
            return f"{n / factor:.3g} {unit}"
    raise AssertionError("unreachable")
