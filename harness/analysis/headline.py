"""The headline board of a task: a few columns that say which model is best and how sure that is.

From one comparable board (`harness.analysis.leaderboard`), the columns the installed suites
declare (`SuiteBoard.headline`, `harness.core.headline_spec`; `Board.headline_columns`, in facet
order): today clean accuracy, calibration error, worst-case robust accuracy at the task's headline
threat model (one column per declared threat model, `Board.headline`; the largest budget run when
the task declares none), mean corruption accuracy, worst-group accuracy and throughput on the main
device, each cell a stored record with its interval and n. The declaration says which metric makes
a column and how each model's record is chosen (`HeadlinePick`); this module knows no suite by
name. Accuracy columns know their chance level (the share of the most common class
among the evaluated samples: what a constant prediction scores, which no attack can lower) and
whether every ranked model is at or below it. Every
column ranks the models with tie groups from paired tests on the same sample ids
(`paired_tests.rank_with_ties`: McNemar for accuracies, the sign-flip test or paired resampling
for other per-sample and whole-table statistics, Mann-Whitney on timing rounds, a z-test from
the intervals without per-sample data, no test and so a tie where none applies); numbers whose caveat excludes them (upper bounds, flagged, undefined) are left out of the
ranking, so they are never marked best. Cells of a job that failed or was skipped carry its
reason. Analysis only: renders nothing, no torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from harness.analysis import paired_tests
from harness.analysis.caveats import Caveat, caveats, excluded
from harness.analysis.leaderboard import Board, worst_groups
from harness.core.board_notes import board_note_text
from harness.core.errors import ResultsError
from harness.core.headline_spec import HeadlineMetric, HeadlinePick
from harness.core.manifest import JobStatus, RunManifest
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import CLEAN
from harness.core.suite_board import SuiteHeadline
from harness.core.threat_model import TextThreatContext, ThreatContext, ThreatModel
from harness.stats.shared_draws import ValueStore
from harness.store.recency import invocation_time
from harness.store.record_file import read_record
from harness.store.run_store import StoredJob, find_run_dirs

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
    chance_metric: bool = False  # an accuracy column: `chance` is looked up
    skill: bool = False  # ranks only models whose clean accuracy is above chance (ECE)
    lead: bool = False  # its verdict is shown above the board (`HeadlineSpec.lead`)
    at_chance: bool = False  # every ranked number is at or below `chance`
    # job notes that say the column's numbers mean less than they seem (`HeadlineSpec.caveats`),
    # without their board-note prefix, each naming its models when not every model's job says it
    caveats: tuple[str, ...] = ()


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
    # (model, caveat, its record) left out although they would lead: an upper bound, an
    # unreliable number
    excluded: list[tuple[str, str, MetricRecord]]
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
    # per column (same order), the tie-group ranking behind its stars: every step's tests and
    # adjusted p-values
    rankings: list[paired_tests.Ranking] = field(default_factory=list)


Chosen = dict[str, tuple[MetricRecord, str]]  # model -> (record in the column, detail)
Picked = list[tuple[HeadlineColumn, Chosen]]
Picker = Callable[[Board, SuiteHeadline], Picked]


def _records(board: Board, suite: str, metric: str) -> list[tuple[str, MetricRecord]]:
    return [
        (r.model, rec)
        for r in board.rows
        for key in board.columns
        if (rec := r.cell(key)) is not None and rec.metric == metric and rec.suite == suite
    ]


def _first_metric(
    board: Board, declared: SuiteHeadline, clean: bool = False
) -> tuple[HeadlineMetric, list[tuple[str, MetricRecord]]] | None:
    """The first of the column's metrics with records on the board (of the clean condition
    only, with `clean`), and those records."""
    for option in declared.spec.metrics:
        found = _records(board, declared.suite, option.metric)
        if clean:
            found = [(m, r) for m, r in found if r.condition == CLEAN]
        if found:
            return option, found
    return None


def _column(
    declared: SuiteHeadline, option: HeadlineMetric, first: MetricRecord, detail: str, **more: Any
) -> HeadlineColumn:
    return HeadlineColumn(
        option.column_id,
        more.pop("label", option.label),
        detail,
        first.unit,
        first.higher_is_better,
        first.suite,
        lead=declared.spec.lead,
        chance_metric=option.chance,
        skill=option.skill,
        **more,
    )


def _words(declared: SuiteHeadline, record: MetricRecord) -> str:
    words = declared.spec.words
    return words(record.context) if words is not None else ""


def _clean(board: Board, declared: SuiteHeadline) -> Picked:
    """The clean condition's record of each model."""
    held = _first_metric(board, declared, clean=True)
    if held is None:
        return []
    option, found = held
    col = _column(declared, option, found[0][1], option.detail)
    return [(col, {m: (r, "") for m, r in found})]


def _eps(record: MetricRecord) -> float:
    return ThreatContext.of(record.context).eps


def _robust_pool(
    board: Board, declared: SuiteHeadline
) -> tuple[HeadlineMetric, list[tuple[str, MetricRecord]], bool] | None:
    """The records a threat-model column picks from: those of the preferred condition (the
    adversarial suite's per-sample worst case over the attacks) when there are any, else every
    record of the metric; and whether they are the preferred ones."""
    held = _first_metric(board, declared)
    if held is None:
        return None
    option, found = held
    prefer = declared.spec.prefer
    preferred = [(m, r) for m, r in found if prefer and r.condition.startswith(prefer)]
    return option, (preferred or found), bool(preferred)


def _at_threat(
    pool: list[tuple[str, MetricRecord]], threat: ThreatModel
) -> list[tuple[str, MetricRecord]]:
    """The records of `pool` at `threat`, of one key (the first in sort order)."""
    at = [(m, r) for m, r in pool if threat.matches_context(r.context)]
    key = min((r.key for _m, r in at), default=None)
    return [(m, r) for m, r in at if r.key == key]


def _threat_model(board: Board, declared: SuiteHeadline) -> Picked:
    """One column per headline threat model of the task, else the largest budget of the first
    norm (linf before l2), said so."""
    held = _robust_pool(board, declared)
    if held is None:
        return []
    option, pool, preferred = held
    first = pool[0][1]
    what = declared.spec.preferred if preferred else _words(declared, first)
    if not board.headline:
        chosen = _main_budget(pool)
        if not chosen:
            return _text_budgets(declared, option, pool, what)
        top = chosen[0][1]
        detail = (
            f"{what}, {_threat_words(top)}: the largest budget run (the task declares no "
            "headline threat model)"
        )
        # the label names the budget, as a headline threat model's does: a verdict line shows
        # the label alone ("robust accuracy: best m 0.10" hid which of the budgets run it was)
        label = f"{option.label} at {_threat_words(top)}"
        column = _column(declared, option, top, detail, label=label)
        return [(column, {m: (r, "") for m, r in chosen})]
    run = sorted({_threat_words(r) for _m, r in pool})
    picked: Picked = []
    for threat in board.headline:
        col = _column(
            declared,
            option,
            first,
            f"{what}; {threat.label} is the task's headline threat model",
            label=f"{option.label} at {threat.label}",
            threat=threat,
            not_measured=f"not attacked at {threat.label} (budgets run: {', '.join(run)})",
        )
        picked.append((col, {m: (r, "") for m, r in _at_threat(pool, threat)}))
    return picked


def _text_budgets(
    declared: SuiteHeadline, option: HeadlineMetric, pool: list[tuple[str, MetricRecord]], what: str
) -> Picked:
    """A text task's columns: one per text threat model run (character edits, then word
    substitutions), each at its largest budget (share of words, then edits per word)."""
    by_threat: dict[str, list[tuple[TextThreatContext, str, MetricRecord]]] = {}
    for model, rec in pool:
        text = TextThreatContext.of(rec.context)
        if text is not None:
            by_threat.setdefault(text.threat, []).append((text, model, rec))
    picked: Picked = []
    for threat in sorted(by_threat):
        found = by_threat[threat]
        top = max(t for t, _m, _r in found)
        key = min(r.key for t, _m, r in found if t == top)
        chosen = {m: (r, "") for t, m, r in found if t == top and r.key == key}
        first = next(iter(chosen.values()))[0]
        detail = f"{what}, {top.label}: the largest budget run of this threat model"
        column = _column(declared, option, first, detail, label=f"{option.label} under {top.label}")
        picked.append((column, chosen))
    return picked


def headline_keys(board: Board) -> list[str]:
    """The column keys of the board's headline threat-model columns (robust accuracy at the
    task's headline threat models), in the headline's order."""
    keys: list[str] = []
    for declared in board.headline_columns:
        held = _robust_pool(board, declared) if declared.spec.pick == "threat_model" else None
        if held is None:
            continue
        for threat in board.headline:
            at = _at_threat(held[1], threat)
            if at and at[0][1].key not in keys:
                keys.append(at[0][1].key)
    return keys


def _threat_words(record: MetricRecord) -> str:
    """`L-inf 0.1` for a record at a norm and budget."""
    return ThreatContext.of(record.context).words


def _norm(record: MetricRecord) -> str:
    return ThreatContext.of(record.context).norm


def _main_budget(found: list[tuple[str, MetricRecord]]) -> list[tuple[str, MetricRecord]]:
    """The records of one column: the first norm (linf first), its largest eps, one key."""
    if not found:
        return []
    norms = sorted({_norm(r) for _m, r in found}, key=lambda n: n != "linf")
    in_norm = [(m, r) for m, r in found if _norm(r) == norms[0] and not math.isnan(_eps(r))]
    if not in_norm:
        return []
    eps = max(_eps(r) for _m, r in in_norm)
    at_eps = [(m, r) for m, r in in_norm if _eps(r) == eps]
    key = min(r.key for _m, r in at_eps)
    return [(m, r) for m, r in at_eps if r.key == key]


def _lowest(board: Board, declared: SuiteHeadline) -> Picked:
    """Each model's lowest value over its records of the metric (e.g. over groupings)."""
    held = _first_metric(board, declared)
    if held is None:
        return []
    option, found = held
    per_model: dict[str, tuple[MetricRecord, str]] = {}
    settings: list[str] = []
    for model, rec in found:
        by = _words(declared, rec)
        if by and by not in settings:
            settings.append(by)
        kept = per_model.get(model)
        if (
            rec.value is not None
            and (kept is None or kept[0].value is None or rec.value < kept[0].value)
            or kept is None
        ):
            per_model[model] = (rec, f"by {by}" if by else "")
    for model, (rec, words) in per_model.items():
        worst = _worst_groups(board, model, rec)
        if worst:
            per_model[model] = (rec, f"{words}, {worst}" if words else worst)
    detail = "lowest over " + ", ".join(settings) if settings else ""
    return [(_column(declared, option, found[0][1], detail), per_model)]


def _worst_groups(board: Board, model: str, rec: MetricRecord) -> str:
    source = board.sources.get((model, rec.suite))
    return worst_group_words(source[1], rec) if source is not None else ""


def worst_group_words(job: StoredJob, rec: MetricRecord) -> str:
    """'group under 40 (n=49)': which group a worst-group number of `job` is of (its declared
    label, else its value), and that group's n (`leaderboard.worst_groups`). The record's n
    counts every group's samples (177 on diabetes), but the value is one group's (34 of 49):
    beside n=177, an interval of +-0.13 read as if from every sample. Empty for any other
    record."""
    named = [f"{g.group} (n={g.n})" for g in worst_groups(job, rec)]
    return ("group " if len(named) == 1 else "groups ") + ", ".join(named) if named else ""


def _first_setting(board: Board, declared: SuiteHeadline) -> Picked:
    """The records of one setting (key): the first in sort order, accelerator keys first."""
    held = _first_metric(board, declared)
    if held is None:
        return []
    option, found = held
    keys = sorted({r.key for _m, r in found}, key=lambda k: (k.count("cuda") == 0, k))
    chosen = [(m, r) for m, r in found if r.key == keys[0]]
    first = chosen[0][1]
    col = _column(declared, option, first, _words(declared, first))
    return [(col, {m: (r, "") for m, r in chosen})]


PICKERS: Mapping[HeadlinePick, Picker] = {
    "clean": _clean,
    "threat_model": _threat_model,
    "lowest": _lowest,
    "first_setting": _first_setting,
}


def headline_board(
    board: Board,
    outcomes: Mapping[JobKey, JobOutcome] | None = None,
    *,
    store: ValueStore | None = None,
    forms: paired_tests.FormStore | None = None,
) -> HeadlineBoard:
    """The headline columns of `board` with tie-group ranks per column and verdicts. `store`:
    resampled values kept from an earlier build (the report's; `SharedDraws.stored`); `forms`:
    paired forms kept from one (`paired_tests.stored_evidence`)."""
    outcomes = outcomes or {}
    columns: list[HeadlineColumn] = []
    cells: dict[str, list[HeadlineCell]] = {r.model: [] for r in board.rows}
    verdicts: list[Verdict] = []
    rankings: list[paired_tests.Ranking] = []
    at_chance: dict[str, Caveat] = {}  # models whose clean accuracy is at or below chance
    for declared in board.headline_columns:
        for column, chosen in PICKERS[declared.spec.pick](board, declared):
            unskilled = {m: at_chance[m] for m in chosen if column.skill and m in at_chance}
            ranked = {m: held for m, held in chosen.items() if m not in unskilled}
            ranking = _rank(board, ranked, store, forms)
            rankings.append(ranking)
            ranks = ranking.ranks
            tied = len(ranks) > 1 and set(ranks.values()) == {1}
            column = replace(
                column,
                method=ranking.method,
                all_tied=tied,
                caveats=_job_caveats(board, declared.spec.caveats, column.suite, chosen),
            )
            column = _with_chance(board, column, chosen, ranks)
            if not at_chance and declared.spec.facet == "accuracy" and column.chance is not None:
                at_chance = _models_at_chance(column, chosen)
            columns.append(column)
            for row in board.rows:
                cell = _cell(board, column, row.model, chosen.get(row.model), ranks, outcomes)
                if row.model in unskilled:
                    cell = replace(cell, caveats=(unskilled[row.model], *cell.caveats))
                cells[row.model].append(cell)
            verdicts.append(_verdict(column, chosen, ranking, unskilled))
    rows = [HeadlineRow(r.model, cells[r.model]) for r in board.rows]
    return HeadlineBoard(
        board=board, columns=columns, rows=rows, verdicts=verdicts, rankings=rankings
    )


def _job_caveats(
    board: Board, starts: tuple[str, ...], suite: str, chosen: Mapping[str, object]
) -> tuple[str, ...]:
    """The notes of the column's jobs (the chosen models' jobs of `suite`) that begin with one
    of `starts`, without their board-note prefix, in the order met; a note that not every
    chosen model's job carries names the models whose do."""
    if not starts:
        return ()
    saying: dict[str, list[str]] = {}
    for model in sorted(chosen):
        source = board.sources.get((model, suite))
        for note in source[1].record.notes if source is not None else ():
            if note.startswith(starts):
                saying.setdefault(board_note_text(note), []).append(model)
    return tuple(
        text if len(models) == len(chosen) else f"{text} ({', '.join(models)})"
        for text, models in saying.items()
    )


def _models_at_chance(
    column: HeadlineColumn, chosen: Mapping[str, tuple[MetricRecord, str]]
) -> dict[str, Caveat]:
    """The models whose number in a clean accuracy column is not shown above its chance level
    (the number, or its interval's low end, at or below chance), with the caveat their `skill`
    numbers (calibration) carry: a model whose accuracy chance could have given may be a
    constant guess, and a constant guess can be well calibrated."""
    chance = column.chance
    assert chance is not None
    out = {}
    for model, (record, _detail) in chosen.items():
        where = not_above_chance(record, chance)
        if where is None:
            continue
        out[model] = Caveat(
            "at_chance",
            f"this model's {column.label} {where}: a constant guess can be well calibrated, so "
            "this number is no merit; not ranked",
        )
    return out


def not_above_chance(record: MetricRecord, chance: float) -> str | None:
    """Where an accuracy number stands against its chance level when it is not shown above it
    (`0.500 is at or below chance (0.500, the most common class's share)`, or its interval's low
    end reaches it); None when it is shown above chance or has no value. The rule (and words)
    that keep a calibration number of such a model out of ranking (`_models_at_chance`) and
    that the exports state on it."""
    if record.value is None:
        return None
    share = f"{chance:.3f}, the most common class's share"
    if at_or_below(record.value, chance):
        return f"{record.value:.3f} is at or below chance ({share})"
    if record.ci is not None and at_or_below(record.ci[0], chance):
        low, high = record.ci
        return (
            f"{record.value:.3f} [{low:.3f}, {high:.3f}] is not shown above chance (its 95% "
            f"interval reaches {share})"
        )
    return None


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


def _rank(
    board: Board,
    chosen: Mapping[str, tuple[MetricRecord, str]],
    store: ValueStore | None,
    forms: paired_tests.FormStore | None = None,
) -> paired_tests.Ranking:
    """Tie-group ranks of the comparable numbers of a column (paired tests where possible)."""
    entries: dict[str, paired_tests.Evidence] = {}
    seeds: set[int] = set()
    for model, (record, _detail) in chosen.items():
        if excluded(record):
            continue
        _man, job = board.sources[(model, record.suite)]
        seeds.add(job.record.seed)
        entries[model] = paired_tests.stored_evidence(
            record, job, configs=board.suite_configs, forms=forms
        )
    if not entries:
        return paired_tests.Ranking(ranks={}, method="no comparable numbers")
    try:
        return paired_tests.rank_with_ties(entries, seed=min(seeds), store=store)
    except ResultsError as err:
        return paired_tests.Ranking(ranks={}, method=f"not ranked: {err}")


def _with_chance(
    board: Board,
    column: HeadlineColumn,
    chosen: Mapping[str, tuple[MetricRecord, str]],
    ranks: Mapping[str, int],
) -> HeadlineColumn:
    """An accuracy column with its chance level (the most common class's share of the
    evaluated samples, read from a ranked model's table) and whether every ranked number is at
    or below it."""
    if not ranks or not column.chance_metric:
        return column
    model = next(iter(ranks))
    record = chosen[model][0]
    _man, job = board.sources[(model, record.suite)]
    chance = chance_level(job, record.condition)
    if chance is None:
        return column
    values = [chosen[m][0].value for m in ranks]
    at = all(v is not None and at_or_below(v, chance) for v in values)
    return replace(column, chance=chance, at_chance=at)


def at_or_below(value: float, chance: float) -> bool:
    """Whether a number (or an interval's low end) is at or below a chance level, within the
    rounding of the shares both are computed from."""
    return value <= chance + 1e-12


def starred(ranks: Iterable[int | None], *, at_chance: bool = False) -> bool:
    """Whether a column marks its rank-1 numbers with a star: the ONE rule of every board of the
    report (headline boards, the task page's per-suite boards, the Markdown summary; its words:
    `harness.present.cell_view.STAR_RULE`). `ranks`: the tie-group ranks of the column's
    comparable numbers (None: not ranked). No star with fewer than two ranked numbers (nothing to
    be best against), where every ranked number shares rank 1 (none is significantly apart: no
    best), or where every ranked number is at or below chance (`at_chance`)."""
    ranked = [r for r in ranks if r is not None]
    return len(ranked) > 1 and any(r != 1 for r in ranked) and not at_chance


def rank_column_at_chance(head: HeadlineBoard) -> bool:
    """Whether the headline column of the board's rank metric has every ranked number at or
    below chance (False when no headline column shows that metric)."""
    key = head.board.rank_metric
    for i, column in enumerate(head.columns):
        if any((record := r.cells[i].record) is not None and record.key == key for r in head.rows):
            return column.at_chance
    return False


def chance_level(job: StoredJob, condition: str) -> float | None:
    """The chance level of an accuracy number of `job` under `condition`: the share of the
    most common class among the samples it evaluated (`majority_share`), what always predicting
    that class scores and no attack can lower; None without a per-sample table or labels."""
    if not job.has_table:
        return None
    frame = job.table_columns(lambda names: [c for c in _CHANCE_COLUMNS if c in names])
    return majority_share(frame, condition)


_CHANCE_COLUMNS = ("sample_id", "condition", "label")


def chance_metrics(board: Board) -> set[tuple[str, str]]:
    """The (suite, metric) pairs whose numbers have a chance level: the accuracy metrics the
    installed suites' headline columns declare (`HeadlineMetric.chance`)."""
    return {
        (declared.suite, option.metric)
        for declared in board.headline_columns
        for option in declared.spec.metrics
        if option.chance
    }


def chance_cells(board: Board) -> dict[tuple[str, str], tuple[float, bool]]:
    """(model, column key) -> (chance level, whether the number is at or below it) for every
    cell of a metric with a chance level (`chance_metrics`) whose job stored the labels to find
    it: the rule of the headline columns (`chance_level`, `at_or_below`), cell by cell, so the
    leaderboard marks the numbers the report and the run's end call at or below chance. The
    level is read from a job's label columns (not its whole table) once per (suite, seed,
    condition, n): on one board (one task fingerprint, one config per suite) those draw the same
    samples, so a board of 1,000 models reads one table's labels, not 1,000. Kept on the board."""
    if board.chance is not None:
        return board.chance
    wanted = chance_metrics(board)
    levels: dict[tuple[str, int, str, int], float | None] = {}
    out: dict[tuple[str, str], tuple[float, bool]] = {}
    for (model, key), record in board.records.items():
        if record.value is None or (record.suite, record.metric) not in wanted:
            continue
        source = board.sources.get((model, record.suite))
        if source is None:
            continue
        job = source[1]
        where = (record.suite, job.record.seed, record.condition, record.n)
        if where not in levels:
            levels[where] = chance_level(job, record.condition)
        chance = levels[where]
        if chance is not None:
            out[(model, key)] = (chance, at_or_below(record.value, chance))
    board.chance = out
    return out


def chance_fields(board: Board, model: str) -> dict[str, Any]:
    """`<key>_chance` and `<key>_at_or_below_chance` of the model's cells that have a chance
    level: what the table's `AT OR BELOW CHANCE` says, for JSON, CSV and `harness.leaderboard`."""
    out: dict[str, Any] = {}
    for (owner, key), (level, at) in chance_cells(board).items():
        if owner == model:
            out[f"{key}_chance"] = level
            out[f"{key}_at_or_below_chance"] = at
    return out


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


def left_out_reason(record: MetricRecord) -> str:
    """Every reason a number is kept out of a verdict, e.g. `upper bound and
    UNRELIABLE(scores_unchanged)`: the first alone hid a flag behind the upper bound that every
    black-box attack's number is."""
    shorts = []
    for c in caveats(record):
        if not c.excludes:
            continue
        short = f"UNRELIABLE({', '.join(record.flags)})" if c.kind == "unreliable" else c.short
        if short not in shorts:
            shorts.append(short)
    return " and ".join(shorts) or "not ranked"


def _verdict(
    column: HeadlineColumn,
    chosen: Mapping[str, tuple[MetricRecord, str]],
    ranking: paired_tests.Ranking,
    unskilled: Mapping[str, Caveat] | None = None,
) -> Verdict:
    ranks = ranking.ranks
    unskilled = unskilled or {}
    sign = -1 if column.higher_is_better else 1
    order = sorted(ranks, key=lambda m: (ranks[m], (chosen[m][0].value or 0.0) * sign, m))
    best = [(m, chosen[m][0]) for m in order if ranks[m] == 1]
    leader = best[0][1].value if best else None
    left_out: list[tuple[str, str, MetricRecord]] = []
    for model, (record, _d) in chosen.items():
        if model in ranks or record.value is None:
            continue
        ahead = leader is None or (
            record.value > leader if column.higher_is_better else record.value < leader
        )
        if ahead:
            reason = unskilled[model].short if model in unskilled else left_out_reason(record)
            left_out.append((model, reason, record))
    runner_up, versus, versus_p = None, None, None
    if len(order) > 1:
        runner_up = (order[1], chosen[order[1]][0])
        for a, b, result, p in ranking.comparisons:
            if (a, b) == (order[0], order[1]):
                versus, versus_p = result, p
    return Verdict(
        column=column,
        best=best,
        excluded=sorted(left_out, key=lambda item: item[:2]),
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
        key=invocation_time,
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
