"""The adversarial suite's metrics as boards and the report show them (torch-free: the results
side reads it; `harness.core.suite_board`): those of image attacks and those of text attacks."""

from __future__ import annotations

from harness.core.metric_record import MetricSpec
from harness.core.suite_board import SuiteBoard

METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        name="robust_acc",
        unit="fraction",
        higher_is_better=True,
        headline=True,
        description="worst case over the attack cascade, cumulative over eps",
        label="robust accuracy",
    ),
    MetricSpec(name="clean_acc", unit="fraction", higher_is_better=True),
    MetricSpec(
        name="min_norm_median",
        unit="input units",
        higher_is_better=True,
        label="median minimal perturbation",
    ),
    MetricSpec(
        name="min_norm_q25",
        unit="input units",
        higher_is_better=True,
        label="minimal perturbation, 25th percentile",
    ),
    MetricSpec(
        name="min_norm_q75",
        unit="input units",
        higher_is_better=True,
        label="minimal perturbation, 75th percentile",
    ),
    MetricSpec(
        name="invalid_adversarials",
        unit="count",
        higher_is_better=False,
        label="invalid adversarials",
    ),
)

TEXT_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        name="attack_success_rate",
        unit="fraction",
        higher_is_better=False,
        description="share of clean-correct texts the attacks broke within the budget",
        label="attack success rate",
    ),
    MetricSpec(name="mean_words_changed", unit="words", higher_is_better=True),
    MetricSpec(name="mean_chars_changed", unit="characters", higher_is_better=True),
    MetricSpec(name="mean_queries", unit="queries", higher_is_better=True),
    MetricSpec(name="rejected_candidates", unit="count", higher_is_better=False),
)

BOARD = SuiteBoard(
    suite="adversarial",
    metrics=(*METRICS, *TEXT_METRICS),
    figures=("adversarial_gallery", "text_examples"),
)
