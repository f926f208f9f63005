"""Metrics that need several models of one board, computed from stored records and tables.

- Corruption error (Hendrycks & Dietterich 2019): ``CE_c = sum_s E^f_{s,c} / sum_s E^base_{s,c}``
  with top-1 errors E at severity s of corruption c, normalised by a baseline model (AlexNet's
  role in ImageNet-C; the shift config names it with `mce_baseline`). ``mCE`` is the mean of CE_c
  over the 15 benchmark corruptions by default (`mce_corruptions`: the 4 extra ones are held-out
  validation corruptions in the paper). Relative CE uses the drop from clean error:
  ``sum_s (E^f_{s,c} - E^f_clean) / sum_s (E^base_{s,c} - E^base_clean)``; relative mCE averages it
  and is undefined (None, with the reason) when the baseline's degradation on any corruption of
  the set is not clearly above 0 (less than 3 standard errors over the sample ids): the ratio has
  a denominator near 0. Corruptions a suite reported not applicable (they do nothing on the
  task) are left out and named. Intervals: percentile bootstrap over the sample ids, paired (the
  model and the baseline are resampled on the same ids).
- Effective robustness (Taori et al. 2020): fit ``logit(shifted acc) = a * logit(clean acc) + b``
  on a testbed of models, then ``rho(f) = shifted acc(f) - sigmoid(a * logit(clean acc(f)) + b)``
  (accuracy above the fitted line, in accuracy units). The testbed is the config's
  `effective_robustness_testbed`, by default the board's models that are not compressed variants;
  the scored model is never in its own testbed. Interval: bootstrap over the clean and the shifted
  sample ids (each resampled once for every model), refitting the line each time.

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

from harness.analysis.intervals import DEFAULT_RESAMPLES
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import CLEAN, SampleTable
from harness.core.seeding import rng

SUITE = "shift"
MIN_TESTBED = 2
"""Models a line is fitted on (besides the scored one); the note names how many there were."""
MIN_DEGRADATION_SE = 3.0
"""Relative CE needs the baseline's degradation at least this many standard errors above 0."""
CI_METHOD = "percentile bootstrap over sample ids (paired across models), 95%"
_CELL = re.compile(r"^corruption=(?P<c>[^/]+)/severity=(?P<s>\d+)$")

BENCHMARK_CORRUPTIONS: tuple[str, ...] = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)
"""The 15 ImageNet-C benchmark corruptions (the suite's registry order)."""
HELD_OUT_CORRUPTIONS: tuple[str, ...] = ("speckle_noise", "gaussian_blur", "spatter", "saturate")

TableSource = Callable[[], SampleTable | None]


class ShiftBoardConfig(BaseModel):
    """The part of a stored `shift` suite config that the board reads."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    mce_baseline: str | None = None  # the model whose errors normalise mCE
    mce_corruptions: str | list[str] = "benchmark"  # "benchmark" (15), "all" (19) or names
    effective_robustness_testbed: list[str] | None = None  # None: the board's non-variants

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

    @classmethod
    def from_records(cls, records: Sequence[MetricRecord]) -> ShiftRecords:
        clean, n, errors, shifted, skipped = None, 0, {}, {}, []
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
        return cls(
            clean_acc=clean,
            n=n,
            corruption_error=errors,
            shift_acc=shifted,
            not_applicable=tuple(skipped),
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


def _interval(values: np.ndarray) -> tuple[float, float] | None:
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return None
    lo, hi = np.quantile(v, [0.025, 0.975])
    return float(lo), float(hi)


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
    used: dict[str, list[int]]  # corruption -> shared severities
    not_applicable: list[str]
    not_measured: list[str]

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


def _mce_scope(model: ShiftRecords, base: ShiftRecords, config: ShiftBoardConfig) -> _MceScope:
    label, names = config.corruption_set()
    skipped = set(model.not_applicable) | set(base.not_applicable)
    shared = set(_shared_corruptions(model, base))
    used = {
        c: _shared_severities(model, base, c) for c in names if c in shared and c not in skipped
    }
    return _MceScope(
        label=label,
        used=used,
        not_applicable=[c for c in names if c in skipped],
        not_measured=[c for c in names if c not in shared and c not in skipped],
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
    where = scope.describe(baseline)
    if not scope.used:
        return [_record("mce", None, recs.n, f"undefined: no shared corruption {where}")]
    ce, _ = mean_defined(
        {c: v for c, v in corruption_errors(recs, base).items() if c in scope.used}
    )
    errors = _paired_errors(model, baseline, scope, ctx)
    groups = [len(v) for v in scope.used.values()]
    ce_ci = rel_ci = None
    rel_value, rel_note = _relative_mce(recs, base, scope, errors, where)
    if errors is not None and ce is not None:
        f, b = errors
        draws = _resampled_means(
            np.concatenate([f.cells, b.cells], axis=1),
            seed=ctx.seed,
            name=f"shift/mce/{model}/{baseline}",
            resamples=ctx.resamples,
        )
        k = f.cells.shape[1]
        ce_ci = _interval(_ratio_means(draws[:, :k], draws[:, k:], groups))
        if rel_value is not None:
            name = f"shift/relative_mce/{model}/{baseline}"
            rel_ci = _relative_interval(f, b, groups, ctx, name)
    mce = _record("mce", ce, recs.n, f"mCE {where}", ci=ce_ci)
    relative = _record(
        "relative_mce", rel_value, recs.n, rel_note, ci=rel_ci if rel_value is not None else None
    )
    return [mce, relative]


def _paired_errors(
    model: str, baseline: str, scope: _MceScope, ctx: _BoardContext
) -> tuple[_Errors, _Errors] | None:
    mine, theirs = ctx.outcomes.get(model), ctx.outcomes.get(baseline)
    if mine is None or theirs is None or CLEAN not in mine.by_condition:
        return None
    ids = pd.Index(mine.by_condition[CLEAN].index)
    f, b = _sample_errors(mine, scope, ids), _sample_errors(theirs, scope, ids)
    if f is None or b is None:
        return None
    return f, b


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
    recs: ShiftRecords,
    base: ShiftRecords,
    scope: _MceScope,
    errors: tuple[_Errors, _Errors] | None,
    where: str,
) -> tuple[float | None, str]:
    """Relative mCE, or None with the reason when a baseline degradation is ~0."""
    rel = {c: v for c, v in relative_corruption_errors(recs, base).items() if c in scope.used}
    flat = [c for c in scope.used if rel.get(c) is None]
    if errors is not None and errors[1].clean is not None:
        more = set(_flat_degradations(errors[1], scope))
        flat = [c for c in scope.used if c in more or c in flat]
    if not rel or flat:
        return None, (
            "undefined: the baseline's error does not rise clearly above its clean error on "
            f"{', '.join(flat) or 'any corruption'} (degradation within "
            f"{MIN_DEGRADATION_SE:g} standard errors of 0), so relative CE divides by ~0; "
            f"relative mCE {where}"
        )
    value, _ = mean_defined(rel)
    return value, f"relative mCE {where}"


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


def _logit(p: float | np.ndarray, n: int) -> Any:
    eps = 0.5 / max(n, 1)  # keep 0 and 1 finite: half a sample away from the edge
    q = np.clip(p, eps, 1.0 - eps)
    return np.log(q / (1.0 - q))


def _fit_residual(
    clean: np.ndarray, shifted: np.ndarray, scored: np.ndarray, n: int
) -> np.ndarray | None:
    """rho of the scored (clean, shifted) pair(s) against a line fitted on the testbed columns.

    clean, shifted: (..., T) testbed accuracies; scored: (..., 2). None if the fit is degenerate.
    """
    xs, ys = _logit(clean, n), _logit(shifted, n)
    mx, my = xs.mean(axis=-1, keepdims=True), ys.mean(axis=-1, keepdims=True)
    sxx = ((xs - mx) ** 2).sum(axis=-1)
    if np.any(sxx == 0):
        return None
    slope = ((xs - mx) * (ys - my)).sum(axis=-1) / sxx
    intercept = my[..., 0] - slope * mx[..., 0]
    fitted = 1.0 / (1.0 + np.exp(-(slope * _logit(scored[..., 0], n) + intercept)))
    return np.asarray(scored[..., 1] - fitted)


def effective_robustness(
    clean_acc: Mapping[str, float],
    shifted_acc: Mapping[str, float],
    n: Mapping[str, int] | None = None,
    *,
    testbed: Collection[str] | None = None,
) -> dict[str, float] | None:
    """rho(f) per model: shifted accuracy above the logit-space line fitted on the testbed
    without f (default testbed: every model given).

    A model is left out when fewer than `MIN_TESTBED` other testbed models have both numbers or
    their clean accuracies are all equal (no line); None when no model is left.
    """
    models = [m for m in clean_acc if m in shifted_acc]
    pool = [m for m in models if testbed is None or m in testbed]
    out = {}
    for m in models:
        bed = [t for t in pool if t != m]
        rho = _rho(clean_acc, shifted_acc, bed, m, n or {})
        if rho is not None:
            out[m] = rho
    return out or None


def _rho(
    clean_acc: Mapping[str, float],
    shifted_acc: Mapping[str, float],
    bed: list[str],
    model: str,
    sizes: Mapping[str, int],
) -> float | None:
    """One model's rho on a line fitted on `bed` (None: too small a testbed, or no line)."""
    if len(bed) < MIN_TESTBED:
        return None
    rho = _fit_residual(
        np.array([clean_acc[t] for t in bed]),
        np.array([shifted_acc[t] for t in bed]),
        np.array([clean_acc[model], shifted_acc[model]]),
        min(sizes.get(t, 10**6) for t in [*bed, model]),
    )
    return None if rho is None else float(rho)


def _er_interval(
    task: str, model: str, bed: list[str], ctx: _BoardContext, n: int
) -> tuple[float, float] | None:
    """Bootstrap interval of rho: clean and shifted ids resampled once for all models."""
    models = [*bed, model]
    clean_cols, shifted_cols = [], []
    ids_clean = ids_shift = None
    for m in models:
        o = ctx.outcomes.get(m)
        if o is None or CLEAN not in o.by_condition or f"shifted={task}" not in o.by_condition:
            return None
        ids_clean = ids_clean if ids_clean is not None else pd.Index(o.by_condition[CLEAN].index)
        key = f"shifted={task}"
        ids_shift = ids_shift if ids_shift is not None else pd.Index(o.by_condition[key].index)
        c, s = o.aligned(CLEAN, ids_clean), o.aligned(key, ids_shift)
        if c is None or s is None:
            return None
        clean_cols.append(c)
        shifted_cols.append(s)
    name = f"shift/effective_robustness/{task}/{model}"
    a_c = _resampled_means(
        np.stack(clean_cols, axis=1), seed=ctx.seed, name=f"{name}/clean", resamples=ctx.resamples
    )
    a_s = _resampled_means(
        np.stack(shifted_cols, axis=1),
        seed=ctx.seed,
        name=f"{name}/shifted",
        resamples=ctx.resamples,
    )
    t = len(bed)
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = _logit(a_c[:, :t], n)
        sxx = ((xs - xs.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        keep = sxx > 0
        if not keep.any():
            return None
        rho = _fit_residual(
            a_c[keep, :t], a_s[keep, :t], np.stack([a_c[keep, t], a_s[keep, t]], axis=1), n
        )
    return None if rho is None else _interval(rho)


def _testbed(
    eligible: list[str], config: ShiftBoardConfig, variants: Collection[str]
) -> tuple[list[str], str]:
    if config.effective_robustness_testbed is not None:
        named = config.effective_robustness_testbed
        return [m for m in eligible if m in named], "the configured testbed"
    return [m for m in eligible if m not in variants], "the board's models without variants"


def _er_records(
    per_model: Mapping[str, ShiftRecords],
    config: ShiftBoardConfig,
    variants: Collection[str],
    ctx: _BoardContext,
    out: dict[str, list[MetricRecord]],
) -> list[str]:
    notes = []
    for t in sorted({t for r in per_model.values() for t in r.shift_acc}):
        eligible = [m for m, r in per_model.items() if r.clean_acc is not None and t in r.shift_acc]
        pool, origin = _testbed(eligible, config, variants)
        scored = 0
        for m in eligible:
            bed = [x for x in pool if x != m]
            record = _er_record(t, m, bed, origin, per_model, ctx)
            if record is not None:
                out[m].append(record)
                scored += 1
        if scored < len(eligible):
            notes.append(
                f"effective robustness on shifted={t}: {len(eligible) - scored} model(s) have no "
                f"value: the line needs a testbed ({origin}, without the scored model) of at "
                f"least {MIN_TESTBED} models with different clean accuracy (testbed: "
                f"{', '.join(pool) or 'none'})"
            )
    return notes


def _er_record(
    task: str,
    model: str,
    bed: list[str],
    origin: str,
    per_model: Mapping[str, ShiftRecords],
    ctx: _BoardContext,
) -> MetricRecord | None:
    if len(bed) < MIN_TESTBED:
        return None
    recs = per_model[model]
    assert recs.clean_acc is not None
    n = min(per_model[m].n for m in [*bed, model]) or 10**6
    rho = _fit_residual(
        np.array([per_model[m].clean_acc for m in bed], dtype=np.float64),
        np.array([per_model[m].shift_acc[task] for m in bed]),
        np.array([recs.clean_acc, recs.shift_acc[task]]),
        n,
    )
    if rho is None:
        return None
    ci = _er_interval(task, model, bed, ctx, n)
    return MetricRecord(
        suite=SUITE,
        metric="effective_robustness",
        value=float(rho),
        unit="difference",
        higher_is_better=True,
        n=recs.n,
        condition=f"shifted={task}",
        headline=True,
        ci=ci,
        ci_method=CI_METHOD if ci else None,
        note=(
            f"logit-space linear fit on a testbed of {len(bed)} models ({origin}, without the "
            f"scored model): {', '.join(bed)}"
        ),
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
    the compressed variants (kept out of the default effective-robustness testbed).
    """
    cfg = config or ShiftBoardConfig(mce_baseline=baseline)
    per_model = {m: ShiftRecords.from_records(recs) for m, recs in shift_jobs.items()}
    out: dict[str, list[MetricRecord]] = {m: [] for m in per_model}
    ctx = _BoardContext(seed=seed, resamples=resamples, outcomes=_OutcomeCache(tables))
    notes = _mce_records(per_model, baseline, cfg, ctx, out)
    notes += _er_records(per_model, cfg, variants, ctx, out)
    return out, notes


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
