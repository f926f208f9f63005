"""The chance marks of exported numbers, by the leaderboard's rule (docs/export.md).

An accuracy number has a chance level: what always predicting the most common class of the
evaluated samples scores, which no attack can lower (`harness.analysis.headline.chance_level`).
The leaderboard gives it as `<key>_chance` and `<key>_at_or_below_chance` for the metrics the
installed suites' headline columns declare with `HeadlineMetric(chance=True)`
(`chance_cells`), and keeps a `skill` number (calibration) of a model whose clean accuracy is not
shown above chance out of ranking (a constant guess can be well calibrated). The suites'
boards are handed in (`SuiteBoard`, harness.core): export never imports a plugin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.analysis.headline import at_or_below, chance_level, not_above_chance
from harness.core.manifest import RunManifest
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import CLEAN
from harness.core.suite_board import SuiteBoard, headline_columns
from harness.store.recency import oldest_first
from harness.store.run_store import StoredJob


@dataclass(frozen=True)
class Chance:
    """An accuracy number's chance level and whether the number is at or below it."""

    level: float
    at_or_below: bool


@dataclass(frozen=True)
class ChanceMarks:
    """A job's chance marks: record key -> its `Chance` (the leaderboard's `<key>_chance`,
    `<key>_at_or_below_chance`), and record key -> why a skill number (calibration) is no merit
    (its model's clean accuracy is not shown above chance; the headline keeps it unranked)."""

    chance: dict[str, Chance]
    no_skill: dict[str, str]


NO_MARKS = ChanceMarks({}, {})


@dataclass(frozen=True)
class ChanceRule:
    """What the suites declare: the (suite, metric) pairs with a chance level, the clean
    accuracy columns (in headline order: the first a model has decides), and the skill metrics
    with whether only their clean record makes the column."""

    chance: frozenset[tuple[str, str]]
    clean: tuple[tuple[str, str], ...]
    skill: dict[tuple[str, str], bool]

    @classmethod
    def of(cls, suite_boards: Iterable[SuiteBoard]) -> ChanceRule:
        declared = headline_columns(suite_boards)
        chance = frozenset(
            (d.suite, m.metric) for d in declared for m in d.spec.metrics if m.chance
        )
        clean = tuple(
            (d.suite, m.metric)
            for d in declared
            if d.spec.facet == "accuracy" and d.spec.pick == "clean"
            for m in d.spec.metrics
            if m.chance
        )
        skill = {
            (d.suite, m.metric): d.spec.pick == "clean"
            for d in declared
            for m in d.spec.metrics
            if m.skill
        }
        return cls(chance, clean, skill)


def chance_marks(
    loaded: list[tuple[RunManifest, StoredJob]], suite_boards: Iterable[SuiteBoard]
) -> dict[int, ChanceMarks]:
    """id(job) -> its chance marks, for every job of `loaded`. A skill number's model is judged
    by its clean accuracy in the same harness run (the latest job of that model, task and
    protocol there), else in the latest job anywhere in `loaded` that has one."""
    rule = ChanceRule.of(suite_boards)
    if not rule.chance:
        return {}
    levels: dict[int, dict[str, Chance]] = {}
    for _man, job in loaded:
        levels[id(job)] = _levels(job, rule)
    # (run id or "", model, task, protocol) -> why the model's clean accuracy is not above chance
    # (None: it is above); later jobs overwrite earlier ones
    judged: dict[tuple[str, str, str, str], str | None] = {}
    for man, job in oldest_first(loaded):
        verdict = _clean_verdict(job, levels[id(job)], rule)
        if verdict is None:
            continue
        rec = job.record
        protocol = rec.protocol.label if rec.protocol is not None else ""
        judged[(man.run_id, rec.model, rec.task, protocol)] = verdict[0]
        judged[("", rec.model, rec.task, protocol)] = verdict[0]
    out = {}
    for man, job in loaded:
        rec = job.record
        protocol = rec.protocol.label if rec.protocol is not None else ""
        here = (man.run_id, rec.model, rec.task, protocol)
        where = judged[here] if here in judged else judged.get(("", *here[1:]))
        no_skill = {}
        if where is not None:
            for record in job.metrics:
                clean_only = rule.skill.get((record.suite, record.metric))
                if clean_only is None or record.value is None:
                    continue
                if clean_only and record.condition != CLEAN:
                    continue
                no_skill[record.key] = (
                    f"this model's clean accuracy {where}: a constant guess can be well "
                    "calibrated, so this number is no merit (the leaderboard's headline does "
                    "not rank it)"
                )
        out[id(job)] = ChanceMarks(levels[id(job)], no_skill)
    return out


def _levels(job: StoredJob, rule: ChanceRule) -> dict[str, Chance]:
    """The chance level of each of the job's numbers that has one, as `chance_cells` finds it
    (the job's labels under the record's condition)."""
    by_condition: dict[str, float | None] = {}
    out = {}
    for record in job.metrics:
        if record.value is None or (record.suite, record.metric) not in rule.chance:
            continue
        if record.condition not in by_condition:
            by_condition[record.condition] = chance_level(job, record.condition)
        level = by_condition[record.condition]
        if level is not None:
            out[record.key] = Chance(level, at_or_below(record.value, level))
    return out


def _clean_verdict(
    job: StoredJob, levels: dict[str, Chance], rule: ChanceRule
) -> tuple[str | None] | None:
    """Of a job holding a clean accuracy (the first clean column of `rule` it has): why it is
    not shown above chance, or (None,) when it is; None when the job holds none."""
    records: dict[tuple[str, str], MetricRecord] = {
        (r.suite, r.metric): r for r in job.metrics if r.condition == CLEAN
    }
    for pair in rule.clean:
        record = records.get(pair)
        if record is None or record.key not in levels:
            continue
        return (not_above_chance(record, levels[record.key].level),)
    return None
