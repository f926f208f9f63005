"""OOD detection records of one OOD set against the clean rows: AUROC, AUPR-In and FPR at 95% TPR
of each score, with their intervals (`harness.analysis.detection`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harness.analysis.detection import METHODS
from harness.core.metric_record import MetricRecord
from harness.core.suite import RunContext
from suites.shift.metrics import record
from suites.shift.ood import scores


def ood_metrics(
    name: str, clean_rows: dict[str, Any], ood_rows: dict[str, Any], ctx: RunContext
) -> list[MetricRecord]:
    records = []
    n = len(clean_rows["msp"]) + len(ood_rows["msp"])
    values = {
        "ood_auroc": scores.auroc,
        "ood_aupr": scores.aupr,
        "ood_fpr_at_95_tpr": scores.fpr_at_tpr,
    }
    for score in scores.SCORES:
        s_in, s_out = scores.score_values(clean_rows, score), scores.score_values(ood_rows, score)
        cis = scores.detection_cis(
            s_in, s_out, seed=ctx.seed, name=f"shift/{name}/{score}",
            resamples=ctx.bootstrap_resamples,
        )  # fmt: skip
        for metric, fn in values.items():
            rec = record(
                metric, fn(s_in, s_out), n, condition=f"ood={name}", context={"score": score}
            )
            ci = cis[metric]
            records.append(replace(rec, ci=ci, ci_method=METHODS[metric] if ci else None))
    return records
