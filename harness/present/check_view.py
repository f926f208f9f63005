"""The gate's report as the CLI prints it: a terminal table, or Markdown for a pull request.

One row per checked item (status, the numbers, the test, the adjusted p-value, the minimum
detectable change and the reason), then the verdict, what a pass can miss per test family
(minimum detectable effects), and the method. Tables are written by `harness.present.tables`.
"""

from __future__ import annotations

from harness.analysis.check import CheckReport, CheckRow
from harness.present.escaping import md_text, terminal_text
from harness.present.tables import Table, to_markdown, to_text


def number(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:.4g}" if abs(v) >= 1000 else f"{v:.4f}"


def p_text(row: CheckRow) -> str:
    """The row's p-value as printed: Holm-adjusted when it was a paired test."""
    p = row.p_adjusted if row.p_adjusted is not None else row.p_value
    return "—" if p is None else f"{p:.3g}"


def _cells(r: CheckRow) -> list[str]:
    delta = "—" if r.delta is None else f"{r.delta:+.4f}"
    return [
        r.status.upper(),
        r.model,
        r.task,
        r.suite,
        r.metric,
        number(r.baseline),
        number(r.current),
        delta,
        r.test or "—",
        p_text(r),
        number(r.mde),
        r.reason,
    ]


HEADER = [
    "status",
    "model",
    "task",
    "suite",
    "metric",
    "baseline",
    "current",
    "delta",
    "test",
    "p (adj)",
    "mde",
    "reason",
]


def still_flagged_text(report: CheckReport) -> str:
    """' (N still flagged, as in the baseline)' when some rows carry the baseline's flags."""
    n = len(report.still_flagged)
    return f" ({n} still flagged, as in the baseline)" if n else ""


def render_table(report: CheckReport) -> str:
    """A plain-text table for the terminal."""
    table = to_text(Table(HEADER, [_cells(r) for r in report.rows]), align="left", gap=2)
    verdict = (
        f"FAIL: {len(report.failures)} of {len(report.rows)} checks failed"
        if report.failures
        else f"PASS: {len(report.rows)} checks"
    ) + still_flagged_text(report)
    tail = [
        verdict,
        *(f"power: {line}" for line in report.power),
        f"method: {report.method}",
        *report.notes,
    ]
    return "\n".join([table, "", *(terminal_text(line) for line in tail)])


def render_markdown(report: CheckReport) -> str:
    """Markdown for a pull-request comment or the GitHub step summary (cells escaped)."""
    icon = "❌" if report.failures else "✅"
    verdict = (
        f"{len(report.failures)} of {len(report.rows)} checks failed"
        if report.failures
        else f"all {len(report.rows)} checks passed"
    ) + still_flagged_text(report)
    ordered = sorted(report.rows, key=lambda r: r.status != "fail")
    lines = [
        f"## {icon} harness check: {verdict}",
        "",
        to_markdown(Table(HEADER, [_cells(r) for r in ordered])),
        "",
        *(f"> power: {md_text(line)}\n" for line in report.power),
        f"> {md_text(report.method)}",
        f"> {md_text('; '.join(report.notes))}",
        "",
    ]
    return "\n".join(lines)
