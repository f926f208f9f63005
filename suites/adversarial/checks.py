"""Running the validity checks on one model after the sweep, and the reliability verdict.

`validity_checks` defines each check (what counts as a bad sample, the allowed rate, the binomial
test and its minimum detectable rate); this module decides what they run on: a seeded
label-stratified subset of `check_samples` samples (`harness.core.subsets`, purpose
`adversarial/checks`), at the largest eps of the first norm with a gradient attack, against the
ensemble the sweep measured. `gradient_obfuscation` reads Square's cascade results on every
evaluated sample when Square ran after the gradient attacks (the presets), else runs a check-only
Square on the subset. Forward-only checks run on every model, gradient checks only on white-box
ones. `assess` turns raised checks, failed decision attacks and rejected candidates into the flags
on every robust_acc record, with notes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from harness.suites.adversarial import attacks as atk
from harness.suites.adversarial import validity_checks as vc
from harness.suites.adversarial.apgd import apgd
from harness.suites.adversarial.budgets import Norm, eps_label, max_budget
from harness.suites.adversarial.config import AttackPlan
from harness.suites.adversarial.ensemble import WorstCase
from harness.suites.adversarial.noise import random_point, sample_seeds, start_noise
from harness.suites.adversarial.pgd import log_cross_entropy, pgd
from harness.suites.adversarial.square import square
from harness.suites.adversarial.sweep import Sweep, Target
from harness.suites.adversarial.verification import verify

log = logging.getLogger(__name__)

THRESHOLDS: dict[str, float | tuple[float, ...]] = {
    "alpha": vc.ALPHA,
    "power": vc.POWER,
    "zero_grad_rate": vc.ZERO_GRAD_RATE,
    "unbounded_fail_rate": vc.UNBOUNDED_FAIL_RATE,
    "noise_only_rate": vc.NOISE_ONLY_RATE,
    "square_only_rate": vc.SQUARE_ONLY_RATE,
    "stronger_only_rate": vc.STRONGER_ONLY_RATE,
    "loss_flat_rate": vc.LOSS_FLAT_RATE,
    "gradient_mismatch_rate": vc.GRADIENT_MISMATCH_RATE,
    "gradient_mismatch_tolerance": vc.MISMATCH_TOLERANCE,
    "finite_difference_steps": vc.FINITE_DIFFERENCE_STEPS,
}
"""The checks' test level, power and allowed rates, as the job's artifacts report them."""

CHECK_SQUARE_QUERIES = 1000  # the check-only Square when the plan has none after its gradients


@dataclass(frozen=True, kw_only=True)
class Reliability:
    """The verdict on one job: flags for every robust_acc record, and why, in notes."""

    flags: tuple[str, ...]
    invalid: dict[str, dict[str, int]]  # "attack/eps=..." -> rejected candidates by reason
    notes: list[str]


@dataclass(frozen=True, kw_only=True)
class CheckSet:
    """The samples the checks run on (task rows, clean-correct only) and the budget they use."""

    target: Target
    rows: np.ndarray  # task rows of the check subset that are clean-correct
    x: torch.Tensor
    y: torch.Tensor
    sample_ids: list[str]
    norm: Norm
    eps: float
    seed: int
    ensemble_broken: torch.Tensor  # bool (CPU), per row: the ensemble broke it at <= eps

    def seeds(self, name: str, eps: float) -> torch.Tensor:
        return sample_seeds(self.seed, self.sample_ids, name, eps_label(eps), device=self.x.device)

    def broken(self, candidate: torch.Tensor, eps: float | None) -> torch.Tensor:
        """Verified breaks of candidates (CPU bool)."""
        m = len(self.x)
        return verify(
            self.target.fwd.decide,
            self.x,
            self.target.projected(self.x, candidate, self.norm, eps),
            self.y,
            norm=self.norm,
            eps=eps,
            bounds=self.target.bounds,
            clean_prediction=self.y.cpu(),
            clean_confidence=torch.ones(m),
        ).adversarial


def check_norm(plan: AttackPlan, epsilons: dict[Norm, list[float]]) -> tuple[Norm, float]:
    """The norm of the first gradient attack (else the first attack) and its largest eps."""
    norm = next((i.norm for i in plan.infos if i.gradients), plan.infos[0].norm)
    return norm, epsilons[norm][-1]


def check_set(
    target: Target,
    sweep: Sweep,
    cells: list[WorstCase],
    subset: np.ndarray,
    inputs: torch.Tensor,
    *,
    norm: Norm,
    eps: float,
    seed: int,
) -> CheckSet:
    """The clean-correct samples of the check subset (`inputs` are the subset's inputs)."""
    ok = sweep.correct[subset]
    rows = subset[ok]
    cell = next(c for c in cells if c.after is None and c.norm == norm and c.eps == eps)
    keep = torch.as_tensor(np.flatnonzero(ok), device=inputs.device)
    return CheckSet(
        target=target,
        rows=rows,
        x=inputs[keep],
        y=torch.as_tensor(sweep.labels[rows], device=inputs.device),
        sample_ids=[sweep.sample_ids[r] for r in rows],
        norm=norm,
        eps=eps,
        seed=seed,
        ensemble_broken=torch.as_tensor(cell.broken[rows]),
    )


def run_checks(
    checks: CheckSet,
    sweep: Sweep,
    plan: AttackPlan,
    *,
    inputs: torch.Tensor,
    input_shape: tuple[int, ...],
    noise_draws: int,
    probes: list[vc.CheckResult],
) -> list[vc.CheckResult]:
    """Every check that applies to this model (`inputs`: the whole check subset's inputs;
    `probes`: the nondeterminism and batch-dependence probes run before the attacks)."""
    fwd = checks.target.fwd
    results = [*probes, vc.probability_outputs(fwd.adapter.logits(inputs.clone()))]
    if len(checks.x) == 0:  # no clean-correct sample in the check subset: nothing to attack
        log.info("adversarial checks for %s: no clean-correct sample to check", fwd.name)
        return results
    everyone = torch.ones(len(checks.x), dtype=torch.bool)
    noise = _noise_broken(checks, noise_draws)
    results.append(
        vc.noise_beats_gradient(
            noise,
            checks.ensemble_broken,
            everyone,
            attacks=sweep.ensemble.get(checks.norm, []),
            white_box=fwd.module is not None,
        )
    )
    if fwd.module is not None:
        results.append(_gradient_obfuscation(checks, sweep, plan))
        results += _gradient_checks(checks, plan, input_shape)
    log_raised(results, fwd.name)
    return results


def log_raised(results: list[vc.CheckResult], model: str) -> None:
    """A warning per raised check, saying what its counts are: "does not reach ~100% success
    (50 of 50)" read as 50 of 50 attacks succeeding, where 50 samples were left unbroken."""
    for r in results:
        if r.raised:
            log.warning(
                "adversarial check %s raised for %s: %s (seen on %d of %d samples checked)",
                r.flag,
                model,
                r.description,
                r.bad,
                r.n,
            )


def _noise_broken(checks: CheckSet, draws: int) -> torch.Tensor:
    """Samples that some of `draws` seeded random points in the eps ball misclassify (on a
    randomised model: where the ensemble did not break them, only when `confirmed`)."""
    x, y, fwd = checks.x, checks.y, checks.target.fwd

    def classify(xs: torch.Tensor) -> torch.Tensor:
        out = fwd.decide(xs)  # non-finite logits never count as a break
        return torch.where(torch.isfinite(out).all(1), out.argmax(1), y)

    seeds = checks.seeds("noise", checks.eps)
    shape = tuple(x.shape[1:])
    broken, points = vc.noise_attack(
        classify,
        x,
        y,
        noise=lambda d: start_noise(shape, checks.norm, seeds, d),
        eps=checks.eps,
        project=lambda xn: checks.target.projected(x, xn, checks.norm, checks.eps),
        draws=draws,
    )
    return confirmed(checks, points, broken)


def confirmed(checks: CheckSet, candidate: torch.Tensor, broken: torch.Tensor) -> torch.Tensor:
    """`broken` (CPU bool, per check sample, by `candidate`), where a randomised model's extra
    break of a sample the ensemble left standing stays only when `vc.CONFIRMATIONS` fresh
    verifications of its candidate all call it misclassified.

    The ensemble's verdict and the extra attack's are each one noisy EOT decision: an attack no
    stronger than the ensemble still "breaks" the samples whose verification came up lucky
    where the ensemble's came up unlucky (on the tests' logit-noise model, 5 to 15 of about 80
    check samples each for noise and for the stronger attack, against a threshold of 3 or 4). A
    candidate well across the boundary passes every fresh verification; one at the boundary
    passes five with probability 1/32. Deterministic models: `broken` as it is."""
    suspect = broken & ~checks.ensemble_broken
    if not checks.target.fwd.eot or not bool(suspect.any()):
        return broken
    rows = suspect.nonzero().squeeze(1).to(checks.x.device)
    only = checks.x.clone()  # unchanged rows are the clean inputs: no forward pass
    only[rows] = candidate.to(checks.x.device)[rows]
    kept = suspect.clone()
    for _ in range(vc.CONFIRMATIONS):
        kept &= checks.broken(only, checks.eps)
    return (broken & checks.ensemble_broken) | kept


def _gradient_obfuscation(checks: CheckSet, sweep: Sweep, plan: AttackPlan) -> vc.CheckResult:
    """Square's breaks that every gradient attack missed: from the cascade when Square ran after
    the norm's gradient attacks, else from a check-only Square on the subset's survivors."""
    cascade = _square_from_cascade(checks, sweep, plan)
    if cascade is not None:
        return cascade
    norm, eps = checks.norm, checks.eps
    info = atk.resolve_attack(f"{norm}_square")
    params = atk.attack_params(info, {"queries": CHECK_SQUARE_QUERIES, "rescale": True})
    alive = (~checks.ensemble_broken).nonzero().squeeze(1).to(checks.x.device)
    found = torch.zeros(len(checks.x), dtype=torch.bool)
    if len(alive):
        res = square(
            checks.target.fwd,
            checks.x[alive],
            checks.y[alive],
            norm=norm,
            eps=eps,
            bounds=checks.target.attack_box,
            seeds=checks.seeds("check_square", eps)[alive],
            queries=params["queries"],
            p_init=params["p_init"],
            rescale=params["rescale"],
        )
        cand = checks.x.clone()
        cand[alive] = res.adv
        found = checks.broken(cand, eps)
    everyone = torch.ones(len(checks.x), dtype=torch.bool)
    return vc.gradient_obfuscation(found, checks.ensemble_broken, everyone)


def _square_from_cascade(checks: CheckSet, sweep: Sweep, plan: AttackPlan) -> vc.CheckResult | None:
    """The check on every evaluated sample when a Square member came after every gradient member
    (so what it broke, every gradient attack had missed); None otherwise."""
    norm, eps = checks.norm, checks.eps
    members = sweep.ensemble.get(norm, [])
    infos = {i.name: i for i in plan.infos}
    squares = [m for m in members if infos[m].score_based]
    grads = [m for m in members if infos[m].gradients]
    if not squares or not grads:
        return None
    if members.index(squares[0]) < max(members.index(g) for g in grads):
        return None
    correct = sweep.correct & sweep.evaluated[norm]
    sq = np.zeros(sweep.n, bool)
    grad = np.zeros(sweep.n, bool)
    for (attack, e), o in sweep.outcomes.items():
        if e > eps or attack not in members:
            continue
        hit = o.broken & o.attacked
        if attack == squares[0]:
            sq |= hit
        elif infos[attack].gradients:
            grad |= hit
    if checks.target.fwd.eot:
        suspect = np.flatnonzero(sq & ~grad & correct)
        kept: dict[int, torch.Tensor] = {}
        for e in _sweep_eps(sweep, squares[0], eps):  # the smaller eps first: the cascade's order
            kept.update(sweep.outcomes[(squares[0], e)].candidates)
        sq[suspect] = _square_only(checks, sweep, suspect, kept)
    return vc.gradient_obfuscation(
        torch.as_tensor(sq), torch.as_tensor(grad), torch.as_tensor(correct)
    )


def _sweep_eps(sweep: Sweep, attack: str, eps: float) -> list[float]:
    """The budgets up to `eps` at which `attack` ran in the sweep, ascending."""
    return sorted(e for a, e in sweep.outcomes if a == attack and e <= eps)


def _square_only(
    checks: CheckSet, sweep: Sweep, rows: np.ndarray, candidates: dict[int, torch.Tensor]
) -> np.ndarray:
    """A randomised model: per task row of `rows` (Square broke it, no gradient attack did),
    whether Square's candidate is called misclassified by each of `vc.CONFIRMATIONS` fresh
    decisions (a row whose candidate was not kept keeps its verdict). Unconfirmed, Square on the
    tests' logit-noise model "broke" 4 to 9 of about 80 samples the gradient attacks had missed,
    against a threshold of 3; confirmed, none (MC dropout 0.5 on an MLP: none, where three
    confirmations still let 3 of 90 through once in four runs)."""
    keep = np.ones(len(rows), bool)
    picked = [i for i, r in enumerate(rows) if int(r) in candidates]
    if not picked:
        return keep
    points = torch.stack([candidates[int(rows[i])] for i in picked]).to(checks.x.device)
    y = torch.as_tensor(sweep.labels[rows[picked]])
    ok = torch.ones(len(picked), dtype=torch.bool)
    for _ in range(vc.CONFIRMATIONS):
        logits = checks.target.fwd.decide(points).detach().cpu()
        ok &= torch.isfinite(logits).all(1) & (logits.argmax(1) != y)
    keep[picked] = ok.numpy()
    return keep


def _gradient_checks(
    checks: CheckSet, plan: AttackPlan, input_shape: tuple[int, ...]
) -> list[vc.CheckResult]:
    """Checks that need gradients: zero gradients, flat loss, stronger and unbounded attacks."""
    fwd, x, y = checks.target.fwd, checks.x, checks.y
    norm, eps, bounds = checks.norm, checks.eps, checks.target.bounds
    everyone = torch.ones(len(x), dtype=torch.bool)
    raw = vc.margin_gradient(fwd, x, y, finite=False)
    results = [vc.zero_gradients(raw)]
    if fwd.eot:  # a randomised forward pass makes finite differences noise (and the gradient
        # at more points would draw more of its randomness: its attacks' numbers would move)
        results.append(vc.nonfinite_gradients(raw))
    else:
        moved, moved_raw = _moved_gradient(checks)
        both = torch.cat([raw, moved_raw])
        results += [vc.nonfinite_gradients(both), _mismatch(checks, both, moved)]
    p = plan.params.get(f"{norm}_pgd") or atk.attack_params(atk.resolve_attack(f"{norm}_pgd"), None)
    base = pgd(
        fwd,
        x,
        y,
        norm=norm,
        eps=eps,
        steps=p["steps"],
        rel_stepsize=p["rel_stepsize"],
        restarts=1,
        random_start=True,
        bounds=checks.target.attack_box,
        seeds=checks.seeds("check_pgd", eps),
        track_loss=True,
    )
    assert base.loss_start is not None and base.loss_best is not None
    assert base.loss_tolerance is not None
    results.append(
        vc.loss_not_increasing(base.loss_start, base.loss_best, base.loss_tolerance, everyone)
    )
    strong = _stronger(checks, plan)
    results.append(vc.stronger_attack_lowers(strong, checks.ensemble_broken, everyone))
    big = max_budget(norm, bounds, input_shape)
    unbounded = pgd(
        fwd,
        x,
        y,
        norm=norm,
        eps=big,
        steps=2 * p["steps"],
        rel_stepsize=p["rel_stepsize"],
        restarts=1,
        random_start=False,
        bounds=checks.target.attack_box,
        seeds=checks.seeds("check_pgd_unbounded", big),
        # the cross-entropy without its float32 saturation: a confidently correct sample's
        # float32 cross-entropy is 0 and its gradient ~exp(-margin), which a float16 / bfloat16
        # network's backward pass rounds to 0 (an honest digits CNN in float16: 78 of 200
        # samples with no gradient, the check raised against it); same steps elsewhere
        objective=log_cross_entropy,
    )
    results.append(vc.unbounded_attack_fails(checks.broken(unbounded.adv, None), everyone))
    return results


def _moved_gradient(checks: CheckSet) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random point of the budget around each check sample and the margin gradient
    there, NaN and inf kept. A gradient can be honest at the clean inputs and not wherever an
    attack steps: another network's (the zoo's digits-cnn so masked: gradient_mismatch 0 of 294
    at the clean inputs, 280 of 294 at these points), or NaN at some coordinates (a backward
    pass finite on the clean pixel grid only: nonfinite_gradients 0 of 55 there, 55 of 55
    here); the checks count both sets of points."""
    fwd, x, y, box = checks.target.fwd, checks.x, checks.y, checks.target.attack_box
    seeds = checks.seeds("check_moved", checks.eps)
    moved = random_point(x, seeds, norm=checks.norm, eps=checks.eps, bounds=box)
    return moved, vc.margin_gradient(fwd, moved, y, finite=False)


def _mismatch(checks: CheckSet, raw: torch.Tensor, moved: torch.Tensor) -> vc.CheckResult:
    """gradient_mismatch at the check samples and at the random points `moved` around them (one
    count over both; `raw`: the gradients at both, in that order, read as the attacks read
    them)."""
    x, y = checks.x, checks.y
    return vc.gradient_mismatch(
        checks.target.fwd,
        torch.cat([x, moved]),
        torch.cat([y, y]),
        torch.nan_to_num(raw, nan=0.0, posinf=0.0, neginf=0.0),
        eps=checks.eps,
        box=checks.target.attack_box,
    )


def _stronger(checks: CheckSet, plan: AttackPlan) -> torch.Tensor:
    """The first gradient attack of the norm with twice its steps and restarts (APGD-T as
    APGD-CE, FGSM as PGD at least Madry's step), on the samples the ensemble left standing."""
    norm, eps, x = checks.norm, checks.eps, checks.x
    first = next((i for i in plan.infos if i.norm == norm and i.gradients), None)
    params: dict[str, Any] = dict(plan.params.get(first.name, {})) if first else {}
    alive = (~checks.ensemble_broken).nonzero().squeeze(1).to(x.device)
    cand = x.clone()
    if len(alive) == 0:
        return torch.zeros(len(x), dtype=torch.bool)
    xa, ya = x[alive], checks.y[alive]
    seeds = checks.seeds("check_stronger", eps)[alive]
    if first is not None and first.family in ("apgd_ce", "apgd_t"):
        res = apgd(
            checks.target.fwd,
            xa,
            ya,
            norm=norm,
            eps=eps,
            bounds=checks.target.attack_box,
            seeds=seeds,
            steps=2 * params["steps"],
            restarts=2 * params["restarts"],
            loss="ce",
            rho=params["rho"],
        )
    else:
        p = params if first is not None and first.family == "pgd" else {}
        p = atk.attack_params(atk.resolve_attack(f"{norm}_pgd"), p)
        res = pgd(
            checks.target.fwd,
            xa,
            ya,
            norm=norm,
            eps=eps,
            steps=2 * p["steps"],
            rel_stepsize=max(p["rel_stepsize"], 2.5),
            restarts=2 * max(1, p["restarts"]),
            random_start=True,
            bounds=checks.target.attack_box,
            seeds=seeds,
        )
    cand[alive] = res.adv
    return confirmed(checks, cand, checks.broken(cand, eps))


def assess(checks: list[vc.CheckResult], sweep: Sweep, model: str) -> Reliability:
    """Flags from raised checks, failed decision attacks and rejected candidates, with notes."""
    flags = tuple(c.flag for c in checks if c.raised)
    notes = []
    invalid = {
        f"{a}/eps={eps_label(e)}": o.invalid for (a, e), o in sweep.outcomes.items() if o.invalid
    }
    if sweep.failed_attacks:
        flags += ("decision_attack_failed",)
        notes.append(
            f"decision-based attacks failed on some batches, whose samples were not attacked "
            f"and are left out of robust accuracy: {sweep.failed_attacks}"
        )
    if invalid:
        flags += ("invalid_adversarials",)
        notes += _invalid_notes(invalid, model)
    if sweep.eot_draws > 1:
        single = sweep.single_pass_accuracy
        clean = float(sweep.correct.mean()) if sweep.n else None
        accuracies = (
            f": clean accuracy {clean:.3f} averaged against {single:.3f} for one pass of the "
            "model (as the accuracy suite scores it)"
            if single is not None and clean is not None
            else ""
        )
        notes.append(
            f"the forward pass of {model!r} is nondeterministic: attacks and decisions used "
            f"expectation over transformation ({sweep.eot_draws} draws); clean and robust "
            f"accuracy are those of the averaged classifier (argmax of the mean softmax)"
            + accuracies
        )
    if "batch_dependent_forward" in flags:
        notes.append(
            f"the logits of {model!r} for an input change with the other inputs of its batch "
            "(e.g. BatchNorm with batch statistics, track_running_stats=False): the clean pass, "
            "the attacks and the verifications batch the samples differently (batch_size, which "
            "samples are still unbroken), so clean and robust accuracy depend on that batching, "
            "not on the model alone; evaluate it with running statistics"
        )
    if flags:
        notes.append(f"robustness estimate UNRELIABLE for {model!r}: flags {list(flags)}")
    return Reliability(flags=flags, invalid=invalid, notes=notes)


def _invalid_notes(invalid: dict[str, dict[str, int]], model: str) -> list[str]:
    """What the rejected candidates say: the model's non-finite logits, or an attack's fault."""
    by_model = {k: v["non_finite_logits"] for k, v in invalid.items() if v.get("non_finite_logits")}
    by_attack = {
        k: {r: c for r, c in v.items() if r != "non_finite_logits"}
        for k, v in invalid.items()
        if any(r != "non_finite_logits" for r in v)
    }
    notes = []
    if by_model:
        notes.append(
            f"model {model!r} returned non-finite logits (NaN or inf) for perturbed inputs, "
            f"which were rejected and never counted as successes: {by_model}"
        )
    if by_attack:
        notes.append(
            f"attacks proposed candidates that are non-finite or outside the budget or the "
            f"bounds, rejected by verification: {by_attack}; the suite projects every candidate "
            "of its own attacks into the budget, so this is a fault of the attack, not of the "
            "model (please report it)"
        )
    return notes
