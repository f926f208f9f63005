"""The headline board of a task: a few columns that say which model is best and how sure that is.

From one comparable board (`harness.analysis.leaderboard`): clean accuracy, calibration error,
worst-case robust accuracy at the main budget, mean corruption accuracy, worst-group accuracy
and throughput on the main device, each cell a stored record with its interval and n. Every
column ranks the models with tie groups from paired tests on the same sample ids
(`paired_tests.rank_with_ties`: McNemar for accuracies, paired bootstrap or paired resampling
for other per-sample and whole-table statistics, Mann-Whitney on timing rounds, a z-test from
the intervals without per-sample data, no test and so a tie where none applies); numbers whose caveat excludes them (upper bounds, flagged, undefined) are left out of the
ranking, so they are never marked best. Cells of a job that failed or was skipped carry its
reason. Analysis only: renders nothing, no torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.analysis import paired_tests
from harness.analysis.caveats import Caveat, caveats, excluded
from harness.analysis.leaderboard import Board
from harness.core.errors import ResultsError
from harness.core.manifest import JobStatus, RunManifest
from harness.core.metric_record import MetricRecord
from harness.store.record_file import read_record
from harness.store.run_store import find_run_dirs

JobKey = tuple[str, str, str]  # (model, task, suite)


@dataclass(frozen=True)
class JobOutcome:
    """How the latest attempt of a (model, task, suite) job ended, with its reason in one line."""

    status: JobStatus
    reason: str


@dataclass(frozen=True)
class HeadlineColumn:
    """One headline column: what it measures (label and detail), direction, unit, method."""

    id: str
    label: str
    detail: str  # e.g. "linf, eps 0.1" or "cpu (AMD EPYC), batch 64"
    unit: str
    higher_is_better: bool
    suite: str
    method: str = ""  # how tie groups were decided
    all_tied: bool = False  # two or more comparable numbers, none significantly apart


@dataclass(frozen=True)
class HeadlineCell:
    """A model's number in a column (None: missing, with `missing` saying why)."""

    record: MetricRecord | None
    caveats: tuple[Caveat, ...] = ()
    rank: int | None = None  # tie-group rank among the column's comparable numbers
    detail: str = ""  # e.g. the grouping of a worst-group number
    missing: str = ""  # "failed: <reason>", "skipped: <reason>" or "not run"

    @property
    def best(self) -> bool:
        return self.rank == 1


@dataclass(frozen=True)
class HeadlineRow:
    model: str
    cells: list[HeadlineCell]


@dataclass(frozen=True)
class Verdict:
    """Which models share the best comparable number of a column (empty `best` when none)."""

    column: HeadlineColumn
    best: list[tuple[str, MetricRecord]]
    excluded: list[tuple[str, str]]  # (model, caveat) left out although they would lead
    ranked: int = 0  # how many comparable numbers the column ranked


@dataclass
class HeadlineBoard:
    """The headline view of one board (rows in the board's order)."""

    board: Board
    columns: list[HeadlineColumn]
    rows: list[HeadlineRow]
    verdicts: list[Verdict] = field(default_factory=list)
    # column id -> the tie-group ranking behind its stars: every step's tests and adjusted p's
    rankings: dict[str, paired_tests.Ranking] = field(default_factory=dict)


Chosen = dict[str, tuple[MetricRecord, str]]  # model -> (record in the column, detail)
Picked = list[tuple[HeadlineColumn, Chosen]]
Picker = Callable[[Board], Picked]


def _records(board: Board, metric: str) -> list[tuple[str, MetricRecord]]:
    return [
        (r.model, rec)
        for r in board.rows
        for key in board.columns
        if (rec := r.cell(key)) is not None and rec.metric == metric
    ]


def _single(board: Board, metric: str, label: str, detail: str = "") -> Picked:
    found = [(m, r) for m, r in _records(board, metric) if r.condition == "clean"]
    if not found:
        return []
    first = found[0][1]
    col = HeadlineColumn(metric, label, detail, first.unit, first.higher_is_better, first.suite)
    return [(col, {m: (r, "") for m, r in found})]


def _clean(board: Board) -> Picked:
    return _single(board, "top1_acc", "clean accuracy")


def _calibration(board: Board) -> Picked:
    return _single(board, "ece", "calibration error (ECE)")


def _eps(record: MetricRecord) -> float:
    try:
        return float(record.context.get("eps", "nan"))
    except (TypeError, ValueError):
        return float("nan")


def _robust(board: Board) -> Picked:
    """Robust accuracy of the per-sample worst case over the attacks (the ensemble) at the
    largest budget of the first norm (linf before l2); one attack when there is no ensemble."""
    found = _records(board, "robust_acc")
    ensemble = [(m, r) for m, r in found if r.condition.startswith("attack=ensemble")]
    chosen = _main_budget(ensemble or found)
    if not chosen:
        return []
    first = chosen[0][1]
    what = "worst case over attacks" if ensemble else str(first.context.get("attack", "attack"))
    col = HeadlineColumn(
        "robust_acc",
        "robust accuracy",
        f"{what}, {first.context.get('norm', '')} eps {first.context.get('eps')}",
        first.unit,
        first.higher_is_better,
        first.suite,
    )
    return [(col, {m: (r, "") for m, r in chosen})]


def _main_budget(found: list[tuple[str, MetricRecord]]) -> list[tuple[str, MetricRecord]]:
    """The records of one column: the first norm (linf first), its largest eps, one key."""
    if not found:
        return []
    norms = sorted({str(r.context.get("norm", "")) for _m, r in found}, key=lambda n: n != "linf")
    in_norm = [
        (m, r)
        for m, r in found
        if str(r.context.get("norm", "")) == norms[0] and not math.isnan(_eps(r))
    ]
    if not in_norm:
        return []
    eps = max(_eps(r) for _m, r in in_norm)
    at_eps = [(m, r) for m, r in in_norm if _eps(r) == eps]
    key = min(r.key for _m, r in at_eps)
    return [(m, r) for m, r in at_eps if r.key == key]


def _shift(board: Board) -> Picked:
    return _single(board, "mean_corruption_acc", "mean corruption accuracy") or _single(
        board, "mean_tabular_shift_acc", "mean accuracy under shift", "tabular perturbations"
    )


def _worst_group(board: Board) -> Picked:
    """The lowest worst-group accuracy over the groupings of each model."""
    found = _records(board, "worst_group_acc")
    if not found:
        return []
    per_model: dict[str, tuple[MetricRecord, str]] = {}
    groupings: list[str] = []
    for model, rec in found:
        by = str(rec.context.get("group_by", ""))
        if by and by not in groupings:
            groupings.append(by)
        held = per_model.get(model)
        if (
            rec.value is not None
            and (held is None or held[0].value is None or rec.value < held[0].value)
            or held is None
        ):
            per_model[model] = (rec, f"by {by}" if by else "")
    first = found[0][1]
    col = HeadlineColumn(
        "worst_group_acc",
        "worst-group accuracy",
        "lowest over " + ", ".join(groupings) if groupings else "",
        first.unit,
        first.higher_is_better,
        first.suite,
    )
    return [(col, per_model)]


def _throughput(board: Board) -> Picked:
    """Throughput at the headline batch size on the first device of the board."""
    found = _records(board, "throughput_samples_per_s")
    if not found:
        return []
    keys = sorted({r.key for _m, r in found}, key=lambda k: (k.count("cuda") == 0, k))
    chosen = [(m, r) for m, r in found if r.key == keys[0]]
    ctx = chosen[0][1].context
    where = str(ctx.get("device", ""))
    if ctx.get("device_name"):
        where += f" ({ctx['device_name']})"
    detail = ", ".join(
        x for x in (where, f"batch {ctx['batch_size']}" if "batch_size" in ctx else "") if x
    )
    first = chosen[0][1]
    col = HeadlineColumn(
        "throughput", "throughput", detail, first.unit, first.higher_is_better, first.suite
    )
    return [(col, {m: (r, "") for m, r in chosen})]


PICKERS: tuple[Picker, ...] = (_clean, _calibration, _robust, _shift, _worst_group, _throughput)


def headline_board(
    board: Board, outcomes: Mapping[JobKey, JobOutcome] | None = None
) -> HeadlineBoard:
    """The headline columns of `board` with tie-group ranks per column and verdicts."""
    outcomes = outcomes or {}
    columns: list[HeadlineColumn] = []
    cells: dict[str, list[HeadlineCell]] = {r.model: [] for r in board.rows}
    verdicts: list[Verdict] = []
    rankings: dict[str, paired_tests.Ranking] = {}
    for pick in PICKERS:
        for column, chosen in pick(board):
            ranking = _rank(board, chosen)
            ranks, method = ranking.ranks, ranking.method
            rankings[column.id] = ranking
            tied = len(ranks) > 1 and set(ranks.values()) == {1}
            column = replace(column, method=method, all_tied=tied)
            columns.append(column)
            for row in board.rows:
                cells[row.model].append(
                    _cell(board, column, row.model, chosen.get(row.model), ranks, outcomes)
                )
            verdicts.append(_verdict(column, chosen, ranks))
    rows = [HeadlineRow(r.model, cells[r.model]) for r in board.rows]
    return HeadlineBoard(
        board=board, columns=columns, rows=rows, verdicts=verdicts, rankings=rankings
    )


def _cell(
    board: Board,
    column: HeadlineColumn,
    model: str,
    held: tuple[MetricRecord, str] | None,
    ranks: Mapping[str, int],
    outcomes: Mapping[JobKey, JobOutcome],
) -> HeadlineCell:
    if held is None:
        outcome = outcomes.get((model, board.task, column.suite))
        if outcome is None or outcome.status == JobStatus.COMPLETED:
            return HeadlineCell(None, missing="not measured")
        return HeadlineCell(None, missing=f"{outcome.status.value}: {outcome.reason}")
    record, detail = held
    return HeadlineCell(
        record=record, caveats=caveats(record), rank=ranks.get(model), detail=detail
    )


def _rank(board: Board, chosen: Mapping[str, tuple[MetricRecord, str]]) -> paired_tests.Ranking:
    """Tie-group ranks of the comparable numbers of a column (paired tests where possible)."""
    entries: dict[str, paired_tests.Evidence] = {}
    seeds: set[int] = set()
    for model, (record, _detail) in chosen.items():
        if excluded(record):
            continue
        _man, job = board.sources[(model, record.suite)]
        seeds.add(job.record.seed)
        entries[model] = paired_tests.stored_evidence(record, job)
    if not entries:
        return paired_tests.Ranking(ranks={}, method="no comparable numbers")
    try:
        return paired_tests.rank_with_ties(entries, seed=min(seeds))
    except ResultsError as err:
        return paired_tests.Ranking(ranks={}, method=f"not ranked: {err}")


def _verdict(
    column: HeadlineColumn,
    chosen: Mapping[str, tuple[MetricRecord, str]],
    ranks: Mapping[str, int],
) -> Verdict:
    best = [(m, chosen[m][0]) for m, r in ranks.items() if r == 1]
    best.sort(key=lambda mr: ((mr[1].value or 0.0) * (-1 if column.higher_is_better else 1), mr[0]))
    leader = best[0][1].value if best else None
    left_out: list[tuple[str, str]] = []
    for model, (record, _d) in chosen.items():
        if model in ranks or record.value is None:
            continue
        ahead = leader is None or (
            record.value > leader if column.higher_is_better else record.value < leader
        )
        if ahead:
            reason = next((c.short for c in caveats(record) if c.excludes), "not ranked")
            left_out.append((model, reason))
    return Verdict(column=column, best=best, excluded=sorted(left_out), ranked=len(ranks))


def read_outcomes(root: Path) -> dict[JobKey, JobOutcome]:
    """How every job under a results folder ended (failed and skipped ones with their reason in
    one line), read from the run manifests; a later run's outcome wins, except that a cached job
    keeps the outcome of the run that computed it."""
    manifests = sorted(
        (read_record(d / "manifest.json", RunManifest) for d in find_run_dirs(root)),
        key=lambda m: m.updated,
    )
    out: dict[JobKey, JobOutcome] = {}
    for man in manifests:
        for e in man.jobs:
            if e.status == JobStatus.CACHED and e.names in out:
                continue
            out[e.names] = JobOutcome(e.status, _one_line(e.message))
    return out


def _one_line(message: str, limit: int = 240) -> str:
    line = next((x.strip() for x in message.splitlines() if x.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"
