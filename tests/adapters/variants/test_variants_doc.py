"""docs/variants.md's table of tests names the test `harness variants` gives each metric of the
committed quickstart baseline's two variants (digits-mlp@int8, digits-cnn@prune50)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "variants.md"


def documented_tests() -> dict[str, str]:
    """metric name -> the test the page's table gives it."""
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", DOC.read_text(), flags=re.M)
    assert len(rows) >= 6
    return {metric: test for test, cell in rows for metric in re.findall(r"`([a-z0-9_]+)`", cell)}


@pytest.mark.slow  # ~15 s: every paired test of the quickstart's two variants
def test_variants_page_names_each_metrics_test() -> None:
    import harness

    expected = documented_tests()
    seen: set[str] = set()
    for comparison in harness.variants(ROOT / "results" / "baselines" / "quickstart"):
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
