"""Metrics that need several models of one board, computed from stored records and tables.

- Corruption error (Hendrycks & Dietterich 2019): ``CE_c = sum_s E^f_{s,c} / sum_s E^base_{s,c}``
  with top-1 errors E at severity s of corruption c, normalised by a baseline model (AlexNet's
  role in ImageNet-C; the shift config names it with `mce_baseline`). ``mCE`` is the mean of CE_c
  over the 15 benchmark corruptions by default (`mce_corruptions`: the 4 extra ones are held-out
  validation corruptions in the paper). Relative CE uses the drop from clean error:
  ``sum_s (E^f_{s,c} - E^f_clean) / sum_s (E^base_{s,c} - E^base_clean)``; relative mCE averages it
  and is undefined (None, with the reason) when the task has no clean accuracy (a published
  corrupted set) or the baseline's degradation on any corruption of the set is not clearly above
  0 (less than 3 standard errors over the sample ids): the ratio has a denominator near 0.
  mCE is undefined (None, naming them) when the baseline makes no errors on a corruption of the
  set: that CE divides by 0, and a mean over the rest would silently drop the corruptions the
  baseline finds easiest. Corruptions a suite reported not applicable (they do nothing on the
  task) or did not run are left out and named. Intervals: percentile bootstrap over the sample
  ids, paired (the model and the baseline are resampled on the same ids: the clean rows', or on a
  published corrupted set without clean rows the cells' source ids), on the same draws for every
  model of the board.
- Effective robustness (Taori et al. 2020): fit ``logit(shifted acc) = a * logit(clean acc) + b``
  on a testbed of models, then ``rho(f) = shifted acc(f) - sigmoid(a * logit(clean acc(f)) + b)``
  (accuracy above the fitted line, in accuracy units). Accuracies are clipped half a sample
  inside (0, 1), each with its own set's n, for the fit and the residual alike (a model on the
  line gets 0, also at 100%). The testbed is the config's `effective_robustness_testbed`, by
  default the board's models that are not compressed variants; the scored model is never in its
  own testbed. Interval: bootstrap over the clean and the shifted sample ids (each resampled once
  for every model: the draws never depend on the scored model), paired on the ids the two sets
  share (a shared id is drawn once for both; the note says how many), refitting the line each time;
  none when a model of the fit has an accuracy of 0 or 1 (the bootstrap cannot vary it). A model
  whose testbed gives no line is undefined (None, with the reason) where others have a value.
- Configured shifted tasks and OOD sets that gave the board's jobs no results (another modality,
  a published corrupted set) are named in a board note with the job's reason (`not_run_notes`).

Intervals never leave draws out: a draw where the statistic does not exist (no line, CE 0/0)
counts at the worst end of each bound, and the interval is None when a bound is then infinite.
None also where every draw is the same by construction (a model without errors, or without
degradation for relative mCE). They use `resamples` draws: the leaderboard passes the runs'
recorded `bootstrap_resamples` (harness.analysis.leaderboard.recorded_resamples).

Inputs are the `shift` suite's records (`clean_acc`, `corruption_acc[corruption=c/severity=s]`,
`corruption_error` None for not applicable, `shift_acc[shifted=t]`) and, for intervals, its
per-sample tables; nothing here needs torch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from harness.core.corruption_names import BENCHMARK_CORRUPTIONS
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import CLEAN, SampleTable
from harness.core.seeding import rng
from harness.stats.intervals import DEFAULT_RESAMPLES

SUITE = "shift"
MIN_TESTBED = 2
"""Models a line is fitted on (besides the scored one); the note names how many there were."""
MIN_DEGRADATION_SE = 3.0
"""Relative CE needs the baseline's degradation at least this many standard errors above 0."""
CI_METHOD = "percentile bootstrap over sample ids (paired across models), 95%"
_CELL = re.compile(r"^corruption=(?P<c>[^/]+)/severity=(?P<s>\d+)$")

HELD_OUT_CORRUPTIONS: tuple[str, ...] = ("speckle_noise", "gaussian_blur", "spatter", "saturate")

TableSource = Callable[[], SampleTable | None]


class ShiftBoardConfig(BaseModel):
    """The part of a stored `shift` suite config that the board reads."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    mce_baseline: str | None = None  # the model whose errors normalise mCE
    mce_corruptions: str | list[str] = "benchmark"  # "benchmark" (15), "all" (19) or names
    effective_robustness_testbed: list[str] | None = None  # None: the board's non-variants
    # entries as stored (a list for every task, or {task: [entries]}): `not_run_notes` reads
    # them, and takes anything else for no entries (a board is never refused for them)
    shifted_tasks: Any = None
    ood_sets: Any = None

    def corruption_set(self) -> tuple[str, tuple[str, ...]]:
        """A label for the mCE corruption set, and its names."""
        if self.mce_corruptions == "benchmark":
            return "15 ImageNet-C benchmark corruptions", BENCHMARK_CORRUPTIONS
        if self.mce_corruptions == "all":
            return "19 corruptions (benchmark and held-out)", (
                *BENCHMARK_CORRUPTIONS,
                *HELD_OUT_CORRUPTIONS,
            )
        names = tuple(self.mce_corruptions)
        return f"{len(names)} configured corruptions", names


def board_config(configs: Sequence[Mapping[str, Any]]) -> ShiftBoardConfig:
    """The board's shift config: the first one that names an mCE baseline, else the first."""
    parsed = [ShiftBoardConfig.model_validate(c) for c in configs]
    return next((c for c in parsed if c.mce_baseline), parsed[0] if parsed else ShiftBoardConfig())


def mce_baseline(configs: Sequence[Mapping[str, Any]]) -> str | None:
    """The mCE baseline model: the first `shift` config of the board's jobs that names one."""
    return board_config(configs).mce_baseline


@dataclass(frozen=True)
class ShiftRecords:
    """What one model's `shift` job reported, in the shape the cross-model metrics need."""

    clean_acc: float | None
    n: int
    corruption_error: dict[tuple[str, int], float]  # (corruption, severity) -> top-1 error
    shift_acc: dict[str, float] = field(default_factory=dict)  # shifted task -> accuracy
    not_applicable: tuple[str, ...] = ()  # corruptions that do nothing on the task
    shift_n: dict[str, int] = field(default_factory=dict)  # shifted task -> its sample count

    @classmethod
    def from_records(cls, records: Sequence[MetricRecord]) -> ShiftRecords:
        clean, n, errors, shifted, skipped = None, 0, {}, {}, []
        shifted_n: dict[str, int] = {}
        for r in records:
            if r.metric == "corruption_error" and r.value is None:
                if (r.note or "").startswith("not applicable"):
                    skipped.append(r.condition.removeprefix("corruption="))
            elif r.value is None:
                continue
            elif r.metric == "clean_acc":
                clean, n = r.value, r.n
            elif r.metric == "corruption_acc" and (m := _CELL.match(r.condition)):
                errors[(m["c"], int(m["s"]))] = 1.0 - r.value
                n = n or r.n
            elif r.metric == "shift_acc" and r.condition.startswith("shifted="):
                shifted[r.condition.removeprefix("shifted=")] = r.value
                shifted_n[r.condition.removeprefix("shifted=")] = r.n
        return cls(
            clean_acc=clean,
            n=n,
            corruption_error=errors,
            shift_acc=shifted,
            not_applicable=tuple(skipped),
            shift_n=shifted_n,
        )


# ---------------------------------------------------------------------------------------------
# Per-sample outcomes (for intervals)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcomes:
    """One model's per-sample correctness by condition, each a Series indexed by sample id."""

    by_condition: dict[str, pd.Series]

    @classmethod
    def from_table(cls, table: SampleTable) -> Outcomes:
        frame = table.frame[["sample_id", "condition", "correct"]]
        return cls(
            {
                str(cond): block.set_index("sample_id")["correct"].astype(np.float64)
                for cond, block in frame.groupby("condition", sort=False)
            }
        )

    def aligned(self, condition: str, ids: pd.Index) -> np.ndarray | None:
        """Correctness on `condition` in the order of `ids` (None: missing or other ids)."""
        series = self.by_condition.get(condition)
        if series is None or len(series) != len(ids) or not series.index.is_unique:
            return None
        values = series.reindex(ids)
        return None if values.isna().any() else values.to_numpy()


class _OutcomeCache:
    """Per-sample outcomes loaded on first use (tables can be large)."""

    def __init__(self, tables: Mapping[str, TableSource] | None) -> None:
        self._tables = dict(tables or {})
        self._loaded: dict[str, Outcomes | None] = {}

    def get(self, model: str) -> Outcomes | None:
        if model not in self._loaded:
            source = self._tables.get(model)
            table = source() if source is not None else None
            self._loaded[model] = Outcomes.from_table(table) if table is not None else None
        return self._loaded[model]


def _sorted_ids(series: pd.Series) -> pd.Index:
    """A condition's sample ids in one order for every model (sorted when they sort)."""
    ids = pd.Index(series.index)
    try:
        return ids.sort_values()
    except TypeError:  # ids of mixed types: the table's order
        return ids


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    """Bootstrap index rows (r, n) as per-sample counts (r, n), float64."""
    r = idx.shape[0]
    flat = (idx + (np.arange(r, dtype=np.int64) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=r * n).reshape(r, n).astype(np.float64)


def _resampled_means(
    columns: np.ndarray, *, seed: int, name: str, resamples: int, chunk_rows: int = 4_000_000
) -> np.ndarray:
    """Means of each column of (n, k) under `resamples` bootstrap draws of the rows: (R, k)."""
    n = columns.shape[0]
    gen = rng(seed, "bootstrap", name, n)
    chunk = max(1, min(resamples, chunk_rows // max(n, 1)))
    out = []
    done = 0
    while done < resamples:
        size = min(chunk, resamples - done)
        idx = gen.integers(0, n, size=(size, n), dtype=np.int64)
        out.append(_counts(idx, n) @ columns / n)
        done += size
    return np.concatenate(out) if out else np.zeros((0, columns.shape[1]))


Interval = tuple[float, float]


def _interval(values: np.ndarray) -> Interval | None:
    """95% percentile interval of bootstrap draws, never narrowed by leaving draws out.

    A draw that is undefined (NaN: no line, a 0/0 ratio) counts at the worst end for each bound
    (-inf for the lower one, +inf for the upper one) and an infinite draw stays infinite, so the
    interval is what it would be wherever those draws lie. None when a bound is then not finite
    (more than about 2.5% of the draws at an unbounded end).
    """
    if len(values) == 0:
        return None
    undefined = np.isnan(values)
    with np.errstate(invalid="ignore"):
        lo = float(np.quantile(np.where(undefined, -np.inf, values), 0.025))
        hi = float(np.quantile(np.where(undefined, np.inf, values), 0.975))
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None


def _interval_with_reason(values: np.ndarray, what: str) -> tuple[Interval | None, str | None]:
    """`_interval`, with a note when some draws are not finite (`what` says where and why)."""
    bad = int((~np.isfinite(values)).sum())
    ci = _interval(values)
    if not bad:
        return ci, None
    if ci is None:
        return None, (
            f"no interval: in {bad} of {len(values)} bootstrap resamples {what}; a 95% "
            "percentile interval can take at most about 2.5% of such resamples at either end"
        )
    return ci, (
        f"in {bad} of {len(values)} bootstrap resamples {what}; the interval counts them at its "
        "worst end"
    )


# ---------------------------------------------------------------------------------------------
# Corruption errors
# ---------------------------------------------------------------------------------------------


def corruption_errors(model: ShiftRecords, baseline: ShiftRecords) -> dict[str, float | None]:
    """CE_c per corruption both models were measured on (None where the baseline's error is 0)."""
    out: dict[str, float | None] = {}
    for c in _shared_corruptions(model, baseline):
        sev = _shared_severities(model, baseline, c)
        num = sum(model.corruption_error[(c, s)] for s in sev)
        den = sum(baseline.corruption_error[(c, s)] for s in sev)
        out[c] = num / den if den > 0 else None
    return out


def relative_corruption_errors(
    model: ShiftRecords, baseline: ShiftRecords
) -> dict[str, float | None]:
    """Relative CE_c (degradation from clean error, over the baseline's); None if undefined."""
    if model.clean_acc is None or baseline.clean_acc is None:
        return {}
    e_f, e_b = 1.0 - model.clean_acc, 1.0 - baseline.clean_acc
    out: dict[str, float | None] = {}
    for c in _shared_corruptions(model, baseline):
        sev = _shared_severities(model, baseline, c)
        num = sum(model.corruption_error[(c, s)] - e_f for s in sev)
        den = sum(baseline.corruption_error[(c, s)] - e_b for s in sev)
        out[c] = num / den if den > 0 else None
    return out


def mean_defined(values: Mapping[str, float | None]) -> tuple[float | None, list[str]]:
    """Mean over the corruptions where the ratio is defined, and the names left out."""
    left_out = [c for c, v in values.items() if v is None]
    defined = [v for v in values.values() if v is not None]
    return (sum(defined) / len(defined) if defined else None), left_out


def _shared_corruptions(a: ShiftRecords, b: ShiftRecords) -> list[str]:
    ca = dict.fromkeys(c for c, _ in a.corruption_error)
    cb = {c for c, _ in b.corruption_error}
    return [c for c in ca if c in cb]


def _shared_severities(a: ShiftRecords, b: ShiftRecords, c: str) -> list[int]:
    return sorted(s for (cc, s) in a.corruption_error if cc == c and (c, s) in b.corruption_error)


@dataclass(frozen=True)
class _MceScope:
    """Which corruptions and severities an mCE of one model against the baseline averages."""

    label: str
    names: tuple[str, ...]  # the configured set
    configured: bool  # the set is the config's own list (not "benchmark" or "all")
    used: dict[str, list[int]]  # corruption -> shared severities
    not_applicable: list[str]
    not_measured: list[str]
    measured: list[str]  # every corruption both models were measured on, in the set or not

    def describe(self, baseline: str) -> str:
        sev = sorted({s for v in self.used.values() for s in v})
        text = (
            f"over {len(self.used)} of the {self.label} at severities "
            f"{', '.join(map(str, sev))}, normalised by baseline model {baseline!r}"
        )
        if self.not_applicable:
            text += f"; not applicable on this task: {', '.join(self.not_applicable)}"
        if self.not_measured:
            text += f"; not measured: {', '.join(self.not_measured)}"
        return text

    def empty_reason(self) -> str:
        """Why no corruption of the set can be averaged (`used` is empty), in plain words."""
        if not self.names:
            return (
                "undefined: the mCE corruption set is empty (suites.shift.mce_corruptions names "
                "no corruption)"
            )
        what = (
            f"the configured mCE corruptions ({', '.join(self.names)})"
            if self.configured
            else f"the {self.label} (the mCE set)"
        )
        measured = f"measured on this task: {', '.join(self.measured) or 'none'}"
        if not self.not_applicable:
            return f"undefined: none of {what} was run on this task ({measured})"
        if not self.not_measured:
            return (
                f"undefined: none of {what} is applicable on this task (they do not change its "
                f"inputs: {', '.join(self.not_applicable)})"
            )
        return (
            f"undefined: none of {what} can be averaged on this task: not applicable (they do "
            f"not change its inputs): {', '.join(self.not_applicable)}; not run: "
            f"{', '.join(self.not_measured)}"
        )


def _mce_scope(model: ShiftRecords, base: ShiftRecords, config: ShiftBoardConfig) -> _MceScope:
    label, names = config.corruption_set()
    skipped = set(model.not_applicable) | set(base.not_applicable)
    measured = _shared_corruptions(model, base)
    shared = set(measured)
    used = {
        c: _shared_severities(model, base, c) for c in names if c in shared and c not in skipped
    }
    return _MceScope(
        label=label,
        names=names,
        configured=isinstance(config.mce_corruptions, list),
        used=used,
        not_applicable=[c for c in names if c in skipped],
        not_measured=[c for c in names if c not in shared and c not in skipped],
        measured=measured,
    )


@dataclass(frozen=True)
class _Errors:
    """Per-sample top-1 errors of one model: (n, cells) in a fixed cell order, and clean."""

    cells: np.ndarray
    clean: np.ndarray | None


def _sample_errors(outcomes: Outcomes | None, scope: _MceScope, ids: pd.Index) -> _Errors | None:
    if outcomes is None:
        return None
    columns = []
    for c, sev in scope.used.items():
        for s in sev:
            col = outcomes.aligned(f"corruption={c}/severity={s}", ids)
            if col is None:
                return None
            columns.append(1.0 - col)
    clean = outcomes.aligned(CLEAN, ids)
    return _Errors(np.stack(columns, axis=1), None if clean is None else 1.0 - clean)


def _ratio_means(num: np.ndarray, den: np.ndarray, groups: list[int]) -> np.ndarray:
    """Mean over corruptions of sum-over-severities ratios; num, den (..., cells)."""
    bounds = np.cumsum([0, *groups])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = [
            num[..., a:b].sum(axis=-1) / den[..., a:b].sum(axis=-1)
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        return np.mean(np.stack(ratios, axis=-1), axis=-1)


@dataclass(frozen=True)
class _BoardContext:
    seed: int
    resamples: int
    outcomes: _OutcomeCache


_Pair = tuple[_Errors, _Errors]


def _mce_pair(
    model: str,
    recs: ShiftRecords,
    baseline: str,
    base: ShiftRecords,
    config: ShiftBoardConfig,
    ctx: _BoardContext,
) -> list[MetricRecord]:
    """mCE and relative mCE of one model against the baseline, with paired intervals."""
    scope = _mce_scope(recs, base, config)
    if not scope.used:
        why = scope.empty_reason()
        return [_record("mce", None, recs.n, why), _record("relative_mce", None, recs.n, why)]
    where = scope.describe(baseline)
    pair, no_pair = _paired_errors(model, baseline, scope, ctx)
    mce = _mce_record(model, recs, baseline, base, scope, (pair, no_pair), ctx, where)
    relative = _relative_mce(model, recs, baseline, base, scope, pair, ctx, where)
    return [mce, relative]


def _mce_record(
    model: str,
    recs: ShiftRecords,
    baseline: str,
    base: ShiftRecords,
    scope: _MceScope,
    errors: tuple[_Pair | None, str | None],
    ctx: _BoardContext,
    where: str,
) -> MetricRecord:
    """mCE over every corruption of the scope: undefined when a CE of the set is undefined."""
    ce = corruption_errors(recs, base)
    undefined = [c for c in scope.used if ce.get(c) is None]
    if undefined:
        return _record(
            "mce",
            None,
            recs.n,
            f"undefined: the baseline model {baseline!r} makes no errors on "
            f"{', '.join(undefined)}, so CE (which divides by the baseline's error) is undefined "
            "there; mCE averages every corruption of its set, and a mean over the others would "
            "drop the ones the baseline finds easiest (to average the others, list them in "
            f"suites.shift.mce_corruptions); mCE {where}",
        )
    defined = [v for c in scope.used if (v := ce.get(c)) is not None]
    pair, why = errors
    ci = None
    if pair is not None:
        ci, why = _mce_interval(model, baseline, pair, scope, ctx)
    note = f"mCE {where}" + (f"; {why}" if why else "")
    return _record("mce", sum(defined) / len(defined), recs.n, note, ci=ci)


def _paired_errors(
    model: str, baseline: str, scope: _MceScope, ctx: _BoardContext
) -> tuple[_Pair | None, str | None]:
    """Per-sample errors of the model and the baseline on the same ids, or why there are none.

    The ids are the clean rows' when there are any, else the first averaged cell's: a published
    corrupted set (CIFAR-10-C, ImageNet-C) has no clean rows, and its cells hold the same source
    images, so they pair across cells and models all the same. They are taken in sorted order,
    and the draws are named by the baseline, not the model: every model of the board is
    resampled on the same draws of the ids (two models with the same per-sample errors get the
    same interval).
    """
    mine, theirs = ctx.outcomes.get(model), ctx.outcomes.get(baseline)
    if mine is None or theirs is None:
        return None, "no interval: no per-sample table to resample"
    c, sev = next(iter(scope.used.items()))
    key = CLEAN if CLEAN in mine.by_condition else f"corruption={c}/severity={sev[0]}"
    series = mine.by_condition.get(key)
    f = b = None
    if series is not None:
        ids = _sorted_ids(series)
        f, b = _sample_errors(mine, scope, ids), _sample_errors(theirs, scope, ids)
    if f is None or b is None:
        return None, (
            "no interval: the per-sample tables do not hold the same sample ids in every "
            "averaged cell of the model and the baseline, so they cannot be resampled in pairs"
        )
    return (f, b), None


def _mce_interval(
    model: str, baseline: str, pair: _Pair, scope: _MceScope, ctx: _BoardContext
) -> tuple[Interval | None, str | None]:
    """Paired percentile interval of mCE, or None with the reason it would mislead."""
    f, b = pair
    if model != baseline and not f.cells.any():
        return None, (
            f"no interval: {model!r} makes no errors in any cell of the set, which a bootstrap "
            "over sample ids cannot vary (every resample gives 0)"
        )
    draws = _resampled_means(
        np.concatenate([f.cells, b.cells], axis=1),
        seed=ctx.seed,
        name=f"shift/mce/{baseline}",
        resamples=ctx.resamples,
    )
    k = f.cells.shape[1]
    groups = [len(v) for v in scope.used.values()]
    values = _ratio_means(draws[:, :k], draws[:, k:], groups)
    bounds = np.cumsum([0, *groups])
    den = draws[:, k:]
    zero = [
        c
        for c, lo, hi in zip(scope.used, bounds[:-1], bounds[1:], strict=True)
        if (den[:, lo:hi].sum(axis=1) <= 0).any()
    ]
    what = f"the baseline makes no errors on {', '.join(zero)}, where CE is infinite or undefined"
    return _interval_with_reason(values, what)


def _relative_interval(
    f: _Errors, b: _Errors, groups: list[int], ctx: _BoardContext, name: str
) -> tuple[float, float] | None:
    if f.clean is None or b.clean is None:
        return None
    cols = np.concatenate([f.cells, f.clean[:, None], b.cells, b.clean[:, None]], axis=1)
    draws = _resampled_means(cols, seed=ctx.seed, name=name, resamples=ctx.resamples)
    k = f.cells.shape[1]
    num = draws[:, :k] - draws[:, k : k + 1]
    den = draws[:, k + 1 : 2 * k + 1] - draws[:, 2 * k + 1 :]
    return _interval(_ratio_means(num, den, groups))


def _relative_mce(
    model: str,
    recs: ShiftRecords,
    baseline: str,
    base: ShiftRecords,
    scope: _MceScope,
    pair: _Pair | None,
    ctx: _BoardContext,
    where: str,
) -> MetricRecord:
    """Relative mCE, or undefined with the reason (no clean error, or a degradation ~0)."""
    if recs.clean_acc is None or base.clean_acc is None:
        return _record(
            "relative_mce",
            None,
            recs.n,
            "undefined: no clean accuracy on this task (a published corrupted set has no clean "
            "rows; relative CE measures each corruption's rise over the clean error, which "
            f"belongs to the clean set's own task and board); relative mCE {where}",
        )
    rel = {c: v for c, v in relative_corruption_errors(recs, base).items() if c in scope.used}
    flat = [c for c in scope.used if rel.get(c) is None]
    if pair is not None and pair[1].clean is not None:
        more = set(_flat_degradations(pair[1], scope))
        flat = [c for c in scope.used if c in more or c in flat]
    if flat:
        return _record(
            "relative_mce",
            None,
            recs.n,
            "undefined: the baseline's error does not rise clearly above its clean error on "
            f"{', '.join(flat)} (degradation within {MIN_DEGRADATION_SE:g} standard errors of "
            f"0), so relative CE divides by ~0; relative mCE {where}",
        )
    value, _ = mean_defined(rel)
    ci, why = None, ""
    if pair is not None and value is not None:
        groups = [len(v) for v in scope.used.values()]
        if model != baseline and _no_degradation(pair[0], groups):
            why = (
                f"; no interval: {model!r} has no degradation on any sample (summed over the "
                "severities of each corruption, its errors equal its clean error sample by "
                "sample), which a bootstrap over sample ids cannot vary (every resample gives 0)"
            )
        else:
            name = f"shift/relative_mce/{baseline}"
            ci = _relative_interval(pair[0], pair[1], groups, ctx, name)
    return _record("relative_mce", value, recs.n, f"relative mCE {where}{why}", ci=ci)


def _no_degradation(f: _Errors, groups: list[int]) -> bool:
    """Whether every sample's error, summed over each corruption's severities, equals its clean
    error times the severities: relative CE's numerator is then 0 in every bootstrap resample."""
    if f.clean is None:
        return False
    bounds = np.cumsum([0, *groups])
    return all(
        not (f.cells[:, a:b] - f.clean[:, None]).sum(axis=1).any()
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    )


def _flat_degradations(base: _Errors, scope: _MceScope) -> list[str]:
    """Corruptions whose baseline degradation is under MIN_DEGRADATION_SE standard errors."""
    assert base.clean is not None
    flat, start = [], 0
    for c, sev in scope.used.items():
        d = (base.cells[:, start : start + len(sev)] - base.clean[:, None]).sum(axis=1)
        start += len(sev)
        se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else 0.0
        if d.mean() <= 0 or d.mean() < MIN_DEGRADATION_SE * se:
            flat.append(c)
    return flat


def _mce_records(
    per_model: Mapping[str, ShiftRecords],
    baseline: str | None,
    config: ShiftBoardConfig,
    ctx: _BoardContext,
    out: dict[str, list[MetricRecord]],
) -> list[str]:
    if not any(r.corruption_error for r in per_model.values()):
        return []
    if baseline is None:
        return [
            "no mCE: the shift config names no mce_baseline (mCE divides each model's "
            "corruption errors by a baseline model's, AlexNet's in ImageNet-C); set "
            "suites.shift.mce_baseline to a model on this board"
        ]
    base = per_model.get(baseline)
    if base is None or not base.corruption_error:
        return [f"mce_baseline {baseline!r} has no corruption results on this board; no mCE"]
    for model, recs in per_model.items():
        if recs.corruption_error:
            out[model] += _mce_pair(model, recs, baseline, base, config, ctx)
    return []


# ---------------------------------------------------------------------------------------------
# Effective robustness
# ---------------------------------------------------------------------------------------------


UNKNOWN_N = 10**6
"""Sample count assumed where none is given: no clipping except at exactly 0 or 1."""


def _clipped(p: float | np.ndarray, n: int | np.ndarray) -> np.ndarray:
    """Accuracies moved half a sample inside (0, 1) (eps = 0.5 / n, with each set's own n)."""
    eps = 0.5 / np.maximum(np.asarray(n, dtype=np.float64), 1.0)
    return np.asarray(np.clip(p, eps, 1.0 - eps))


def _logit(q: np.ndarray) -> np.ndarray:
    return np.asarray(np.log(q / (1.0 - q)))


def _fit_residual(
    clean: np.ndarray, shifted: np.ndarray, n_clean: np.ndarray, n_shifted: np.ndarray
) -> np.ndarray:
    """rho of the last model against the line fitted in logit space on the others (the testbed).

    clean, shifted: (..., T + 1) accuracies, the testbed's first and the scored model's last;
    n_clean, n_shifted: (T + 1,) the sample counts behind them. Every accuracy is clipped half a
    sample inside (0, 1) with its own set's n, for the fit and for the residual alike (the
    residual is the clipped shifted accuracy minus the line at the clipped clean accuracy), so a
    model on the testbed's line gets rho 0, also at 0% or 100%. NaN where the testbed's clean
    accuracies are all equal (no line).
    """
    qc, qs = _clipped(clean, n_clean), _clipped(shifted, n_shifted)
    xs, ys = _logit(qc[..., :-1]), _logit(qs[..., :-1])
    mx, my = xs.mean(axis=-1, keepdims=True), ys.mean(axis=-1, keepdims=True)
    sxx = ((xs - mx) ** 2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(sxx > 0, ((xs - mx) * (ys - my)).sum(axis=-1) / sxx, np.nan)
    intercept = my[..., 0] - slope * mx[..., 0]
    fitted = 1.0 / (1.0 + np.exp(-(slope * _logit(qc[..., -1]) + intercept)))
    return np.asarray(qs[..., -1] - fitted)


def _sizes(n: Mapping[str, int] | None, models: Sequence[str]) -> np.ndarray:
    return np.array([(n or {}).get(m) or UNKNOWN_N for m in models], dtype=np.float64)


def effective_robustness(
    clean_acc: Mapping[str, float],
    shifted_acc: Mapping[str, float],
    n: Mapping[str, int] | None = None,
    *,
    testbed: Collection[str] | None = None,
    shifted_n: Mapping[str, int] | None = None,
) -> dict[str, float] | None:
    """rho(f) per model: shifted accuracy above the logit-space line fitted on the testbed
    without f (default testbed: every model given).

    `n` gives each model's clean sample count and `shifted_n` its shifted one (default: `n`);
    a model with no count gets `UNKNOWN_N`. A model is left out when fewer than `MIN_TESTBED`
    other testbed models have both numbers or their clean accuracies are all equal (no line);
    None when no model is left.
    """
    models = [m for m in clean_acc if m in shifted_acc]
    pool = [m for m in models if testbed is None or m in testbed]
    out = {}
    for m in models:
        order = [*(t for t in pool if t != m), m]
        if len(order) - 1 < MIN_TESTBED:
            continue
        rho = _fit_residual(
            np.array([clean_acc[t] for t in order], dtype=np.float64),
            np.array([shifted_acc[t] for t in order], dtype=np.float64),
            _sizes(n, order),
            _sizes(n if shifted_n is None else shifted_n, order),
        )
        if not np.isnan(rho):
            out[m] = float(rho)
    return out or None


def _at_edge(recs: ShiftRecords, task: str) -> bool:
    """Whether the clean or the shifted accuracy is 0 or 1 (or missing)."""
    return any(a is None or not 0.0 < a < 1.0 for a in (recs.clean_acc, recs.shift_acc[task]))


def _er_interval(
    task: str,
    model: str,
    bed: list[str],
    per_model: Mapping[str, ShiftRecords],
    ctx: _BoardContext,
) -> tuple[Interval | None, str | None]:
    """Bootstrap interval of rho, or None with the reason it would mislead.

    The clean and the shifted sample ids are resampled once for the board: the draws depend on
    the run seed, the shifted task and the ids (in sorted order), never on the scored model: every
    model of the board is scored on the same resamples, and two models with the same per-sample
    results on the same testbed get the same interval.
    """
    models = [*bed, model]
    key = f"shifted={task}"
    edge = [m for m in models if _at_edge(per_model[m], task)]
    if edge:
        return None, (
            f"no interval: an accuracy of 0 or 1 (clean or shifted: {', '.join(edge)}) does not "
            "vary under a bootstrap over sample ids, which would give a zero-width interval "
            "there, claiming a certainty the samples do not give"
        )
    clean_cols, shifted_cols = [], []
    ids_clean = ids_shift = None
    for m in models:
        o = ctx.outcomes.get(m)
        if o is None or CLEAN not in o.by_condition or key not in o.by_condition:
            return None, "no interval: no per-sample table with clean and shifted rows"
        if ids_clean is None or ids_shift is None:
            ids_clean = _sorted_ids(o.by_condition[CLEAN])
            ids_shift = _sorted_ids(o.by_condition[key])
        c, s = o.aligned(CLEAN, ids_clean), o.aligned(key, ids_shift)
        if c is None or s is None:
            return None, (
                "no interval: the per-sample tables do not hold the same clean and shifted sample "
                "ids for every model"
            )
        clean_cols.append(c)
        shifted_cols.append(s)
    assert ids_clean is not None and ids_shift is not None
    clean, shifted = np.stack(clean_cols, axis=1), np.stack(shifted_cols, axis=1)
    a_c, a_s, paired = _paired_accuracies(clean, ids_clean, shifted, ids_shift, task, ctx)
    n_c = np.full(len(models), len(ids_clean), dtype=np.float64)
    n_s = np.full(len(models), len(ids_shift), dtype=np.float64)
    rho = _fit_residual(a_c, a_s, n_c, n_s)
    ci, why = _interval_with_reason(
        rho, "the testbed's clean accuracies are all equal (no line can be fitted)"
    )
    if ci is None and why is not None:
        why += "; " + _tie_cause(bed, per_model, clean[:, :-1])
    return ci, _joined(why, paired)


def _joined(*parts: str | None) -> str | None:
    found = [p for p in parts if p]
    return "; ".join(found) if found else None


def _paired_accuracies(
    clean: np.ndarray,
    ids_clean: pd.Index,
    shifted: np.ndarray,
    ids_shift: pd.Index,
    task: str,
    ctx: _BoardContext,
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Resampled clean and shifted accuracies (R, models), paired on the ids the two sets share:
    a shared id is drawn once for both (its clean and shifted outcomes go together), the ids of
    one set only are drawn within that set (a stratified bootstrap: shared, clean-only and
    shifted-only ids). The draws depend on the ids and the seed only, never on the models. With
    no shared id this is two independent resamples, as before; the note says how many ids were
    paired (None when none were)."""
    name = f"shift/effective_robustness/{task}"
    shared = ids_clean.intersection(ids_shift)
    only_c = ~ids_clean.isin(shared)
    only_s = ~ids_shift.isin(shared)

    def sums(columns: np.ndarray, what: str) -> np.ndarray:
        if columns.shape[0] == 0:
            return np.zeros((ctx.resamples, columns.shape[1]))
        means = _resampled_means(
            columns, seed=ctx.seed, name=f"{name}/{what}", resamples=ctx.resamples
        )
        return means * columns.shape[0]

    in_c, in_s = ids_clean.get_indexer(shared), ids_shift.get_indexer(shared)
    both = sums(np.concatenate([clean[in_c], shifted[in_s]], axis=1), "paired")
    k = clean.shape[1]
    a_c = (both[:, :k] + sums(clean[only_c], "clean")) / len(ids_clean)
    a_s = (both[:, k:] + sums(shifted[only_s], "shifted")) / len(ids_shift)
    if not len(shared):
        return a_c, a_s, None
    note = (
        f"interval paired on the {len(shared)} sample ids the clean and shifted sets share "
        f"({int(only_c.sum())} clean-only and {int(only_s.sum())} shifted-only ids resampled "
        "within their set)"
    )
    return a_c, a_s, note


def _tie_cause(bed: list[str], per_model: Mapping[str, ShiftRecords], clean: np.ndarray) -> str:
    """Why resamples tie the testbed's clean accuracies, in words. `clean`: (n, testbed)
    per-sample correctness; the samples where the testbed's models disagree are all that
    separates their accuracies."""
    disagree = int((clean.max(axis=1) != clean.min(axis=1)).sum())
    accs = ", ".join(f"{m} {_acc(per_model[m].clean_acc)}" for m in bed)
    return (
        f"the testbed's clean accuracies are close ({accs}): its models disagree on {disagree} "
        f"of {clean.shape[0]} clean samples, and resampling those often makes the accuracies "
        "equal, so the data do not pin down the line's slope, nor this value, which follows "
        "from it"
    )


def _acc(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.3f}"


def _testbed(
    task: str,
    eligible: list[str],
    config: ShiftBoardConfig,
    variants: Collection[str],
    on_board: Collection[str],
) -> tuple[list[str], str, str]:
    """The testbed pool, where it comes from, and the configured models it lacks (or "")."""
    named = config.effective_robustness_testbed
    if named is None:
        return [m for m in eligible if m not in variants], "the board's models without variants", ""
    gaps = []
    if off := [m for m in named if m not in on_board]:
        gaps.append(f"no shift results on this board: {', '.join(off)}")
    if lacking := [m for m in named if m in on_board and m not in eligible]:
        gaps.append(f"no clean and shifted={task} accuracy: {', '.join(lacking)}")
    missing = f"left out of effective_robustness_testbed ({'; '.join(gaps)})" if gaps else ""
    return [m for m in eligible if m in named], "the configured testbed", missing


def _er_records(
    per_model: Mapping[str, ShiftRecords],
    config: ShiftBoardConfig,
    variants: Collection[str],
    ctx: _BoardContext,
    out: dict[str, list[MetricRecord]],
) -> list[str]:
    """Effective robustness per shifted task. Where some models get a value, every other model
    with a clean and a shifted accuracy gets the record too, undefined (value None) with the
    reason in its note: the metric was computed for it and does not exist, which is not the
    same as not measured. Where no model gets a value, a board note says why (no column)."""
    notes = []
    for t in sorted({t for r in per_model.values() for t in r.shift_acc}):
        eligible = [m for m, r in per_model.items() if r.clean_acc is not None and t in r.shift_acc]
        pool, origin, missing = _testbed(t, eligible, config, variants, per_model)
        if missing:
            notes.append(f"effective robustness on shifted={t}: {missing}")
        records = {
            m: _er_record(t, m, [x for x in pool if x != m], origin, missing, per_model, ctx)
            for m in eligible
        }
        if not records:
            continue
        if any(why is None for _, why in records.values()):
            for m, (record, _) in records.items():
                out[m].append(record)
            continue
        by_reason: dict[str, list[str]] = {}
        for m, (_, why) in records.items():
            by_reason.setdefault(why or "", []).append(m)
        notes.append(
            f"effective robustness on shifted={t}: no model has a value (testbed, {origin}: "
            f"{', '.join(pool) or 'none'}): "
            + "; ".join(f"{', '.join(ms)}: {why}" for why, ms in by_reason.items())
        )
    return notes


def _er_record(
    task: str,
    model: str,
    bed: list[str],
    origin: str,
    missing: str,
    per_model: Mapping[str, ShiftRecords],
    ctx: _BoardContext,
) -> tuple[MetricRecord, str | None]:
    """rho of `model` on shifted `task`, with its interval, and None; or, undefined (value None)
    when the testbed without the model has fewer than `MIN_TESTBED` models or all its clean
    accuracies are equal (no line), the record and why (also in its note)."""
    recs = per_model[model]
    order = [*bed, model]
    n_shifted = {m: per_model[m].shift_n.get(task, 0) for m in order}
    sizes = f"clean n={recs.n or 'unknown'}, shifted n={n_shifted[model] or 'unknown'}"
    models = f"{len(bed)} model" + ("" if len(bed) == 1 else "s")
    testbed = (
        f"testbed of {models} ({origin}, without the scored model): {', '.join(bed) or 'none'}"
    )
    rho = None
    if len(bed) >= MIN_TESTBED:
        # the board's value is `effective_robustness` itself, on the testbed plus the model
        rho = (
            effective_robustness(
                {m: c for m in order if (c := per_model[m].clean_acc) is not None},
                {m: per_model[m].shift_acc[task] for m in order},
                {m: per_model[m].n for m in order},
                testbed=set(order),
                shifted_n=n_shifted,
            )
            or {}
        ).get(model)
    if rho is None:
        if len(bed) < MIN_TESTBED:
            why = (
                f"the line needs a testbed of at least {MIN_TESTBED} models besides the scored "
                "one, with different clean accuracy"
            )
        else:
            accs = ", ".join(f"{m} {_acc(per_model[m].clean_acc)}" for m in bed)
            why = (
                f"the testbed's clean accuracies are all equal ({accs}), so no line can be "
                f"fitted (a line needs {MIN_TESTBED} testbed models with different clean accuracy)"
            )
        note = f"undefined: {why}; {testbed}" + (f"; {missing}" if missing else "")
        return _er_metric(task, None, recs.n, note, None), why
    ci, no_ci = _er_interval(task, model, bed, per_model, ctx)
    note = f"logit-space linear fit ({sizes}) on a {testbed}"
    note += "".join(f"; {part}" for part in (missing, no_ci) if part)
    return _er_metric(task, float(rho), recs.n, note, ci), None


def _er_metric(
    task: str, value: float | None, n: int, note: str, ci: Interval | None
) -> MetricRecord:
    return MetricRecord(
        suite=SUITE,
        metric="effective_robustness",
        value=value,
        unit="difference",
        higher_is_better=True,
        n=n,
        condition=f"shifted={task}",
        headline=True,
        ci=ci,
        ci_method=CI_METHOD if ci else None,
        note=note,
    )


# ---------------------------------------------------------------------------------------------
# The board
# ---------------------------------------------------------------------------------------------


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
    ctx = _BoardContext(seed=seed, resamples=resamples, outcomes=_OutcomeCache(tables))
    notes = _mce_records(per_model, baseline, cfg, ctx, out)
    notes += _er_records(per_model, cfg, variants, ctx, out)
    if resamples < 1 and any(out.values()):
        notes.append(
            "no intervals on mCE, relative mCE or effective robustness: the runs set "
            "bootstrap_resamples: 0"
        )
    return out, notes


# ---------------------------------------------------------------------------------------------
# Configured shifted tasks and OOD sets that gave no results
# ---------------------------------------------------------------------------------------------

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


def _record(
    metric: str,
    value: float | None,
    n: int,
    note: str,
    *,
    ci: tuple[float, float] | None = None,
) -> MetricRecord:
    return MetricRecord(
        suite=SUITE,
        metric=metric,
        value=value,
        unit="ratio",
        higher_is_better=False,
        n=n,
        headline=True,
        ci=ci,
        ci_method=CI_METHOD if ci else None,
        note=note,
    )
