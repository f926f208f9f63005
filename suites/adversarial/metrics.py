"""The adversarial suite's metric records: clean and robust accuracy with Wilson intervals,
rejected candidates, and the quartiles of minimisation attacks' minimal norms.

Headline `robust_acc` records are the ensemble's worst case per (norm, eps); each attack's own
robust accuracy follows as a non-headline record. Reliability flags go on every robust_acc and
min-norm record; numbers of decision-based attacks carry `BLACKBOX_NOTE`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from harness.analysis.intervals import WILSON_METHOD, wilson_ci
from harness.core.metric_record import MetricRecord, MetricSpec, spec_record
from harness.core.suite import RunContext
from suites.adversarial import attacks as atk
from suites.adversarial.budgets import eps_label
from suites.adversarial.conditions import attack_condition
from suites.adversarial.ensemble import WorstCase
from suites.adversarial.sweep import Outcome, Sweep

METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        name="robust_acc",
        unit="fraction",
        higher_is_better=True,
        headline=True,
        description="worst case over attacks, cumulative over eps",
    ),
    MetricSpec(name="clean_acc", unit="fraction", higher_is_better=True),
    MetricSpec(name="min_norm_median", unit="input units", higher_is_better=True),
    MetricSpec(name="min_norm_q25", unit="input units", higher_is_better=True),
    MetricSpec(name="min_norm_q75", unit="input units", higher_is_better=True),
    MetricSpec(name="invalid_adversarials", unit="count", higher_is_better=False),
)

_SPECS = {spec.name: spec for spec in METRICS}

BLACKBOX_NOTE = (
    "decision-based attack (the model exposes no gradients): an upper bound on robust accuracy, "
    "not comparable with white-box numbers"
)

_QUANTILES = (("min_norm_q25", 0.25), ("min_norm_median", 0.5), ("min_norm_q75", 0.75))


def metric_records(
    suite: str,
    sweep: Sweep,
    cells: list[WorstCase],
    *,
    flags: tuple[str, ...],
    white_box: bool,
    ctx: RunContext,
) -> list[MetricRecord]:
    """All records of one job, in a fixed order: clean, ensemble, per attack, min norms."""
    correct = sweep.correct
    records = [_accuracy(suite, "clean_acc", correct, "clean_acc", ctx)]
    for cell in cells:
        context = {"norm": cell.norm, "eps": eps_label(cell.eps)}
        records.append(
            _accuracy(
                suite,
                "robust_acc",
                cell.robust,
                cell.condition,
                ctx,
                condition=cell.condition,
                flags=flags,
                context=context,
            )
        )
    for (name, eps), outcome in sweep.outcomes.items():
        records += _attack_records(suite, name, eps, outcome, correct, flags, ctx)
    for name, norms in sweep.min_norms.items():
        records += _min_norm_records(suite, name, norms, flags)
    if not white_box:  # decision-based numbers must not pass for white-box ones
        records = [
            replace(m, note=BLACKBOX_NOTE) if m.metric == "robust_acc" else m for m in records
        ]
    return records


def _accuracy(
    suite: str, metric: str, values: np.ndarray, name: str, ctx: RunContext, **kw: Any
) -> MetricRecord:
    """Mean of a per-sample boolean with its Wilson score interval (a proportion)."""
    ci = wilson_ci(float(np.sum(values)), len(values))
    return spec_record(
        _SPECS[metric],
        suite=suite,
        value=float(values.mean()) if len(values) else None,
        n=len(values),
        ci=ci,
        ci_method=WILSON_METHOD if ci else None,
        **kw,
    )


def _attack_records(
    suite: str,
    name: str,
    eps: float,
    o: Outcome,
    correct: np.ndarray,
    flags: tuple[str, ...],
    ctx: RunContext,
) -> list[MetricRecord]:
    """One attack's robust accuracy (not headline) and its count of rejected candidates."""
    cond = attack_condition(name, eps)
    a = o.attacked
    context = {"attack": name, "norm": atk.resolve_attack(name).norm, "eps": eps_label(eps)}
    rec = _accuracy(
        suite,
        "robust_acc",
        correct[a] & ~o.broken[a],
        cond,
        ctx,
        condition=cond,
        flags=flags,
        context=context,
    )
    records = [replace(rec, headline=False)]
    if o.invalid:
        records.append(
            spec_record(
                _SPECS["invalid_adversarials"],
                suite=suite,
                value=float(sum(o.invalid.values())),
                n=int(a.sum()),
                condition=cond,
                context={"attack": name},
                note=str(o.invalid),
            )
        )
    return records


def _min_norm_records(
    suite: str, name: str, norms: np.ndarray, flags: tuple[str, ...]
) -> list[MetricRecord]:
    """Quartiles of a minimisation attack's minimal norms (misclassified 0, failures inf)."""
    vals = norms[~np.isnan(norms)]
    norm = atk.resolve_attack(name).norm
    records = []
    for metric, q in _QUANTILES:
        with np.errstate(invalid="ignore"):  # inf - inf between two failed samples
            v = float(np.quantile(vals, q)) if len(vals) else None
        note = None
        if v is not None and not np.isfinite(v):
            v, note = None, "attack failed on too many samples for this quantile"
        records.append(
            spec_record(
                _SPECS[metric],
                suite=suite,
                value=v,
                n=len(vals),
                context={"attack": name, "norm": norm},
                note=note or "misclassified samples count as 0, failures as inf",
                flags=flags,
            )
        )
    return records
