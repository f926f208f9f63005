"""Arguments passed from Python that name files and folders (`harness.leaderboard(results)`,
`harness.check(baseline, current, policy=...)`, `result.save(out)`...): a `str` or `os.PathLike`,
anything else refused in one line naming the argument (not a TypeError from deep inside)."""

from __future__ import annotations

import os
from pathlib import Path

from harness.core.errors import SpecError


def path_argument(key: str, value: object) -> Path:
    """`value` as a Path; an in-memory result (it has `save`) is told to be saved first."""
    if isinstance(value, str | os.PathLike):
        return Path(value)
    hint = ""
    if callable(getattr(value, "save", None)) and callable(getattr(value, "metrics_frame", None)):
        hint = "; save the result first (folder = result.save('results')) and pass its folder"
    raise SpecError(
        f"{key}: expected a path (str or pathlib.Path), got {type(value).__name__}{hint}"
    )
