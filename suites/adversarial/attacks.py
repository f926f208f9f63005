"""The attack catalogue: every attack class the suite knows, registered once, by name.

Each line of `ATTACK_CLASSES` names one `Attack` subclass (`attack.py`, the seam); the catalogue
expands it into one entry per norm it attacks (`linf_apgd_ce`, `l2_apgd_ce`, ...). Native batched
attacks (FGSM, PGD, APGD-CE, APGD-T, FAB-T, Square) run through the checked `Forward` on the
adapter's device, seeded per sample from `counter_rng`; DeepFool, Carlini-Wagner, HopSkipJump and
Boundary run through foolbox 3.3.4 in the unit box (`blackbox.py`). Adding an attack: one file with
its class, and its line here.
"""

from __future__ import annotations

import difflib
import importlib
import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from harness.core.errors import ConfigError, UnknownNameError
from harness.suites.adversarial.attack import Attack, AttackKind
from harness.suites.adversarial.budgets import Norm

ATTACK_CLASSES: tuple[str, ...] = (
    "harness.suites.adversarial.pgd:Fgsm",
    "harness.suites.adversarial.pgd:Pgd",
    "harness.suites.adversarial.apgd:ApgdCe",
    "harness.suites.adversarial.apgd:ApgdT",
    "harness.suites.adversarial.fab:FabT",
    "harness.suites.adversarial.square:Square",
    "harness.suites.adversarial.linear_transfer:LinearTransfer",
    "harness.suites.adversarial.blackbox:DeepFool",
    "harness.suites.adversarial.blackbox:CarliniWagner",
    "harness.suites.adversarial.blackbox:HopSkipJump",
    "harness.suites.adversarial.blackbox:Boundary",
)
"""Every built-in attack, as "module:Class" (imported when the catalogue is first read)."""


@dataclass(frozen=True, kw_only=True)
class AttackInfo:
    """A catalogue entry: the attack's name and norm, and its class (kind, gradients, defaults)."""

    name: str
    norm: Norm
    cls: type[Attack]

    @property
    def kind(self) -> AttackKind:
        return self.cls.kind

    @property
    def gradients(self) -> bool:
        return self.cls.gradients

    @property
    def score_based(self) -> bool:
        return self.cls.score_based

    @property
    def family(self) -> str:
        return self.cls.family

    @property
    def defaults(self) -> dict[str, Any]:
        return self.cls.defaults(self.norm)

    @property
    def description(self) -> str:
        return self.cls.description(self.norm)

    def make(self, params: dict[str, Any]) -> Attack:
        """The attack with `params` (checked with `attack_params`)."""
        return self.cls(norm=self.norm, params=params)


@cache
def _classes() -> tuple[type[Attack], ...]:
    loaded = []
    for path in ATTACK_CLASSES:
        module, _, attr = path.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        assert isinstance(cls, type) and issubclass(cls, Attack), path
        loaded.append(cls)
    return tuple(loaded)


def _catalogue() -> dict[str, AttackInfo]:
    entries: dict[str, AttackInfo] = {}
    for cls in _classes():
        for name, norm in cls.names().items():
            if name in entries:
                raise ValueError(f"attack {name!r} is registered twice ({cls.__name__})")
            entries[name] = AttackInfo(name=name, norm=norm, cls=cls)  # type: ignore[arg-type]
    return entries


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
        where = f"{key or f'suites.adversarial.params.{info.name}'}.{name}"
        try:
            params[name] = _typed(value, default, where)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{where}: expected a {type(default).__name__}, got {value!r}"
            ) from None
        _check_limits(info, name, params[name], where)
        allowed = info.cls.choices.get(name)
        if allowed is not None and params[name] not in allowed:
            raise ConfigError(
                f"{key or f'suites.adversarial.params.{info.name}'}.{name}: {value!r} is not "
                f"one of {', '.join(map(str, allowed))}"
            )
    return params


def _typed(value: Any, default: Any, where: str) -> Any:
    """`value` as the type of the parameter's default. A switch takes true or false only
    (`bool("false")` is True); a count takes a whole number only (`int(10.5)` was 10, and
    `True` was 1)."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        return number
    return type(default)(value)


def _check_limits(info: AttackInfo, name: str, value: Any, where: str) -> None:
    """Refuse a number that makes the attack do no work or no sense: a count below 1 (no steps,
    restarts, targets or queries: every sample the attack should have broken stays robust, and
    the checks then blame the model's gradients), a step size, factor or fraction of 0 or less,
    and one above its class's ceiling (`Attack.at_most`). `Attack.at_least` lowers a floor
    where 0 means something (`skip_targets`, C&W's `confidence`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    low = info.cls.at_least.get(name)
    if low is not None:
        if value < low:
            raise ConfigError(f"{where}: must be at least {low:g} (got {value:g})")
    elif isinstance(value, int):
        if value < 1:
            raise ConfigError(f"{where}: must be at least 1 (got {value:g})")
    elif value <= 0:
        raise ConfigError(f"{where}: must be more than 0 (got {value:g})")
    high = info.cls.at_most.get(name)
    if high is not None and value > high:
        raise ConfigError(f"{where}: must be at most {high:g} (got {value:g})")
