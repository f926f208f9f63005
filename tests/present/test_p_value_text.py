"""A p-value that underflowed to 0 is never printed as 0 (a test never gives certainty)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from harness.analysis.variant_deltas import format_p
from harness.present.check_view import p_text as check_p_text
from harness.stats.intervals import mcnemar_exact


def test_an_underflowed_mcnemar_p_is_not_printed_as_zero() -> None:
    # a variant (or a gate candidate) wrong on 1,100 more samples than its parent: 2 * 0.5^1100
    # is below the smallest float, and `harness variants` printed "p=0.000", the gate "p 0"
    p = mcnemar_exact(0, 1100)
    assert p == 0.0
    assert format_p(p) == "< 1e-300"
    row: Any = SimpleNamespace(p_adjusted=None, p_value=p, rule=None)
    assert check_p_text(row) == "< 1e-300"
    row = SimpleNamespace(p_adjusted=0.0, p_value=0.0, rule=None)
    assert check_p_text(row) == "< 1e-300"


def test_other_p_values_read_as_before() -> None:
    assert format_p(mcnemar_exact(0, 500)) == "6.11e-151"
    assert format_p(0.5) == "0.500" and format_p(None) == "—"
    assert check_p_text(SimpleNamespace(p_adjusted=0.0123, p_value=0.004, rule=None)) == "0.0123"
