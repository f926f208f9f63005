"""Group breakdowns as `harness groups` prints them: one line per group, Markdown, CSV or JSON.

The long rows of `harness.analysis.stored_groups` (one number per row) are pivoted to one line per
(table, condition, grouping, group) with a column per metric for Markdown; CSV and JSON keep the
long rows. The terminal names each (model, task, condition, grouping) once as a heading, then
one line per group (its declared label beside the code) in the order of their numeric bounds,
fitted to the width (column blocks), and the disparities across groups as one line; notes (and
the task's note on an undocumented coding) once at the end. Every row names its run: CSV and JSON
always carry the `run` column; the terminal headings and the Markdown table show it when a job's
rows come from more than one run (two runs of one model are never merged into one line). Tables
are written by
`harness.present.tables`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from harness.analysis.stored_groups import repeated_jobs
from harness.core.group_order import value_order
from harness.present.escaping import md_text, terminal_text
from harness.present.number_format import edge_text, interval_ends, matched_value
from harness.present.tables import Table, fit_text, to_csv, to_markdown, wrap
from harness.stats.groups import GROUP_METRICS

# one line per group: its size is the line's n (a TPR's own count is in its row's `n`)
KEYS = ("model", "task", "suite", "run", "condition", "group_by", "group", "label", "group_n")
HEADING = ("model", "task", "suite", "condition", "group_by")
ACROSS = "*"  # the group of a disparity (a number across the groups)


def _across(row: Mapping[str, Any]) -> bool:
    """A disparity's row: the group `*` and a number across the groups. A group of the data
    named `*` (a star rating: `*`, `**`, `***`) has rows of group numbers, shown as a group."""
    return str(row["group"]) == ACROSS and row["metric"] not in GROUP_METRICS


def _cell(r: pd.Series) -> str:
    return _row_cell(r.to_dict())


def wide_table(rows: list[dict[str, Any]]) -> Table:
    """One line per group: the key columns, then `estimate [95% CI]` per metric."""
    frame = pd.DataFrame(rows)
    frame["cell"] = frame.apply(_cell, axis=1)
    keys = [c for c in KEYS if c in frame]
    if "run" in frame and not repeated_jobs(rows):
        keys.remove("run")  # one run per job: the run column would say nothing
    wide = frame.pivot_table(
        index=keys, columns="metric", values="cell", aggfunc="first", sort=False
    ).reset_index()
    wide.columns.name = None
    wide = wide.rename(columns={"group_n": "n"}).fillna("")
    return Table([str(c) for c in wide.columns], [list(r) for r in wide.itertuples(index=False)])


def _heading(key: tuple[Any, ...]) -> str:
    model, task, suite, condition, group_by, *run = key
    of_run = f", run {run[0]}" if run else ""
    return f"{model} · {task} · {condition} (from the {suite} table{of_run}) · by {group_by}"


# per-group rates and the worst group's accuracy: fractions (gaps and differences are not)
_FRACTIONS = frozenset(
    {"acc", "ece", "selection_rate", "tpr", "fpr", "clean_acc", "worst_group_acc"}
)


def _row_cell(r: Mapping[str, Any]) -> str:
    """`_cell` of a long row as it is (a dict: None where the frame has NaN)."""
    value, low = r["value"], r["ci_lo"]
    if value is None or pd.isna(value):
        return "undefined"
    text = f"{value:.3f}"
    if r.get("metric") in _FRACTIONS:  # as the report and leaderboard: 0.00028 is not "0.000"
        text = edge_text(value, text, "fraction")
    if low is not None and not pd.isna(low):
        ends = interval_ends((low, r["ci_hi"]), f"{low:.3f}", f"{r['ci_hi']:.3f}")
        text = matched_value(value, text, *ends) + f" [{ends[0]}, {ends[1]}]"
    if r.get("n") != r.get("group_n"):  # a rate of part of the group (TPR: its positives)
        text += f" (n={r['n']})"
    return text + (" UNRELIABLE" if r["flag"] else "")


def _blocks(
    rows: list[dict[str, Any]], heading: list[str]
) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    """The rows by heading key, keys in first-seen order, rows in order."""
    blocks: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        blocks.setdefault(tuple(r.get(k) for k in heading), []).append(r)
    return blocks


def _terminal(rows: list[dict[str, Any]], width: int | None) -> list[str]:
    """Per (model, task, suite, condition, grouping): a heading, the groups in the order of
    their values' numeric bounds, and the numbers across groups on one wrapped line."""
    heading = list(HEADING) + (
        ["run"] if any("run" in r for r in rows) and repeated_jobs(rows) else []
    )
    out: list[str] = []
    for key, block in _blocks(rows, heading).items():
        out.append(wrap(terminal_text(_heading(key)), width))
        groups = [r for r in block if not _across(r)]
        metrics = list(dict.fromkeys(r["metric"] for r in groups))
        by_value: dict[str, list[dict[str, Any]]] = {}
        for r in groups:
            by_value.setdefault(str(r["group"]), []).append(r)
        table_rows: list[list[str | int | float | None]] = []
        for value in value_order(str(r["group"]) for r in groups):
            mine = by_value[value]
            label = next((str(x) for r in mine if isinstance(x := r.get("label"), str) and x), "")
            cells = {r["metric"]: _row_cell(r) for r in mine}
            shown = f"{value} ({label})" if label and label != value else value
            size = int(mine[0]["group_n"])
            table_rows.append([shown, size, *(cells.get(m, "") for m in metrics)])
        if table_rows:
            table = Table(["group", "n", *metrics], table_rows)
            out.append(fit_text(table, width, keep=2, align="left", gap=2, wrap_last=False))
        across = [r for r in block if _across(r)]
        if across:
            parts = [f"{r['metric']} {_row_cell(r)}" for r in across]
            out.append(wrap(terminal_text("across groups: " + "; ".join(parts)), width))
        out.append("")
    return out


def long_table(rows: list[dict[str, Any]]) -> Table:
    """The long rows as they are (one number per row), columns in first-seen order."""
    header = list(dict.fromkeys(k for r in rows for k in r))
    return Table(header, [[r.get(k) for k in header] for r in rows])


def render(
    rows: list[dict[str, Any]],
    fmt: str,
    *,
    width: int | None = None,
    codings: Mapping[str, str] | None = None,
) -> str:
    """Render long rows as terminal text (module docstring), Markdown (pivoted: one line per
    group), CSV or JSON. `codings`: notes on group columns whose coding is undocumented."""
    if fmt == "json":  # pandas' JSON (10 significant digits), the format this command always had
        return pd.DataFrame(rows).to_json(orient="records", indent=1)
    if fmt == "csv":  # group values come from datasets: formulas are neutralised
        return to_csv(long_table(rows))
    notes = sorted(
        {f"{r['group_by']} {r['group']} {r['metric']}: {r['note']}" for r in rows if r["note"]}
    )
    notes += [f"{column}: {note}" for column, note in sorted((codings or {}).items())]
    if fmt == "md":
        tail = "".join(f"\n> {md_text(n)}\n" for n in notes)
        return to_markdown(wide_table(rows)) + "\n" + tail
    lines = _terminal(rows, width)
    if notes:
        lines += ["notes:", *(wrap(terminal_text(n), width) for n in notes)]
    return "\n".join(lines).rstrip("\n") + "\n"
