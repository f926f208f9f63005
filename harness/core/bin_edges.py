"""Bin edges of a continuous group attribute (`group_bins` on a task, the fairness suite's
`bins`): two or more increasing numbers, bins `[lo, hi)` between them."""

from __future__ import annotations

from collections.abc import Sequence


def edges_problem(key: str, edges: Sequence[float]) -> str | None:
    """The one-line refusal of `edges` given under `key`, or None when they are two or more
    increasing numbers."""
    if len(edges) >= 2 and all(a < b for a, b in zip(edges, edges[1:], strict=False)):
        return None
    return f"{key}: bin edges must be at least two increasing numbers (got {list(edges)})"
