"""The adversarial suite's metric records: clean and robust accuracy with Wilson intervals,
rejected candidates, and the quartiles of minimisation attacks' minimal norms.

Headline `robust_acc` records are the ensemble's worst case per (norm, eps), over the samples the
ensemble evaluated (n says how many). Each ensemble member's record (context `attack`) is the
cascade's robust accuracy after that attack and every one before it; an attack outside the
ensemble (a minimisation attack on a subset) reports its own robust accuracy on its subset.
Every robust_acc record's context carries the preset (and `eot_draws` when the forward pass was
averaged); reliability flags go on every robust_acc and min-norm record; black-box numbers carry
`BLACKBOX_NOTE`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from harness.core.metric_record import MetricRecord, spec_record
from harness.core.suite import RunContext
from harness.stats import tie_breaks
from harness.stats.intervals import WILSON_METHOD, wilson_ci
from harness.suites.adversarial import attacks as atk
from harness.suites.adversarial.board import METRICS
from harness.suites.adversarial.budgets import eps_label
from harness.suites.adversarial.conditions import attack_condition
from harness.suites.adversarial.ensemble import WorstCase
from harness.suites.adversarial.sweep import Outcome, Sweep

_SPECS = {spec.name: spec for spec in METRICS}

BLACKBOX_NOTE = (
    "black-box attacks only (the model exposes no gradients): an upper bound on robust accuracy, "
    "not comparable with white-box numbers"
)
FAST_NOTE = (
    "preset fast (CI loops): fewer iterations and queries than AutoAttack, robust accuracy may "
    "sit slightly above preset standard's"
)
NONDETERMINISTIC_FLAG = "nondeterministic_forward"
CASCADE_NOTE = "after this attack and every attack before it in the cascade (cumulative)"

_QUANTILES = (("min_norm_q25", 0.25), ("min_norm_median", 0.5), ("min_norm_q75", 0.75))


@dataclass(frozen=True, kw_only=True)
class RecordContext:
    """What every robust_acc record of a job shares."""

    suite: str
    flags: tuple[str, ...]
    preset: str
    eot_draws: int
    ctx: RunContext

    def context(self, **kw: Any) -> dict[str, Any]:
        extra: dict[str, Any] = {"preset": self.preset}
        if self.eot_draws > 1:
            extra["eot_draws"] = self.eot_draws
        return {**kw, **extra}

    def shared_note(self) -> str | None:
        """What every robust_acc record of the job says: the fast preset, the EOT result."""
        notes = []
        if self.preset == "fast":
            notes.append(FAST_NOTE)
        if self.eot_draws > 1:
            notes.append(
                f"EOT result: the forward pass is nondeterministic, so gradients and decisions "
                f"average {self.eot_draws} draws (the averaged classifier's robust accuracy; its "
                "clean accuracy can be well above one pass's, see clean_acc)"
            )
        return "; ".join(notes) or None


def metric_records(
    sweep: Sweep, cells: list[WorstCase], rc: RecordContext, *, white_box: bool
) -> list[MetricRecord]:
    """All records of one job, in a fixed order: clean, ensemble, per attack, min norms."""
    suite = rc.suite
    records = [_clean_record(sweep, rc)]
    for cell in cells:
        if cell.after is None:
            records.append(_cell_record(cell, sweep, rc, headline=True))
    members = {name for names in sweep.ensemble.values() for name in names}
    by_condition = {c.condition: c for c in cells}
    for (name, eps), outcome in sweep.outcomes.items():
        cond = attack_condition(name, eps)
        if name in members:
            records.append(_cell_record(by_condition[cond], sweep, rc, headline=False))
        else:
            records.append(_standalone_record(name, eps, outcome, sweep, rc))
        if outcome.invalid:
            records.append(_invalid_record(suite, name, cond, outcome))
    for name, norms in sweep.min_norms.items():
        records += _min_norm_records(suite, name, norms, rc.flags)
    if not white_box:  # black-box numbers must not pass for white-box ones (one note for all)
        records = [
            replace(m, note=BLACKBOX_NOTE) if m.metric == "robust_acc" else m for m in records
        ]
    return records


def _clean_record(sweep: Sweep, rc: RecordContext) -> MetricRecord:
    """Clean accuracy, with its range over argmax tie-breaks (`with_clean_ties`); for a
    randomised model, of the averaged classifier the attacks face, flagged, with one pass's
    accuracy (the model as the accuracy suite scores it) in the note."""
    return with_clean_ties(_clean_accuracy(sweep, rc), sweep.correct, sweep.clean_tied)


def with_clean_ties(record: MetricRecord, correct: np.ndarray, tied: np.ndarray) -> MetricRecord:
    """A clean accuracy record with the samples whose label ties another class at the top in
    its note, with the accuracy over every tie-break, and `tied_scores` when that range is wider
    than half its interval (harness.stats.tie_breaks); unchanged when none ties."""
    ties = tie_breaks.tie_range(correct, tied)
    if ties.tied == 0:
        return record
    flags = (tie_breaks.FLAG,) if ties.moves_more_than(record.ci) else ()
    return replace(
        record,
        note=_join(record.note, ties.note("top-1"), TIED_ROBUST_NOTE),
        flags=tuple(dict.fromkeys(record.flags + flags)),
    )


TIED_ROBUST_NOTE = (
    "robust accuracy counts these samples as not robust, as clean-misclassified ones: the "
    "tie-break alone made them correct"
)


def _tied_note(sweep: Sweep, rows: np.ndarray) -> str | None:
    """A robust accuracy's note on the samples it counts not robust for a tied clean label."""
    tied = int((sweep.clean_tied & sweep.correct)[rows].sum())
    if tied == 0:
        return None
    return (
        f"{tied} of these {int(rows.sum())} samples count as not robust: their clean label ties "
        "another class's score at the top, so only argmax's tie-break made them clean-correct "
        "(see clean_acc)"
    )


def _clean_accuracy(sweep: Sweep, rc: RecordContext) -> MetricRecord:
    single = sweep.single_pass_accuracy
    if rc.eot_draws <= 1 or single is None:
        return _accuracy(rc.suite, "clean_acc", sweep.correct, "clean_acc", rc.ctx)
    return _accuracy(
        rc.suite,
        "clean_acc",
        sweep.correct,
        "clean_acc",
        rc.ctx,
        flags=(NONDETERMINISTIC_FLAG,),
        context={"eot_draws": rc.eot_draws},
        note=eot_clean_note(rc.eot_draws, single),
    )


def eot_clean_note(draws: int, single: float) -> str:
    """What the clean accuracy of a randomised model is, and what one pass of it scores."""
    return (
        f"the averaged classifier's (argmax of the mean softmax over {draws} draws of the "
        f"nondeterministic forward pass), as robust_acc; one pass of the model, as the accuracy "
        f"suite scores it, was correct on {single:.3f} of these samples"
    )


def _cell_record(
    cell: WorstCase, sweep: Sweep, rc: RecordContext, *, headline: bool
) -> MetricRecord:
    e = cell.evaluated
    context = {"norm": cell.norm, "eps": eps_label(cell.eps)}
    if cell.after is not None:
        context["attack"] = cell.after
    note = _join(rc.shared_note(), None if headline else CASCADE_NOTE, _tied_note(sweep, e))
    rec = _accuracy(
        rc.suite,
        "robust_acc",
        cell.robust[e],
        cell.condition,
        rc.ctx,
        condition=cell.condition,
        flags=rc.flags,
        context=rc.context(**context),
        note=note,
    )
    return rec if headline else replace(rec, headline=False)


def _standalone_record(
    name: str, eps: float, o: Outcome, sweep: Sweep, rc: RecordContext
) -> MetricRecord:
    cond = attack_condition(name, eps)
    a = o.attacked
    info = atk.resolve_attack(name)
    rec = _accuracy(
        rc.suite,
        "robust_acc",
        sweep.surely_correct[a] & ~o.broken[a],
        cond,
        rc.ctx,
        condition=cond,
        flags=rc.flags,
        context=rc.context(attack=name, norm=info.norm, eps=eps_label(eps)),
        note=_join(
            rc.shared_note(),
            f"this attack alone on a seeded stratified subset of {int(a.sum())}; not part of "
            "the ensemble",
            _tied_note(sweep, a),
        ),
    )
    return replace(rec, headline=False)


def _invalid_record(suite: str, name: str, cond: str, o: Outcome) -> MetricRecord:
    return spec_record(
        _SPECS["invalid_adversarials"],
        suite=suite,
        value=float(sum(o.invalid.values())),
        n=int(o.attacked.sum()),
        condition=cond,
        context={"attack": name},
        note=str(o.invalid),
    )


def _join(*notes: str | None) -> str | None:
    parts = [n for n in notes if n]
    return "; ".join(parts) if parts else None


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
