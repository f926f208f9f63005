"""Each suite declares its board (`harness.core.suite_board.SuiteBoard`) in a torch-free module:
the metrics its class declares, with the labels the report shows them under."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.core.errors import HarnessError
from harness.core.headline_spec import HeadlineMetric, HeadlineSpec
from harness.core.metric_record import MetricSpec
from harness.core.registry import load_target
from harness.core.suite_board import (
    FIGURE_KINDS,
    SuiteBoard,
    TradeOff,
    headline_columns,
    metric_labels,
    trade_offs,
)
from harness.run import suite_boards
from harness.run.plugins import suite_registry
from harness.suites import BUILTIN_SUITE_BOARDS, BUILTIN_SUITES
from tests.torch_blocked import REPO


def test_every_builtin_suite_has_a_board() -> None:
    assert BUILTIN_SUITE_BOARDS.keys() == BUILTIN_SUITES.keys()


@pytest.mark.parametrize("name", sorted(BUILTIN_SUITES))
def test_a_suite_declares_the_metrics_of_its_board(name: str) -> None:
    """The records a suite writes carry its class's specs: the board's, the very same ones."""
    board = load_target(BUILTIN_SUITE_BOARDS[name])
    suite = suite_registry().load(name)
    assert board.suite == name
    assert suite.metrics == board.metrics
    assert all(a is b for a, b in zip(suite.metrics, board.metrics, strict=True))


def test_binding_the_boards_imports_no_suite_nor_torch() -> None:
    code = (
        "import sys\n"
        "from harness.run.suite_boards import installed_suite_boards\n"
        "assert len(installed_suite_boards()) == 5\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] == 'torch'\n"
        "         or m.startswith('harness.suites.') and m.endswith('.suite')]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _spec(name: str, label: str) -> MetricSpec:
    return MetricSpec(name=name, unit="fraction", higher_is_better=True, label=label)


def test_one_metric_name_reads_one_way() -> None:
    a = SuiteBoard(suite="a", metrics=(_spec("clean_acc", "clean accuracy"),))
    same = SuiteBoard(suite="b", metrics=(_spec("clean_acc", "clean accuracy"), _spec("x", "")))
    other = SuiteBoard(suite="c", metrics=(_spec("clean_acc", "accuracy, clean"),))
    assert metric_labels([a, same]) == {"clean_acc": "clean accuracy"}  # unlabelled: left out
    with pytest.raises(HarnessError, match="suites 'a' and 'c' label metric 'clean_acc'"):
        metric_labels([a, other])


BOARD = SuiteBoard(suite="toy", metrics=())
DRAWS_A_PIE = SuiteBoard(suite="other", metrics=(), figures=("pie",))  # type: ignore[arg-type]
TOP1 = HeadlineMetric(metric="top1_acc", label="clean accuracy")
OWN_TOP1 = HeadlineMetric(metric="own_acc", label="own accuracy", id="top1_acc")
ODD_FACET = SuiteBoard(
    suite="other",
    metrics=(),
    headline=(HeadlineSpec(metrics=(OWN_TOP1,), facet="beauty"),),  # type: ignore[arg-type]
)
ODD_PICK = SuiteBoard(
    suite="other",
    metrics=(),
    headline=(HeadlineSpec(metrics=(OWN_TOP1,), facet="accuracy", pick="best"),),  # type: ignore[arg-type]
)
NO_METRIC = SuiteBoard(
    suite="other", metrics=(), headline=(HeadlineSpec(metrics=(), facet="accuracy"),)
)
TIMING_ON_Y = SuiteBoard(
    suite="other",
    metrics=(),
    trade_offs=(TradeOff(metric="rate", against="top1_acc", axis="y", timing=True),),
)
TAKES_TOP1 = SuiteBoard(
    suite="other", metrics=(), headline=(HeadlineSpec(metrics=(OWN_TOP1,), facet="accuracy"),)
)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("tests.architecture.test_suite_boards:_spec", "is a function, not a"),
        ("tests.architecture.test_suite_boards:BOARD", "is the board of suite 'toy'"),
        (
            "tests.architecture.test_suite_boards:DRAWS_A_PIE",
            "names figure\\(s\\) 'pie'; the report draws group_records, group_table",
        ),
        (
            "tests.architecture.test_suite_boards:ODD_FACET",
            "declares headline column 'top1_acc' with facet 'beauty'; the headline's facets are "
            "accuracy",
        ),
        (
            "tests.architecture.test_suite_boards:ODD_PICK",
            "declares headline column 'top1_acc' picking 'best'; the headline picks clean",
        ),
        (
            "tests.architecture.test_suite_boards:NO_METRIC",
            "declares a headline column with no metric",
        ),
        (
            "tests.architecture.test_suite_boards:TIMING_ON_Y",
            "declares a trade-off of 'rate' on axis 'y' as a timing; a metric goes on 'x' or 'y'",
        ),
    ],
)
def test_a_registration_that_is_not_the_suites_board_is_refused(
    target: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suite_boards, "BUILTIN_SUITE_BOARDS", {"other": target})
    with pytest.raises(HarnessError, match=f"suite board 'other' \\({target}\\) {message}"):
        suite_boards.installed_suite_boards()


def test_every_figure_the_report_draws_is_fed_by_a_builtin_suite() -> None:
    fed = {kind for board in suite_boards.installed_suite_boards() for kind in board.figures}
    assert fed == set(FIGURE_KINDS)


def test_a_headline_column_id_is_declared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    target = "tests.architecture.test_suite_boards:TAKES_TOP1"
    monkeypatch.setattr(
        suite_boards, "BUILTIN_SUITE_BOARDS", {**BUILTIN_SUITE_BOARDS, "other": target}
    )
    with pytest.raises(
        HarnessError, match="suites 'accuracy' and 'other' both declare headline column 'top1_acc'"
    ):
        suite_boards.installed_suite_boards()


def test_headline_columns_and_trade_offs_are_ordered_by_declaration() -> None:
    """Headline: by facet, then suite name, then declaration order; trade-offs: x axis first."""
    spec = HeadlineSpec
    late = SuiteBoard(
        suite="a",
        metrics=(),
        headline=(spec(metrics=(TOP1,), facet="cost"), spec(metrics=(OWN_TOP1,), facet="cost")),
        trade_offs=(TradeOff(metric="m", against="top1_acc", axis="y"),),
    )
    early = SuiteBoard(
        suite="b",
        metrics=(),
        headline=(spec(metrics=(TOP1,), facet="accuracy"),),
        trade_offs=(TradeOff(metric="t", against="top1_acc", axis="x", timing=True),),
    )
    order = [(h.suite, h.spec.metrics[0].metric) for h in headline_columns([late, early])]
    assert order == [("b", "top1_acc"), ("a", "top1_acc"), ("a", "own_acc")]
    assert [t.metric for t in trade_offs([late, early])] == ["t", "m"]
