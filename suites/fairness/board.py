"""The fairness suite's metrics as boards and the report show them (torch-free: the results side
reads it; `harness.core.suite_board`): disparities between groups and each group's metrics."""

from __future__ import annotations

from collections.abc import Mapping

from harness.core.group_context import GroupContext
from harness.core.headline_spec import HeadlineMetric, HeadlineSpec
from harness.core.metric_record import MetricSpec
from harness.core.suite_board import SuiteBoard
from harness.suites.fairness.config import FairnessConfig

DISPARITY_SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        name="demographic_parity_difference",
        unit="fraction",
        higher_is_better=False,
        headline=True,
        description="largest minus smallest group selection rate (binary tasks)",
        label="demographic parity difference",
    ),
    MetricSpec(
        name="equalized_odds_difference",
        unit="fraction",
        higher_is_better=False,
        headline=True,
        description="larger of the TPR and FPR gaps between groups (binary tasks)",
        label="equalized odds difference",
    ),
    MetricSpec(
        name="worst_group_acc",
        unit="fraction",
        higher_is_better=True,
        headline=True,
        description="accuracy of the worst non-empty group",
        label="worst-group accuracy",
    ),
    MetricSpec(
        name="demographic_parity_ratio",
        unit="ratio",
        higher_is_better=True,
        label="demographic parity ratio",
    ),
    MetricSpec(
        name="equalized_odds_ratio",
        unit="ratio",
        higher_is_better=True,
        label="equalized odds ratio",
    ),
    MetricSpec(
        name="equal_opportunity_difference",
        unit="fraction",
        higher_is_better=False,
        label="equal opportunity difference",
    ),
    MetricSpec(
        name="group_acc_gap", unit="fraction", higher_is_better=False, label="group accuracy gap"
    ),
    MetricSpec(
        name="group_ece_gap",
        unit="fraction",
        higher_is_better=False,
        label="group calibration error gap",
    ),
    MetricSpec(
        name="worst_group_acc_drop",
        unit="fraction",
        higher_is_better=False,
        label="worst-group accuracy drop",
    ),
    MetricSpec(
        name="group_acc_drop_gap",
        unit="fraction",
        higher_is_better=False,
        label="gap in group accuracy drops",
    ),
)

# per-group metric of the breakdown -> declared metric name
GROUP_METRICS: dict[str, MetricSpec] = {
    "acc": MetricSpec(
        name="group_acc", unit="fraction", higher_is_better=True, label="group accuracy"
    ),
    "ece": MetricSpec(
        name="group_ece", unit="fraction", higher_is_better=False, label="group calibration error"
    ),
    "selection_rate": MetricSpec(
        name="group_selection_rate",
        unit="fraction",
        higher_is_better=True,
        description="share predicted positive (no better direction; compare across groups)",
    ),
    "tpr": MetricSpec(
        name="group_tpr", unit="fraction", higher_is_better=True, label="group true-positive rate"
    ),
    "fpr": MetricSpec(
        name="group_fpr",
        unit="fraction",
        higher_is_better=False,
        label="group false-positive rate",
    ),
    "clean_acc": MetricSpec(
        name="group_clean_acc",
        unit="fraction",
        higher_is_better=True,
        label="group clean accuracy",
    ),
    "acc_drop": MetricSpec(
        name="group_acc_drop",
        unit="fraction",
        higher_is_better=False,
        label="group accuracy drop",
    ),
}

ALL_SPECS: tuple[MetricSpec, ...] = DISPARITY_SPECS + tuple(GROUP_METRICS.values())


def grouping_words(context: Mapping[str, object]) -> str:
    """The grouping of a fairness record (`harness.core.group_context`)."""
    return GroupContext.of(context).group_by or ""


# each model's lowest worst-group accuracy over its groupings
HEADLINE = HeadlineSpec(
    metrics=(HeadlineMetric(metric="worst_group_acc", label="worst-group accuracy"),),
    facet="groups",
    pick="lowest",
    words=grouping_words,
)

BOARD = SuiteBoard(
    suite="fairness",
    metrics=ALL_SPECS,
    figures=("group_records",),
    headline=(HEADLINE,),
    config=FairnessConfig,
)
