"""Load a task entry (`TaskSpec`): the one entry point for inline tasks, whatever their source.

An entry with a catalogue `recipe` (Adult, COMPAS, German credit on local files) is prepared by
`recipe_files` as the hub task is; any other is read from its source by `source_tasks`. Both end
in the same reader, so every check and conversion is shared (docs/tasks.md).
"""

from __future__ import annotations

from pathlib import Path

from harness.core.task import Task
from harness.data.recipe_files import load_recipe_task
from harness.data.source_tasks import load_source_task
from harness.data.task_spec import TaskSpec


def load_task(spec: TaskSpec, *, base_dir: Path) -> Task:
    """Load, check and convert an inline task."""
    if spec.recipe is not None:  # a catalogue recipe on local files
        return load_recipe_task(spec, base_dir)
    return load_source_task(spec, base_dir=base_dir)
