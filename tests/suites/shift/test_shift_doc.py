"""docs/shift.md's account of the quickstart's effective robustness ("Why the quickstart's
non-variant models have no interval") gives the shares of bootstrap resamples without a line
that the committed baseline's leaderboard notes count, and its quoted mCE note is the digits
board's."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

from harness.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
PAGE = " ".join((ROOT / "docs" / "shift.md").read_text(encoding="utf-8").split())
BASELINE = ROOT / "results" / "baselines" / "quickstart"
COLUMN = "effective_robustness[shifted=digits-shifted]"


def _board() -> list[dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["leaderboard", str(BASELINE), "--task", "digits", "--format", "json"])
    assert code == 0
    rows: list[dict[str, Any]] = json.loads(out.getvalue())
    return rows


def _shares(board: list[dict[str, Any]]) -> dict[str, float]:
    """model -> share of resamples whose testbed has no line, from the board's notes."""
    shares = {}
    for row in board:
        note = row.get(f"{COLUMN}_note") or ""
        found = re.search(r"in (\d+) of (\d+) bootstrap resamples", note)
        assert found is not None, row["model"]
        shares[row["model"]] = int(found.group(1)) / int(found.group(2))
    return shares


def test_quoted_numbers_are_the_baselines() -> None:
    board = _board()
    shares = _shares(board)
    plain = [share for model, share in shares.items() if "@" not in model]
    variants = [share for model, share in shares.items() if "@" in model]
    low, high = round(100 * min(plain)), round(100 * max(plain))
    assert f"so {low}-{high}% of the resamples give them equal" in PAGE
    assert f"(on the quickstart, {high}% of the draws for one model)" in PAGE
    assert f"(about {round(100 * max(variants))}% such resamples)" in PAGE
    # the mCE note the page quotes is the baseline's note, from its start
    note = next(row["mce_note"] for row in board if row["model"] == "digits-cnn")
    quoted = re.search(r'"(mCE over [^"]+)"', PAGE)
    assert quoted is not None and note.startswith(quoted.group(1)), (quoted, note)
