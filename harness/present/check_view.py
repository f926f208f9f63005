"""The gate's report as the CLI prints it: a terminal table, or Markdown for a pull request.

One row per checked item (status, the numbers, the test, the Holm-adjusted p-value `p_holm`, the
minimum detectable change and the reason), then the headline (each task's robust accuracy at its
headline threat model, and clean accuracy, per model), the verdict, what a pass can miss per
test family (minimum detectable effects), and the method. The Markdown summary starts with the
headline. Where the table is wider than the terminal, each check is one wrapped line under its
model and task. Tables are written by `harness.present.tables`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from harness.analysis.check import P_HOLM, CheckReport, CheckRow
from harness.analysis.check_headline import HeadlineCheck
from harness.present.escaping import md_text, terminal_text
from harness.present.tables import INDENT, Table, fit_text, to_markdown, to_text, wrap
from harness.stats.intervals import ALPHA, below_alpha_text


def number(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:.4g}" if abs(v) >= 1000 else f"{v:.4f}"


def p_text(row: CheckRow) -> str:
    """The row's p-value as printed: Holm-adjusted over every test of the gate (`P_HOLM`)."""
    p = row.p_adjusted if row.p_adjusted is not None else row.p_value
    if p is None:
        return "—"
    alpha = row.rule.alpha if row.rule is not None and row.rule.alpha is not None else ALPHA
    return below_alpha_text(p, f"{p:.3g}", alpha)


def delta_text(delta: float | None) -> str:
    """A change to four decimals; one that rounds to 0 but is not 0 keeps two significant
    digits (a significant regression of 0.00004 on a million samples read "-0.0000")."""
    if delta is None:
        return "—"
    text = f"{delta:+.4f}"
    return f"{delta:+.2g}" if delta != 0 and text in ("+0.0000", "-0.0000") else text


def _past_tolerance_text(r: CheckRow, text: str) -> str:
    """A change beyond the tolerance that reads as the tolerance itself ("-0.0100" beside
    "beyond tolerance (drop ≤ 0.01)") gets the digits that show it past it ("-0.01004")."""
    if r.delta is None or r.rule is None or r.rule.max_drop is None:
        return text
    if "beyond tolerance" not in r.reason or abs(float(text)) != round(r.rule.max_drop, 4):
        return text
    for digits in range(5, 10):
        longer = f"{r.delta:+.{digits}f}"
        if abs(float(longer)) != round(r.rule.max_drop, digits):
            return longer
    return text


def change_text(r: CheckRow) -> str:
    """The change with the test's 95% interval of it: `+0.0000 [-0.0183, +0.0183]`, or
    `(debiased ECE: [...])` when the interval is of another statistic than the number shown."""
    delta = _past_tolerance_text(r, delta_text(r.delta))
    if r.ci is None or r.delta is None:
        return delta
    interval = f"[{delta_text(r.ci[0])}, {delta_text(r.ci[1])}]"
    return f"{delta} ({r.statistic}: {interval})" if r.statistic else f"{delta} {interval}"


def _cells(r: CheckRow) -> list[str]:
    delta = change_text(r)
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
    "delta [95% CI]",
    "test",
    P_HOLM,
    "mde",
    "reason",
]


def still_flagged_text(report: CheckReport) -> str:
    """' (N still flagged, as in the baseline)' when some rows carry the baseline's flags,
    ' (N not gated: measured on other hardware)' when some rows were measured on other hardware
    and ' (N not compared: ...)' when some passed with nothing to compare them with."""
    n, other, none = len(report.still_flagged), len(report.not_gated), len(report.not_compared)
    return (
        (f" ({n} still flagged, as in the baseline)" if n else "")
        + (f" ({other} not gated: measured on other hardware)" if other else "")
        + (f" ({none} not compared: new, or failed or undefined in the baseline)" if none else "")
    )


HEADLINE_HEADER = [
    "status",
    "model",
    "metric",
    "baseline",
    "current",
    "delta [95% CI]",
    P_HOLM,
]


def _headline_cells(r: CheckRow, metric: str) -> list[str]:
    delta = change_text(r)
    return [
        r.status.upper(),
        r.model,
        metric,
        number(r.baseline),
        number(r.current),
        delta,
        p_text(r),
    ]


def headline_table(check: HeadlineCheck) -> Table:
    """One task's headline rows: per model, robust accuracy at the threat model, then clean.
    A model without a robust row (its job failed in either run) shows its job's finding there."""
    rows = []
    robust = {r.model: r for r in check.robust}
    clean = {r.model: r for r in check.clean}
    jobs = {r.model: r for r in check.jobs}
    what = f"robust accuracy at {check.threat.label}"
    for model in check.models:
        if model in robust:
            rows.append(_headline_cells(robust[model], what))
        elif model in jobs:
            job = jobs[model]
            rows.append([job.status.upper(), model, f"{what}: {job.reason}", "—", "—", "—", "—"])
        if model in clean:
            rows.append(_headline_cells(clean[model], "clean accuracy"))
    return Table(HEADLINE_HEADER, rows)


def headline_title(check: HeadlineCheck) -> str:
    return (
        f"headline of {check.task}: robust accuracy at {check.threat.label}, its headline threat "
        f"model ({check.key})"
    )


def _check_lines(rows: Sequence[CheckRow], width: int) -> list[str]:
    """Each check as one wrapped line under its model and task (the table did not fit)."""
    groups: dict[tuple[str, str], list[CheckRow]] = defaultdict(list)
    for r in rows:
        groups[(r.model, r.task)].append(r)
    out = []
    for (model, task), items in groups.items():
        out.append(wrap(terminal_text(f"{model} · {task}"), width))
        for r in items:
            cells = _cells(r)
            line = (
                f"{INDENT}{cells[0]:<5} {r.suite}: {r.metric}  {cells[5]} -> {cells[6]} "
                f"({cells[7]}), {cells[8]} {P_HOLM}={cells[9]}, mde {cells[10]}: {r.reason}"
            )
            out.append(wrap(terminal_text(line), width, indent=INDENT * 2))
    return out


def verdict_text(report: CheckReport) -> str:
    return (
        f"FAIL: {len(report.failures)} of {len(report.rows)} checks failed"
        if report.failures
        else f"PASS: {len(report.rows)} checks"
    ) + still_flagged_text(report)


def render_table(
    report: CheckReport, *, width: int | None = None, headline: Sequence[HeadlineCheck] = ()
) -> str:
    """Plain text for the terminal, every line within `width` (None: no limit)."""
    table = to_text(Table(HEADER, [_cells(r) for r in report.rows]), align="left", gap=2)
    if width is not None and max(len(line) for line in table.splitlines()) > width:
        table = "\n".join(_check_lines(report.rows, width))
    parts = [table, ""]
    for check in headline:
        parts.append(wrap(terminal_text(headline_title(check)), width))
        parts.append(wrap_table(headline_table(check), width))
        parts.append("")
    tail = [
        verdict_text(report),
        *(f"power: {line}" for line in report.power),
        f"method: {report.method}",
        *report.notes,
    ]
    return "\n".join([*parts, *(wrap(terminal_text(line), width) for line in tail)])


def wrap_table(table: Table, width: int | None) -> str:
    """A small left-aligned table, as records when it is wider than `width`."""
    return fit_text(table, width, keep=2, align="left", gap=2)


def render_markdown_error(message: str) -> str:
    """The step summary of a gate that could not compare the runs (exit 2)."""
    return f"## ⛔ harness check: could not compare\n\n{md_text(message)}\n"


def render_markdown(report: CheckReport, *, headline: Sequence[HeadlineCheck] = ()) -> str:
    """Markdown for a pull-request comment or the GitHub step summary (cells escaped): the
    headline of each task first, then every check."""
    icon = "❌" if report.failures else "✅"
    verdict = (
        f"{len(report.failures)} of {len(report.rows)} checks failed"
        if report.failures
        else f"all {len(report.rows)} checks passed"
    ) + still_flagged_text(report)
    ordered = sorted(report.rows, key=lambda r: r.status != "fail")
    lines = [f"## {icon} harness check: {verdict}", ""]
    for check in headline:
        lines += [
            f"**{md_text(headline_title(check))}**",
            "",
            to_markdown(headline_table(check)),
            "",
        ]
    lines += [
        "<details><summary>Every check</summary>\n" if headline else "",
        to_markdown(Table(HEADER, [_cells(r) for r in ordered])),
        "\n</details>" if headline else "",
        "",
        *(f"> power: {md_text(line)}\n" for line in report.power),
        f"> {md_text(report.method)}",
        f"> {md_text('; '.join(report.notes))}",
        "",
    ]
    return "\n".join(lines)
