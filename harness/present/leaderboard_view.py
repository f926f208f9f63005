"""Leaderboards as the CLI prints them: terminal table, Markdown, CSV and JSON.

Cells show `estimate [95% CI]` (`estimate (no interval)` where none was computed), reliability
flags as `UNRELIABLE(flag)`, `UPPER BOUND` on a number that only bounds the truth from above
(`caveats.is_upper_bound`), `BELOW CHANCE` on an OOD AUROC under 0.5 (its meaning in a
footnote), `AT OR BELOW CHANCE` on an accuracy no better than always predicting the most common
class (the report's and the run end's rule, `headline.chance_cells`; the chance level in a
footnote; JSON and CSV: `<key>_chance` and `<key>_at_or_below_chance`), footnote marks (†1...) for records that carry a note, and `FAILED: <reason>` where
the suite's job failed; qualifiers shared by every column of a metric
move to a `measured at:` legend line. The headline robust accuracy column (the task's headline
threat model, `Board.headline`) comes right after the first column and is named under the title;
the rank column says which column it ranks on and is shown once, not in every column block. CSV and JSON carry the
same information in columns: `<key>_flags`, `<key>_note`, `<key>_failed`, and the board's notes
(what the table and Markdown print as `note:` lines under the board) on every row of the board:
JSON `notes`, a list; CSV `notes`, one cell with the notes one per line (a spreadsheet or a CSV
reader takes every line of the file as a row of one table, so there are no comment lines).
Tables are written by `harness.present.tables`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from harness.analysis.caveats import caveats
from harness.analysis.headline import (
    chance_cells,
    chance_fields,
    chance_metrics,
    headline_keys,
    worst_group_words,
)
from harness.analysis.leaderboard import FAILURE_CELL, Board, BoardRow
from harness.core.threat_model import headline_text
from harness.present.escaping import md_code, md_text, terminal_text
from harness.present.number_format import edge_text, interval_ends, matched_value
from harness.present.tables import Table, fit_text, to_csv, to_json, to_markdown, wrap

BELOW_CHANCE = (
    "BELOW CHANCE: an OOD AUROC under 0.5; the score ranks in-distribution samples as more "
    "unusual than the out-of-distribution ones, so it does not detect that set (no better than "
    "a coin flip)"
)


def _num(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.3f}"


def at_chance_note(chance: float) -> str:
    """The footnote of a cell at or below chance, in the report's words."""
    return (
        f"at or below chance ({_num(chance)}: what always predicting the most common class of "
        "the evaluated samples scores)"
    )


def _fmt(row: BoardRow, key: str, column_suites: dict[str, str], at_chance: bool = False) -> str:
    m = row.cell(key)
    if m is None:
        failure = row.failure(key, column_suites)
        if failure and len(failure) > FAILURE_CELL:  # whole in the board's notes
            failure = failure[: FAILURE_CELL - 1] + "…"
        return f"FAILED: {failure}" if failure else "—"
    if m.value is None:
        return "undefined"
    text = _num(m.value)
    text = edge_text(m.value, text, m.unit)  # as the report: 0.99998 is not "1.000"
    if m.ci:
        low, high = interval_ends(m.ci, _num(m.ci[0]), _num(m.ci[1]))
        text = matched_value(m.value, text, low, high) + f" [{low}, {high}]"
    else:  # the legend reads "estimate [95% CI]": a missing interval is said, not left out
        text += " (no interval)"
    if m.flags:
        text += " UNRELIABLE(" + ",".join(m.flags) + ")"
    kinds = {c.kind for c in caveats(m)}
    if "upper_bound" in kinds:
        # not comparable with the column's white-box numbers: said on the number, not only in
        # its footnote, as a flag is
        text += " UPPER BOUND"
    if "below_chance" in kinds:
        text += " BELOW CHANCE"
    if at_chance:  # no better than a constant guess: said on the number, as the report does
        text += " AT OR BELOW CHANCE"
    return text


def split_key(key: str) -> tuple[str, list[str]]:
    """`metric[q1,q2]` -> ("metric", ["q1", "q2"]); a group value holding a comma stays whole
    (`split_qualifiers`)."""
    if key.endswith("]") and "[" in key:
        metric, _, rest = key.partition("[")
        return metric, [q for q in split_qualifiers(rest[:-1], ",") if q]
    return key, []


_QUALIFIER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?==)")


def split_qualifiers(text: str, sep: str) -> list[str]:
    """`text` split at `sep` into `name=value` qualifiers. Values come from data (group values,
    bin labels) and may hold `sep`, so the pieces are read from the right: a piece that does not
    start `name=`, or repeats a name already read to its right (a key names each once), is part
    of the value on its left: `group=[40, 50),group_by=age_bin` has the group `[40, 50)`,
    `group=a,group_by=g,group_by=g` the group `a,group_by=g`, and `group=Asian/Pacific Islander`
    the one group; the first piece always starts a qualifier, so `class=x,class=y` is the class
    `x,class=y`. A value that reads as a qualifier of a new name still splits there."""
    out: list[str] = []
    seen: set[str] = set()
    pending: list[str] = []  # pieces (right to left) of the value of a qualifier further left
    for piece in reversed(text.split(sep)):
        name = _QUALIFIER_NAME.match(piece)
        if name is None or name.group(0) in seen:
            pending.append(piece)
            continue
        seen.add(name.group(0))
        out.append(sep.join([piece, *reversed(pending)]))
        pending = []
    if pending:
        # a key's first piece always starts a qualifier: one that repeats the name of the
        # qualifier after it starts that qualifier (class `x,class=y`); else it stands alone
        first = _QUALIFIER_NAME.match(pending[-1])
        after = _QUALIFIER_NAME.match(out[-1]) if out else None
        text = sep.join(reversed(pending))
        if first and after and first.group(0) == after.group(0):
            out[-1] = f"{text}{sep}{out[-1]}"
        else:
            out.append(text)
    return out[::-1]


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
    """Markers for cells whose record carries a note or is below chance (†1, †2...), and the
    numbered notes."""
    numbers: dict[str, int] = {}
    marks: dict[tuple[str, str], str] = {}
    chance = chance_cells(board)
    for r in board.rows:
        for c in board.columns:
            m = r.cell(c)
            if m is None:
                continue
            notes = [m.note] if m.note else []
            if any(k.kind == "below_chance" for k in caveats(m)):
                notes.append(BELOW_CHANCE)
            level, at = chance.get((r.model, c), (0.0, False))
            if at:
                notes.append(at_chance_note(level))
            source = board.sources.get((r.model, m.suite))
            if source is not None and (group := worst_group_words(source[1], m)):
                # the board's n counts every group; the value and interval are one group's
                notes.append(f"measured on the worst {group}, not on all of the board's n samples")
            for note in notes:
                numbers.setdefault(note, len(numbers) + 1)
                marks[(r.model, c)] = marks.get((r.model, c), "") + f" †{numbers[note]}"
    return marks, [f"†{i} {note}" for note, i in numbers.items()]


def ordered_columns(board: Board) -> list[str]:
    """The board's columns with the headline robust accuracy column(s) right after the first."""
    lead = [k for k in headline_keys(board) if k in board.columns]
    first = board.columns[:1]
    return [
        *first,
        *(k for k in lead if k not in first),
        *(c for c in board.columns[1:] if c not in lead),
    ]


def headline_line(board: Board, labels: dict[str, str]) -> str | None:
    """`headline: robust accuracy at L-inf 0.1 (...), column <label>` (None without one)."""
    keys = [k for k in headline_keys(board) if k in board.columns]
    if not board.headline:
        return None
    where = ", ".join(labels.get(k, k) for k in keys) or "not measured on this board"
    return (
        f"headline threat model: {headline_text(board.headline)} (robust accuracy there: {where})"
    )


def rank_header(board: Board, labels: dict[str, str]) -> str:
    """The rank column's name: what it ranks on."""
    key = board.rank_metric or ""
    return f"rank on {labels.get(key, key)}"


def _cell(board: Board, row: BoardRow, key: str, marks: dict[tuple[str, str], str]) -> str:
    at = chance_cells(board).get((row.model, key), (0.0, False))[1]
    return _fmt(row, key, board.column_suites, at) + marks.get((row.model, key), "")


def board_table(board: Board, labels: dict[str, str] | None = None) -> Table:
    """The board's rows as a table: position, model, rank (when ranked, named after the column it
    ranks on), one cell per column (the headline robust accuracy second)."""
    labels = labels or {c: c for c in board.columns}
    marks, _ = footnotes(board)
    ranked = board.rank_metric is not None
    columns = ordered_columns(board)
    header = [
        "#",
        "model",
        *([rank_header(board, labels)] if ranked else []),
        *[labels[c] for c in columns],
    ]
    rows = [
        [
            r.position,
            r.model,
            *([r.rank or "—"] if ranked else []),
            *[_cell(board, r, c, marks) for c in columns],
        ]
        for r in board.rows
    ]
    return Table(header, rows)


def render_table(boards: list[Board], *, width: int | None = None) -> str:
    """Terminal text; with `width`, every line fits it (tables split into column blocks that
    repeat the position and model; legend and notes wrapped)."""
    parts = []
    for b in boards:
        labels, legend = column_labels(b.columns)
        header = (
            f"{b.title}  (n={b.n}, task {b.task_fingerprint[:8]}; "
            + ", ".join(f"{s} {v}" for s, v in sorted(b.suites.items()))
            + ")"
        )
        parts.append(wrap(terminal_text(header), width))
        headline = headline_line(b, labels)
        if headline:
            parts.append(wrap(terminal_text(headline), width))
        parts.append(fit_text(board_table(b, labels), width, keep=2))
        lines = [f"values: estimate [95% CI]; {units_line(b, labels)}"]
        lines.extend(f"measured at: {line}" for line in legend)
        lines.extend(footnotes(b)[1])
        if b.rank_method:
            lines.append(b.rank_method)
        lines.extend(f"note: {n}" for n in b.notes)
        parts.extend(wrap(terminal_text(line), width) for line in lines)
        parts.append("")
    return "\n".join(parts)


def units_line(board: Board, labels: dict[str, str]) -> str:
    """Each column's unit and direction (ECE, Brier, latency: lower is better), as every text
    form of the board says it."""
    return "units and direction: " + ", ".join(
        f"{labels[c]} ({u}, {'higher' if h else 'lower'} is better)"
        for c, (u, h) in board.units.items()
    )


def units_of(board: Board) -> dict[str, dict[str, Any]]:
    """Column key -> {unit, higher_is_better}: the JSON's `units`."""
    return board.unit_fields()


def render_markdown(boards: list[Board]) -> str:
    parts = []
    for b in boards:
        parts.append(f"### {md_text(b.title)}\n")
        parts.append(
            f"n = {b.n}; task fingerprint {md_code(b.task_fingerprint[:12])}; values are estimates with 95% intervals (each record states its method).\n"
        )
        labels, legend = column_labels(b.columns)
        _marks, notes = footnotes(b)
        headline = headline_line(b, labels)
        if headline:
            parts.append(f"{md_text(headline)}\n")
        parts.append(to_markdown(board_table(b, labels)))
        parts.append(f"\n> {md_text(units_line(b, labels))}")
        parts.extend(f"\n> measured at: {md_text(line)}" for line in legend)
        parts.extend(f"\n> {md_text(line)}" for line in notes)
        if b.rank_method:
            parts.append(f"\n> {md_text(b.rank_method)}")
        parts.extend(f"\n> {md_text(n)}" for n in b.notes)
        parts.append("")
    return "\n".join(parts)


_CSV_SUFFIXES = ("", "_ci_low", "_ci_high", "_n", "_flags", "_note", "_failed")
# every column's unit and direction (`Board.units`), as the Markdown's `units and direction:` line
# and the JSON's `units` say them: columns of their own, so a CSV reader still reads one table
_CSV_UNITS = ("_unit", "_higher_is_better")
# a worst-group column's: `_n` is the worst group's n, these name it and count every group
_CSV_WORST = ("_worst_groups", "_n_all_groups")
# an accuracy column with a chance level (`headline.chance_metrics`): the level, and whether the
# number is at or below it
_CSV_CHANCE = ("_chance", "_at_or_below_chance")


def _has_chance(board: Board, key: str) -> bool:
    return any(
        (rec := r.cell(key)) is not None and (rec.suite, rec.metric) in chance_metrics(board)
        for r in board.rows
    )


def render_csv(boards: list[Board]) -> str:
    """One line per (board, model); per column its value, interval, n, flags (`;`-joined),
    note and failure reason, unit and direction (`_unit`, `_higher_is_better`: the same on every
    row of the board); last, the board's notes (`notes`, one per line of the cell, the same
    on every row of the board)."""
    keys: list[str] = []
    for b in boards:
        for c in b.columns:
            suffixes = _CSV_SUFFIXES + (_CSV_WORST if c.startswith("worst_") else ())
            suffixes += _CSV_CHANCE if _has_chance(b, c) else ()
            suffixes += _CSV_UNITS
            for k in (c + suffix for suffix in suffixes):
                if k not in keys:
                    keys.append(k)
    header = ["board", "position", "rank", "model", "task", "task_fingerprint", *keys, "notes"]
    rows = []
    for b in boards:
        for r in b.rows:
            flat = {**b.row_dict(r), **chance_fields(b, r.model)}
            for c in b.columns:
                flat[f"{c}_unit"], flat[f"{c}_higher_is_better"] = b.units[c]
                ci = flat.get(f"{c}_ci")
                flat[f"{c}_ci_low"] = ci[0] if ci else None
                flat[f"{c}_ci_high"] = ci[1] if ci else None
                flags = flat.get(f"{c}_flags")
                flat[f"{c}_flags"] = ";".join(flags) if flags else None
                if groups := flat.get(f"{c}_worst_groups"):
                    named = [f"{g['group']} (n={g['n']})" for g in groups]
                    flat[f"{c}_worst_groups"] = ";".join(named)
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
                    "units": units_of(b),
                    **({"protocol": b.protocol} if b.protocol is not None else {}),
                    **b.row_dict(r),
                    **chance_fields(b, r.model),
                    "notes": list(b.notes),
                }
            )
    return to_json(rows)
