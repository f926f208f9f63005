"""What the results side knows of a suite without importing it (or torch): `SuiteBoard`.

A suite declares its board in a torch-free module of its own (`harness/suites/shift/board.py`,
`harness/suites/accuracy_board.py`), registered like the suite itself: the built-ins in
`harness.suites.BUILTIN_SUITE_BOARDS`, other packages through the entry-point group
`harness.suite_boards`. The suite class declares the same specs (`Suite.metrics`), so the numbers
a suite writes and the words the report shows them in come from one place.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import ValidationError

from harness.core.errors import HarnessError
from harness.core.headline_spec import HEADLINE_FACETS, ContextWords, HeadlineSpec
from harness.core.metric_record import MetricRecord, MetricSpec
from harness.core.sample_table import SampleTable
from harness.core.suite_config import SuiteConfig

FigureKind = Literal[
    "group_records",
    "group_table",
    "corruption_curves",
    "corruption_gallery",
    "adversarial_gallery",
    "text_examples",
    "ood_detection",
]
"""The report's figures that a suite's results feed (`SuiteBoard.figures`), each drawn from data the
suite stores, and only when they are there:

- `group_records`: its records hold per-group metrics (`group_acc[group_by=...]`): accuracy per
  group on the task and model pages (the fairness suite);
- `group_table`: its per-sample table, read with the task's group columns, gives accuracy per
  group where no suite recorded it (the accuracy suite);
- `corruption_curves`: its per-sample table holds corruption cells: accuracy against severity on
  the task page, per corruption and severity on the model page (the shift suite);
- `corruption_gallery`, `adversarial_gallery`: the example images it stored (shift, adversarial);
- `text_examples`: the text attacks' examples it stored (adversarial);
- `ood_detection`: its jobs scored OOD sets: `ood_*` records per detector (context `score`), the
  `ood` artifact (detectors, headline detector, fit) and the detectors' score columns in its
  per-sample table: the task page's OOD detection section (the shift suite).
"""
FIGURE_KINDS: tuple[FigureKind, ...] = get_args(FigureKind)


TableSource = Callable[[], SampleTable | None]  # a loader of a job's per-sample table


@dataclass(frozen=True, kw_only=True)
class CrossModelInputs:
    """What a board holds of one suite, for columns that need several of its models: the suite's
    jobs on the board (one task, one config), by model, in board order.

    `configs`: the jobs' suite configs as stored; `tables`: loaders of their per-sample tables;
    `variants`: the board's compressed variants; `seed`: the smallest of the jobs' seeds;
    `resamples`: the bootstrap resamples the runs asked for (the largest; 0: no intervals).
    """

    task: str
    records: Mapping[str, Sequence[MetricRecord]]
    job_notes: Mapping[str, Sequence[str]]
    configs: Sequence[Mapping[str, Any]]
    tables: Mapping[str, TableSource]
    variants: Collection[str]
    seed: int
    resamples: int


@dataclass(frozen=True, kw_only=True)
class TradeOff:
    """A trade-off figure (a Pareto front) a suite's metric feeds: each board column of `metric`
    drawn against the column `against` (e.g. clean accuracy, `top1_acc`), `metric` on the `axis`
    axis. `timing`: `metric` is a measured rate (throughput), drawn on a log x axis (`axis` "x"),
    a point with an unstable timing drawn hollow."""

    metric: str
    against: str
    axis: Literal["x", "y"]
    timing: bool = False


CurveAxis = Literal["budget", "batch_size"]
"""What a curve's x axis is, read from its records' contexts: `budget`, the perturbation budget
(`ThreatContext`: eps along x, one panel per norm); `batch_size` (`TimingContext`: one panel per
machine, precision and threads, both axes log scale)."""


@dataclass(frozen=True, kw_only=True)
class Curve:
    """A line figure a suite's metric feeds (`SuiteBoard.curves`): `metric` against `along`, per
    model on the task page (`budget` also per `words` on the model page). `prefer`: the condition
    prefix of the records drawn instead of the others when there are any (the worst case over
    attacks), `preferred` their series name on the model page; `words`: another record's series
    name there (its attack)."""

    metric: str
    along: CurveAxis
    prefer: str = ""
    preferred: str = ""
    words: ContextWords | None = None


# model -> the records of its cross-model columns, and the board notes
CrossModelColumns = Callable[[CrossModelInputs], tuple[dict[str, list[MetricRecord]], list[str]]]


@dataclass(frozen=True, kw_only=True)
class SuiteBoard:
    """A suite's metrics as boards and the report show them.

    `metrics`: the specs the suite's records carry (`label` gives each one its words).
    `derived`: metrics the boards compute from the suite's records across models (the shift
    suite's mCE), declared here for their words.
    `figures`: the report's figures its results feed (`FigureKind`).
    `cross_model`: the columns the boards compute from several of its models (the shift suite's
    mCE and effective robustness; their specs are `derived`), with notes; None: none.
    `headline`: its columns on a task's headline board (`harness.core.headline_spec`).
    `trade_offs`: the report's trade-off figures its metrics feed (`TradeOff`).
    `curves`: the report's line figures its metrics feed (`Curve`).
    `config`: its config model (torch-free), for the results side to read a stored config back
    through (the fairness suite's positive label and ECE bins for its paired disparities);
    None: nothing there reads its config.
    """

    suite: str
    metrics: tuple[MetricSpec, ...]
    derived: tuple[MetricSpec, ...] = ()
    figures: tuple[FigureKind, ...] = ()
    cross_model: CrossModelColumns | None = None
    headline: tuple[HeadlineSpec, ...] = ()
    trade_offs: tuple[TradeOff, ...] = ()
    curves: tuple[Curve, ...] = ()
    config: type[SuiteConfig] | None = None


def metric_labels(boards: Iterable[SuiteBoard]) -> dict[str, str]:
    """Metric name -> label over the suites' boards (metrics without a label left out). Two
    suites may declare one metric (`clean_acc`) only with the same label."""
    labels: dict[str, str] = {}
    said_by: dict[str, str] = {}
    for board in boards:
        for spec in (*board.metrics, *board.derived):
            if not spec.label:
                continue
            if spec.name in labels and labels[spec.name] != spec.label:
                raise HarnessError(
                    f"suites {said_by[spec.name]!r} and {board.suite!r} label metric "
                    f"{spec.name!r} differently ({labels[spec.name]!r}, {spec.label!r}); "
                    "one metric name reads one way on every board"
                )
            labels[spec.name] = spec.label
            said_by[spec.name] = board.suite
    return labels


def figure_kinds(boards: Iterable[SuiteBoard]) -> Mapping[str, frozenset[FigureKind]]:
    """Suite name -> the report's figures its results feed."""
    return {board.suite: frozenset(board.figures) for board in boards}


def cross_model_columns(boards: Iterable[SuiteBoard]) -> Mapping[str, CrossModelColumns]:
    """Suite name -> its cross-model columns, for the suites that have some."""
    return {b.suite: b.cross_model for b in boards if b.cross_model is not None}


@dataclass(frozen=True)
class SuiteHeadline:
    """A headline column as declared (`spec`) by `suite`."""

    suite: str
    spec: HeadlineSpec


def headline_columns(boards: Iterable[SuiteBoard]) -> tuple[SuiteHeadline, ...]:
    """The suites' headline columns in headline order: by facet (`HeadlineFacet`), then suite
    name, then the order each suite declares them in."""
    declared = [SuiteHeadline(b.suite, spec) for b in boards for spec in b.headline]
    return tuple(sorted(declared, key=lambda h: (HEADLINE_FACETS.index(h.spec.facet), h.suite)))


def trade_offs(boards: Iterable[SuiteBoard]) -> tuple[TradeOff, ...]:
    """The suites' trade-off figures in report order: those with the suite's metric on the x
    axis first, then on the y axis, each by suite name."""
    declared = [(t.axis, b.suite, i, t) for b in boards for i, t in enumerate(b.trade_offs)]
    return tuple(t for *_order, t in sorted(declared, key=lambda d: d[:3]))


def curves(boards: Iterable[SuiteBoard], along: CurveAxis) -> tuple[Curve, ...]:
    """The suites' curves along `along`, by suite name then declaration order."""
    ordered = sorted(boards, key=lambda b: b.suite)
    return tuple(c for b in ordered for c in b.curves if c.along == along)


SuiteConfigs = Mapping[str, type[SuiteConfig]]  # suite name -> its config model


def suite_configs(boards: Iterable[SuiteBoard]) -> SuiteConfigs:
    """Suite name -> the config model its board declares, for the suites that declare one."""
    return {b.suite: b.config for b in boards if b.config is not None}


def read_config(
    configs: SuiteConfigs, suite: str, stored: Mapping[str, Any] | None
) -> SuiteConfig | None:
    """A job's stored suite config read back through its suite's model (its defaults for keys
    it lacks); None when the suite declares no model, or the stored config does not validate
    (written by another version of the suite): then nothing is read from it."""
    model = configs.get(suite)
    if model is None or stored is None:
        return None
    try:
        return model.model_validate(stored)
    except ValidationError:
        return None
