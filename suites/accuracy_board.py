"""The accuracy suite's metrics as boards and the report show them (torch-free: the results side
reads it; `harness.core.suite_board`)."""

from __future__ import annotations

from harness.core.headline_spec import HeadlineMetric, HeadlineSpec
from harness.core.metric_record import MetricSpec
from harness.core.suite_board import SuiteBoard

METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        name="top1_acc",
        unit="fraction",
        higher_is_better=True,
        headline=True,
        label="clean accuracy",
    ),
    MetricSpec(name="top5_acc", unit="fraction", higher_is_better=True, label="top-5 accuracy"),
    MetricSpec(
        name="balanced_acc", unit="fraction", higher_is_better=True, label="balanced accuracy"
    ),
    MetricSpec(name="macro_f1", unit="fraction", higher_is_better=True, label="macro-F1"),
    MetricSpec(name="nll", unit="nats", higher_is_better=False, label="negative log-likelihood"),
    MetricSpec(
        name="ece",
        unit="fraction",
        higher_is_better=False,
        headline=True,
        label="calibration error (ECE)",
    ),
    MetricSpec(
        name="brier",
        unit="score",
        higher_is_better=False,
        headline=True,
        description="sum over classes of (p_k - y_k)^2, in [0, 2]; binary: 2x sklearn's",
        label="Brier score",
    ),
    MetricSpec(name="class_acc", unit="fraction", higher_is_better=True, label="class accuracy"),
)

HEADLINE: tuple[HeadlineSpec, ...] = (
    HeadlineSpec(
        metrics=(HeadlineMetric(metric="top1_acc", label="clean accuracy", chance=True),),
        facet="accuracy",
        lead=True,
    ),
    HeadlineSpec(
        metrics=(HeadlineMetric(metric="ece", label="calibration error (ECE)", skill=True),),
        facet="calibration",
    ),
)

BOARD = SuiteBoard(suite="accuracy", metrics=METRICS, figures=("group_table",), headline=HEADLINE)
