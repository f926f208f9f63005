"""The adversarial suite's per-sample table: clean rows, one block per (attack, eps), then the
ensemble's worst case per (norm, eps).

Extra columns: `attack_success`, `perturbation_norm` (NaN where the sample was not broken) and
`broken_by` (the attack that broke it, else ""). Attack blocks hold the samples that attack ran on
(minimisation attacks: the first `minimization_max_samples`); ensemble blocks hold every sample.
"""

from __future__ import annotations

import numpy as np

from harness.core.sample_table import CLEAN, SampleTable
from suites.adversarial.conditions import attack_condition
from suites.adversarial.ensemble import WorstCase
from suites.adversarial.sweep import Sweep


def sample_table(sweep: Sweep, cells: list[WorstCase]) -> SampleTable:
    sid = np.asarray(sweep.sample_ids, dtype=object)
    correct = sweep.correct
    n = len(sid)
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
        }
    ]
    for (name, eps), o in sweep.outcomes.items():
        a = o.attacked
        frames.append(
            {
                "sample_id": sid[a],
                "condition": attack_condition(name, eps),
                "label": sweep.labels[a],
                "prediction": o.prediction[a],
                "correct": correct[a] & ~o.broken[a],
                "confidence": o.confidence[a],
                "attack_success": o.broken[a],
                "perturbation_norm": np.where(o.broken[a], o.norm[a], np.nan),
                "broken_by": np.where(o.broken[a], name, ""),
            }
        )
    for cell in cells:
        frames.append(
            {
                "sample_id": sid,
                "condition": cell.condition,
                "label": sweep.labels,
                "prediction": cell.prediction,
                "correct": cell.robust,
                "confidence": cell.confidence,
                "attack_success": cell.broken,
                "perturbation_norm": cell.perturbation_norm,
                "broken_by": cell.broken_by,
            }
        )
    return SampleTable.concat([SampleTable.build(f) for f in frames])
