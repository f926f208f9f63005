"""The headline board of a task: a few columns that say which model is best and how sure that is.

From one comparable board (`harness.analysis.leaderboard`): clean accuracy, calibration error,
worst-case robust accuracy at the task's headline threat model (one column per declared threat
model, `Board.headline`; the largest budget run when the task declares none), mean corruption
accuracy, worst-group accuracy and throughput on the main device, each cell a stored record with
its interval and n. Accuracy columns know their chance level (the share of the most common class
among the evaluated samples: what a constant prediction scores, which no attack can lower) and
whether every ranked model is at or below it. Every
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

import pandas as pd

from harness.analysis import paired_tests
from harness.analysis.caveats import Caveat, caveats, excluded
from harness.analysis.leaderboard import Board
from harness.core.errors import ResultsError
from harness.core.manifest import JobStatus, RunManifest
from harness.core.metric_record import MetricRecord
from harness.core.threat_model import NORM_WORDS, ThreatModel, eps_text
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
    threat: ThreatModel | None = None  # the headline threat model a robust column shows
    # why a model has no number in this column although its job completed
    not_measured: str = "not measured"
    chance: float | None = None  # accuracy columns: a constant prediction's score
    at_chance: bool = False  # every ranked number is at or below `chance`


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
    """Which models share the best comparable number of a column (empty `best` when none),
    and the paired test of the best against the next ranked model (`versus`, its Holm-adjusted
    p-value `versus_p`: adjusted within the ranking step that compared them)."""

    column: HeadlineColumn
    best: list[tuple[str, MetricRecord]]
    excluded: list[tuple[str, str]]  # (model, caveat) left out although they would lead
    ranked: int = 0  # how many comparable numbers the column ranked
    runner_up: tuple[str, MetricRecord] | None = None
    versus: paired_tests.PairedResult | None = None
    versus_p: float | None = None


@dataclass
class HeadlineBoard:
    """The headline view of one board (rows in the board's order)."""

    board: Board
    columns: list[HeadlineColumn]
    rows: list[HeadlineRow]
    verdicts: list[Verdict] = field(default_factory=list)


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


def _robust_pool(board: Board) -> tuple[list[tuple[str, MetricRecord]], bool]:
    """The robust accuracy records a headline column picks from: the per-sample worst case
    over the attacks (the ensemble) when the suite ran one, else every attack's; and whether
    they are the ensemble's."""
    found = _records(board, "robust_acc")
    ensemble = [(m, r) for m, r in found if r.condition.startswith("attack=ensemble")]
    return (ensemble or found), bool(ensemble)


def _at_threat(
    pool: list[tuple[str, MetricRecord]], threat: ThreatModel
) -> list[tuple[str, MetricRecord]]:
    """The records of `pool` at `threat`, of one key (the first in sort order)."""
    at = [(m, r) for m, r in pool if threat.matches_context(r.context)]
    key = min((r.key for _m, r in at), default=None)
    return [(m, r) for m, r in at if r.key == key]


def _robust(board: Board) -> Picked:
    """Robust accuracy (`_robust_pool`): one column per headline threat model of the task,
    else the largest budget of the first norm (linf before l2), said so."""
    pool, ensemble = _robust_pool(board)
    if not pool:
        return []
    first = pool[0][1]
    what = "worst case over attacks" if ensemble else str(first.context.get("attack", "attack"))
    if not board.headline:
        chosen = _main_budget(pool)
        if not chosen:
            return []
        top = chosen[0][1]
        detail = (
            f"{what}, {_threat_words(top)}: the largest budget run (the task declares no "
            "headline threat model)"
        )
        col = HeadlineColumn(
            "robust_acc", "robust accuracy", detail, top.unit, top.higher_is_better, top.suite
        )
        return [(col, {m: (r, "") for m, r in chosen})]
    run = sorted({_threat_words(r) for _m, r in pool})
    picked: Picked = []
    for threat in board.headline:
        col = HeadlineColumn(
            "robust_acc",
            f"robust accuracy at {threat.label}",
            f"{what}; {threat.label} is the task's headline threat model",
            first.unit,
            first.higher_is_better,
            first.suite,
            threat=threat,
            not_measured=f"not attacked at {threat.label} (budgets run: {', '.join(run)})",
        )
        picked.append((col, {m: (r, "") for m, r in _at_threat(pool, threat)}))
    return picked


def headline_keys(board: Board) -> list[str]:
    """The column keys of the board's headline robust accuracy, in the headline's order."""
    pool, _ensemble = _robust_pool(board)
    keys: list[str] = []
    for threat in board.headline:
        at = _at_threat(pool, threat)
        if at and at[0][1].key not in keys:
            keys.append(at[0][1].key)
    return keys


def _threat_words(record: MetricRecord) -> str:
    """`L-inf 0.1` for a robust accuracy record (its norm and eps)."""
    norm = str(record.context.get("norm", ""))
    eps = _eps(record)
    words = NORM_WORDS.get(norm, norm)
    return f"{words} {eps_text(eps)}" if not math.isnan(eps) else words


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
    for pick in PICKERS:
        for column, chosen in pick(board):
            ranking = _rank(board, chosen)
            ranks = ranking.ranks
            tied = len(ranks) > 1 and set(ranks.values()) == {1}
            column = replace(column, method=ranking.method, all_tied=tied)
            column = _with_chance(board, column, chosen, ranks)
            columns.append(column)
            for row in board.rows:
                cells[row.model].append(
                    _cell(board, column, row.model, chosen.get(row.model), ranks, outcomes)
                )
            verdicts.append(_verdict(column, chosen, ranking))
    rows = [HeadlineRow(r.model, cells[r.model]) for r in board.rows]
    return HeadlineBoard(board=board, columns=columns, rows=rows, verdicts=verdicts)


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
            return HeadlineCell(None, missing=column.not_measured)
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


CHANCE_METRICS = ("top1_acc", "robust_acc", "mean_corruption_acc", "mean_tabular_shift_acc")


def _with_chance(
    board: Board,
    column: HeadlineColumn,
    chosen: Mapping[str, tuple[MetricRecord, str]],
    ranks: Mapping[str, int],
) -> HeadlineColumn:
    """An accuracy column with its chance level (the most common class's share of the
    evaluated samples, read from a ranked model's table) and whether every ranked number is at
    or below it."""
    if not ranks or not any(r.metric in CHANCE_METRICS for r, _d in chosen.values()):
        return column
    model = next(iter(ranks))
    record = chosen[model][0]
    _man, job = board.sources[(model, record.suite)]
    if not job.has_table:
        return column
    chance = majority_share(job.table().frame, record.condition)
    if chance is None:
        return column
    values = [chosen[m][0].value for m in ranks]
    at = all(v is not None and v <= chance + 1e-12 for v in values)
    return replace(column, chance=chance, at_chance=at)


def majority_share(frame: pd.DataFrame, condition: str) -> float | None:
    """The share of the most common label among the samples of `condition` (every sample
    when the table has no rows of it); None without labels."""
    if "label" not in frame or frame.empty:
        return None
    rows = frame[frame["condition"] == condition] if "condition" in frame else frame
    if rows.empty:
        rows = frame
    labels = rows.drop_duplicates("sample_id")["label"] if "sample_id" in rows else rows["label"]
    labels = labels[labels >= 0]
    if labels.empty:
        return None
    return float(labels.value_counts().iloc[0] / len(labels))


def _verdict(
    column: HeadlineColumn,
    chosen: Mapping[str, tuple[MetricRecord, str]],
    ranking: paired_tests.Ranking,
) -> Verdict:
    ranks = ranking.ranks
    sign = -1 if column.higher_is_better else 1
    order = sorted(ranks, key=lambda m: (ranks[m], (chosen[m][0].value or 0.0) * sign, m))
    best = [(m, chosen[m][0]) for m in order if ranks[m] == 1]
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
    runner_up, versus, versus_p = None, None, None
    if len(order) > 1:
        runner_up = (order[1], chosen[order[1]][0])
        for a, b, result, p in ranking.comparisons:
            if (a, b) == (order[0], order[1]):
                versus, versus_p = result, p
    return Verdict(
        column=column,
        best=best,
        excluded=sorted(left_out),
        ranked=len(ranks),
        runner_up=runner_up,
        versus=versus,
        versus_p=versus_p,
    )


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
