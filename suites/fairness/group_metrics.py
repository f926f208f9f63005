"""The fairness suite's declared metrics and their records from a group breakdown."""

from __future__ import annotations

from harness.core.metric_record import MetricRecord, MetricSpec, spec_record
from harness.stats.groups import Breakdown

DISPARITY_SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        name="demographic_parity_difference",
        unit="fraction",
        higher_is_better=False,
        headline=True,
        description="largest minus smallest group selection rate (binary tasks)",
    ),
    MetricSpec(
        name="equalized_odds_difference",
        unit="fraction",
        higher_is_better=False,
        headline=True,
        description="larger of the TPR and FPR gaps between groups (binary tasks)",
    ),
    MetricSpec(
        name="worst_group_acc",
        unit="fraction",
        higher_is_better=True,
        headline=True,
        description="accuracy of the worst non-empty group",
    ),
    MetricSpec(name="demographic_parity_ratio", unit="ratio", higher_is_better=True),
    MetricSpec(name="equalized_odds_ratio", unit="ratio", higher_is_better=True),
    MetricSpec(name="equal_opportunity_difference", unit="fraction", higher_is_better=False),
    MetricSpec(name="group_acc_gap", unit="fraction", higher_is_better=False),
    MetricSpec(name="group_ece_gap", unit="fraction", higher_is_better=False),
    MetricSpec(name="worst_group_acc_drop", unit="fraction", higher_is_better=False),
    MetricSpec(name="group_acc_drop_gap", unit="fraction", higher_is_better=False),
)

# per-group metric of the breakdown -> declared metric name
GROUP_METRICS: dict[str, MetricSpec] = {
    "acc": MetricSpec(name="group_acc", unit="fraction", higher_is_better=True),
    "ece": MetricSpec(name="group_ece", unit="fraction", higher_is_better=False),
    "selection_rate": MetricSpec(
        name="group_selection_rate",
        unit="fraction",
        higher_is_better=True,
        description="share predicted positive (no better direction; compare across groups)",
    ),
    "tpr": MetricSpec(name="group_tpr", unit="fraction", higher_is_better=True),
    "fpr": MetricSpec(name="group_fpr", unit="fraction", higher_is_better=False),
    "clean_acc": MetricSpec(name="group_clean_acc", unit="fraction", higher_is_better=True),
    "acc_drop": MetricSpec(name="group_acc_drop", unit="fraction", higher_is_better=False),
}

ALL_SPECS: tuple[MetricSpec, ...] = DISPARITY_SPECS + tuple(GROUP_METRICS.values())


def records_from_breakdown(breakdown: Breakdown, *, suite: str) -> list[MetricRecord]:
    """Metric records of a breakdown: disparities per grouping, then every group's metrics.

    Groups below the minimum size, and disparities over them, carry the reliability flag
    `insufficient_group_size`; a TPR or FPR on fewer positives or negatives than that minimum,
    and the disparities built on it, carry `small_denominator`. Undefined values are None with
    the reason in `note`; every interval states its method (harness.stats.group_intervals).
    """
    specs = {s.name: s for s in DISPARITY_SPECS}
    records: list[MetricRecord] = []
    for d in breakdown.disparities:
        est = d.estimate
        records.append(
            spec_record(
                specs[d.metric],
                suite=suite,
                value=est.value,
                n=d.n,
                condition=breakdown.condition,
                ci=est.ci,
                ci_method=est.method if est.ci else None,
                context={"group_by": d.group_by},
                note=est.note,
                flags=est.flags,
            )
        )
    for g in breakdown.groups:
        for key, est in g.metrics.items():
            records.append(
                spec_record(
                    GROUP_METRICS[key],
                    suite=suite,
                    value=est.value,
                    n=g.n,
                    condition=breakdown.condition,
                    ci=est.ci,
                    ci_method=est.method if est.ci else None,
                    context={"group_by": g.group_by, "group": g.group},
                    note=est.note,
                    flags=g.flags(key),
                )
            )
    return records
