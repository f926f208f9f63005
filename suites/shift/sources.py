"""The tasks a shift suite reads besides the evaluated one: shifted tasks and OOD sets.

Each is loaded once per suite instance (the runner shares one across a run's jobs); a spec's
`source` is relative to the spec file's folder (`bind`). `fingerprints` names the content of the
ones a job reads, for its cache key.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from harness.core.errors import ConfigError, DatasetError, HarnessError
from harness.core.task import Task
from harness.data.task_spec import TaskSpec
from harness.suites.shift import selection
from harness.suites.shift.config import (
    OODEntry,
    ShiftConfig,
    TaskEntry,
    for_task,
    ood_name,
    ood_task,
)

log = logging.getLogger(__name__)


def shifted_entries(cfg: ShiftConfig, task: Task) -> list[TaskEntry]:
    return for_task(cfg.shifted_tasks, task)


def ood_entries(cfg: ShiftConfig, task: Task) -> list[OODEntry]:
    return for_task(cfg.ood_sets, task)


# the image-folder refusal whose advice (class_names in the model's output order) is about labels
_FOLDER_LABELS = "the class folders are numbers"


def _unneeded_labels(err: DatasetError, entry: TaskSpec, where: str) -> DatasetError | None:
    """An OOD set's entry whose labels failed to load (one class in every row, a value out of
    range, numbered class folders whose text order is not their numeric order): the loader's
    advice (declare num_classes / class_names) fits a task, but an OOD set needs no labels. The
    same line, saying so; None for any other error."""
    label = entry.label_column
    if where != "suites.shift.ood_sets" or label is None:
        return None
    if f"label column {label!r}" not in str(err) and _FOLDER_LABELS not in str(err):
        return None
    return DatasetError(
        f"{err}; suites.shift.ood_sets: OOD set {entry.name!r} needs no labels (every OOD row "
        "counts as out-of-distribution): set label_column: null on its entry"
        + (
            " and list its feature_columns (else the label is read as a feature)"
            if entry.modality == "tabular" and not entry.feature_columns
            else ""
        )
    )


class TaskSources:
    """Shifted tasks and OOD sets, loaded once; specs resolved against the spec's folder."""

    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}
        self.base_dir = Path.cwd()  # the spec file's folder, once bound

    def bind(self, cfg: ShiftConfig, base_dir: Path) -> None:
        """Shifted tasks and OOD sets given as task specs read their `source` relative to the
        spec file's folder; each is checked here (`check_task_source`, what `harness validate`
        runs on tasks) and a named one must be a registered task."""
        from harness.data.catalogue import check_catalogued, task_registry
        from harness.data.sources import check_task_source

        self.base_dir = base_dir
        settings = {"shifted_tasks": cfg.shifted_tasks, "ood_sets": cfg.ood_sets}
        for key, value in settings.items():
            listed = [e for v in value.values() for e in v] if isinstance(value, dict) else value
            entries = [ood_task(e) if key == "ood_sets" else e for e in listed]
            for entry in entries:
                if isinstance(entry, TaskSpec):
                    try:
                        check_task_source(entry, base_dir)
                    except DatasetError as err:
                        told = _unneeded_labels(err, entry, f"suites.shift.{key}")
                        if told is None:
                            raise
                        raise told from None
                elif isinstance(entry, str):
                    try:
                        check_catalogued(task_registry().load(entry))
                    except HarnessError as err:
                        raise ConfigError(f"suites.shift.{key}: {err}") from None

    def load(self, entry: TaskEntry, where: str) -> Task:
        """A shifted or OOD task, loaded once per suite instance (streamed; callers subset it);
        a spec's `source` is relative to the spec file's folder (`bind`)."""
        key = (
            entry
            if isinstance(entry, str)
            else json.dumps(entry.model_dump(mode="json"), sort_keys=True)
        )
        if key not in self.tasks:
            if isinstance(entry, str):
                from harness.data.catalogue import task_registry

                self.tasks[key] = task_registry().load(entry)()
            else:
                from harness.data.loader import load_task

                try:
                    self.tasks[key] = load_task(entry, base_dir=self.base_dir)
                except DatasetError as err:
                    told = _unneeded_labels(err, entry, where)
                    if told is None:
                        raise
                    raise told from None
            log.info("%s: loaded %s", where, self.tasks[key].name)
        return self.tasks[key]

    def fingerprints(self, cfg: ShiftConfig, task: Task) -> dict[str, str]:
        """The fingerprints of the shifted tasks and OOD sets a job on `task` reads: the entries
        that apply to it (a per-task mapping's entry for its name), loaded through `load` as
        `run` loads them (once per instance, so `run` reuses them). A generated OOD set is wholly
        in the config (already in the key), and a published corrupted set reads neither setting.
        Named `<setting>/<entry name>`; a name given twice gets `#<n>` (its place in the setting)
        so neither print is lost."""
        if selection.is_published(task):
            return {}
        entries: list[tuple[str, int, TaskEntry]] = [
            ("shifted_tasks", i, e) for i, e in enumerate(shifted_entries(cfg, task))
        ]
        for i, e in enumerate(ood_entries(cfg, task)):
            inner = ood_task(e)
            if inner is not None:
                entries.append(("ood_sets", i, inner))
        prints: dict[str, str] = {}
        for setting, index, entry in entries:
            name = f"{setting}/{ood_name(entry)}"
            if name in prints:
                name = f"{name}#{index}"
            prints[name] = self.load(entry, f"suites.shift.{setting}").fingerprint
        return prints
