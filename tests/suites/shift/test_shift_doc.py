"""docs/shift.md's account of the quickstart's effective robustness ("Why the quickstart's
non-variant models have no interval") gives the shares of bootstrap resamples without a line
that the committed baseline's leaderboard notes count."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

from harness.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
PAGE = " ".join((ROOT / "docs" / "shift.md").read_text(encoding="utf-8").split())
BASELINE = ROOT / "results" / "baselines" / "quickstart"
COLUMN = "effective_robustness[shifted=digits-shifted]"


def _shares() -> dict[str, float]:
    """model -> share of resamples whose testbed has no line, from the board's notes."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["leaderboard", str(BASELINE), "--task", "digits", "--format", "json"])
    assert code == 0
    shares = {}
    for row in json.loads(out.getvalue()):
        note = row.get(f"{COLUMN}_note") or ""
        found = re.search(r"in (\d+) of (\d+) bootstrap resamples", note)
        assert found is not None, row["model"]
        shares[row["model"]] = int(found.group(1)) / int(found.group(2))
    return shares


def test_quoted_resample_shares_are_the_baselines() -> None:
    shares = _shares()
    plain = [share for model, share in shares.items() if "@" not in model]
    variants = [share for model, share in shares.items() if "@" in model]
    low, high = round(100 * min(plain)), round(100 * max(plain))
    assert f"so {low}-{high}% of the resamples give them equal" in PAGE
    assert f"(on the quickstart, {high}% of the draws for one model)" in PAGE
    assert f"(about {round(100 * max(variants))}% such resamples)" in PAGE
