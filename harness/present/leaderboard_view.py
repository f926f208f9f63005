"""Leaderboards as the CLI prints them: terminal table, Markdown, CSV and JSON.

Cells show `estimate [95% CI]`, reliability flags as `UNRELIABLE(flag)`, footnote marks (†1...)
for records that carry a note, and `FAILED: <reason>` where the suite's job failed; qualifiers
shared by every column of a metric move to a `measured at:` legend line. CSV and JSON carry the
same information in columns: `<key>_flags`, `<key>_note`, `<key>_failed`, and the board's notes
(what the table and Markdown print as `note:` lines under the board) on every row of the board:
JSON `notes`, a list; CSV `notes`, one cell with the notes one per line (a spreadsheet or a CSV
reader takes every line of the file as a row of one table, so there are no comment lines).
Tables are written by `harness.present.tables`.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict

from harness.analysis.leaderboard import Board, BoardRow
from harness.present.escaping import md_code, md_text, terminal_text
from harness.present.tables import Table, split_columns, to_csv, to_json, to_markdown, to_text


def _num(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.3f}"


def _fmt(row: BoardRow, key: str, column_suites: dict[str, str]) -> str:
    m = row.cell(key)
    if m is None:
        failure = row.failure(key, column_suites)
        return f"FAILED: {failure}" if failure else "—"
    if m.value is None:
        return "undefined"
    text = _num(m.value)
    if m.ci:
        text += f" [{_num(m.ci[0])}, {_num(m.ci[1])}]"
    if m.flags:
        text += " UNRELIABLE(" + ",".join(m.flags) + ")"
    return text


def split_key(key: str) -> tuple[str, list[str]]:
    """`metric[q1,q2]` -> ("metric", ["q1", "q2"])."""
    if key.endswith("]") and "[" in key:
        metric, _, rest = key.partition("[")
        return metric, [q for q in rest[:-1].split(",") if q]
    return key, []


def column_labels(columns: list[str]) -> tuple[dict[str, str], list[str]]:
    """Short column labels: qualifiers shared by every column of a metric move to a legend line."""
    by_metric: dict[str, list[list[str]]] = defaultdict(list)
    for col in columns:
        metric, quals = split_key(col)
        by_metric[metric].append(quals)
    common = {
        metric: set.intersection(*(set(q) for q in quals)) if quals else set()
        for metric, quals in by_metric.items()
    }
    labels: dict[str, str] = {}
    for col in columns:
        metric, quals = split_key(col)
        rest = [q for q in quals if q not in common[metric]]
        labels[col] = f"{metric}[{','.join(rest)}]" if rest else metric
    same_conditions: dict[str, list[str]] = defaultdict(list)
    for metric, shared in common.items():
        if shared:
            same_conditions[", ".join(q for q in by_metric[metric][0] if q in shared)].append(
                metric
            )
    legend = [f"{', '.join(metrics)}: {quals}" for quals, metrics in same_conditions.items()]
    return labels, legend


def footnotes(board: Board) -> tuple[dict[tuple[str, str], str], list[str]]:
    """Markers for cells whose record carries a note (†1, †2...), and the numbered notes."""
    numbers: dict[str, int] = {}
    marks: dict[tuple[str, str], str] = {}
    for r in board.rows:
        for c in board.columns:
            m = r.cell(c)
            note = m.note if m is not None else None
            if note:
                numbers.setdefault(note, len(numbers) + 1)
                marks[(r.model, c)] = f" †{numbers[note]}"
    return marks, [f"†{i} {note}" for note, i in numbers.items()]


def _cell(board: Board, row: BoardRow, key: str, marks: dict[tuple[str, str], str]) -> str:
    return _fmt(row, key, board.column_suites) + marks.get((row.model, key), "")


def board_table(board: Board, labels: dict[str, str] | None = None) -> Table:
    """The board's rows as a table: position, rank (when ranked), model, one cell per column."""
    labels = labels or {c: c for c in board.columns}
    marks, _ = footnotes(board)
    ranked = board.rank_metric is not None
    header = ["#", *(["rank"] if ranked else []), "model", *[labels[c] for c in board.columns]]
    rows = [
        [
            r.position,
            *([r.rank or "—"] if ranked else []),
            r.model,
            *[_cell(board, r, c, marks) for c in board.columns],
        ]
        for r in board.rows
    ]
    return Table(header, rows)


def _fit(line: str, width: int | None) -> str:
    """A text line wrapped to `width` (continuation lines indented); unchanged without one."""
    if width is None or len(line) <= width:
        return line
    return textwrap.fill(line, width=width, subsequent_indent="    ", break_on_hyphens=False)


def _table_text(table: Table, width: int | None, keep: int) -> str:
    """The board table; wider than `width`, as blocks of columns that each fit."""
    if width is None:
        return to_text(table)
    blocks = split_columns(table, width, keep=keep)
    if len(blocks) == 1:
        return to_text(table)
    total = len(table.header) - keep
    parts, start = [], 1
    for block in blocks:
        count = len(block.header) - keep
        span = f"column {start}" if count == 1 else f"columns {start}-{start + count - 1}"
        parts.append(f"({span} of {total})")
        parts.append(to_text(block))
        start += count
    return "\n".join(parts)


def render_table(boards: list[Board], *, width: int | None = None) -> str:
    """Terminal text; with `width`, every line fits it (tables split into column blocks that
    repeat the position, rank and model; legend and notes wrapped)."""
    parts = []
    for b in boards:
        labels, legend = column_labels(b.columns)
        header = (
            f"{b.title}  (n={b.n}, task {b.task_fingerprint[:8]}; "
            + ", ".join(f"{s} {v}" for s, v in sorted(b.suites.items()))
            + ")"
        )
        parts.append(_fit(terminal_text(header), width))
        keep = 3 if b.rank_metric is not None else 2
        parts.append(_table_text(board_table(b, labels), width, keep))
        lines = [
            "values: estimate [95% CI]; units and direction: "
            + ", ".join(
                f"{labels[c]} ({u}, {'higher' if h else 'lower'} is better)"
                for c, (u, h) in b.units.items()
            )
        ]
        lines.extend(f"measured at: {line}" for line in legend)
        lines.extend(footnotes(b)[1])
        if b.rank_method:
            lines.append(b.rank_method)
        lines.extend(f"note: {n}" for n in b.notes)
        parts.extend(_fit(terminal_text(line), width) for line in lines)
        parts.append("")
    return "\n".join(parts)


def render_markdown(boards: list[Board]) -> str:
    parts = []
    for b in boards:
        parts.append(f"### {md_text(b.title)}\n")
        parts.append(
            f"n = {b.n}; task fingerprint {md_code(b.task_fingerprint[:12])}; values are estimates with 95% intervals (each record states its method).\n"
        )
        labels, legend = column_labels(b.columns)
        _marks, notes = footnotes(b)
        parts.append(to_markdown(board_table(b, labels)))
        parts.extend(f"\n> measured at: {md_text(line)}" for line in legend)
        parts.extend(f"\n> {md_text(line)}" for line in notes)
        if b.rank_method:
            parts.append(f"\n> {md_text(b.rank_method)}")
        parts.extend(f"\n> {md_text(n)}" for n in b.notes)
        parts.append("")
    return "\n".join(parts)


_CSV_SUFFIXES = ("", "_ci_low", "_ci_high", "_n", "_flags", "_note", "_failed")


def render_csv(boards: list[Board]) -> str:
    """One line per (board, model); per column its value, interval, n, flags (`;`-joined),
    note and failure reason; last, the board's notes (`notes`, one per line of the cell, the same
    on every row of the board)."""
    keys: list[str] = []
    for b in boards:
        for c in b.columns:
            for k in (c + suffix for suffix in _CSV_SUFFIXES):
                if k not in keys:
                    keys.append(k)
    header = ["board", "position", "rank", "model", "task", "task_fingerprint", *keys, "notes"]
    rows = []
    for b in boards:
        for r in b.rows:
            flat = r.to_dict(ranked=b.rank_metric is not None, column_suites=b.column_suites)
            for c in b.columns:
                ci = flat.get(f"{c}_ci")
                flat[f"{c}_ci_low"] = ci[0] if ci else None
                flat[f"{c}_ci_high"] = ci[1] if ci else None
                flags = flat.get(f"{c}_flags")
                flat[f"{c}_flags"] = ";".join(flags) if flags else None
            rows.append(
                [
                    b.title,
                    r.position,
                    r.rank,
                    r.model,
                    r.task,
                    r.task_fingerprint,
                    *[flat.get(k) for k in keys],
                    "\n".join(b.notes) or None,
                ]
            )
    return to_csv(Table(header, rows))


def render_json(boards: list[Board]) -> str:
    """The machine-readable contract: one object per (model, task) row, metric columns flat,
    with its board's title, n, suites, rank method and notes (`notes`: the board's notes, the
    same list on every row of the board)."""
    rows = []
    for b in boards:
        for r in b.rows:
            rows.append(
                {
                    "board": b.title,
                    "n": b.n,
                    "suites": b.suites,
                    "rank_method": b.rank_method,
                    **({"protocol": b.protocol} if b.protocol is not None else {}),
                    **r.to_dict(ranked=b.rank_metric is not None, column_suites=b.column_suites),
                    "notes": list(b.notes),
                }
            )
    return to_json(rows)
