"""The per-sample worst case over a norm's attacks: cumulative over eps, first breaker kept,
never above clean accuracy; and its rows in the sample table."""

from __future__ import annotations

import numpy as np

from suites.adversarial import attacks as atk
from suites.adversarial.config import AttackPlan
from suites.adversarial.ensemble import worst_cases
from suites.adversarial.sweep import Outcome, Sweep
from suites.adversarial.table import sample_table

EPS = [0.05, 0.1]


def _outcome(broken: list[bool], prediction: list[int], norm: list[float]) -> Outcome:
    o = Outcome.empty(len(broken))
    o.attacked[:] = True
    o.broken[:] = broken
    o.prediction[:] = prediction
    o.confidence[:] = 0.9
    o.norm[:] = norm
    return o


def _sweep() -> tuple[Sweep, AttackPlan]:
    """Four samples, label 0; sample 3 is misclassified already. fgsm breaks sample 0 at 0.05;
    pgd breaks sample 1 at 0.05 and samples 0 and 2 at 0.1; fgsm also 'breaks' sample 3."""
    plan = AttackPlan(
        infos=[atk.resolve_attack("fgsm"), atk.resolve_attack("linf_pgd")],
        params={"fgsm": {}, "linf_pgd": {}},
        notes=(),
        white_box=True,
    )
    sweep = Sweep.empty(4, plan, {"linf": EPS}, minimization_limit=4)
    sweep.sample_ids.extend(["a", "b", "c", "d"])
    sweep.clean_prediction[:] = [0, 0, 0, 1]
    sweep.clean_confidence[:] = 0.8
    nan = float("nan")
    sweep.outcomes[("fgsm", 0.05)] = _outcome([1, 0, 0, 1], [5, 0, 0, 7], [0.04, nan, nan, 0.01])
    sweep.outcomes[("fgsm", 0.1)] = _outcome([1, 0, 0, 1], [6, 0, 0, 7], [0.04, nan, nan, 0.01])
    sweep.outcomes[("linf_pgd", 0.05)] = _outcome([0, 1, 0, 0], [0, 3, 0, 1], [nan, 0.05, nan, nan])
    sweep.outcomes[("linf_pgd", 0.1)] = _outcome([1, 1, 1, 0], [2, 3, 4, 1], [0.1, 0.05, 0.1, nan])
    return sweep, plan


def test_worst_case_is_cumulative_and_keeps_the_first_breaker() -> None:
    sweep, plan = _sweep()
    small, large = worst_cases(sweep, plan, {"linf": EPS})
    assert (small.condition, large.condition) == (
        "attack=ensemble/norm=linf/eps=0.05",
        "attack=ensemble/norm=linf/eps=0.1",
    )
    assert small.robust.tolist() == [False, False, True, False]
    assert large.robust.tolist() == [False, False, False, False]
    # sample 0: fgsm broke it first (eps 0.05), so fgsm's 0.05 prediction stays at 0.1
    assert large.broken_by.tolist() == ["fgsm", "linf_pgd", "linf_pgd", ""]
    assert large.prediction.tolist() == [5, 3, 4, 1]
    # sample 3 was misclassified already: never counted as broken by an attack
    assert not large.broken[3] and np.isnan(large.perturbation_norm[3])
    assert large.perturbation_norm[:3].tolist() == [0.04, 0.05, 0.1]


def test_worst_case_never_above_clean_nor_rising_with_eps() -> None:
    sweep, plan = _sweep()
    cells = worst_cases(sweep, plan, {"linf": EPS})
    clean = sweep.correct.mean()
    accs = [c.robust.mean() for c in cells]
    assert all(a <= clean for a in accs)
    assert accs == sorted(accs, reverse=True)


def test_sample_table_blocks_in_order() -> None:
    sweep, plan = _sweep()
    frame = sample_table(sweep, worst_cases(sweep, plan, {"linf": EPS})).frame
    assert list(dict.fromkeys(frame["condition"])) == [
        "clean",
        "attack=fgsm/eps=0.05",
        "attack=fgsm/eps=0.1",
        "attack=linf_pgd/eps=0.05",
        "attack=linf_pgd/eps=0.1",
        "attack=ensemble/norm=linf/eps=0.05",
        "attack=ensemble/norm=linf/eps=0.1",
    ]
    fgsm = frame[frame["condition"] == "attack=fgsm/eps=0.05"]
    # a misclassified sample stays incorrect; its 'break' is reported as attack_success
    assert fgsm["correct"].tolist() == [False, True, True, False]
    assert fgsm["broken_by"].tolist() == ["fgsm", "", "", "fgsm"]
