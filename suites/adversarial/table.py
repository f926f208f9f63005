"""The adversarial suite's per-sample table: clean rows, the cascade after each attack per eps,
attacks outside the ensemble, then the ensemble's worst case per (norm, eps).

Extra columns: `attack_success`, `perturbation_norm` (NaN where the sample was not broken),
`broken_by` (the attack that broke it, else "") and `flags` (the job's reliability flags, comma
separated, on every attacked row: a number computed from these rows is as unreliable as the job's
record; "" on clean rows and when nothing was raised, except `nondeterministic_forward` on the
clean rows of a randomised model, whose clean decisions are the averaged classifier's). A sample
whose clean label ties another class at the top has `correct` False on every attacked row (never
robust: `Sweep.surely_correct`), as a clean-misclassified one. Cascade and ensemble blocks hold the samples
the ensemble evaluated (every sample for white-box models); a block of an attack outside the
ensemble (a minimisation attack on its subset) holds the samples that attack ran on, with that
attack's own result.
"""

from __future__ import annotations

import numpy as np

from harness.core.sample_table import CLEAN, SampleTable
from harness.suites.adversarial.conditions import attack_condition
from harness.suites.adversarial.ensemble import WorstCase
from harness.suites.adversarial.sweep import Sweep


def sample_table(sweep: Sweep, cells: list[WorstCase], flags: tuple[str, ...]) -> SampleTable:
    sid = np.asarray(sweep.sample_ids, dtype=object)
    correct = sweep.correct
    n = len(sid)
    flag_text = ",".join(sorted(flags))
    frames: list[dict[str, object]] = [
        {
            "sample_id": sid,
            "condition": CLEAN,
            "label": sweep.labels,
            "prediction": sweep.clean_prediction,
            "correct": correct,
            "confidence": sweep.clean_confidence,
            "attack_success": np.zeros(n, bool),
            "perturbation_norm": np.zeros(n),
            "broken_by": np.full(n, "", dtype=object),
            "flags": np.full(n, _clean_flags(sweep), dtype=object),
        }
    ]
    by_condition = {c.condition: c for c in cells}
    members = {name for names in sweep.ensemble.values() for name in names}
    for name, eps in sweep.outcomes:
        cond = attack_condition(name, eps)
        if name in members:
            frames.append(_cell_frame(sid, sweep, by_condition[cond], flag_text))
        else:
            frames.append(_standalone_frame(sid, sweep, name, eps, flag_text))
    frames += [_cell_frame(sid, sweep, c, flag_text) for c in cells if c.after is None]
    return SampleTable.concat([SampleTable.build(f) for f in frames])


def _clean_flags(sweep: Sweep) -> str:
    """Clean rows of a randomised model hold the averaged classifier's decisions: flagged."""
    return "nondeterministic_forward" if sweep.single_pass_prediction is not None else ""


def _cell_frame(sid: np.ndarray, sweep: Sweep, cell: WorstCase, flags: str) -> dict[str, object]:
    e = cell.evaluated
    return {
        "sample_id": sid[e],
        "condition": cell.condition,
        "label": sweep.labels[e],
        "prediction": cell.prediction[e],
        "correct": cell.robust[e],
        "confidence": cell.confidence[e],
        "attack_success": cell.broken[e],
        "perturbation_norm": cell.perturbation_norm[e],
        "broken_by": cell.broken_by[e],
        "flags": np.full(int(e.sum()), flags, dtype=object),
    }


def _standalone_frame(
    sid: np.ndarray, sweep: Sweep, name: str, eps: float, flags: str
) -> dict[str, object]:
    o = sweep.outcomes[(name, eps)]
    a = o.attacked
    return {
        "sample_id": sid[a],
        "condition": attack_condition(name, eps),
        "label": sweep.labels[a],
        "prediction": o.prediction[a],
        "correct": sweep.surely_correct[a] & ~o.broken[a],
        "confidence": o.confidence[a],
        "attack_success": o.broken[a],
        "perturbation_norm": np.where(o.broken[a], o.norm[a], np.nan),
        "broken_by": np.where(o.broken[a], name, ""),
        "flags": np.full(int(a.sum()), flags, dtype=object),
    }
