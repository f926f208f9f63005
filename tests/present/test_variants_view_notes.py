"""`harness variants` prints a comparison's notes whatever its status: a parent whose job folder
is gone reads "no parent results", and the PARTIAL note naming that missing job (first in the
notes of every comparison on an affected task, docs/reliability.md) was in the JSON only."""

from __future__ import annotations

import pytest

from harness.analysis.variant_deltas import VariantComparison, VariantSize
from harness.present.variants_view import render

PARTIAL = (
    "PARTIAL results (compared with --allow-partial): 1 job(s) missing: m × digits × accuracy "
    "(its job folder jobs/m--digits--accuracy--0123 is missing)"
)


@pytest.mark.parametrize("fmt", ["table", "md"])
@pytest.mark.parametrize("status", ["no parent results", "failed", "parent failed"])
def test_a_comparison_that_did_not_compare_keeps_its_notes(fmt: str, status: str) -> None:
    size = VariantSize(*[None] * 8)
    comp = VariantComparison(
        "m@int8", "m", "int8", "digits", size, status, "why it did not", notes=[PARTIAL]
    )
    text = render([comp], fmt, width=None)  # type: ignore[arg-type]
    lines = text.splitlines()
    said = next(i for i, line in enumerate(lines) if line.startswith(f"{status}: why it did not"))
    assert "PARTIAL results (compared with --allow-partial)" in lines[said + 1]
