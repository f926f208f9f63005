"""docs/variants.md's table of tests names the test `harness variants` gives each metric of the
committed quickstart baseline's two variants (digits-mlp@int8, digits-cnn@prune50), and the int8
variant's mean corruption interval that variants.md and shift.md quote is the one it gives."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "variants.md"
SHIFT_DOC = ROOT / "docs" / "shift.md"


@pytest.fixture(scope="module")
def comparisons() -> list[Any]:
    import harness

    return list(harness.variants(ROOT / "results" / "baselines" / "quickstart"))


def documented_tests() -> dict[str, str]:
    """metric name -> the test the page's table gives it."""
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", DOC.read_text(), flags=re.M)
    assert len(rows) >= 6
    return {metric: test for test, cell in rows for metric in re.findall(r"`([a-z0-9_]+)`", cell)}


@pytest.mark.slow  # ~15 s: every paired test of the quickstart's two variants
def test_variants_page_names_each_metrics_test(comparisons: list[Any]) -> None:
    expected = documented_tests()
    seen: set[str] = set()
    for comparison in comparisons:
        for delta in comparison.deltas:
            metric = delta.metric.split("[")[0]
            if metric not in expected:
                continue
            seen.add(metric)
            allowed = {expected[metric], "not compared", "inconclusive"}
            if delta.detail == "undefined value":
                allowed.add("none")
            assert delta.test in allowed, (delta.metric, delta.test, expected[metric])
    # every test family of the table is exercised by the quickstart
    assert {expected[m] for m in seen} == set(expected.values())


@pytest.mark.slow  # shares the ~15 s computation above
def test_quoted_int8_mean_corruption_interval_is_the_computed_one(comparisons: list[Any]) -> None:
    (int8,) = [c for c in comparisons if c.variant_model == "digits-mlp@int8"]
    (delta,) = [d for d in int8.deltas if d.metric == "mean_corruption_acc"]
    low, high = delta.ci
    quoted = f"[{low:+.4f}, {high:+.4f}]".replace("[+", "[")
    for page in (DOC, SHIFT_DOC):
        text = " ".join(page.read_text().split())
        assert quoted in text, (page.name, quoted)
