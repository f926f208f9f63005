"""Corruption error (Hendrycks & Dietterich 2019) of each model of a board: mCE and relative mCE.

``CE_c = sum_s E^f_{s,c} / sum_s E^base_{s,c}`` with top-1 errors E at severity s of corruption
c, normalised by a baseline model (AlexNet's role in ImageNet-C; the shift config names it with
`mce_baseline`). ``mCE`` is the mean of CE_c over the 15 benchmark corruptions by default
(`mce_corruptions`: the 4 extra ones are held-out validation corruptions in the paper). Relative
CE uses the drop from clean error: ``sum_s (E^f_{s,c} - E^f_clean) / sum_s (E^base_{s,c} -
E^base_clean)``; relative mCE averages it and is undefined (None, with the reason) when the task
has no clean accuracy (a published corrupted set) or the baseline's degradation on any
corruption of the set is not clearly above 0 (less than 3 standard errors over the sample ids):
the ratio has a denominator near 0. mCE is undefined (None, naming them) when the baseline makes
no errors on a corruption of the set: that CE divides by 0, and a mean over the rest would
silently drop the corruptions the baseline finds easiest. Corruptions a suite reported not
applicable (they do nothing on the task) or did not run are left out and named.

Intervals: percentile bootstrap over the sample ids, paired (the model and the baseline are
resampled on the same ids: the clean rows', or on a published corrupted set without clean rows
the cells' source ids), on the same draws for every model of the board
(`shift_resampling`). None where every draw is the same by construction (a
model without errors, or without degradation for relative mCE), and none for the baseline itself,
whose (relative) mCE is 1 by definition: the note says so (a [1, 1] interval would read as an
estimate of zero width).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.core.metric_record import MetricRecord
from harness.core.sample_table import CLEAN
from harness.suites.shift.cross_model.shift_records import (
    CI_METHOD,
    SUITE,
    ShiftBoardConfig,
    ShiftRecords,
)
from harness.suites.shift.cross_model.shift_resampling import (
    BoardContext,
    Interval,
    Outcomes,
    bootstrap_interval,
    bootstrap_interval_with_reason,
    resampled_means,
    sorted_ids,
)

MIN_DEGRADATION_SE = 3.0
"""Relative CE needs the baseline's degradation at least this many standard errors above 0."""


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


_Pair = tuple[_Errors, _Errors]


def mce_records(
    per_model: Mapping[str, ShiftRecords],
    baseline: str | None,
    config: ShiftBoardConfig,
    ctx: BoardContext,
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


def _mce_pair(
    model: str,
    recs: ShiftRecords,
    baseline: str,
    base: ShiftRecords,
    config: ShiftBoardConfig,
    ctx: BoardContext,
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
    ctx: BoardContext,
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
    if model == baseline:
        why = _by_definition(baseline, "mCE")
    elif pair is not None:
        ci, why = _mce_interval(model, baseline, pair, scope, ctx)
    note = f"mCE {where}" + (f"; {why}" if why else "")
    return _record("mce", sum(defined) / len(defined), recs.n, note, ci=ci)


def _paired_errors(
    model: str, baseline: str, scope: _MceScope, ctx: BoardContext
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
        ids = sorted_ids(series)
        f, b = _sample_errors(mine, scope, ids), _sample_errors(theirs, scope, ids)
    if f is None or b is None:
        return None, (
            "no interval: the per-sample tables do not hold the same sample ids in every "
            "averaged cell of the model and the baseline, so they cannot be resampled in pairs"
        )
    return (f, b), None


def _mce_interval(
    model: str, baseline: str, pair: _Pair, scope: _MceScope, ctx: BoardContext
) -> tuple[Interval | None, str | None]:
    """Paired percentile interval of mCE, or None with the reason it would mislead."""
    f, b = pair
    if not f.cells.any():
        return None, (
            f"no interval: {model!r} makes no errors in any cell of the set, which a bootstrap "
            "over sample ids cannot vary (every resample gives 0)"
        )
    draws = resampled_means(
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
    return bootstrap_interval_with_reason(values, what)


def _relative_interval(
    f: _Errors, b: _Errors, groups: list[int], ctx: BoardContext, name: str
) -> tuple[float, float] | None:
    if f.clean is None or b.clean is None:
        return None
    cols = np.concatenate([f.cells, f.clean[:, None], b.cells, b.clean[:, None]], axis=1)
    draws = resampled_means(cols, seed=ctx.seed, name=name, resamples=ctx.resamples)
    k = f.cells.shape[1]
    num = draws[:, :k] - draws[:, k : k + 1]
    den = draws[:, k + 1 : 2 * k + 1] - draws[:, 2 * k + 1 :]
    return bootstrap_interval(_ratio_means(num, den, groups))


def _relative_mce(
    model: str,
    recs: ShiftRecords,
    baseline: str,
    base: ShiftRecords,
    scope: _MceScope,
    pair: _Pair | None,
    ctx: BoardContext,
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
    if model == baseline:
        why = f"; {_by_definition(baseline, 'relative mCE')}"
    elif pair is not None and value is not None:
        groups = [len(v) for v in scope.used.values()]
        if _no_degradation(pair[0], groups):
            why = (
                f"; no interval: {model!r} has no degradation on any sample (summed over the "
                "severities of each corruption, its errors equal its clean error sample by "
                "sample), which a bootstrap over sample ids cannot vary (every resample gives 0)"
            )
        else:
            name = f"shift/relative_mce/{baseline}"
            ci = _relative_interval(pair[0], pair[1], groups, ctx, name)
    return _record("relative_mce", value, recs.n, f"relative mCE {where}{why}", ci=ci)


def _by_definition(baseline: str, what: str) -> str:
    """The note of the baseline's own (relative) mCE: exactly 1, which no interval describes."""
    return (
        f"no interval: {baseline!r} is the baseline, so its {what} is 1 by definition (its "
        "errors divided by its own), exact rather than estimated"
    )


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
