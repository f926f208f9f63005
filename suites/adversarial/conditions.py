"""Condition names of the adversarial suite's rows and records.

`attack=<name>/eps=<eps>` for one attack at one budget, `attack=ensemble/norm=<norm>/eps=<eps>`
for the per-sample worst case over a norm's attacks (see `ensemble`); eps written by `eps_label`.
"""

from __future__ import annotations

from harness.suites.adversarial.budgets import Norm, eps_label


def attack_condition(attack: str, eps: float) -> str:
    return f"attack={attack}/eps={eps_label(eps)}"


def ensemble_condition(norm: Norm, eps: float) -> str:
    return f"attack=ensemble/norm={norm}/eps={eps_label(eps)}"
