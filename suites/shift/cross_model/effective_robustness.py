"""Effective robustness (Taori et al. 2020) of each model of a board on each shifted task.

Fit ``logit(shifted acc) = a * logit(clean acc) + b`` on a testbed of models, then ``rho(f) =
shifted acc(f) - sigmoid(a * logit(clean acc(f)) + b)`` (accuracy above the fitted line, in
accuracy units). Accuracies are clipped half a sample inside (0, 1), each with its own set's n,
for the fit and the residual alike (a model on the line gets 0, also at 100%). The testbed is
the config's `effective_robustness_testbed`, by default the board's models that are not
compressed variants; the scored model is never in its own testbed. Interval: bootstrap over the
clean and the shifted sample ids (each resampled once for every model: the draws never depend
on the scored model), paired on the ids the two sets share (a shared id is drawn once for both;
the note says how many), refitting the line each time; none when a model of the fit has an
accuracy of 0 or 1 (the bootstrap cannot vary it). A model whose testbed gives no line is
undefined (None, with the reason) where others have a value.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

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
    bootstrap_interval_with_reason,
    resampled_means,
    sorted_ids,
)

MIN_TESTBED = 2
"""Models a line is fitted on (besides the scored one); the note names how many there were."""
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


def effective_robustness_records(
    per_model: Mapping[str, ShiftRecords],
    config: ShiftBoardConfig,
    variants: Collection[str],
    ctx: BoardContext,
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


def _er_record(
    task: str,
    model: str,
    bed: list[str],
    origin: str,
    missing: str,
    per_model: Mapping[str, ShiftRecords],
    ctx: BoardContext,
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


def _at_edge(recs: ShiftRecords, task: str) -> bool:
    """Whether the clean or the shifted accuracy is 0 or 1 (or missing)."""
    return any(a is None or not 0.0 < a < 1.0 for a in (recs.clean_acc, recs.shift_acc[task]))


def _er_interval(
    task: str,
    model: str,
    bed: list[str],
    per_model: Mapping[str, ShiftRecords],
    ctx: BoardContext,
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
            ids_clean = sorted_ids(o.by_condition[CLEAN])
            ids_shift = sorted_ids(o.by_condition[key])
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
    ci, why = bootstrap_interval_with_reason(
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
    ctx: BoardContext,
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
        means = resampled_means(
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
