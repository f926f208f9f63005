"""Metrics that need several models of one board, computed from stored metric records.

- Corruption error (Hendrycks & Dietterich 2019): ``CE_c = sum_s E^f_{s,c} / sum_s E^base_{s,c}``
  with top-1 errors E at severity s of corruption c, normalised by a baseline model (AlexNet's
  role in ImageNet-C; the shift config names it with `mce_baseline`). ``mCE`` is the mean of CE_c
  over corruptions. Relative CE uses the drop from clean error:
  ``sum_s (E^f_{s,c} - E^f_clean) / sum_s (E^base_{s,c} - E^base_clean)``; relative mCE averages it.
  A corruption where the baseline's denominator is 0 (or, for relative CE, not above 0: e.g.
  `saturate` on grey images changes nothing) is left out of the mean and named in the note.
- Effective robustness (Taori et al. 2020): fit ``logit(shifted acc) = a * logit(clean acc) + b``
  across the board's models, then ``rho(f) = shifted acc(f) - sigmoid(a * logit(clean acc(f)) + b)``
  (accuracy above the fitted line, in accuracy units). Needs at least 3 models.

Inputs are the `shift` suite's records (`clean_acc`, `corruption_acc[corruption=c/severity=s]`,
`shift_acc[shifted=t]`), so nothing here needs torch or the per-sample tables.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from harness.core.metric_record import MetricRecord

SUITE = "shift"
MIN_MODELS_FOR_FIT = 3
_CELL = re.compile(r"^corruption=(?P<c>[^/]+)/severity=(?P<s>\d+)$")


class ShiftBoardConfig(BaseModel):
    """The part of a stored `shift` suite config that the board reads."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    mce_baseline: str | None = None  # the model whose errors normalise mCE


def mce_baseline(configs: Sequence[Mapping[str, Any]]) -> str | None:
    """The mCE baseline model: the first `shift` config of the board's jobs that names one."""
    for config in configs:
        name = ShiftBoardConfig.model_validate(config).mce_baseline
        if name:
            return name
    return None


@dataclass(frozen=True)
class ShiftRecords:
    """What one model's `shift` job reported, in the shape the cross-model metrics need."""

    clean_acc: float | None
    n: int
    corruption_error: dict[tuple[str, int], float]  # (corruption, severity) -> top-1 error
    shift_acc: dict[str, float] = field(default_factory=dict)  # shifted task -> accuracy

    @classmethod
    def from_records(cls, records: Sequence[MetricRecord]) -> ShiftRecords:
        clean, n, errors, shifted = None, 0, {}, {}
        for r in records:
            if r.value is None:
                continue
            if r.metric == "clean_acc":
                clean, n = r.value, r.n
            elif r.metric == "corruption_acc" and (m := _CELL.match(r.condition)):
                errors[(m["c"], int(m["s"]))] = 1.0 - r.value
            elif r.metric == "shift_acc" and r.condition.startswith("shifted="):
                shifted[r.condition.removeprefix("shifted=")] = r.value
        return cls(clean_acc=clean, n=n, corruption_error=errors, shift_acc=shifted)


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


def _logit(p: float, n: int) -> float:
    eps = 0.5 / max(n, 1)  # keep 0 and 1 finite: half a sample away from the edge
    p = min(max(p, eps), 1.0 - eps)
    return math.log(p / (1.0 - p))


def effective_robustness(
    clean_acc: Mapping[str, float],
    shifted_acc: Mapping[str, float],
    n: Mapping[str, int] | None = None,
) -> dict[str, float] | None:
    """rho(f) per model: shifted accuracy above the logit-space linear fit over all models.

    None when fewer than `MIN_MODELS_FOR_FIT` models have both numbers or their clean
    accuracies are all equal (no line can be fitted).
    """
    models = [m for m in clean_acc if m in shifted_acc]
    if len(models) < MIN_MODELS_FOR_FIT:
        return None
    sizes = n or {}
    xs = [_logit(clean_acc[m], sizes.get(m, 10**6)) for m in models]
    ys = [_logit(shifted_acc[m], sizes.get(m, 10**6)) for m in models]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = my - slope * mx
    return {
        m: shifted_acc[m] - 1.0 / (1.0 + math.exp(-(slope * x + intercept)))
        for m, x in zip(models, xs, strict=True)
    }


def board_records(
    shift_jobs: Mapping[str, Sequence[MetricRecord]], *, baseline: str | None
) -> tuple[dict[str, list[MetricRecord]], list[str]]:
    """Cross-model records per model of one board, plus notes on what could not be computed.

    `shift_jobs` maps model -> its `shift` metric records (one config, one task fingerprint).
    """
    per_model = {m: ShiftRecords.from_records(recs) for m, recs in shift_jobs.items()}
    out: dict[str, list[MetricRecord]] = {m: [] for m in per_model}
    notes: list[str] = []
    has_cells = any(r.corruption_error for r in per_model.values())
    if baseline is not None and has_cells:
        base = per_model.get(baseline)
        if base is None or not base.corruption_error:
            notes.append(
                f"mce_baseline {baseline!r} has no corruption results on this board; no mCE"
            )
        else:
            for model, recs in per_model.items():
                if not recs.corruption_error:
                    continue
                mce, out_ce = mean_defined(corruption_errors(recs, base))
                rel, out_rel = mean_defined(relative_corruption_errors(recs, base))
                out[model] += [
                    _record("mce", mce, recs.n, baseline, out_ce, "the baseline's error is 0"),
                    _record(
                        "relative_mce",
                        rel,
                        recs.n,
                        baseline,
                        out_rel,
                        "the baseline's error does not rise above its clean error",
                    ),
                ]
    tasks = sorted({t for r in per_model.values() for t in r.shift_acc})
    for t in tasks:
        clean = {
            m: r.clean_acc
            for m, r in per_model.items()
            if r.clean_acc is not None and t in r.shift_acc
        }
        shifted = {m: per_model[m].shift_acc[t] for m in clean}
        rho = effective_robustness(clean, shifted, {m: per_model[m].n for m in clean})  # type: ignore[arg-type]
        if rho is None:
            notes.append(
                f"effective robustness on shifted={t} needs at least {MIN_MODELS_FOR_FIT} models with "
                f"different clean accuracy on this board (has {len(clean)})"
            )
            continue
        for m, value in rho.items():
            out[m].append(
                MetricRecord(
                    suite=SUITE,
                    metric="effective_robustness",
                    value=value,
                    unit="difference",
                    higher_is_better=True,
                    n=per_model[m].n,
                    condition=f"shifted={t}",
                    headline=True,
                    note=f"logit-space linear fit over the {len(rho)} models of this board",
                )
            )
    return out, notes


def _record(
    metric: str, value: float | None, n: int, baseline: str, left_out: list[str], why: str
) -> MetricRecord:
    note = f"normalised by baseline model {baseline!r}"
    if left_out:
        note += f"; left out where {why}: {', '.join(left_out)}"
    return MetricRecord(
        suite=SUITE,
        metric=metric,
        value=value,
        unit="ratio",
        higher_is_better=False,
        n=n,
        headline=True,
        note=note,
    )
