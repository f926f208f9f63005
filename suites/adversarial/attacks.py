"""The attack catalogue: every attack the suite knows, its norm, kind, defaults and runner.

Native batched attacks (`fgsm`, PGD, APGD-CE, APGD-T, Square) run through the checked `Forward`
on the adapter's device, seeded per sample from `counter_rng`. DeepFool and Carlini-Wagner
(norm minimisation) and HopSkipJump and Boundary (decision-based, labels only) run through foolbox
3.3.4 in the unit box (`blackbox`). A new attack is an entry here plus its runner.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

import torch

from harness.core.errors import ConfigError, UnknownNameError
from suites.adversarial.apgd import apgd
from suites.adversarial.budgets import Norm
from suites.adversarial.forward import Forward
from suites.adversarial.pgd import fgsm, pgd
from suites.adversarial.square import square

AttackKind = Literal["fixed", "minimization", "decision"]


@dataclass(frozen=True, kw_only=True)
class AttackInfo:
    """A catalogue entry: norm, kind (fixed budget, norm minimisation, decision-based), whether
    it needs input gradients, its family (which runner), defaults and a one-line description."""

    name: str
    norm: Norm
    kind: AttackKind
    gradients: bool
    family: str
    defaults: dict[str, Any]
    description: str

    @property
    def native(self) -> bool:
        return self.family in _NATIVE


_NATIVE = ("fgsm", "pgd", "apgd_ce", "apgd_t", "square")


def _entry(
    name: str,
    norm: Norm,
    family: str,
    defaults: dict[str, Any],
    description: str,
    *,
    kind: AttackKind = "fixed",
    gradients: bool = True,
) -> AttackInfo:
    return AttackInfo(
        name=name,
        norm=norm,
        kind=kind,
        gradients=gradients,
        family=family,
        defaults=defaults,
        description=description,
    )


def _catalogue() -> dict[str, AttackInfo]:
    pgd_defaults = {"steps": 10, "rel_stepsize": 2.5, "restarts": 1, "random_start": True}
    apgd_ce = {"steps": 100, "restarts": 1, "rho": 0.75}
    apgd_t = {"steps": 100, "restarts": 1, "targets": 9, "rho": 0.75}
    sq = {"queries": 5000, "p_init": 0.8, "rescale": False, "screen_queries": 0}
    deepfool = {"steps": 50, "candidates": 10, "overshoot": 0.02, "loss": "logits"}
    decision = {"steps": 16, "initial_gradient_eval_steps": 50, "max_gradient_eval_steps": 500}
    cw = {
        "binary_search_steps": 5,
        "steps": 100,
        "stepsize": 0.01,
        "confidence": 0.0,
        "initial_const": 1e-3,
        "abort_early": True,
    }
    entries = [_entry("fgsm", "linf", "fgsm", {}, "one signed-gradient step of size eps")]
    for norm in ("linf", "l2"):
        n = "L-inf" if norm == "linf" else "L2"
        entries += [
            _entry(
                f"{norm}_pgd",
                norm,
                "pgd",
                pgd_defaults,
                f"Madry {n} PGD with random restarts, best iterate kept",
            ),
            _entry(
                f"{norm}_apgd_ce",
                norm,
                "apgd_ce",
                apgd_ce,
                f"{n} APGD on the cross-entropy loss (Croce & Hein 2020)",
            ),
            _entry(
                f"{norm}_apgd_t",
                norm,
                "apgd_t",
                apgd_t,
                f"{n} APGD on the targeted DLR loss, top-k target classes (Croce & Hein 2020)",
            ),
            _entry(
                f"{norm}_square",
                norm,
                "square",
                sq,
                f"{n} Square attack, score-based (logits only; Andriushchenko et al. 2020)",
                gradients=False,
            ),
            _entry(
                f"{norm}_deepfool",
                norm,
                "foolbox",
                deepfool,
                f"{n} DeepFool (foolbox), minimal perturbation",
                kind="minimization",
            ),
            _entry(
                f"{norm}_hopskipjump",
                norm,
                "foolbox",
                {**decision, "constraint": norm},
                "HopSkipJump (foolbox), decision-based, labels only",
                kind="decision",
                gradients=False,
            ),
        ]
    entries += [
        _entry(
            "l2_cw",
            "l2",
            "foolbox",
            cw,
            "Carlini-Wagner L2 (foolbox), minimal perturbation",
            kind="minimization",
        ),
        _entry(
            "l2_boundary",
            "l2",
            "foolbox",
            {"steps": 500, "spherical_step": 0.01, "source_step": 0.01},
            "Boundary attack (foolbox), decision-based, labels only",
            kind="decision",
            gradients=False,
        ),
    ]
    return {a.name: a for a in entries}


def attack_catalogue() -> dict[str, AttackInfo]:
    """Every attack the suite knows, by name (a fresh dict: no module-level mutable state)."""
    return _catalogue()


def resolve_attack(name: str) -> AttackInfo:
    catalogue = _catalogue()
    if name not in catalogue:
        raise UnknownNameError("attack", name, catalogue)
    return catalogue[name]


def attack_params(
    info: AttackInfo, overrides: dict[str, Any] | None, *, key: str | None = None
) -> dict[str, Any]:
    """Defaults merged with overrides; unknown keys are refused with close matches."""
    params = dict(info.defaults)
    for name, value in (overrides or {}).items():
        if name not in params:
            close = difflib.get_close_matches(name, list(params), n=2)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            known = ", ".join(params) or "(none)"
            raise ConfigError(
                f"{key or f'suites.adversarial.params.{info.name}'}.{name}: unknown parameter"
                f"{hint}; known: {known}"
            )
        default = params[name]
        try:
            params[name] = bool(value) if isinstance(default, bool) else type(default)(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{key or f'suites.adversarial.params.{info.name}'}.{name}: expected a "
                f"{type(default).__name__}, got {value!r}"
            ) from None
    return params


def run_native(
    info: AttackInfo,
    params: dict[str, Any],
    fwd: Forward,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    bounds: tuple[float, float],
    seeds: torch.Tensor,
    queries: int | None = None,
) -> torch.Tensor:
    """Candidates of a native fixed-budget attack on a batch (the clean input where it found
    nothing; FGSM returns its step for every sample). `queries` overrides Square's budget."""
    match info.family:
        case "fgsm":
            return fgsm(fwd, x, y, eps=eps, bounds=bounds)
        case "pgd":
            return pgd(
                fwd,
                x,
                y,
                norm=info.norm,
                eps=eps,
                steps=params["steps"],
                rel_stepsize=params["rel_stepsize"],
                restarts=params["restarts"],
                random_start=params["random_start"],
                bounds=bounds,
                seeds=seeds,
            ).adv
        case "apgd_ce" | "apgd_t":
            return apgd(
                fwd,
                x,
                y,
                norm=info.norm,
                eps=eps,
                bounds=bounds,
                seeds=seeds,
                steps=params["steps"],
                restarts=params["restarts"],
                loss="ce" if info.family == "apgd_ce" else "dlr_targeted",
                targets=params.get("targets", 0),
                rho=params["rho"],
            ).adv
        case "square":
            return square(
                fwd,
                x,
                y,
                norm=info.norm,
                eps=eps,
                bounds=bounds,
                seeds=seeds,
                queries=queries if queries is not None else params["queries"],
                p_init=params["p_init"],
                rescale=params["rescale"],
            ).adv
    raise ValueError(f"attack {info.name!r} is not a native attack")
