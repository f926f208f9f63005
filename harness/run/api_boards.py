"""`harness leaderboard` as a Python function, `harness.leaderboard`: the boards of a results
folder as one pandas DataFrame. Reads results only: no torch (like every reader of results).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.analysis.headline import chance_fields
from harness.analysis.leaderboard import build_boards
from harness.run.suite_boards import installed_suite_boards


def leaderboard(
    results: str | Path,
    *,
    task: str | None = None,
    all_metrics: bool = False,
    allow_partial: bool = False,
) -> pd.DataFrame:
    """The boards of a results folder (or run folder) as one frame: `board`, `position`, `rank`,
    `model`, `task`, `task_fingerprint`, then per metric column its value, `_ci_low`,
    `_ci_high`, `_n` (and `_flags`, `_note`, `_failed` where set; an accuracy's `_chance` and
    `_at_or_below_chance`, as the command's JSON), and last `notes`: the list
    of the board's notes (a failed suite, a model shown from its latest run only, a subset...),
    as the command prints them under the board. `frame.attrs["units"]`: each metric column's
    unit and direction (`{"unit": "fraction", "higher_is_better": True}`), the JSON's `units`."""
    boards = build_boards(
        Path(results),
        task=task,
        all_metrics=all_metrics,
        allow_partial=allow_partial,
        suite_boards=installed_suite_boards(),
        partial_option="allow_partial=True",  # the refusal's way out, as Python spells it
    )
    rows = []
    for board in boards:
        for row in board.rows:
            # as the command's JSON: a worst group's own n, an accuracy's chance level
            flat = {**board.row_dict(row), **chance_fields(board, row.model)}
            for column in board.columns:
                ci = flat.pop(f"{column}_ci", None)
                flat[f"{column}_ci_low"] = ci[0] if ci else None
                flat[f"{column}_ci_high"] = ci[1] if ci else None
            rows.append({"board": board.title, **flat, "notes": list(board.notes)})
    first = ["board", "position", "rank", "model", "task", "task_fingerprint"]
    frame = pd.DataFrame(rows)
    middle = [c for c in frame if c not in first and c != "notes"]
    frame = frame[[c for c in first if c in frame] + middle + (["notes"] if rows else [])]
    # each metric's unit and direction, as the command's JSON `units` (an ECE of 0.02 is not an
    # accuracy of 0.02): {column: {"unit": ..., "higher_is_better": ...}}
    frame.attrs["units"] = {k: v for board in boards for k, v in board.unit_fields().items()}
    return frame
