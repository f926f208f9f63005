"""`harness variants` as a Python function, `harness.variants`: each compressed variant (int8,
fp16, pruned) against its parent, paired on the same samples, as typed records. Reads results
only: no torch (like every reader of results). The CLI's `harness variants` calls it and only
renders what it returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from harness.analysis.variant_deltas import (
    VariantComparison,
    compare_variants,
    mark_failed,
    mark_partial,
)
from harness.config.variants import SEPARATOR, parse_variant
from harness.core.errors import HarnessError, ResultsError
from harness.core.suite_board import suite_configs
from harness.run.suite_boards import installed_suite_boards
from harness.store.completeness import completeness
from harness.store.run_store import load_jobs


def variants(
    results: str | Path,
    *,
    task: str | None = None,
    allow_partial: bool = False,
    option_names: Literal["python", "cli"] = "python",
) -> list[VariantComparison]:
    """Every variant on every task (or `task`) against its parent: sizes, each metric's delta
    with its paired test (Holm-adjusted), and the slices where the harm concentrates (docs/
    variants.md); `VariantComparison.to_dict()` is a comparison as `--format json` writes it.
    As the leaderboard, a run that did not finish or a job folder gone would drop a variant or
    its parent silently: refused (one ResultsError line) unless `allow_partial`, then noted
    first on every comparison it touches. The refusal names `allow_partial=True` as the caller
    spells it: `option_names="cli"` (harness variants) says `--allow-partial`."""
    path = Path(results)
    if not path.is_dir():
        raise ResultsError(f"results folder {path} does not exist or is not a folder")
    loaded = load_jobs(path)
    tasks = sorted({job.record.task for _, job in loaded})
    if task is not None and task not in tasks:  # a typo read "no variant results" (exit 0)
        raise ResultsError(
            f"no results for task {task!r} under {path}; tasks with results: "
            f"{', '.join(tasks) or '(none)'}"
        )
    gaps = completeness(path, loaded)
    if task is not None:
        gaps = gaps.for_task(task)
    if not allow_partial:
        gaps.refuse(path, "--allow-partial" if option_names == "cli" else "allow_partial=True")
    comparisons = compare_variants(
        loaded, task=task, configs=suite_configs(installed_suite_boards())
    )
    mark_failed(comparisons, gaps, _lineage)
    mark_partial(comparisons, gaps)
    return comparisons


def _lineage(model: str) -> tuple[str, str] | None:
    """(parent, variant) when `model` is named as a variant (`<parent>@<variant>`), else None:
    a failed job left no description that says so."""
    parent, sep, name = model.rpartition(SEPARATOR)
    if not sep or not parent:
        return None
    try:
        return parent, parse_variant(name, where=model).name
    except HarnessError:
        return None
