"""Running the validity checks on one model after the sweep, and the reliability verdict.

`validity_checks` defines each check (what counts as a bad sample, the allowed rate, the binomial
test); this module decides what they run on: the first `check_samples` samples, at the largest eps
of the first PGD attack's norm, against the ensemble the sweep measured. Forward-only checks run
on every model, gradient checks only on white-box ones. `assess` turns raised checks, failed
decision attacks and rejected candidates into the flags on every robust_acc record and notes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from harness.core.seeding import derive_seed
from suites.adversarial import attacks as atk
from suites.adversarial import validity_checks as vc
from suites.adversarial.budgets import Norm, eps_label, max_budget
from suites.adversarial.config import AttackPlan
from suites.adversarial.noise import start_noise
from suites.adversarial.sweep import Sweep, Target
from suites.adversarial.verification import verify

log = logging.getLogger(__name__)

THRESHOLDS: dict[str, float] = {
    "alpha": vc.ALPHA,
    "zero_grad_rate": vc.ZERO_GRAD_RATE,
    "unbounded_fail_rate": vc.UNBOUNDED_FAIL_RATE,
    "noise_only_rate": vc.NOISE_ONLY_RATE,
    "stronger_only_rate": vc.STRONGER_ONLY_RATE,
    "loss_flat_rate": vc.LOSS_FLAT_RATE,
}
"""The checks' test level and allowed rates, as the job's artifacts report them."""


@dataclass(frozen=True, kw_only=True)
class Reliability:
    """The verdict on one job: flags for every robust_acc record, and why, in notes."""

    flags: tuple[str, ...]
    invalid: dict[str, dict[str, int]]  # "attack/eps=..." -> rejected candidates by reason
    notes: list[str]


@dataclass(frozen=True, kw_only=True)
class _CheckSet:
    """The samples the checks run on and the budget they use."""

    target: Target
    x: torch.Tensor
    y: torch.Tensor
    ok: torch.Tensor  # bool (CPU): clean-correct, the only samples a check counts
    clean_prediction: torch.Tensor
    sample_ids: list[str]
    norm: Norm
    eps: float
    seed: int

    def pgd(
        self,
        name: str,
        eps: float,
        steps: int,
        restarts: int,
        random_start: bool,
        rel_stepsize: float,
        track_loss: bool = False,
    ) -> atk.PGDResult:
        assert self.target.module is not None
        return atk.pgd(
            self.target.module,
            self.x,
            self.y,
            norm=self.norm,
            eps=eps,
            steps=steps,
            rel_stepsize=rel_stepsize,
            restarts=restarts,
            random_start=random_start,
            bounds=self.target.bounds,
            sample_ids=self.sample_ids,
            run_seed=self.seed,
            attack=name,
            track_loss=track_loss,
        )

    def broken(self, r: atk.PGDResult, eps: float | None) -> torch.Tensor:
        """Verified breaks of a PGD result (unchanged candidates keep the clean prediction;
        clean-wrong samples are masked by `ok`)."""
        m = len(self.x)
        v = verify(
            self.target.adapter,
            self.x,
            r.adv,
            self.y,
            norm=self.norm,
            eps=eps,
            bounds=self.target.bounds,
            clean_prediction=self.clean_prediction,
            clean_confidence=torch.ones(m),
        )
        return v.adversarial


def run_checks(
    target: Target,
    sweep: Sweep,
    plan: AttackPlan,
    epsilons: dict[Norm, list[float]],
    *,
    input_shape: tuple[int, ...],
    noise_draws: int,
    seed: int,
) -> list[vc.CheckResult]:
    """Every check that applies to this model, on the sweep's first `check_samples` samples."""
    assert sweep.check_inputs is not None
    checks = _check_set(target, sweep, plan, epsilons, seed)
    adapter, x = target.adapter, checks.x
    results = [vc.nondeterministic(adapter, x), vc.probability_outputs(adapter.logits(x))]
    ensemble = torch.as_tensor(_ensemble_broken(sweep, checks.norm, checks.eps, len(x)))
    noise_broken = _noise_broken(checks, noise_draws)
    results.append(vc.noise_beats_gradient(noise_broken, ensemble, checks.ok))
    if target.module is not None:
        results += _gradient_checks(checks, plan.params, ensemble, input_shape)
    for r in results:
        if r.raised:
            log.warning(
                "adversarial check %s raised for %s: %s (%d of %d)",
                r.flag,
                adapter.name,
                r.description,
                r.bad,
                r.n,
            )
    return results


def _check_set(
    target: Target,
    sweep: Sweep,
    plan: AttackPlan,
    epsilons: dict[Norm, list[float]],
    seed: int,
) -> _CheckSet:
    assert sweep.check_inputs is not None
    x = sweep.check_inputs
    m = len(x)
    norm: Norm = next((i.norm for i in plan.infos if i.name.endswith("_pgd")), plan.infos[0].norm)
    return _CheckSet(
        target=target,
        x=x,
        y=torch.as_tensor(sweep.labels[:m], device=x.device),
        ok=torch.as_tensor(sweep.correct[:m]),
        clean_prediction=torch.as_tensor(sweep.clean_prediction[:m]),
        sample_ids=sweep.sample_ids[:m],
        norm=norm,
        eps=epsilons[norm][-1],
        seed=seed,
    )


def _ensemble_broken(sweep: Sweep, norm: Norm, eps: float, m: int) -> np.ndarray:
    """Samples any attack of `norm` broke at a budget up to `eps`."""
    broken = np.zeros(m, bool)
    for (name, e), o in sweep.outcomes.items():
        if e <= eps and atk.resolve_attack(name).norm == norm:
            broken |= o.broken[:m]
    return broken


def _noise_broken(checks: _CheckSet, draws: int) -> torch.Tensor:
    """Samples that some of `draws` seeded random points in the eps ball misclassify."""
    adapter, x, y = checks.target.adapter, checks.x, checks.y

    def classify(xs: torch.Tensor) -> torch.Tensor:
        out = adapter.logits(xs)  # non-finite logits never count as a break
        return torch.where(torch.isfinite(out).all(1), out.argmax(1), y)

    def noise(d: int) -> torch.Tensor:
        seeds = [
            derive_seed(checks.seed, s, "noise", checks.norm, eps_label(checks.eps), d)
            for s in checks.sample_ids
        ]
        return start_noise(tuple(x.shape[1:]), checks.norm, seeds, x.device)

    return vc.noise_attack(
        classify, x, y, noise=noise, eps=checks.eps, bounds=checks.target.bounds, draws=draws
    )


def _gradient_checks(
    checks: _CheckSet,
    params: dict[str, dict[str, Any]],
    ensemble: torch.Tensor,
    input_shape: tuple[int, ...],
) -> list[vc.CheckResult]:
    """Checks that need the module: zero gradients, flat loss, stronger and unbounded PGD."""
    assert checks.target.module is not None
    norm, eps, ok = checks.norm, checks.eps, checks.ok
    results = [vc.zero_gradients(checks.target.module, checks.x, checks.y)]
    p = params.get(f"{norm}_pgd") or atk.attack_params(atk.resolve_attack(f"{norm}_pgd"), None)
    rel = p["rel_stepsize"]
    base = checks.pgd("check_pgd", eps, p["steps"], 1, True, rel, track_loss=True)
    assert base.loss_start is not None and base.loss_best is not None
    results.append(vc.loss_not_increasing(base.loss_start, base.loss_best, ok))
    # Twice the steps and restarts, and at least Madry's step-size rule (2.5 eps / steps).
    strong = checks.pgd(
        "check_pgd_strong", eps, 2 * p["steps"], 2 * max(1, p["restarts"]), True, max(rel, 2.5)
    )
    results.append(vc.stronger_attack_lowers(checks.broken(strong, eps), ensemble, ok))
    big = max_budget(norm, checks.target.bounds, input_shape)
    unbounded = checks.pgd("check_pgd_unbounded", big, 2 * p["steps"], 1, False, rel)
    results.append(vc.unbounded_attack_fails(checks.broken(unbounded, None), ok))
    return results


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
            f"decision-based attacks failed on some batches, whose samples count as not "
            f"broken (robust accuracy overstated): {sweep.failed_attacks}"
        )
    if invalid:
        flags += ("invalid_adversarials",)
        notes.append(
            f"invalid adversarial candidates were rejected (not counted as successes): {invalid}"
        )
    if flags:
        notes.append(f"robustness estimate UNRELIABLE for {model!r}: flags {list(flags)}")
    return Reliability(flags=flags, invalid=invalid, notes=notes)
