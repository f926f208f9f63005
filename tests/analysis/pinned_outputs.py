"""The analysis outputs pinned by tests/analysis/test_pinned_outputs.py, computed from stored
results folders: leaderboard JSON, every headline ranking of the report (ranks, and each paired
comparison's test, difference, interval, p-value and Holm-adjusted p-value, floats as their exact
repr), `harness groups --by label` JSON and the gate's report with its exit code.

The folders are fixed files (the committed quickstart baseline; `data/scale12`: 12 callable
linear models on 100 digits, a baseline and a retrained current, written by `harness run` through
benchmarks/bench_scale.py), so the outputs are the same bit for bit on every run. Rewrite the
pinned files only when a change moves a number on purpose, and say which and why in the commit:
    python -m tests.analysis.pinned_outputs --write [CASE ...]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.analysis import paired_tests
from harness.analysis.headline import headline_board, read_outcomes
from harness.analysis.leaderboard import build_boards
from harness.cli.main import main
from harness.run.suite_boards import installed_suite_boards

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
PINS = DATA / "pins"


def _cli(*args: str) -> str:
    """stdout of `harness args...` (width unlimited), with its exit code on the last line."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*args, "--width", "0"])
    return _portable(out.getvalue() + f"[exit {code}]\n")


def _portable(text: str) -> str:
    """The text with this checkout's path written as <repo> (pins hold no machine's paths)."""
    return text.replace(str(REPO), "<repo>")


def _comparison(
    leader: str, model: str, result: paired_tests.PairedResult, adjusted: float | None
) -> dict[str, Any]:
    return {
        "leader": leader,
        "model": model,
        "test": result.test,
        "n": result.n,
        "diff": result.diff,
        "p": result.p_value,
        "holm_p": adjusted,
        "ci": list(result.ci) if result.ci is not None else None,
        "se": result.se,
        "spread": result.spread,
        "detail": result.detail,
    }


def rankings(root: Path) -> str:
    """Every headline ranking of every board (what the report's boards rank), as JSON."""
    outcomes = read_outcomes(root)
    out = []
    for board in build_boards(root, suite_boards=installed_suite_boards()):
        head = headline_board(board, outcomes)
        for column, ranking in zip(head.columns, head.rankings, strict=True):
            out.append(
                {
                    "board": board.title,
                    "column": column.label,
                    "ranks": ranking.ranks,
                    "method": ranking.method,
                    "comparisons": [_comparison(*c) for c in ranking.comparisons],
                }
            )
    return _portable(json.dumps(out, indent=1) + "\n")


@dataclass(frozen=True)
class Case:
    """A pinned output: its file name under data/pins and how to compute it."""

    name: str
    compute: Callable[[], str]


QUICKSTART = REPO / "results" / "baselines" / "quickstart"
SCALE_BASE = DATA / "scale12" / "baseline"
SCALE_CURRENT = DATA / "scale12" / "current"


def _run(root: Path) -> Path:
    (run,) = sorted((root / "runs").iterdir())
    return run


QUICKSTART_CASES = (
    Case(
        "quickstart-leaderboard.json",
        lambda: _cli("leaderboard", str(QUICKSTART), "--format", "json"),
    ),
    Case("quickstart-rankings.json", lambda: rankings(QUICKSTART)),
    Case(
        "quickstart-groups.json",
        lambda: _cli("groups", str(QUICKSTART), "--by", "label", "--format", "json"),
    ),
    Case(
        "quickstart-check.md",
        lambda: _cli(
            "check",
            "--baseline",
            str(_run(QUICKSTART)),
            "--current",
            str(_run(QUICKSTART)),
            "--format",
            "md",
        ),
    ),
)
SCALE_CASES = (
    Case(
        "scale12-leaderboard.json", lambda: _cli("leaderboard", str(SCALE_BASE), "--format", "json")
    ),
    Case(
        "scale12-leaderboard-all.json",
        lambda: _cli("leaderboard", str(SCALE_CURRENT), "--format", "json", "--all-metrics"),
    ),
    Case("scale12-rankings.json", lambda: rankings(SCALE_BASE)),
    Case(
        "scale12-groups.json",
        lambda: _cli("groups", str(SCALE_BASE), "--by", "label", "--format", "json"),
    ),
    Case(
        "scale12-check.md",
        lambda: _cli(
            "check",
            "--baseline",
            str(_run(SCALE_BASE)),
            "--current",
            str(_run(SCALE_CURRENT)),
            "--format",
            "md",
        ),
    ),
)
CASES = {c.name: c for c in (*QUICKSTART_CASES, *SCALE_CASES)}


def main_write() -> None:
    parser = argparse.ArgumentParser(description="rewrite the pinned analysis outputs")
    parser.add_argument("--write", action="store_true", required=True)
    parser.add_argument("cases", nargs="*", help="file names (default: every case)")
    args = parser.parse_args()
    PINS.mkdir(parents=True, exist_ok=True)
    for name in args.cases or list(CASES):
        (PINS / name).write_text(CASES[name].compute())
        print(f"wrote {PINS / name}")


if __name__ == "__main__":
    main_write()
