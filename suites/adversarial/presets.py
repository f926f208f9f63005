"""Attack presets: `standard` (the default: AutoAttack-equivalent strength) and `fast` (CI loops).

A preset expands, for every norm that has epsilons, into APGD-CE, APGD-T and Square with the
preset's parameters, run as a cascade (each attack only on the samples still unbroken, as
AutoAttack does). `custom` means an explicit `attacks:` list. The preset name is part of the
suite's config (so of the comparability fingerprint) and of every robust_acc record's context.

`standard` matches AutoAttack's standard version (Croce & Hein 2020) except FAB-T, which the
AutoAttack paper and our measurements find adds nothing after APGD-T (docs/adversarial.md); its
Square screens with 1,000 queries and goes on to AutoAttack's 5,000 only when the screen broke a
sample every gradient attack missed (the sign of gradient masking that Square is there for).
`fast` runs a fraction of the iterations and queries; docs/adversarial.md has both measured against
AutoAttack.
"""

from __future__ import annotations

import difflib
from typing import Any

from harness.core.errors import ConfigError
from suites.adversarial.budgets import Norm

CUSTOM = "custom"

_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "standard": {
        "apgd_ce": {"steps": 100, "restarts": 1},
        "apgd_t": {"steps": 100, "restarts": 1, "targets": 9},
        "fab_t": {"steps": 100, "restarts": 1, "targets": 9},
        "square": {"queries": 5000, "p_init": 0.8, "rescale": False},
    },
    "fast": {
        "apgd_ce": {"steps": 25, "restarts": 1},
        "apgd_t": {"steps": 25, "restarts": 1, "targets": 3},
        "square": {"queries": 300, "p_init": 0.8, "rescale": True},
    },
}


def preset_names() -> tuple[str, ...]:
    return (*_PRESETS, CUSTOM)


def check_preset(name: str) -> None:
    """Refuse an unknown preset name with close matches."""
    if name in preset_names():
        return
    close = difflib.get_close_matches(name, preset_names(), n=1, cutoff=0.4)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(
        f"suites.adversarial.preset: unknown preset {name!r}; {hint}known presets: "
        f"{', '.join(preset_names())} (custom = an explicit attacks: list)"
    )


def preset_attacks(name: str, norms: list[Norm]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The attack names of preset `name` for `norms` (cascade order) and their parameters."""
    check_preset(name)
    families = _PRESETS[name]
    names: list[str] = []
    params: dict[str, dict[str, Any]] = {}
    for norm in norms:
        for family, values in families.items():
            attack = f"{norm}_{family}"
            names.append(attack)
            params[attack] = dict(values)
    return names, params
