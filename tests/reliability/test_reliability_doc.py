"""docs/reliability.md's counts of the bad-input catalogue and of the hostile corpus are the
test suite's: the catalogue's cases and slow cases, and each hostile file's collected tests."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
CATALOGUE = ROOT / "tests" / "reliability" / "bad_inputs.yaml"


def test_catalogue_counts_are_the_catalogues() -> None:
    cases = yaml.safe_load(CATALOGUE.read_text())["cases"]
    slow = sum(1 for case in cases if case.get("slow"))
    text = " ".join(PAGE.split())
    assert f"There are {len(cases)} cases" in text
    assert f"All {len(cases)} pass (the {slow} slow ones with `-m slow`)" in text


@pytest.mark.slow  # collects the hostile corpus in a child pytest (~5-8 s)
def test_hostile_table_counts_are_the_collected_tests() -> None:
    rows = re.findall(r"^\| [^|]+ \| `(test_\w+\.py)` \| (\d+) \|", PAGE, flags=re.M)
    documented: Counter[str] = Counter()
    for name, count in rows:
        documented[name] += int(count)
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        + ["-m", "slow or not slow", "tests/reliability/hostile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    actual = Counter(
        Path(line.split("::")[0]).name for line in collected.splitlines() if "::" in line
    )
    assert documented == actual
    total = re.search(r"All (\d+) cases above pass", " ".join(PAGE.split()))
    assert total is not None and int(total.group(1)) == sum(actual.values())
