"""Group breakdowns as `harness groups` prints them: one line per group, Markdown, CSV or JSON.

The long rows of `harness.analysis.groups` (one number per row) are pivoted to one line per
(table, condition, grouping, group) with a column per metric for the terminal and Markdown;
CSV and JSON keep the long rows. Every row names its run: CSV and JSON always carry the `run`
column; the terminal and Markdown tables show it when a job's rows come from more than one run
(two runs of one model are never merged into one line). Tables are written by
`harness.present.tables`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.analysis.stored_groups import repeated_jobs
from harness.present.escaping import terminal_text
from harness.present.tables import Table, to_csv, to_markdown, to_text

KEYS = ("model", "task", "suite", "run", "condition", "group_by", "group", "n")


def _cell(r: pd.Series) -> str:
    if r["value"] is None or pd.isna(r["value"]):
        return "undefined"
    text = f"{r['value']:.3f}"
    if r["ci_lo"] is not None and not pd.isna(r["ci_lo"]):
        text += f" [{r['ci_lo']:.3f}, {r['ci_hi']:.3f}]"
    return text + (" UNRELIABLE" if r["flag"] else "")


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
    wide = wide.fillna("")
    return Table([str(c) for c in wide.columns], [list(r) for r in wide.itertuples(index=False)])


def long_table(rows: list[dict[str, Any]]) -> Table:
    """The long rows as they are (one number per row), columns in first-seen order."""
    header = list(dict.fromkeys(k for r in rows for k in r))
    return Table(header, [[r.get(k) for k in header] for r in rows])


def render(rows: list[dict[str, Any]], fmt: str) -> str:
    """Render long rows as a table (pivoted: one line per group), Markdown, CSV or JSON."""
    if fmt == "json":  # pandas' JSON (10 significant digits), the format this command always had
        return pd.DataFrame(rows).to_json(orient="records", indent=1)
    if fmt == "csv":  # group values come from datasets: formulas are neutralised
        return to_csv(long_table(rows))
    if fmt == "md":
        return to_markdown(wide_table(rows)) + "\n"
    notes = sorted(
        {f"{r['group_by']} {r['group']} {r['metric']}: {r['note']}" for r in rows if r["note"]}
    )
    tail = "\n".join(["", "notes:", *(terminal_text(n) for n in notes)]) if notes else ""
    return to_text(wide_table(rows)) + "\n" + tail + "\n"
