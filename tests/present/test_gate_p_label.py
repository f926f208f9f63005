"""The gate prints Holm-adjusted p-values; every output names them so (`p_holm`), never a bare
`p=` that reads as the test's own p-value (the wrapped terminal lines printed `p=0.03` for a
test whose unadjusted p was 0.001)."""

from __future__ import annotations

import re
from pathlib import Path

from harness.analysis.check import CheckReport, CheckRow, _Pending, _settle
from harness.analysis.check_policy import MetricRule
from harness.analysis.paired_tests import PairedResult
from harness.present.check_view import render_markdown, render_table
from harness.present.junit import render_junit


def _row(**kw: object) -> CheckRow:
    return CheckRow(
        "m", "digits", "accuracy", "top1_acc", 0.9, 0.85, "pass", "within tolerance",
        test="mcnemar_exact", p_value=0.001, p_adjusted=0.031, rule=MetricRule(alpha=0.05),
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _report(row: CheckRow) -> CheckReport:
    return CheckReport(rows=[row], method="m", baseline=Path("b"), current=Path("c"))


def test_every_gate_output_names_the_holm_adjusted_p() -> None:
    report = _report(_row())
    wide = render_table(report, width=None)
    narrow = render_table(report, width=60)  # each check as one wrapped line
    md = render_markdown(report)
    junit = render_junit(report)
    for text in (wide, narrow, md, junit):
        assert "p_holm" in text, text
        assert "0.031" in text
        assert not re.search(r"(?<![\w])p[= ]0\.031", text), text
        assert "p (adj)" not in text


def test_a_not_significant_reason_names_the_holm_adjusted_p() -> None:
    row = _row()
    row.p_adjusted = 0.2
    result = PairedResult(test="mcnemar_exact", n=100, diff=-0.05, p_value=0.01, detail="")
    _settle(_Pending(row=row, result=result, worse=0.05, beyond=True, floor_broken=False))
    assert "p_holm=0.2" in row.reason and "(p=" not in row.reason
