"""The per-sample worst case over a norm's attack ensemble, cumulative over eps.

For each norm, budgets are visited in ascending order and, within one eps, attacks in the planned
order. A clean-correct sample counts as broken from the first (eps, attack) that broke it onwards,
with that attack's prediction, confidence and perturbation norm, so the ensemble's robust accuracy
is never above clean accuracy and never rises with eps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suites.adversarial.budgets import NORMS, Norm
from suites.adversarial.conditions import ensemble_condition
from suites.adversarial.config import AttackPlan
from suites.adversarial.sweep import Sweep


@dataclass(frozen=True, kw_only=True)
class WorstCase:
    """The ensemble of one norm at one eps, per sample."""

    norm: Norm
    eps: float
    robust: np.ndarray  # bool: clean-correct and broken by no attack up to eps
    broken: np.ndarray  # bool: broken by some attack at this eps or a smaller one
    prediction: np.ndarray
    confidence: np.ndarray
    perturbation_norm: np.ndarray  # NaN where not broken
    broken_by: np.ndarray  # object: the attack that broke the sample first, else ""

    @property
    def condition(self) -> str:
        return ensemble_condition(self.norm, self.eps)


def worst_cases(
    sweep: Sweep, plan: AttackPlan, epsilons: dict[Norm, list[float]]
) -> list[WorstCase]:
    """Every norm's ensemble at each of its eps, norms in `NORMS` order, eps ascending."""
    cells: list[WorstCase] = []
    for norm in NORMS:
        names = [i.name for i in plan.infos if i.norm == norm]
        if names:
            cells += _norm_worst_cases(sweep, norm, names, epsilons[norm])
    return cells


def _norm_worst_cases(
    sweep: Sweep, norm: Norm, names: list[str], epsilons: list[float]
) -> list[WorstCase]:
    n, correct = sweep.n, sweep.correct
    pred, conf = sweep.clean_prediction.copy(), sweep.clean_confidence.copy()
    nrm = np.full(n, np.nan)
    by = np.full(n, "", dtype=object)
    hit = np.zeros(n, bool)
    cells = []
    for eps in epsilons:
        for name in names:
            o = sweep.outcomes[(name, eps)]
            new = o.broken & ~hit & correct
            pred[new], conf[new], nrm[new], by[new] = (
                o.prediction[new],
                o.confidence[new],
                o.norm[new],
                name,
            )
            hit |= new
        cells.append(
            WorstCase(
                norm=norm,
                eps=eps,
                robust=correct & ~hit,
                broken=hit.copy(),
                prediction=pred.copy(),
                confidence=conf.copy(),
                perturbation_norm=nrm.copy(),
                broken_by=by.copy(),
            )
        )
    return cells
