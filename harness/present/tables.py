"""The one table writer: a header and rows of cells as terminal text, Markdown or CSV.

Every table the CLI prints (leaderboard, check, groups, variants, list) is a `Table` written by
one of these functions, and every cell goes through the one escaper (`harness.present.escaping`)
for its format. Machine-readable records are written with `to_json`.

Terminal text fits a width (`fit_text`, `wrap`): a table that is too wide wraps its free-text
last column under itself, splits into blocks of columns that repeat the leading ones, or, when
even that cannot fit, prints each row as a record (the leading cells on one line, then one
indented `header: value` line per other cell). Plain text only: no colour, no box drawing, so
the output reads the same in a terminal, a CI log or a file.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
import unicodedata
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


def display_width(text: str) -> int:
    """The terminal columns `text` takes: two for a wide or full-width character (CJK), none for
    a combining mark, one for any other (terminal text holds no control characters). A mark is
    told by its category, non-spacing or enclosing (Mn, Me): many have combining class 0 (Thai
    and Devanagari vowel signs, variation selectors), which `unicodedata.combining` reads as 0."""
    if text.isascii():
        return len(text)
    return sum(map(_columns, text))


def _columns(char: str) -> int:
    if unicodedata.category(char) in ("Mn", "Me"):  # drawn on the character before it
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def _rjust(text: str, width: int) -> str:
    return " " * (width - display_width(text)) + text


def _ljust(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


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
    widths = [max(display_width(row[i]) for row in body) for i in range(len(table.header))]
    sep = " " * gap
    if align == "right":
        return "\n".join(
            sep.join(_rjust(c, w) for c, w in zip(row, widths, strict=True)) for row in body
        )
    return "\n".join(
        sep.join([*(_ljust(c, w) for c, w in zip(row[:-1], widths, strict=False)), row[-1]])
        for row in body
    )


def column_widths(table: Table) -> list[int]:
    """The width `to_text` (right-aligned) gives each column."""
    widths = []
    for i, name in enumerate(table.header):
        cells = [terminal_text(_text(row[i])) for row in table.rows]
        head = display_width(terminal_text(name)) + (1 if _integer_column(table, i) else 0)
        widths.append(max([head, *(display_width(c) for c in cells)]))
    return widths


def split_columns(table: Table, width: int, *, keep: int, gap: int = 1) -> list[Table]:
    """The table as blocks of columns, each at most `width` characters wide as text with `gap`
    spaces between columns (a column wider than that gets a block of its own); the first `keep`
    columns (e.g. position and model) repeat in every block. One block when the whole table
    fits."""
    widths = column_widths(table)
    base = sum(widths[:keep]) + max(0, keep - 1) * gap
    blocks: list[list[int]] = []
    used = base
    for i in range(keep, len(widths)):
        if blocks and blocks[-1] and used + gap + widths[i] <= width:
            blocks[-1].append(i)
            used += gap + widths[i]
        else:
            blocks.append([i])
            used = base + gap + widths[i]
    if len(blocks) <= 1:
        return [table]
    return [
        Table(
            [*table.header[:keep], *(table.header[i] for i in cols)],
            [[*row[:keep], *(row[i] for i in cols)] for row in table.rows],
        )
        for cols in blocks
    ]


MIN_WRAP = 24  # narrowest last column worth wrapping in place; below it, rows become records
INDENT = "    "


def wrap(line: str, width: int | None, *, indent: str = INDENT) -> str:
    """A text line wrapped to `width` terminal columns (continuation lines indented; a word
    longer than the width is broken); unchanged without a width or when it fits."""
    if width is None or display_width(line) <= width:
        return line
    lead = line[: len(line) - len(line.lstrip(" "))]
    wrapper = _Wrapper(width=width, subsequent_indent=lead + indent, break_on_hyphens=False)
    return "\n".join(_wrapped(line, wrapper))


_PAD = "\x00"
"""Put after each wide character while `textwrap` wraps a text (then taken out), so that its
count of characters is the text's terminal columns; terminal text holds no NUL."""


class _Wrapper(textwrap.TextWrapper):
    """`textwrap`'s wrapper that breaks a long word between characters, never between a wide
    character and its `_PAD`."""

    def _handle_long_word(
        self, reversed_chunks: list[str], cur_line: list[str], cur_len: int, width: int
    ) -> None:
        chunk = reversed_chunks[-1]
        end = 1 if width < 1 else width - cur_len  # as textwrap's (break_on_hyphens=False)
        if 0 < end < len(chunk) and chunk[end] == _PAD:
            end -= 1  # the wide character goes to the next line whole
            if end == 0 and not cur_line:  # a line narrower than one wide character
                end = 2
        cur_line.append(chunk[:end])
        reversed_chunks[-1] = chunk[end:]


def _wrapped(text: str, wrapper: textwrap.TextWrapper) -> list[str]:
    """`wrapper.wrap(text)` with each line at most `wrapper.width` terminal columns: a wide
    character (CJK) counted as two (`_PAD`); text without one is wrapped as it is."""
    if text.isascii() or _PAD in text or all(_columns(c) < 2 for c in text):
        return wrapper.wrap(text)
    padded = "".join(c + _PAD if _columns(c) == 2 else c for c in text)
    return [line.replace(_PAD, "") for line in wrapper.wrap(padded)]


def fit_text(
    table: Table,
    width: int | None,
    *,
    keep: int = 1,
    align: Literal["right", "left"] = "right",
    gap: int = 1,
    wrap_last: bool | None = None,
) -> str:
    """`to_text` fitted to `width` terminal columns (None: no limit).

    With `wrap_last` (default: for `left` tables, whose last column is free text: a reason, a
    description) the last column wraps under itself; otherwise the table splits into blocks of
    columns, each repeating the first `keep` columns and headed `(columns i-j of n)`. A table
    that still cannot fit is written as records (`records_text`)."""
    text = to_text(table, align=align, gap=gap)
    if width is None or _widest(text) <= width:
        return text
    if align == "left" if wrap_last is None else wrap_last:
        wrapped = _wrapped_last(table, width, gap)
        if wrapped is not None:
            return wrapped
        return records_text(table, width, keep=keep)
    blocks = split_columns(table, width, keep=keep, gap=gap)
    texts = [to_text(b, align=align, gap=gap) for b in blocks]
    if any(_widest(t) > width for t in texts):
        return records_text(table, width, keep=keep)
    if len(blocks) == 1:
        return texts[0]
    total = len(table.header) - keep
    parts, start = [], 1
    for block, block_text in zip(blocks, texts, strict=True):
        count = len(block.header) - keep
        span = f"column {start}" if count == 1 else f"columns {start}-{start + count - 1}"
        parts += [f"({span} of {total})", block_text]
        start += count
    return "\n".join(parts)


def _widest(text: str) -> int:
    return max((display_width(line) for line in text.splitlines()), default=0)


def _wrapped_last(table: Table, width: int, gap: int) -> str | None:
    """A left-aligned table whose last column wraps under itself (None: too little room)."""
    head = Table(table.header[:-1], [row[:-1] for row in table.rows])
    if not head.header:
        return None
    lead_lines = _padded(head, gap)
    start = display_width(lead_lines[0])
    room = width - start
    if room < MIN_WRAP:
        return None
    out = []
    for lead, cell in zip(
        lead_lines, [table.header[-1], *(r[-1] for r in table.rows)], strict=True
    ):
        wrapper = _Wrapper(width=room, break_on_hyphens=False)
        pieces = _wrapped(terminal_text(_text(cell)), wrapper) or [""]
        out.append((lead + pieces[0]).rstrip())
        out += [(" " * start + p).rstrip() for p in pieces[1:]]
    return "\n".join(out)


def _padded(table: Table, gap: int) -> list[str]:
    """Each line of a left-aligned table padded to its full width, plus `gap` spaces."""
    body = [
        [terminal_text(c) for c in table.header],
        *[[terminal_text(_text(c)) for c in row] for row in table.rows],
    ]
    widths = [max(display_width(row[i]) for row in body) for i in range(len(table.header))]
    sep = " " * gap
    return ["".join(_ljust(c, w) + sep for c, w in zip(row, widths, strict=True)) for row in body]


def records_text(table: Table, width: int, *, keep: int = 1) -> str:
    """Each row as a record: its first cells on one line (left-aligned under the header's
    names; `keep` of them, fewer when they would not fit), then one `header: value` line per
    other non-empty cell, indented and wrapped to `width`."""
    keep = max(1, min(keep, len(table.header)))
    while keep > 1 and _widest(_lead(table, keep)) > width:
        keep -= 1
    lines = _lead(table, keep).splitlines()
    out = [wrap(lines[0].rstrip(), width)]
    for line, row in zip(lines[1:], table.rows, strict=True):
        out.append(wrap(line.rstrip(), width))
        for name, cell in zip(table.header[keep:], row[keep:], strict=True):
            value = terminal_text(_text(cell))
            if value.strip():
                out.append(wrap(f"{INDENT}{terminal_text(name)}: {value}", width))
    return "\n".join(out)


def _lead(table: Table, keep: int) -> str:
    return to_text(
        Table(table.header[:keep], [row[:keep] for row in table.rows]), align="left", gap=2
    )


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
