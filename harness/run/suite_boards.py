"""The installed suites' boards, bound for the results side: the built-ins
(`harness.suites.BUILTIN_SUITE_BOARDS`) and what other packages register through the entry-point
group `harness.suite_boards`.

A board (`harness.core.suite_board.SuiteBoard`) is torch-free: binding them imports no suite. The
CLI and `harness.report` hand them to the report (harness.present never imports a plugin).
"""

from __future__ import annotations

from harness.core.errors import HarnessError
from harness.core.headline_spec import HEADLINE_FACETS, HEADLINE_PICKS
from harness.core.registry import Registry
from harness.core.suite_board import FIGURE_KINDS, SuiteBoard
from harness.suites import BUILTIN_SUITE_BOARDS


def suite_board_registry() -> Registry:
    return Registry("suite board", BUILTIN_SUITE_BOARDS, "harness.suite_boards")


def installed_suite_boards() -> tuple[SuiteBoard, ...]:
    """Every registered suite's board, in name order (entry points read now). A registration
    that is not a `SuiteBoard`, is one of another suite or names a figure the report does not
    draw is refused naming its target."""
    registry = suite_board_registry()
    boards = []
    for name in registry.names():
        target = registry.entry(name).target
        board = registry.load(name)
        if not isinstance(board, SuiteBoard):
            raise HarnessError(
                f"suite board {name!r} ({target}) is a {type(board).__name__}, not a "
                "harness.core.suite_board.SuiteBoard"
            )
        if board.suite != name:
            raise HarnessError(
                f"suite board {name!r} ({target}) is the board of suite {board.suite!r}; "
                "register it under its suite's name"
            )
        unknown = [kind for kind in board.figures if kind not in FIGURE_KINDS]
        if unknown:
            raise HarnessError(
                f"suite board {name!r} ({target}) names figure(s) {', '.join(map(repr, unknown))}; "
                f"the report draws {', '.join(FIGURE_KINDS)}"
            )
        _check_headline(name, target, board)
        _check_trade_offs(name, target, board)
        boards.append(board)
    _check_headline_ids(boards)
    return tuple(boards)


def _check_headline(name: str, target: str, board: SuiteBoard) -> None:
    """A board's headline columns name a known facet and pick rule and at least one metric."""
    for spec in board.headline:
        what = "/".join(m.column_id for m in spec.metrics)
        if spec.facet not in HEADLINE_FACETS:
            raise HarnessError(
                f"suite board {name!r} ({target}) declares headline column {what!r} with facet "
                f"{spec.facet!r}; the headline's facets are {', '.join(HEADLINE_FACETS)}"
            )
        if spec.pick not in HEADLINE_PICKS:
            raise HarnessError(
                f"suite board {name!r} ({target}) declares headline column {what!r} picking "
                f"{spec.pick!r}; the headline picks {', '.join(HEADLINE_PICKS)}"
            )
        if not spec.metrics:
            raise HarnessError(
                f"suite board {name!r} ({target}) declares a headline column with no metric"
            )


def _check_trade_offs(name: str, target: str, board: SuiteBoard) -> None:
    """A trade-off puts its metric on the x or y axis; a timing goes on the (log) x axis."""
    for t in board.trade_offs:
        if t.axis not in ("x", "y") or (t.timing and t.axis != "x"):
            raise HarnessError(
                f"suite board {name!r} ({target}) declares a trade-off of {t.metric!r} on axis "
                f"{t.axis!r}{' as a timing' if t.timing else ''}; a metric goes on 'x' or 'y', "
                "a timing on 'x'"
            )


def _check_headline_ids(boards: list[SuiteBoard]) -> None:
    """One headline column id is declared once over every suite."""
    said_by: dict[str, str] = {}
    for board in boards:
        for option in (m for spec in board.headline for m in spec.metrics):
            if option.column_id in said_by:
                raise HarnessError(
                    f"suites {said_by[option.column_id]!r} and {board.suite!r} both declare "
                    f"headline column {option.column_id!r}; give one of them another id"
                )
            said_by[option.column_id] = board.suite
