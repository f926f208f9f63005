"""The per-sample worst case over a norm's attack ensemble (the cascade), cumulative over eps.

For each norm, budgets are visited in ascending order and, within one eps, the ensemble's members
in cascade order. A sample whose clean label ties another class at the top is never robust (the tie-break alone made
it clean-correct), as a clean-misclassified one. A clean-correct sample counts as broken from the
first (eps, attack) that broke
it onwards, with that attack's prediction, confidence and perturbation norm, so the ensemble's
robust accuracy is never above clean accuracy and never rises with eps. Only the samples the
ensemble evaluated count (every sample for white-box models; the attacked subset for black-box
decision attacks).

Besides the whole ensemble, the cascade after each member is a cell of its own (condition
`attack=<member>/eps=<eps>`): the robust accuracy after that attack and every one before it,
which is what AutoAttack reports per attack.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.suites.adversarial.budgets import NORMS, Norm
from harness.suites.adversarial.conditions import attack_condition, ensemble_condition
from harness.suites.adversarial.sweep import Sweep


@dataclass(frozen=True, kw_only=True)
class WorstCase:
    """The cascade of one norm at one eps, after `after` (None: the whole ensemble), per sample."""

    norm: Norm
    eps: float
    after: str | None
    evaluated: np.ndarray  # bool: the sample counts in this cell
    robust: np.ndarray  # bool: clean-correct (not by a tie-break) and broken by no attack here
    broken: np.ndarray  # bool: broken by some attack up to here
    prediction: np.ndarray
    confidence: np.ndarray
    perturbation_norm: np.ndarray  # NaN where not broken
    broken_by: np.ndarray  # object: the attack that broke the sample first, else ""

    @property
    def condition(self) -> str:
        if self.after is None:
            return ensemble_condition(self.norm, self.eps)
        return attack_condition(self.after, self.eps)


def worst_cases(sweep: Sweep, epsilons: dict[Norm, list[float]]) -> list[WorstCase]:
    """Every norm's cascade cells: after each member, then the whole ensemble, at each eps
    (norms in `NORMS` order, eps ascending)."""
    cells: list[WorstCase] = []
    for norm in NORMS:
        names = sweep.ensemble.get(norm, [])
        if names:
            cells += _norm_cells(sweep, norm, names, epsilons[norm])
    return cells


def _norm_cells(
    sweep: Sweep, norm: Norm, names: list[str], epsilons: list[float]
) -> list[WorstCase]:
    n, evaluated = sweep.n, sweep.evaluated[norm]
    correct = sweep.correct & evaluated
    pred, conf = sweep.clean_prediction.copy(), sweep.clean_confidence.copy()
    nrm = np.full(n, np.nan)
    by = np.full(n, "", dtype=object)
    hit = np.zeros(n, bool)
    cells = []

    def cell(eps: float, after: str | None) -> WorstCase:
        return WorstCase(
            norm=norm,
            eps=eps,
            after=after,
            evaluated=evaluated,
            robust=correct & ~hit & ~sweep.clean_tied,
            broken=hit.copy(),
            prediction=pred.copy(),
            confidence=conf.copy(),
            perturbation_norm=nrm.copy(),
            broken_by=by.copy(),
        )

    for eps in epsilons:
        for name in names:
            o = sweep.outcomes[(name, eps)]
            new = o.broken & o.attacked & ~hit & correct
            pred[new], conf[new], nrm[new], by[new] = (
                o.prediction[new],
                o.confidence[new],
                o.norm[new],
                name,
            )
            hit |= new
            cells.append(cell(eps, name))
        cells.append(cell(eps, None))
    return cells
