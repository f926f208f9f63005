"""The per-sample worst case over a norm's attack cascade: cumulative over eps, first breaker
kept, never above clean accuracy, only evaluated samples counted; and its rows in the table."""

from __future__ import annotations

import numpy as np

from harness.suites.adversarial import attacks as atk
from harness.suites.adversarial.config import AttackPlan
from harness.suites.adversarial.ensemble import worst_cases
from harness.suites.adversarial.sweep import Outcome, Sweep
from harness.suites.adversarial.table import sample_table

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
    sweep = Sweep.empty(4, plan, {"linf": EPS}, np.arange(4))
    sweep.sample_ids.extend(["a", "b", "c", "d"])
    sweep.ensemble["linf"] = ["fgsm", "linf_pgd"]
    sweep.evaluated["linf"] = np.ones(4, bool)
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
    cells = worst_cases(sweep, {"linf": EPS})
    small, large = (c for c in cells if c.after is None)
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
    cells = [c for c in worst_cases(sweep, {"linf": EPS}) if c.after is None]
    clean = sweep.correct.mean()
    accs = [c.robust.mean() for c in cells]
    assert all(a <= clean for a in accs)
    assert accs == sorted(accs, reverse=True)


def test_cascade_cells_are_cumulative_after_each_attack() -> None:
    sweep, _ = _sweep()
    cells = {c.condition: c for c in worst_cases(sweep, {"linf": EPS})}
    assert cells["attack=fgsm/eps=0.05"].robust.tolist() == [False, True, True, False]
    assert cells["attack=linf_pgd/eps=0.05"].robust.tolist() == [False, False, True, False]
    # at 0.1 the cascade after fgsm already counts pgd's break of sample 1 at 0.05
    assert cells["attack=fgsm/eps=0.1"].robust.tolist() == [False, False, True, False]


def test_unevaluated_samples_are_left_out() -> None:
    sweep, _ = _sweep()
    sweep.evaluated["linf"] = np.array([True, True, False, True])
    large = [c for c in worst_cases(sweep, {"linf": EPS}) if c.after is None][-1]
    assert large.evaluated.tolist() == [True, True, False, True]
    assert not large.robust[2]  # not evaluated: never counted robust
    frame = sample_table(sweep, worst_cases(sweep, {"linf": EPS}), ()).frame
    assert "c" not in set(frame[frame.condition == large.condition].sample_id)


def test_sample_table_blocks_in_order_with_flags() -> None:
    sweep, _ = _sweep()
    frame = sample_table(sweep, worst_cases(sweep, {"linf": EPS}), ("zero_gradients",)).frame
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
    # a misclassified sample stays incorrect and is never an attack's break
    assert fgsm["correct"].tolist() == [False, True, True, False]
    assert fgsm["broken_by"].tolist() == ["fgsm", "", "", ""]
    assert set(frame[frame.condition == "clean"]["flags"]) == {""}
    assert set(frame[frame.condition != "clean"]["flags"]) == {"zero_gradients"}
