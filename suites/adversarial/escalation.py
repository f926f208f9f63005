"""Escalation: when a masking check fires, attack harder until robust accuracy stops falling.

A masking flag (gradient_obfuscation, gradient_mismatch, zero_gradients, ...) says the gradient
attacks may have been misled, so the number is likely above the truth. Flagging it is not enough:
the suite then attacks every sample still unbroken again, in rounds, with attacks that do not
trust the model's gradient. Round r runs, on every (norm, eps) of the sweep, eps ascending (a
sample broken at a smaller eps counts at every larger one), each attack on the samples still
unbroken:

1. (round 1) a transfer attack from the model's own linearisation at the clean input
   (`linear_transfer.py`: a Jacobian from finite differences of the forward pass, every target);
2. the Square attack (logits only) with r times the base query budget (the preset's Square, at
   least 1,000 queries) from a fresh random start (a restart: its own seed stream);
3. APGD-CE and APGD-T on gradients measured from the forward pass (`estimated_gradients.py`), at
   a quarter of the budget's scale, with up to r x 128 forward passes per gradient: one
   coordinate at a time where the input has fewer features than that (the exact gradient of a
   piecewise-linear network: the preset's white-box attacks then run on the true forward pass
   whatever gradient the model hands out), NES otherwise. APGD-T takes the next three target
   classes in MALT's order each round (round 1 the closest three; over three rounds all nine of
   AutoAttack's), ranked on the measured gradient. On a randomised model (nondeterministic
   forward) the APGD runs on the model's own gradient averaged over the round's EOT draws (the
   expectation attack), and every decision of round r averages 2^r times the EOT draws.

The rounds stop when one breaks no further sample (robust accuracy stopped falling), or after
`escalation_rounds` rounds (0: no escalation; the flag stays, and a note says the number was not
escalated). Its results are one more member of each norm's cascade, `<norm>_escalation`: the
reported number is the escalated one, every flag stays on it, and the artifacts record what ran,
round by round (attack, settings, samples attacked, samples broken).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from harness.suites.adversarial import attacks as atk
from harness.suites.adversarial.budgets import Norm, eps_label
from harness.suites.adversarial.config import AttackPlan
from harness.suites.adversarial.estimated_gradients import EstimatedForward, uses_coordinates
from harness.suites.adversarial.forward import Forward
from harness.suites.adversarial.sweep import Outcome, SweepRunner

MASKING_FLAGS: tuple[str, ...] = (
    "gradient_obfuscation",
    "gradient_mismatch",
    "zero_gradients",
    "nonfinite_gradients",
    "loss_not_increasing",
    "stronger_attack_lowers_acc",
    "noise_beats_gradient",
    "noise_beats_attacks",
    "unbounded_attack_fails",
    "nondeterministic_forward",
)
"""Flags that say the attacks may have been misled: each one triggers the escalation."""

MIN_QUERIES = 1000  # the base query budget of a round when the plan's Square is smaller
ESTIMATED_STEPS = 50  # APGD-CE and APGD-T steps on measured gradients per round
TARGETS = 3  # APGD-T's target classes per round (round r: the r-th three in MALT's order)
ESTIMATE_PASSES = 128  # forward passes per gradient estimate in round 1 (r times that in round r)
SCALE = 0.25  # the scale the gradient is measured at: L-inf eps x SCALE per coordinate (the
# finite-difference step, NES's noise; L2: the same norm): a quarter of the budget, so a model whose
# forward pass is flat or jagged below that scale (quantised, shattered) still shows its slope


def worst_case_passes(base_queries: int, rounds: int, draws: int) -> int:
    """Forward passes the escalation spends on one sample that no round breaks, at one budget,
    over `rounds` rounds (what `harness run` announces; round 1's transfer attack, 2 passes per
    input feature, is left out): Square's queries, and every gradient of APGD-CE and APGD-T on
    TARGETS targets measured with up to r x ESTIMATE_PASSES + 1 passes. With `draws` > 1 (a
    randomised model's eot_draws) each pass of round r averages 2^r x draws passes and Square
    scores two points per query (`Forward.paired_logits`)."""
    queries = max(base_queries, MIN_QUERIES)
    total = 0
    for r in range(1, rounds + 1):
        per_pass = draws * 2**r if draws > 1 else 1
        square = r * queries * (2 if draws > 1 else 1) + 1
        gradients = ESTIMATED_STEPS * (1 + TARGETS) * (r * ESTIMATE_PASSES + 1)
        total += per_pass * (square + gradients)
    return total


@dataclass
class Escalation:
    """What the escalation ran and found (the artifacts' `escalation` entry)."""

    triggered_by: list[str]
    max_rounds: int
    rounds: list[dict[str, Any]] = field(default_factory=list)
    stopped: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "triggered_by": self.triggered_by,
            "max_rounds": self.max_rounds,
            "rounds": self.rounds,
            "stopped": self.stopped,
        }

    @property
    def ran(self) -> bool:
        return bool(self.rounds)

    def note(self) -> str:
        if self.max_rounds == 0:
            return (
                f"masking flag(s) {self.triggered_by} raised but escalation is off "
                "(escalation_rounds: 0): robust accuracy was not escalated and may sit above "
                "the truth"
            )
        broken = sum(r["broken"] for r in self.rounds)
        rounds = max((r["round"] for r in self.rounds), default=0)
        return (
            f"masking flag(s) {self.triggered_by} raised: the suite escalated ({rounds} "
            "round(s) of Square restarts with more queries, a transfer attack from the model's "
            "linearisation, and APGD-CE and APGD-T on gradients measured from the forward "
            f"pass, on the samples left unbroken; {broken} more sample-budget(s) "
            f"broken; {self.stopped}); the reported robust accuracy includes the escalation and "
            "keeps the flags (artifacts: escalation)"
        )


def escalation_name(norm: Norm) -> str:
    return f"{norm}_escalation"


def escalate(
    runner: SweepRunner,
    plan: AttackPlan,
    epsilons: dict[Norm, list[float]],
    flags: tuple[str, ...],
    *,
    rounds: int,
) -> Escalation | None:
    """Run the escalation when a masking flag is among `flags` (None when none is)."""
    triggers = [f for f in flags if f in MASKING_FLAGS]
    if not triggers:
        return None
    esc = Escalation(triggered_by=triggers, max_rounds=rounds)
    if rounds == 0:
        esc.stopped = "escalation_rounds is 0"
        return esc
    sweep = runner.sweep
    norms = [n for n in epsilons if sweep.ensemble.get(n)]
    for norm in norms:
        name = escalation_name(norm)
        for eps in epsilons[norm]:
            sweep.outcomes[(name, eps)] = Outcome.empty(sweep.n)
        sweep.ensemble[norm] = [*sweep.ensemble[norm], name]
    fwd = runner.target.fwd
    for r in range(1, rounds + 1):
        found = 0
        draws = fwd.draws * 2**r if fwd.eot else fwd.draws
        round_fwd = replace(fwd, draws=draws) if fwd.eot else fwd
        for norm in norms:
            found += _round(runner, plan, norm, epsilons[norm], r, round_fwd, esc)
        if found == 0:
            esc.stopped = f"round {r} broke no further sample: robust accuracy stopped falling"
            break
    else:
        esc.stopped = f"stopped after escalation_rounds={rounds} rounds, the last still breaking"
    return esc


def _round(
    runner: SweepRunner,
    plan: AttackPlan,
    norm: Norm,
    epsilons: list[float],
    r: int,
    fwd: Forward,
    esc: Escalation,
) -> int:
    """One round on every eps of `norm` (`_attacks`); returns the newly broken sample-budgets."""
    total = 0
    for eps in epsilons:
        for info, params, model, what in _attacks(runner, plan, norm, eps, r, fwd, esc):
            total += _attack(runner, norm, eps, r, info, params, model, what, esc)
    return total


def _attacks(
    runner: SweepRunner,
    plan: AttackPlan,
    norm: Norm,
    eps: float,
    r: int,
    fwd: Forward,
    esc: Escalation,
) -> list[tuple[atk.AttackInfo, dict[str, Any], Forward, str]]:
    """Round r's attacks at one eps, in order: (round 1) the transfer attack from the model's
    linearisation; a Square restart with r times the base queries; APGD-CE and APGD-T (the next
    TARGETS target classes in MALT's order: round 1 the closest three, round 2 the next three...)
    on gradients measured from the forward pass with up to r x ESTIMATE_PASSES passes each (on a
    randomised model: its own gradient, averaged over the round's EOT draws: the expectation
    attack)."""
    out: list[tuple[atk.AttackInfo, dict[str, Any], Forward, str]] = []
    if r == 1:  # deterministic: once is enough
        lt = atk.resolve_attack(f"{norm}_linear_transfer")
        what = "finite-difference Jacobian at the clean input"
        out.append((lt, atk.attack_params(lt, None), fwd, what))
    sq = atk.resolve_attack(f"{norm}_square")
    base = plan.params.get(sq.name, {}).get("queries", 0)
    queries = r * max(int(base), MIN_QUERIES)
    sq_params = atk.attack_params(sq, {"queries": queries, "p_init": 0.8, "rescale": False})
    out.append((sq, sq_params, fwd, f"{queries} queries"))
    model, source = _gradient_source(runner, norm, eps, r, fwd, esc.triggered_by)
    ce = atk.resolve_attack(f"{norm}_apgd_ce")
    ce_params = atk.attack_params(ce, {"steps": ESTIMATED_STEPS, "restarts": 1})
    out.append((ce, ce_params, model, f"{ESTIMATED_STEPS} steps, {source}"))
    classes = fwd.num_classes - 1  # target classes a sample has
    if classes >= 1:
        skip = (TARGETS * (r - 1)) % classes  # three more targets each round, then again
        targets = min(TARGETS, classes - skip)
        at = atk.resolve_attack(f"{norm}_apgd_t")
        at_params = atk.attack_params(
            at,
            {
                "steps": ESTIMATED_STEPS,
                "restarts": 1,
                "targets": targets,
                "skip_targets": skip,
                "target_order": "malt",
            },
        )
        what = (
            f"{ESTIMATED_STEPS} steps, targets {skip + 1} to {skip + targets} in MALT's "
            f"order, {source}"
        )
        out.append((at, at_params, model, what))
    return out


def _gradient_source(
    runner: SweepRunner, norm: Norm, eps: float, r: int, fwd: Forward, triggers: list[str]
) -> tuple[Forward, str]:
    """The gradient the round's APGD runs on, and how it is described in the artifacts: the
    model's own (EOT-averaged) only when the one flag is its randomness (no check questioned
    its gradient), else one measured from the forward pass."""
    if fwd.module is not None and set(triggers) <= {"nondeterministic_forward"}:
        return fwd, f"the model's gradient averaged over {fwd.draws} draws (EOT)"
    size = math.prod(runner.rows.task.input_shape)
    scale = eps if norm == "linf" else eps / math.sqrt(size)
    passes = r * ESTIMATE_PASSES
    estimated = EstimatedForward(
        adapter=fwd.adapter,
        module=fwd.module,
        num_classes=fwd.num_classes,
        draws=fwd.draws,
        passes=passes,
        sigma=SCALE * scale,
        step=SCALE * scale,
        bounds=runner.target.bounds,
    )
    if uses_coordinates(size, passes):
        return estimated, (
            f"gradients measured from the forward pass by finite differences, one coordinate "
            f"at a time ({size + 1} forward passes each)"
        )
    return estimated, (
        f"gradients estimated from the forward pass under Gaussian noise (NES, {passes} forward "
        "passes each)"
    )


def _attack(
    runner: SweepRunner,
    norm: Norm,
    eps: float,
    r: int,
    info: atk.AttackInfo,
    params: dict[str, Any],
    model: Forward,
    what: str,
    esc: Escalation,
) -> int:
    """One escalation attack at one eps on every sample still unbroken (by any member of the
    cascade, the escalation's earlier attacks and smaller eps included)."""
    sweep = runner.sweep
    name = escalation_name(norm)
    alive = sweep.correct & sweep.evaluated[norm] & ~_broken(sweep, norm, eps)
    todo = np.flatnonzero(alive)
    runner.progress.stage(
        f"escalation round {r} ({info.name}, {what}, eps {eps_label(eps)}) on {len(todo)} "
        "unbroken samples"
    )
    out = sweep.outcomes[(name, eps)]
    before = out.broken & out.attacked
    seed_name = f"{info.name}/escalation/{r}"
    runner.attack_rows(info, params, eps, todo, key=name, seed_name=seed_name, fwd=model)
    new = int((out.broken & out.attacked & ~before).sum())
    esc.rounds.append(
        {
            "round": r,
            "norm": norm,
            "eps": eps,
            "attack": info.name,
            "settings": what,
            "eot_draws": model.draws,
            "samples": len(todo),
            "broken": new,
        }
    )
    return new


def _broken(sweep: Any, norm: Norm, eps: float) -> np.ndarray:
    """Samples any member of the norm's cascade broke at eps or a smaller one."""
    hit = np.zeros(sweep.n, bool)
    for (attack, e), o in sweep.outcomes.items():
        if e <= eps and attack in sweep.ensemble.get(norm, []):
            hit |= o.broken & o.attacked
    return hit
