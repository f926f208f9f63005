"""The adversarial suite's configuration and its resolution into budgets and an attack plan.

`AdversarialConfig` is what a spec writes under `suites.adversarial`. `resolve_config` turns it
into sorted epsilons per norm, the preset's (or the explicit list's) catalogue entries and checked
attack parameters; every mistake is a `ConfigError` naming its key, raised when the suite is built.
`plan_attacks` picks what runs on one model: without gradients, gradient attacks are dropped and
a decision-based attack stands in for a norm that has no score-based (Square) attack left.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from harness.core.adapter import ModelAdapter
from harness.core.errors import ConfigError, UnknownNameError
from harness.core.suite import SuiteConfig
from harness.core.task import Task
from harness.core.task_columns import TaskColumns
from harness.suites.adversarial import attacks as atk
from harness.suites.adversarial.budgets import (
    NORMS,
    Norm,
    default_budgets,
    eps_label,
    parse_eps,
)
from harness.suites.adversarial.presets import CUSTOM, check_preset, preset_attacks
from harness.suites.adversarial.text.config import ATTACK_THREATS, TextConfig


class AdversarialConfig(SuiteConfig):
    """`suites.adversarial` in a spec (docs/adversarial.md)."""

    preset: str = "standard"
    attacks: list[str] | None = None
    # None: the suite's default budgets for each task (budgets.default_budgets)
    epsilons: dict[str, list[float | str]] | None = None
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    max_samples: int | None = Field(default=None, ge=1)
    minimization_max_samples: int | None = Field(default=200, ge=1)
    allow_blackbox_fallback: bool = True
    blackbox_attack: Literal["hopskipjump", "boundary"] = "hopskipjump"
    checks: bool = True
    check_samples: int = Field(default=500, ge=1)
    noise_draws: int = Field(default=20, ge=1)
    eot_draws: int = 20
    examples: int = Field(default=8, ge=0)
    # rounds of stronger attacks when a masking check fires (escalation.py; 0: flag only)
    escalation_rounds: int = Field(default=3, ge=0)
    # tabular tasks: epsilons in the input's own units, or as a fraction of each feature's range
    eps_units: Literal["input", "feature_range"] = "input"
    # text tasks: threat models, budgets and constraints (suites/adversarial/text/config.py)
    text: TextConfig = Field(default_factory=TextConfig)

    @model_validator(mode="before")
    @classmethod
    def _attacks_mean_custom(cls, data: Any) -> Any:
        """An explicit attack list without a preset is the `custom` preset."""
        if isinstance(data, dict) and data.get("attacks") is not None and "preset" not in data:
            return {**data, "preset": CUSTOM}
        return data

    @field_validator("eot_draws")
    @classmethod
    def _positive_draws(cls, v: int) -> int:
        if v < 1:
            raise ValueError(
                "must be at least 1: the number of forward passes averaged for a randomised "
                "model (1 turns expectation over transformation off)"
            )
        return v


@dataclass(frozen=True, kw_only=True)
class ResolvedConfig:
    """The budgets and attacks a config asks for: epsilons sorted per norm, parameters checked."""

    preset: str
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
    preset: str = CUSTOM

    def norm_infos(self, norm: Norm) -> list[atk.AttackInfo]:
        return [i for i in self.infos if i.norm == norm]


def resolve_config(cfg: AdversarialConfig, task: Task | None = None) -> ResolvedConfig:
    """Epsilons (the spec's, else the default budgets for `task`: its headline threat model),
    attacks and parameters of `cfg`, refusing unknown names and parameters.

    Without a task (the suite's own check when built) budgets left out are `DEFAULT_BUDGETS`,
    every norm, so every parameter is checked; a task's defaults may leave a norm out, and the
    parameters of that norm's attacks are then unused there."""
    if cfg.epsilons is not None or task is None:
        given = cfg.epsilons if cfg.epsilons is not None else default_budgets(None)
        return resolve_budgets(cfg, given, check_params=True)
    return resolve_budgets(cfg, default_budgets(task), origin=f"task {task.name!r}'s default")


def resolve_budgets(
    cfg: AdversarialConfig,
    given: dict[str, list[float | str]],
    *,
    check_params: bool = False,
    origin: str = "",
) -> ResolvedConfig:
    """`cfg` at the budgets `given`; `origin` names them in a refusal (the spec's when empty)."""
    epsilons = resolve_epsilons(given)
    check_preset(cfg.preset)
    if cfg.preset == CUSTOM:
        if not cfg.attacks:
            raise ConfigError(
                "suites.adversarial.attacks: preset 'custom' needs a non-empty attack list"
            )
        names, base = list(cfg.attacks), dict[str, dict[str, Any]]()
    else:
        if cfg.attacks is not None:
            raise ConfigError(
                f"suites.adversarial: give either preset ({cfg.preset!r}) or attacks "
                f"({cfg.attacks}), not both"
            )
        names, base = preset_attacks(cfg.preset, [n for n in NORMS if epsilons.get(n)])
    attacks = resolve_attacks(names, epsilons, origin=origin)
    if check_params:
        _check_params(cfg, names)
    params = {}
    for info in attacks:
        merged = atk.attack_params(info, base.get(info.name))
        params[info.name] = atk.attack_params(info, {**merged, **cfg.params.get(info.name, {})})
    return ResolvedConfig(preset=cfg.preset, epsilons=epsilons, attacks=attacks, params=params)


def resolve_epsilons(given: dict[str, list[float | str]]) -> dict[Norm, list[float]]:
    """Each norm's budgets as sorted unique floats (`"8/255"` accepted)."""
    epsilons: dict[Norm, list[float]] = {}
    for name, values in given.items():
        norm = _norm(name)
        key = f"suites.adversarial.epsilons.{name}"
        parsed = {parse_eps(v, key=key): v for v in values}
        epsilons[norm] = sorted(parsed)
        named: dict[str, float] = {}
        for eps in epsilons[norm]:  # condition names (`eps=0.0313725`) must tell budgets apart
            label = eps_label(eps)
            if label in named:
                raise ConfigError(
                    f"{key}: {parsed[named[label]]} and {parsed[eps]} are two budgets both named "
                    f"eps={label} (6 significant digits); give one of them"
                )
            named[label] = eps
    if not any(epsilons.values()):
        raise ConfigError("suites.adversarial.epsilons: give at least one budget")
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


def resolve_attacks(
    names: list[str], epsilons: dict[Norm, list[float]], *, origin: str = ""
) -> list[atk.AttackInfo]:
    """Catalogue entries of the named attacks; each needs epsilons of its norm (`origin`: where
    the budgets come from when not from the spec, for the refusal)."""
    infos = []
    for name in names:
        try:
            info = atk.resolve_attack(name)
        except UnknownNameError as err:
            if name in ATTACK_THREATS:  # a text attack listed with the image ones
                raise ConfigError(
                    f"suites.adversarial.attacks: {name!r} is a text attack: list it under "
                    "suites.adversarial.text.attacks (which applies to text tasks)"
                ) from None
            raise ConfigError(f"suites.adversarial.attacks: {err}") from None
        if not epsilons.get(info.norm):
            raise ConfigError(
                f"suites.adversarial.epsilons.{info.norm}: attack {name!r} is an {info.norm} "
                f"attack but no {info.norm} epsilons are given"
                + (f" ({origin} has none; list them)" if origin else "")
            )
        infos.append(info)
    return infos


def _check_params(cfg: AdversarialConfig, names: list[str]) -> None:
    """Refuse parameters of attacks that never run, and unknown parameter names, now."""
    for name in cfg.params:
        try:
            info = atk.resolve_attack(name)
        except UnknownNameError as err:
            raise ConfigError(f"suites.adversarial.params: {err}") from None
        # decision-based attacks may be tuned without being listed: they are the fallback
        # for models without gradients
        if name not in names and info.kind != "decision":
            raise ConfigError(
                f"suites.adversarial.params.{name}: attack not in the preset's or the listed "
                "attacks (suites.adversarial.attacks)"
            )
        atk.attack_params(info, cfg.params[name])


def plan_attacks(
    resolved: ResolvedConfig, cfg: AdversarialConfig, adapter: ModelAdapter
) -> AttackPlan:
    """The attacks to run on this adapter (gradient-free ones only without gradients)."""
    return attack_plan(resolved, cfg, gradients=adapter.capabilities.gradients, model=adapter.name)


def refused_without_gradients(resolved: ResolvedConfig, cfg: AdversarialConfig) -> list[str]:
    """The attacks that need gradients when `allow_blackbox_fallback` is false: a model without
    gradients is then skipped (`AdversarialSuite.skip_reason`) instead of getting
    `attack_plan`'s gradient-free attacks; empty when it gets them."""
    if cfg.allow_blackbox_fallback:
        return []
    return [i.name for i in resolved.attacks if i.gradients]


def attack_plan(
    resolved: ResolvedConfig, cfg: AdversarialConfig, *, gradients: bool, model: str
) -> AttackPlan:
    """The attacks that run on a model with or without gradients (`model` names it in the
    note): the one decision behind both a job's attacks and what `harness run` announces for
    black-box models before the first job (plan_summary.py)."""
    if gradients:
        return AttackPlan(
            infos=resolved.attacks,
            params=resolved.params,
            notes=(),
            white_box=True,
            preset=resolved.preset,
        )
    infos, params, added = _blackbox_attacks(resolved, cfg)
    replaced = [i.name for i in resolved.attacks if i.gradients]
    notes: tuple[str, ...] = ()
    if replaced:
        kept = [i.name for i in infos if i.name not in added]
        notes = (
            f"model {model!r} exposes no gradients: gradient attacks {replaced} did not "
            f"run; black-box attacks {kept + added} did (robust accuracy is an upper bound)",
        )
    return AttackPlan(
        infos=infos, params=params, notes=notes, white_box=False, preset=resolved.preset
    )


def _blackbox_attacks(
    resolved: ResolvedConfig, cfg: AdversarialConfig
) -> tuple[list[atk.AttackInfo], dict[str, dict[str, Any]], list[str]]:
    """The gradient-free attacks of the config, plus a decision-based stand-in for every norm
    whose gradient attacks are gone and that has no score-based (Square) attack left."""
    infos = [i for i in resolved.attacks if not i.gradients]
    params = {i.name: resolved.params[i.name] for i in infos}
    added = []
    for norm in dict.fromkeys(i.norm for i in resolved.attacks if i.gradients):
        if any(i.norm == norm and i.kind == "fixed" for i in infos):
            continue  # a score-based attack (Square) of this norm still runs
        kind = cfg.blackbox_attack if norm == "l2" else "hopskipjump"
        info = atk.resolve_attack(f"{norm}_{kind}")
        if info.name not in params:
            infos.append(info)
            params[info.name] = atk.attack_params(info, cfg.params.get(info.name))
            added.append(info.name)
    return infos, params, added


TARGETED = "targets"
"""The parameter of the targeted attacks (APGD-T, FAB-T): how many target classes each sample
gets, its highest-scoring other classes. A task of k classes has k - 1 of them; a larger count
runs those k - 1 (as AutoAttack runs `n_target_classes` = 9 on 10 classes)."""


def check_targets(cfg: AdversarialConfig, tasks: Mapping[str, TaskColumns]) -> list[str]:
    """Refuse a `targets` the spec sets above what every task it runs on has (k - 1 target
    classes for k classes): `targets: 50` on digits and diabetes runs 9 and 1, and the job
    recorded 50. Below that on some task, it runs that task's k - 1 (recorded in the job's
    artifacts, `targets_run`). Returns a line per task whose class count only loading tells."""
    unchecked: list[str] = []
    for name, given in cfg.params.items():
        targets = given.get(TARGETED) if isinstance(given, Mapping) else None
        if not isinstance(targets, int) or isinstance(targets, bool):
            continue
        known = {t: c.num_classes for t, c in tasks.items() if c.num_classes is not None}
        most = max((n - 1 for n in known.values()), default=None)
        unknown = [c for c in tasks.values() if c.num_classes is None]
        if most is not None and targets > most and not unknown:
            having = ", ".join(f"{t!r} {n}" for t, n in sorted(known.items()))
            raise ConfigError(
                f"suites.adversarial.params.{name}.{TARGETED}: {targets} target classes, but "
                f"a sample has only its task's other classes (classes: {having}), so at most "
                f"{most} would run; write {most} or fewer"
            )
        if most is None or targets > most:
            unchecked.extend(
                f"suites.adversarial.params.{name}.{TARGETED}: not checked on task "
                f"{c.task!r}: {c.classes_unknown}"
                for c in unknown
            )
    return unchecked
