"""Attack names in words for titles and captions (`linf_apgd_ce` -> `APGD-CE`).

Tables keep the exact names (users grep for them); figures and captions say the attack as its
paper does, without the norm (the threat model is named beside it). An attack this module does
not know is shown by its name with the norm prefix removed and underscores as spaces.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

WORDS: dict[str, str] = {
    "fgsm": "FGSM",
    "pgd": "PGD",
    "apgd_ce": "APGD-CE",
    "apgd_t": "APGD-T",
    "apgd_dlr": "APGD-DLR",
    "fab": "FAB",
    "fab_t": "FAB-T",
    "square": "Square",
    "deepfool": "DeepFool",
    "hopskipjump": "HopSkipJump",
    "cw": "Carlini-Wagner",
    "boundary": "Boundary attack",
}
_NORM_PREFIXES = ("linf_", "l2_", "l1_")


def attack_words(name: str) -> str:
    """`linf_apgd_ce` -> `APGD-CE`; an unknown name without its norm, underscores as spaces."""
    base = name
    for prefix in _NORM_PREFIXES:
        if base.startswith(prefix):
            base = base[len(prefix) :]
            break
    return WORDS.get(base, base.replace("_", " "))


def attacks_summary(names: Sequence[str]) -> str:
    """Which attacks found a set of examples, most first: `APGD-CE (4), Square (2)`."""
    counts = Counter(attack_words(n) for n in names if n)
    return ", ".join(f"{name} ({k})" for name, k in counts.most_common())
