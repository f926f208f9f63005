"""Pareto fronts over two metrics of a board: the trade-offs the suites declare (accuracy vs
throughput, clean vs robust accuracy, `SuiteBoard.trade_offs`).

A model is on the front when no other model is at least as good on both metrics and strictly
better on one (each metric in its own direction). No torch here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from harness.analysis.leaderboard import Board


@dataclass(frozen=True)
class ParetoView:
    """Points (model -> (x, y)) for two board columns and the models on the front."""

    x_key: str
    y_key: str
    points: dict[str, tuple[float, float]]
    front: list[str]
    timing_x: bool = False  # x is a measured rate (`TradeOff.timing`): log axis, timing caveats


def pareto_front(
    points: Mapping[str, tuple[float, float]], *, higher_x: bool = True, higher_y: bool = True
) -> list[str]:
    """Names of the non-dominated points, sorted by name."""
    sx, sy = (1 if higher_x else -1), (1 if higher_y else -1)
    front = []
    for name, (x, y) in points.items():
        dominated = any(
            sx * ox >= sx * x and sy * oy >= sy * y and (sx * ox > sx * x or sy * oy > sy * y)
            for other, (ox, oy) in points.items()
            if other != name
        )
        if not dominated:
            front.append(name)
    return sorted(front)


def board_view(board: Board, x_key: str, y_key: str) -> ParetoView | None:
    """The Pareto view of two columns of a board, or None when fewer than 2 models have both."""
    if x_key not in board.units or y_key not in board.units:
        return None
    points = {
        r.model: (float(x), float(y))
        for r in board.rows
        if (x := r.value(x_key)) is not None and (y := r.value(y_key)) is not None
    }
    if len(points) < 2:
        return None
    front = pareto_front(points, higher_x=board.units[x_key][1], higher_y=board.units[y_key][1])
    return ParetoView(x_key=x_key, y_key=y_key, points=points, front=front)


def standard_views(board: Board) -> list[ParetoView]:
    """The trade-offs the suites declare (`Board.trade_offs`: accuracy vs throughput, clean vs
    each robust-accuracy and corruption-accuracy column), where both columns exist."""
    views = []
    for t in board.trade_offs:
        keys = [k for k in board.columns if k.partition("[")[0] == t.metric]
        for key in keys:
            x, y = (key, t.against) if t.axis == "x" else (t.against, key)
            view = board_view(board, x, y)
            if view is not None:
                views.append(replace(view, timing_x=t.timing and t.axis == "x"))
    return views
