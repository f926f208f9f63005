"""The numbers behind the report's figures, read from per-sample tables (no drawing here).

Per-group clean accuracy and accuracy per corruption and severity, each with a 95% Wilson
interval (a proportion's interval that stays inside [0, 1] for small groups).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict

from pandas.api.types import is_float_dtype

from harness.core.sample_table import GROUP_PREFIX, SampleTable

_CORRUPTION = re.compile(r"^corruption=(?P<name>[^/]+)/severity=(?P<sev>\d+)$")
Interval = tuple[float, float]
Point = tuple[float, float, Interval | None]  # x, y, interval of y


def wilson(k: int, n: int, z: float = 1.96) -> Interval | None:
    """Wilson score interval of a proportion (for per-group accuracies drawn in figures)."""
    if n == 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def group_accuracy(table: SampleTable) -> dict[str, dict[str, tuple[float, Interval | None]]]:
    """Clean accuracy per group value, per group column: {column: {value: (acc, wilson CI)}}."""
    frame = table.condition("clean")
    out: dict[str, dict[str, tuple[float, Interval | None]]] = {}
    for col in [c for c in frame.columns if c.startswith(GROUP_PREFIX)]:
        if is_float_dtype(frame[col]):  # a continuous attribute: one bar per value
            continue
        per: dict[str, tuple[float, Interval | None]] = {}
        for value, rows in frame.groupby(col, dropna=True, observed=True):
            k, n = int(rows["correct"].sum()), len(rows)
            per[str(value)] = (k / n, wilson(k, n))
        if per:
            out[col[len(GROUP_PREFIX) :]] = per
    return out


def corruption_accuracy(table: SampleTable) -> dict[str, list[Point]]:
    """Accuracy per corruption (series) and severity (x) from the per-sample table."""
    series: dict[str, list[Point]] = defaultdict(list)
    frame = table.frame
    for condition, rows in frame.groupby("condition"):
        m = _CORRUPTION.match(str(condition))
        if m:
            k, n = int(rows["correct"].sum()), len(rows)
            series[m["name"]].append((float(m["sev"]), k / n, wilson(k, n)))
    return dict(series)
