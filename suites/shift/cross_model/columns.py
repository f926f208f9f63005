"""The shift suite's columns of a board that need several of its models, and its notes.

`board_columns` is the suite board's `cross_model` hook (`harness.core.suite_board`): the
leaderboard hands it the suite's jobs on one board and merges the columns it returns.

`board_records` gives every model of one board its mCE and relative mCE
(`corruption_error`) and its effective robustness on each shifted task
(`effective_robustness`), with paired bootstrap intervals on the same draws for
every model (`shift_resampling`). They use `resamples` draws: the leaderboard
passes the runs' recorded `bootstrap_resamples` (harness.analysis.leaderboard.recorded_resamples).

Configured shifted tasks and OOD sets that gave the board's jobs no results (another modality,
a published corrupted set) are named in a board note with the job's reason (`not_run_notes`).

Inputs are the `shift` suite's records (`shift_records`) and, for intervals,
its per-sample tables; nothing here needs torch.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from harness.core.metric_record import MetricRecord
from harness.core.suite_board import CrossModelInputs
from harness.stats.intervals import DEFAULT_RESAMPLES
from harness.suites.shift.cross_model.corruption_error import mce_records
from harness.suites.shift.cross_model.effective_robustness import effective_robustness_records
from harness.suites.shift.cross_model.shift_records import (
    ShiftBoardConfig,
    ShiftRecords,
    board_config,
)
from harness.suites.shift.cross_model.shift_resampling import (
    BoardContext,
    OutcomeCache,
    TableSource,
)


def board_columns(inputs: CrossModelInputs) -> tuple[dict[str, list[MetricRecord]], list[str]]:
    """The board's mCE, relative mCE and effective robustness per model (`board_records`, with
    the board config of the jobs' suite configs), and its notes, those on configured inputs that
    gave no results (`not_run_notes`) last."""
    config = board_config(list(inputs.configs))
    per_model, notes = board_records(
        inputs.records,
        baseline=config.mce_baseline,
        config=config,
        tables=inputs.tables,
        variants=inputs.variants,
        seed=inputs.seed,
        resamples=inputs.resamples,
    )
    jobs = {m: (inputs.records[m], inputs.job_notes[m]) for m in inputs.records}
    return per_model, notes + not_run_notes(inputs.task, config, jobs)


def board_records(
    shift_jobs: Mapping[str, Sequence[MetricRecord]],
    *,
    baseline: str | None,
    config: ShiftBoardConfig | None = None,
    tables: Mapping[str, TableSource] | None = None,
    variants: Collection[str] = (),
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
) -> tuple[dict[str, list[MetricRecord]], list[str]]:
    """Cross-model records per model of one board, plus notes on what could not be computed.

    `shift_jobs` maps model -> its `shift` metric records (one config, one task fingerprint);
    `tables` model -> a loader of its per-sample table (intervals need them); `variants` names
    the compressed variants (kept out of the default effective-robustness testbed); `resamples`
    the bootstrap resamples of every interval (the leaderboard passes the runs' recorded
    `bootstrap_resamples`: `harness.analysis.leaderboard.recorded_resamples`); 0 gives no
    intervals, and a note says so.
    """
    cfg = config or ShiftBoardConfig(mce_baseline=baseline)
    per_model = {m: ShiftRecords.from_records(recs) for m, recs in shift_jobs.items()}
    out: dict[str, list[MetricRecord]] = {m: [] for m in per_model}
    ctx = BoardContext(seed=seed, resamples=resamples, outcomes=OutcomeCache(tables))
    notes = mce_records(per_model, baseline, cfg, ctx, out)
    notes += effective_robustness_records(per_model, cfg, variants, ctx, out)
    if resamples < 1 and any(out.values()):
        notes.append(
            "no intervals on mCE, relative mCE or effective robustness: the runs set "
            "bootstrap_resamples: 0"
        )
    return out, notes


_INPUTS = (  # config key, what an entry is, the condition prefix of its records
    ("shifted_tasks", "shifted task", "shifted="),
    ("ood_sets", "OOD set", "ood="),
)


def _entry_name(entry: Any) -> str | None:
    """The name a configured entry's records carry: a task name, an inline task's `name`, a
    generated set's kind (`uniform_noise`)."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, Mapping):
        name = entry.get("generated") or entry.get("name")
        return name if isinstance(name, str) else None
    return None


def _configured(value: Any, task: str) -> list[str]:
    """The names configured for `task`: a list applies to every task, a mapping to its key."""
    entries = value.get(task) if isinstance(value, Mapping) else value
    if not isinstance(entries, list):
        return []
    return [n for e in entries if (n := _entry_name(e)) is not None]


def not_run_notes(
    task: str,
    config: ShiftBoardConfig,
    jobs: Mapping[str, tuple[Sequence[MetricRecord], Sequence[str]]],
) -> list[str]:
    """A note per configured shifted task or OOD set that gave a model's `shift` job on `task`
    no results, with the job's own reason: a list entry of another modality than the task, a
    published corrupted set (no clean rows to compare with). The suite states the reason only in
    its job notes, which no board shows; without this, the entry vanishes without a word.

    `jobs`: model -> (its shift records, its job notes). Models are named unless every model
    of the board is concerned. Nothing is measured here: only what did not run is said.
    """
    missing: dict[tuple[str, str, str], list[str]] = {}
    for key, what, prefix in _INPUTS:
        for name in dict.fromkeys(_configured(getattr(config, key), task)):
            for model, (records, job_notes) in jobs.items():
                if any(r.condition == f"{prefix}{name}" for r in records):
                    continue
                reason = _job_reason(job_notes, what, name)
                missing.setdefault((key, name, reason), []).append(model)
    notes = []
    for (key, name, reason), models in missing.items():
        who = "every model" if len(models) == len(jobs) else ", ".join(models)
        notes.append(f"suites.shift.{key}: {name!r} has no results on this board ({who}): {reason}")
    return notes


def _job_reason(job_notes: Sequence[str], what: str, name: str) -> str:
    """The job notes that say why `name` did not run: those naming it, else those about every
    entry of its kind (a published set runs neither shifted tasks nor OOD sets)."""
    named = [n for n in job_notes if f"{what} {name!r}" in n]
    general = [n for n in job_notes if f"{what}s" in n and "not run" in n]
    found = named or general
    if not found:
        return "the shift job recorded no reason (its job.json notes say nothing about it)"
    return "; ".join(found)
