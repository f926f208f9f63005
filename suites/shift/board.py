"""The shift suite's metrics as boards and the report show them (torch-free: the results side
reads it; `harness.core.suite_board`), with the statistics boards derive from its records across
models (mCE, relative mCE, effective robustness: `cross_model/`)."""

from __future__ import annotations

from harness.core.headline_spec import HeadlineMetric, HeadlineSpec
from harness.core.metric_record import MetricSpec
from harness.core.suite_board import SuiteBoard, TradeOff
from harness.suites.shift.cross_model.columns import board_columns

METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(name="clean_acc", unit="fraction", higher_is_better=True),
    MetricSpec(
        name="corruption_acc",
        unit="fraction",
        higher_is_better=True,
        label="corruption accuracy",
    ),
    MetricSpec(
        name="corruption_error",
        unit="fraction",
        higher_is_better=False,
        description="top-1 error averaged over the severities of one corruption",
        label="corruption error",
    ),
    MetricSpec(
        name="mean_corruption_acc",
        unit="fraction",
        higher_is_better=True,
        headline=True,
        label="mean corruption accuracy",
    ),
    MetricSpec(
        name="relative_corruption_drop",
        unit="ratio",
        higher_is_better=False,
        description="1 - mean corruption accuracy / clean accuracy",
    ),
    MetricSpec(
        name="tabular_shift_acc",
        unit="fraction",
        higher_is_better=True,
        label="accuracy under shift",
    ),
    MetricSpec(
        name="mean_tabular_shift_acc",
        unit="fraction",
        higher_is_better=True,
        headline=True,
        label="mean accuracy under shift",
    ),
    MetricSpec(
        name="text_shift_acc",
        unit="fraction",
        higher_is_better=True,
        label="accuracy under text shift",
    ),
    MetricSpec(
        name="mean_text_shift_acc",
        unit="fraction",
        higher_is_better=True,
        headline=True,
        label="mean accuracy under text shift",
    ),
    MetricSpec(
        name="shift_acc",
        unit="fraction",
        higher_is_better=True,
        label="accuracy on the shifted set",
    ),
    MetricSpec(
        name="shift_acc_gap",
        unit="difference",
        higher_is_better=False,
        headline=True,
        description="clean accuracy minus accuracy on the shifted task",
        label="clean minus shifted accuracy",
    ),
    MetricSpec(
        name="ood_auroc",
        unit="fraction",
        higher_is_better=True,
        headline=True,
        label="OOD detection AUROC",
    ),
    MetricSpec(
        name="ood_aupr",
        unit="fraction",
        higher_is_better=True,
        description="AUPR-In: average precision with in-distribution as the positive class",
        label="OOD detection AUPR",
    ),
    MetricSpec(
        name="ood_aupr_out",
        unit="fraction",
        higher_is_better=True,
        description="AUPR-Out: average precision with OOD as the positive class",
    ),
    MetricSpec(
        name="ood_fpr_at_95_tpr",
        unit="fraction",
        higher_is_better=False,
        label="OOD false-positive rate at 95% TPR",
    ),
)

# computed by the boards across models (cross_model/corruption_error.py, effective_robustness.py)
DERIVED: tuple[MetricSpec, ...] = (
    MetricSpec(name="mce", unit="ratio", higher_is_better=False, headline=True, label="mCE"),
    MetricSpec(
        name="relative_mce",
        unit="ratio",
        higher_is_better=False,
        headline=True,
        label="relative mCE",
    ),
    MetricSpec(
        name="effective_robustness",
        unit="difference",
        higher_is_better=True,
        headline=True,
        label="effective robustness",
    ),
)

# the mean over image corruptions, else over tabular perturbations
HEADLINE = HeadlineSpec(
    metrics=(
        HeadlineMetric(metric="mean_corruption_acc", label="mean corruption accuracy", chance=True),
        HeadlineMetric(
            metric="mean_tabular_shift_acc",
            label="mean accuracy under shift",
            detail="tabular perturbations",
            chance=True,
        ),
    ),
    facet="shift",
)

BOARD = SuiteBoard(
    suite="shift",
    metrics=METRICS,
    derived=DERIVED,
    figures=("corruption_curves", "corruption_gallery", "ood_detection"),
    cross_model=board_columns,
    headline=(HEADLINE,),
    trade_offs=(TradeOff(metric="mean_corruption_acc", against="top1_acc", axis="y"),),
)
