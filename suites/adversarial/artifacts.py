"""The adversarial suite's JSON artifacts: what ran, how it was seeded, and the reliability verdict.

Every attack's full parameters, the seed and the seeding scheme are here, so a reader can rerun an
evaluation or judge it without the spec (docs/adversarial.md).
"""

from __future__ import annotations

from typing import Any

from suites.adversarial import attacks as atk
from suites.adversarial import validity_checks as vc
from suites.adversarial.budgets import Norm
from suites.adversarial.checks import THRESHOLDS, Reliability
from suites.adversarial.config import AttackPlan
from suites.adversarial.sweep import Sweep

SEED_SCHEME = (
    "PGD random starts: a counter-based 32-bit hash of (derive_seed(run seed, sample id, attack, "
    "eps, restart), element index), independent of batch and device; foolbox attacks run inside torch.random.fork_rng seeded by "
    "derive_seed(run seed, attack, eps, batch sample ids)"
)

DECISION_STARTS = "nearest (L2) other-predicted-class sample in batch"


def build_artifacts(
    *,
    bounds: tuple[float, float],
    epsilons: dict[Norm, list[float]],
    plan: AttackPlan,
    sweep: Sweep,
    checks: list[vc.CheckResult],
    reliability: Reliability,
    notes: list[str],
    seed: int,
) -> dict[str, Any]:
    return {
        "bounds": list(bounds),
        "epsilons": dict(epsilons),
        "attacks": {i.name: _attack(i, plan, sweep, epsilons) for i in plan.infos},
        "seed": seed,
        "seed_scheme": SEED_SCHEME,
        "white_box": plan.white_box,
        "checks": [c.to_dict() for c in checks],
        "check_thresholds": dict(THRESHOLDS),
        "flags": list(reliability.flags),
        "invalid_adversarials": reliability.invalid,
        "failed_attacks": sweep.failed_attacks,
        "notes": list(notes),
    }


def _attack(
    info: atk.AttackInfo, plan: AttackPlan, sweep: Sweep, epsilons: dict[Norm, list[float]]
) -> dict[str, Any]:
    """One attack's entry: norm, kind, parameters, description and the samples it ran on."""
    entry = {
        "norm": info.norm,
        "kind": info.kind,
        "params": plan.params[info.name],
        "description": info.description,
        "n": int(sweep.outcomes[(info.name, epsilons[info.norm][0])].attacked.sum()),
    }
    if info.kind == "decision":
        entry["starting_points"] = DECISION_STARTS
    return entry
