"""The fairness suite's metric records from a group breakdown (its metrics are declared in
`board.py`)."""

from __future__ import annotations

from harness.core.metric_record import MetricRecord, spec_record
from harness.stats.groups import Breakdown
from harness.suites.fairness.board import DISPARITY_SPECS, GROUP_METRICS


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
                    n=g.count(key),
                    condition=breakdown.condition,
                    ci=est.ci,
                    ci_method=est.method if est.ci else None,
                    context={"group_by": g.group_by, "group": g.group},
                    note=est.note,
                    flags=g.flags(key),
                )
            )
    return records
