"""The adversarial suite's configuration and its resolution into budgets and an attack plan.

`AdversarialConfig` is what a spec writes under `suites.adversarial`. `resolve_config` turns it
into sorted epsilons per norm, catalogue entries and checked attack parameters; every mistake is a
`ConfigError` naming its key, raised when the suite is built. `plan_attacks` picks what runs on one
model: decision-based attacks replace the gradient ones when the model exposes no gradients.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from harness.core.adapter import ModelAdapter
from harness.core.errors import ConfigError, UnknownNameError
from harness.core.suite import SuiteConfig
from suites.adversarial import attacks as atk
from suites.adversarial.budgets import NORMS, Norm, parse_eps


def _default_attacks() -> list[str]:
    return ["fgsm", "linf_pgd", "l2_pgd", "linf_deepfool", "l2_deepfool", "l2_cw"]


def _default_epsilons() -> dict[str, list[float | str]]:
    return {"linf": [0.05, 0.1], "l2": [0.5, 1.0]}


class AdversarialConfig(SuiteConfig):
    """`suites.adversarial` in a spec (docs/adversarial.md)."""

    attacks: list[str] = Field(default_factory=_default_attacks)
    epsilons: dict[str, list[float | str]] = Field(default_factory=_default_epsilons)
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    max_samples: int | None = Field(default=None, ge=1)
    minimization_max_samples: int | None = Field(default=200, ge=1)
    allow_blackbox_fallback: bool = True
    blackbox_attack: Literal["hopskipjump", "boundary"] = "hopskipjump"
    checks: bool = True
    check_samples: int = Field(default=100, ge=1)
    noise_draws: int = Field(default=20, ge=1)


@dataclass(frozen=True, kw_only=True)
class ResolvedConfig:
    """The budgets and attacks a config asks for: epsilons sorted per norm, parameters checked."""

    epsilons: dict[Norm, list[float]]
    attacks: list[atk.AttackInfo]
    params: dict[str, dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class AttackPlan:
    """The attacks that run on one model, their parameters, and notes on any substitution."""

    infos: list[atk.AttackInfo]
    params: dict[str, dict[str, Any]]
    notes: tuple[str, ...]
    white_box: bool


def resolve_config(cfg: AdversarialConfig) -> ResolvedConfig:
    """Epsilons, attacks and parameters of `cfg`, refusing unknown names and parameters."""
    epsilons = resolve_epsilons(cfg.epsilons)
    attacks = resolve_attacks(cfg.attacks, epsilons)
    _check_params(cfg)
    params = {i.name: atk.attack_params(i, cfg.params.get(i.name)) for i in attacks}
    return ResolvedConfig(epsilons=epsilons, attacks=attacks, params=params)


def resolve_epsilons(given: dict[str, list[float | str]]) -> dict[Norm, list[float]]:
    """Each norm's budgets as sorted unique floats (`"8/255"` accepted)."""
    epsilons: dict[Norm, list[float]] = {}
    for name, values in given.items():
        norm = _norm(name)
        key = f"suites.adversarial.epsilons.{name}"
        epsilons[norm] = sorted({parse_eps(v, key=key) for v in values})
    return epsilons


def _norm(name: str) -> Norm:
    for norm in NORMS:
        if norm == name:
            return norm
    close = difflib.get_close_matches(name.lower(), NORMS, n=1, cutoff=0.3)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(
        f"suites.adversarial.epsilons.{name}: unknown norm; {hint}known norms: linf, l2"
    )


def resolve_attacks(names: list[str], epsilons: dict[Norm, list[float]]) -> list[atk.AttackInfo]:
    """Catalogue entries of the named attacks; each needs epsilons of its norm."""
    infos = []
    for name in names:
        try:
            info = atk.resolve_attack(name)
        except UnknownNameError as err:
            raise ConfigError(f"suites.adversarial.attacks: {err}") from None
        if not epsilons.get(info.norm):
            raise ConfigError(
                f"suites.adversarial.epsilons.{info.norm}: attack {name!r} is an {info.norm} "
                f"attack but no {info.norm} epsilons are given"
            )
        infos.append(info)
    return infos


def _check_params(cfg: AdversarialConfig) -> None:
    """Refuse parameters of attacks that never run, and unknown parameter names, now."""
    for name in cfg.params:
        # decision-based attacks may be tuned without being listed: they are the fallback
        # for models without gradients
        fallback = name in cfg.attacks or atk.resolve_attack(name).kind == "decision"
        if not fallback:
            raise ConfigError(
                f"suites.adversarial.params.{name}: attack not in suites.adversarial.attacks"
            )
        atk.attack_params(atk.resolve_attack(name), cfg.params[name])


def plan_attacks(
    resolved: ResolvedConfig, cfg: AdversarialConfig, adapter: ModelAdapter
) -> AttackPlan:
    """The attacks to run on this adapter (decision-based fallback without gradients)."""
    if adapter.capabilities.gradients:
        return AttackPlan(infos=resolved.attacks, params=resolved.params, notes=(), white_box=True)
    infos = [i for i in resolved.attacks if not i.gradients]
    params = {i.name: resolved.params[i.name] for i in infos}
    replaced = [i.name for i in resolved.attacks if i.gradients]
    added = []
    for norm in dict.fromkeys(i.norm for i in resolved.attacks if i.gradients):
        kind = cfg.blackbox_attack if norm == "l2" else "hopskipjump"
        info = atk.resolve_attack(f"{norm}_{kind}")
        if info.name not in params:
            infos.append(info)
            params[info.name] = atk.attack_params(info, cfg.params.get(info.name))
            added.append(info.name)
    notes: tuple[str, ...] = ()
    if replaced:
        notes = (
            f"model {adapter.name!r} exposes no gradients: gradient attacks {replaced} were "
            f"replaced by decision-based {added} (labels only; robust accuracy is an upper bound)",
        )
    return AttackPlan(infos=infos, params=params, notes=notes, white_box=False)
