"""Attack presets: `standard` (the default: AutoAttack's standard version) and `fast` (CI loops).

A preset expands, for every norm that has epsilons, into its attacks with the preset's
parameters, run as a cascade (each attack only on the samples still unbroken, as AutoAttack
does). `custom` means an explicit `attacks:` list. The preset name is part of the suite's config
(so of the comparability fingerprint) and of every robust_acc record's context.

`standard` is AutoAttack's standard version (Croce & Hein 2020) in full: APGD-CE, APGD-T over 9
targets, FAB-T over 9 targets, Square with 5,000 queries, each on every sample still unbroken.
`fast` runs a fraction of the iterations and queries: APGD-CE 40 steps, APGD-T 40 steps on the
2 targets MALT ranks closest (Melamed et al. 2024), Square 300 queries on the rescaled schedule.
Steps buy more than targets there: on mnist-cnn-adv at L-inf 0.3, against AutoAttack's 0.725,
25 steps on 3 targets gave 0.735 (4 targets: 0.735; Square at 1,000 queries: 0.735) and 40 steps
on 2 targets 0.730 at about 1.15x the CPU. docs/adversarial.md ("Benchmarks") has both presets
measured against AutoAttack.
"""

from __future__ import annotations

import difflib
from typing import Any

from harness.core.errors import ConfigError
from harness.suites.adversarial.budgets import Norm

CUSTOM = "custom"

_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "standard": {
        "apgd_ce": {"steps": 100, "restarts": 1},
        "apgd_t": {"steps": 100, "restarts": 1, "targets": 9},
        "fab_t": {"steps": 100, "restarts": 1, "targets": 9},
        "square": {"queries": 5000, "p_init": 0.8, "rescale": False},
    },
    "fast": {
        "apgd_ce": {"steps": 40, "restarts": 1},
        "apgd_t": {"steps": 40, "restarts": 1, "targets": 2, "target_order": "malt"},
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
