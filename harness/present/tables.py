"""The one table writer: a header and rows of cells as terminal text, Markdown or CSV.

Every table the CLI prints (leaderboard, check, groups, variants) is a `Table` written by one of
these functions, and every cell goes through the one escaper (`harness.present.escaping`) for
its format. Machine-readable records are written with `to_json`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from harness.present.escaping import csv_cell, md_text, terminal_text

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    """Column names and rows of cells (text, integers, or raw numbers for CSV)."""

    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]


def _text(cell: Cell) -> str:
    return "" if cell is None else str(cell)


def _integer_column(table: Table, i: int) -> bool:
    cells = [_plain(row[i]) for row in table.rows]
    return bool(cells) and all(isinstance(c, int) and not isinstance(c, bool) for c in cells)


def to_text(table: Table, *, align: Literal["right", "left"] = "right", gap: int = 1) -> str:
    """Fixed-width columns for a terminal (control characters shown as escapes).

    `right`: every cell right-justified, and the header of an integer column gets a sign slot
    (the layout of pandas' `to_string(index=False)`). `left`: cells left-justified, the last
    column unpadded (a free-text column such as a reason). No trailing newline.
    """
    body = [
        [terminal_text(c) for c in table.header],
        *[[terminal_text(_text(c)) for c in row] for row in table.rows],
    ]
    if align == "right":
        for i in range(len(table.header)):
            if _integer_column(table, i):
                body[0][i] = " " + body[0][i]
    widths = [max(len(row[i]) for row in body) for i in range(len(table.header))]
    sep = " " * gap
    if align == "right":
        return "\n".join(
            sep.join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in body
        )
    return "\n".join(
        sep.join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=False)), row[-1]])
        for row in body
    )


def column_widths(table: Table) -> list[int]:
    """The width `to_text` (right-aligned) gives each column."""
    widths = []
    for i, name in enumerate(table.header):
        cells = [terminal_text(_text(row[i])) for row in table.rows]
        head = len(terminal_text(name)) + (1 if _integer_column(table, i) else 0)
        widths.append(max([head, *(len(c) for c in cells)]))
    return widths


def split_columns(table: Table, width: int, *, keep: int) -> list[Table]:
    """The table as blocks of columns, each at most `width` characters wide as text (a column
    wider than that gets a block of its own); the first `keep` columns (e.g. position and model)
    repeat in every block. One block when the whole table fits."""
    widths = column_widths(table)
    base = sum(widths[:keep]) + max(0, keep - 1)
    blocks: list[list[int]] = []
    used = base
    for i in range(keep, len(widths)):
        if blocks and blocks[-1] and used + 1 + widths[i] <= width:
            blocks[-1].append(i)
            used += 1 + widths[i]
        else:
            blocks.append([i])
            used = base + 1 + widths[i]
    if len(blocks) <= 1:
        return [table]
    return [
        Table(
            [*table.header[:keep], *(table.header[i] for i in cols)],
            [[*row[:keep], *(row[i] for i in cols)] for row in table.rows],
        )
        for cols in blocks
    ]


def to_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table: every cell one inert line (no trailing newline)."""
    lines = [
        "| " + " | ".join(md_text(c) for c in table.header) + " |",
        "|" + "---|" * len(table.header),
    ]
    lines += ["| " + " | ".join(md_text(_text(c)) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def to_csv(table: Table) -> str:
    """RFC 4180 CSV (CRLF line ends): text cells that look like formulas are neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([csv_cell(c) for c in table.header])
    writer.writerows([csv_cell(_plain(c)) for c in row] for row in table.rows)
    return buf.getvalue()


def _plain(cell: Any) -> Any:
    """numpy scalars as Python numbers (the csv module would write their repr)."""
    return cell.item() if hasattr(cell, "item") and not isinstance(cell, str) else cell


def to_json(records: Any) -> str:
    """Records (lists and dicts of plain values) as indented JSON; NaN is refused, never written."""
    return json.dumps(records, indent=2, allow_nan=False)
