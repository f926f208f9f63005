"""Leaderboards from the store: comparable headline metrics per task, with intervals and n.

Only numbers with the same task fingerprint and the same suite version + config hash share a
board. When one suite ran with several configs on a task, each config gets a board of its own
and the split is stated; nothing is silently mixed. No torch import here.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.analysis import cross_model, paired_tests
from harness.core.errors import ResultsError
from harness.core.metric_record import MetricRecord
from harness.store.run_store import StoredJob, load_jobs


@dataclass
class Board:
    """One comparable leaderboard: a task (fingerprint) and one config per suite."""

    title: str
    task: str
    task_fingerprint: str
    n: int | None
    suites: dict[str, str]  # suite -> "version/config-hash"
    rows: list[dict[str, Any]]  # one per model
    columns: list[str]  # metric keys
    units: dict[str, tuple[str, bool]] = field(
        default_factory=dict
    )  # key -> (unit, higher_is_better)
    notes: list[str] = field(default_factory=list)
    rank_metric: str | None = None  # the column ranks (with tie groups) are decided on
    rank_method: str = ""
    # (model, suite) -> (run manifest, stored job): provenance for reports and paired tests
    sources: dict[tuple[str, str], tuple[dict[str, Any], StoredJob]] = field(
        default_factory=dict, repr=False
    )
    records: dict[tuple[str, str], MetricRecord] = field(
        default_factory=dict, repr=False
    )  # (model, key)


def _signature(job: StoredJob) -> str:
    return f"v{job.record['suite_version']}/{str(job.record['suite_config_hash'])[:8]}"


def build_boards(
    root: Path, *, task: str | None = None, all_metrics: bool = False, ranks: bool = True
) -> list[Board]:
    """Read every completed job under `root` and arrange comparable boards.

    With `ranks`, each board's first column is ranked with tie groups decided by paired tests on
    the per-sample tables (see harness.analysis.paired_tests); rows get `rank` next to `position`.
    """
    loaded = [(man, j) for man, j in load_jobs(root) if j.status == "completed"]
    manifests = {id(j): man for man, j in loaded}
    jobs = [j for _, j in loaded]
    if task is not None:
        names = sorted({j.record["task"] for j in jobs})
        jobs = [j for j in jobs if j.record["task"] == task]
        if not jobs:
            raise ResultsError(
                f"no completed results for task {task!r} under {root}; tasks with results: {', '.join(names) or '(none)'}"
            )
    if not jobs:
        raise ResultsError(f"no completed jobs under {root}")
    # latest result per (task fingerprint, model, suite, signature)
    latest: dict[tuple[str, str, str, str], StoredJob] = {}
    for job in sorted(jobs, key=lambda j: str(j.record.get("finished", ""))):
        fp = job.record["task_summary"]["fingerprint"]
        latest[(fp, job.record["model"], job.record["suite"], _signature(job))] = job
    by_task: dict[tuple[str, str], list[StoredJob]] = defaultdict(list)
    for (fp, _m, _s, _sig), job in latest.items():
        by_task[(job.record["task"], fp)].append(job)
    boards: list[Board] = []
    fingerprints_per_name: dict[str, set[str]] = defaultdict(set)
    for name, fp in by_task:
        fingerprints_per_name[name].add(fp)
    for (task_name, fp), task_jobs in sorted(by_task.items()):
        sigs: dict[str, set[str]] = defaultdict(set)
        for j in task_jobs:
            sigs[j.record["suite"]].add(_signature(j))
        split_suites = sorted(s for s, v in sigs.items() if len(v) > 1)
        groups: dict[tuple[tuple[str, str], ...], list[StoredJob]] = defaultdict(list)
        for j in task_jobs:
            # a job of a split suite goes to the board of its config; others go to every board
            if j.record["suite"] in split_suites:
                groups[((j.record["suite"], _signature(j)),)].append(j)
        if not groups:
            groups[()] = []
        shared = [j for j in task_jobs if j.record["suite"] not in split_suites]
        for group_key, group_jobs in groups.items():
            summary = task_jobs[0].record["task_summary"]
            title = task_name
            if len(fingerprints_per_name[task_name]) > 1:
                title += f" (data {fp[:8]}, n={summary['n']})"
            if group_key:
                title += " · " + ", ".join(f"{s} config {sig}" for s, sig in group_key)
            board = _make_board(
                title, task_name, fp, summary.get("n"), [*shared, *group_jobs], all_metrics
            )
            board.sources = {
                (j.record["model"], j.record["suite"]): (manifests[id(j)], j)
                for j in [*shared, *group_jobs]
            }
            _add_cross_model(board, [*shared, *group_jobs])
            if ranks:
                _add_ranks(board)
            _add_variant_notes(board, [(manifests[id(j)], j) for j in [*shared, *group_jobs]])
            if split_suites:
                board.notes.append(
                    f"suite(s) {', '.join(split_suites)} ran with different configs on {task_name}; "
                    "each config has its own board"
                )
            if len(fingerprints_per_name[task_name]) > 1:
                board.notes.append(
                    f"task {task_name} appears with {len(fingerprints_per_name[task_name])} different "
                    "data fingerprints (e.g. --limit); they are not compared"
                )
            boards.append(board)
    return boards


def _make_board(
    title: str, task: str, fp: str, n: int | None, jobs: list[StoredJob], all_metrics: bool
) -> Board:
    rows: dict[str, dict[str, Any]] = {}
    columns: list[str] = []
    units: dict[str, tuple[str, bool]] = {}
    suites: dict[str, str] = {}
    records: dict[tuple[str, str], MetricRecord] = {}
    for job in jobs:
        model = job.record["model"]
        suites[job.record["suite"]] = _signature(job)
        row = rows.setdefault(model, {"model": model, "task": task, "task_fingerprint": fp})
        lineage = job.record.get("model_description") or {}
        if lineage.get("parent") and lineage.get(
            "variant"
        ):  # a compressed variant (docs/variants.md)
            row.update(parent=lineage["parent"], variant=lineage["variant"])
        for m in job.metrics:
            if not (m.headline or all_metrics):
                continue
            key = m.key
            if key not in units:
                columns.append(key)
                units[key] = (m.unit, m.higher_is_better)
            _put(row, key, m)
            records[(model, key)] = m
    ordered = sorted(rows.values(), key=lambda r: _sort_key(r, columns, units))
    for rank, row in enumerate(ordered, start=1):
        row["position"] = rank
    return Board(
        title=title,
        task=task,
        task_fingerprint=fp,
        n=n,
        suites=suites,
        rows=ordered,
        columns=columns,
        units=units,
        records=records,
    )


def _add_cross_model(board: Board, jobs: list[StoredJob]) -> None:
    """Columns that need several models of the board (mCE, relative mCE, effective robustness)."""
    shift = {j.record["model"]: j.metrics for j in jobs if j.record["suite"] == cross_model.SUITE}
    if not shift:
        return
    configs = [
        j.record.get("suite_config") or {} for j in jobs if j.record["suite"] == cross_model.SUITE
    ]
    baseline = next((c.get("mce_baseline") for c in configs if c.get("mce_baseline")), None)
    per_model, notes = cross_model.board_records(shift, baseline=baseline)
    board.notes.extend(notes)
    rows = {r["model"]: r for r in board.rows}
    for model, records in per_model.items():
        for m in records:
            if m.key not in board.units:
                board.columns.append(m.key)
                board.units[m.key] = (m.unit, m.higher_is_better)
            _put(rows[model], m.key, m)
            board.records[(model, m.key)] = m


def _add_ranks(board: Board) -> None:
    """Rank rows on the board's first column with tie groups from paired tests."""
    if not board.columns:
        return
    key = board.columns[0]
    entries = {}
    seeds = set()
    for row in board.rows:
        record = board.records.get((row["model"], key))
        if record is None:
            continue
        _man, job = board.sources[(row["model"], record.suite)]
        seeds.add(int(job.record.get("seed", 0)))
        table = job.table() if (job.path / "samples.parquet").is_file() else None
        entries[row["model"]] = (record, paired_tests.per_sample(record, table))
    try:
        ranking = paired_tests.rank_with_ties(entries, seed=min(seeds) if seeds else 0)
    except ResultsError as err:
        board.notes.append(f"no rank tie groups: {err}")
        return
    board.rank_metric = key
    board.rank_method = f"rank on {key}: {ranking.method}"
    for row in board.rows:
        row["rank"] = ranking.ranks.get(row["model"])


def _add_variant_notes(board: Board, loaded: list[tuple[dict[str, Any], StoredJob]]) -> None:
    """A note per variant on the board: its change from its parent on the first column."""
    if not board.columns or not any("variant" in r for r in board.rows):
        return
    from harness.analysis.variant_deltas import board_notes, compare_variants

    board.notes.extend(board_notes(compare_variants(loaded), board.task, board.columns[0]))


def _put(row: dict[str, Any], key: str, m: MetricRecord) -> None:
    row[key] = m.value
    row[f"{key}_ci"] = list(m.ci) if m.ci else None
    row[f"{key}_n"] = m.n
    if m.note:
        row[f"{key}_note"] = m.note
    row[f"{key}_flags"] = list(m.flags)


def _sort_key(
    row: dict[str, Any], columns: list[str], units: dict[str, tuple[str, bool]]
) -> tuple[Any, ...]:
    if not columns:
        return (row["model"],)
    first = columns[0]
    value = row.get(first)
    higher = units[first][1]
    missing = value is None
    return (missing, -(value or 0.0) if higher else (value or 0.0), row["model"])


def _num(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.3f}"


def _fmt(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None:
        return "—" if key not in row else "undefined"
    ci = row.get(f"{key}_ci")
    text = _num(value)
    if ci:
        text += f" [{_num(ci[0])}, {_num(ci[1])}]"
    flags = row.get(f"{key}_flags")
    if flags:
        text += " UNRELIABLE(" + ",".join(flags) + ")"
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
            note = r.get(f"{c}_note")
            if note:
                numbers.setdefault(note, len(numbers) + 1)
                marks[(r["model"], c)] = f" †{numbers[note]}"
    return marks, [f"†{i} {note}" for note, i in numbers.items()]


def _cell(row: dict[str, Any], key: str, marks: dict[tuple[str, str], str]) -> str:
    return _fmt(row, key) + marks.get((row["model"], key), "")


def to_frame(board: Board, labels: dict[str, str] | None = None) -> pd.DataFrame:
    labels = labels or {c: c for c in board.columns}
    marks, _ = footnotes(board)
    data = [
        {
            "#": r["position"],
            **({"rank": r.get("rank") or "—"} if board.rank_metric else {}),
            "model": r["model"],
            **{labels[c]: _cell(r, c, marks) for c in board.columns},
        }
        for r in board.rows
    ]
    return pd.DataFrame(data)


def render_table(boards: list[Board]) -> str:
    parts = []
    for b in boards:
        labels, legend = column_labels(b.columns)
        frame = to_frame(b, labels)
        header = (
            f"{b.title}  (n={b.n}, task {b.task_fingerprint[:8]}; "
            + ", ".join(f"{s} {v}" for s, v in sorted(b.suites.items()))
            + ")"
        )
        parts.append(header)
        parts.append(frame.to_string(index=False))
        parts.append(
            "values: estimate [95% CI]; units and direction: "
            + ", ".join(
                f"{labels[c]} ({u}, {'higher' if h else 'lower'} is better)"
                for c, (u, h) in b.units.items()
            )
        )
        parts.extend(f"measured at: {line}" for line in legend)
        parts.extend(footnotes(b)[1])
        if b.rank_method:
            parts.append(b.rank_method)
        parts.extend(f"note: {n}" for n in b.notes)
        parts.append("")
    return "\n".join(parts)


def escape_markdown_cell(text: str) -> str:
    """A cell that cannot break a Markdown table: escape pipes, fold newlines, escape HTML."""
    text = str(text).replace("\\", "\\\\").replace("|", "\\|")
    text = text.replace("\r", " ").replace("\n", " ").replace("\x00", "")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(boards: list[Board]) -> str:
    parts = []
    for b in boards:
        parts.append(f"### {escape_markdown_cell(b.title)}\n")
        parts.append(
            f"n = {b.n}; task fingerprint `{b.task_fingerprint[:12]}`; values are estimates with 95% bootstrap intervals.\n"
        )
        ranked = b.rank_metric is not None
        labels, legend = column_labels(b.columns)
        marks, notes = footnotes(b)
        cols = ["#", *(["rank"] if ranked else []), "model", *[labels[c] for c in b.columns]]
        parts.append("| " + " | ".join(escape_markdown_cell(c) for c in cols) + " |")
        parts.append("|" + "---|" * len(cols))
        for r in b.rows:
            rank = [str(r.get("rank") or "—")] if ranked else []
            cells = [
                str(r["position"]),
                *rank,
                r["model"],
                *[_cell(r, c, marks) for c in b.columns],
            ]
            parts.append("| " + " | ".join(escape_markdown_cell(c) for c in cells) + " |")
        parts.extend(f"\n> measured at: {escape_markdown_cell(line)}" for line in legend)
        parts.extend(f"\n> {escape_markdown_cell(line)}" for line in notes)
        if b.rank_method:
            parts.append(f"\n> {escape_markdown_cell(b.rank_method)}")
        parts.extend(f"\n> {escape_markdown_cell(n)}" for n in b.notes)
        parts.append("")
    return "\n".join(parts)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (OWASP: prefix with a quote)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def render_csv(boards: list[Board]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    keys: list[str] = []
    for b in boards:
        for c in b.columns:
            for k in (c, f"{c}_ci_low", f"{c}_ci_high", f"{c}_n"):
                if k not in keys:
                    keys.append(k)
    writer.writerow(["board", "position", "rank", "model", "task", "task_fingerprint", *keys])
    for b in boards:
        for r in b.rows:
            flat = dict(r)
            for c in b.columns:
                ci = r.get(f"{c}_ci")
                flat[f"{c}_ci_low"] = ci[0] if ci else None
                flat[f"{c}_ci_high"] = ci[1] if ci else None
            writer.writerow(
                [
                    csv_safe(v)
                    for v in [
                        b.title,
                        r["position"],
                        r.get("rank"),
                        r["model"],
                        r["task"],
                        r["task_fingerprint"],
                        *[flat.get(k) for k in keys],
                    ]
                ]
            )
    return buf.getvalue()


def render_json(boards: list[Board]) -> str:
    """The machine-readable contract: one object per (model, task) row, metric columns flat."""
    rows = []
    for b in boards:
        for r in b.rows:
            rows.append(
                {"board": b.title, "n": b.n, "suites": b.suites, "rank_method": b.rank_method, **r}
            )
    return json.dumps(rows, indent=2, sort_keys=False, allow_nan=False)
