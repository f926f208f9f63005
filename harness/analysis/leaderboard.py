"""Leaderboards from the store: comparable headline metrics per task, with intervals and n.

Only numbers with the same task fingerprint and the same suite version + config hash share a
board. When one suite ran with several configs on a task, each config gets a board of its own
and the split is stated; nothing is silently mixed. No torch import here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
