"""A planned task's columns and class count without loading it (`TaskColumns`), for the suites'
plan-time checks of settings that name a column or a label value (`Suite.check_task_columns`).

What is read is cheap and never a row: an inline task's declarations (its group columns are
what the loaded task keeps, and the loader refuses one its data lacks), the header line of a
delimited file or the footer schema of a Parquet file (to say that a column exists but is not a
group column), the class folders of an image folder (already listed when the source was
resolved), a catalogue task's declarations (`TaskInfo`, `HubTask`). A task registered through
an entry point declares nothing: its columns are known once it is loaded, and the suites say
that they did not check their settings on it.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from harness.core.errors import DatasetError
from harness.core.task_columns import TaskColumns
from harness.data.catalogue import BUILTIN_INFO
from harness.data.corruption_sets import CELL_COLUMNS
from harness.data.image_bounds import UNIT_BOUNDS
from harness.data.image_channels import folder_channels
from harness.data.sources import (
    CORRUPTION_SOURCES,
    FolderCorruptionSource,
    HubSource,
    ImageFolderSource,
    NpyCorruptionSource,
    SavedDatasetSource,
    Source,
    class_folder_names,
    parquet_columns,
    table_options,
    train_source,
)
from harness.data.table_reader import check_head
from harness.data.table_sources import TableSource
from harness.data.task_spec import TaskSpec

UNDECLARED = "declare num_classes or class_names on the task to have it checked"


def spec_task_columns(spec: TaskSpec, source: Source | None, base_dir: Path) -> TaskColumns:
    """An inline task's columns: `source` is its evaluation split's, resolved (None for a
    catalogue recipe on local files, whose columns the recipe fixes)."""
    if spec.recipe is not None:
        from harness.data.hub import HUB_TASKS

        return hub_task_columns(spec.name, HUB_TASKS[spec.recipe])
    assert source is not None
    cells = CELL_COLUMNS if isinstance(source, CORRUPTION_SOURCES) else ()
    seen, where = _source_columns(spec, source)
    num_classes, why = _declared_classes(spec, source, base_dir)
    channels = None
    if isinstance(source, ImageFolderSource):
        channels = folder_channels(spec, source.root, source.labeled)
    return TaskColumns.of_rows(
        spec.name,
        group_columns=tuple(spec.group_columns),
        cell_columns=cells,
        source_columns=seen,
        source=where,
        num_classes=num_classes,
        classes_unknown=why,
        class_names=_class_names(spec, source, base_dir, num_classes),
        channels=channels,
        # images load into the declared bounds, else [0, 1] (image_tasks.load_image_task)
        bounds=spec.bounds or (UNIT_BOUNDS if spec.modality == "image" else None),
        input_shape=tuple(spec.input_shape) if spec.input_shape else None,
    )


def catalogue_task_columns(name: str, factory: object, origin: str) -> TaskColumns:
    """A catalogue task's columns as its definition declares them (`BUILTIN_INFO` for the
    built-in tasks, the `HubTask` for hub benchmarks); unknown for an entry-point task."""
    from harness.data.hub import HubTask

    if isinstance(factory, HubTask):
        return hub_task_columns(name, factory)
    info = BUILTIN_INFO.get(name) if origin == "builtin" else None
    if info is None:
        why = f"task {name!r} comes from {origin} and declares its columns only once loaded"
        return TaskColumns(task=name, columns=None, unknown=why, classes_unknown=why)
    return TaskColumns.of_rows(
        name,
        group_columns=info.group_columns,
        other_columns=info.other_columns,
        num_classes=info.num_classes,
        class_names=info.class_names,
        # the built-in image tasks hold [0, 1] pixels (tests/data/test_task_columns.py)
        bounds=UNIT_BOUNDS if info.modality == "image" else None,
        input_shape=info.input_shape if info.modality == "image" else None,
    )


def hub_task_columns(name: str, task: object) -> TaskColumns:
    """A hub benchmark's columns: its recipe's group columns (tabular) or its spec's, its
    corruption cells, and its classes as the catalogue declares them."""
    from harness.data.hub import HubTask

    assert isinstance(task, HubTask)
    groups = (
        tuple(task.tabular.group_names())
        if task.tabular is not None
        else tuple(task.spec.group_columns)
    )
    declared = task.spec.num_classes or (len(task.classes) if task.classes else None)
    if declared is None and task.spec.class_names:
        declared = len(task.spec.class_names)
    return TaskColumns.of_rows(
        name,
        group_columns=groups,
        cell_columns=CELL_COLUMNS if task.corruption_cells else (),
        num_classes=declared,
        classes_unknown="" if declared else f"task {name!r} declares no classes",
        class_names=task.classes,  # checked against the loaded names (HubTask)
    )


def _source_columns(spec: TaskSpec, source: Source) -> tuple[tuple[str, ...], str]:
    """The columns of the first table file's schema (a delimited file's header line, a Parquet
    file's footer) and the file, or none (a hub dataset, an image folder, JSON lines)."""
    if not isinstance(source, TableSource):
        return (), ""
    file = source.files[0]
    where = f"task {spec.name!r}: source file {file}"
    if source.builder == "csv":
        names = check_head(file, table_options(spec), where)
    elif source.builder == "parquet":
        names = parquet_columns(file, where)
    else:
        names = None
    return (tuple(names), str(file)) if names is not None else ((), "")


def _declared_classes(spec: TaskSpec, source: Source, base_dir: Path) -> tuple[int | None, str]:
    """The task's class count as declared (`num_classes`, `class_names`, an image folder's class
    folders), or None and why not (its labels say, which only reading its rows would tell)."""
    if spec.num_classes is not None:
        return spec.num_classes, ""
    if spec.class_names:
        return len(spec.class_names), ""
    if isinstance(source, ImageFolderSource) and source.labeled:
        found = train_source(spec, base_dir)
        sources = [source, *([found[0]] if found is not None else [])]
        try:
            return len(class_folder_names(sources)), ""
        except (OSError, DatasetError):  # the load says what is wrong with the folders
            return None, f"the class folders of {spec.source} could not be listed"
    if isinstance(source, HubSource):
        return None, f"its labels are on the Hugging Face hub ({spec.source}); {UNDECLARED}"
    return None, f"only its label column says ({spec.source}); {UNDECLARED}"


def _class_names(
    spec: TaskSpec, source: Source, base_dir: Path, num_classes: int | None
) -> tuple[str, ...] | None:
    """The loaded task's class names where the spec and the layout fix them (`label_space`):
    `class_names`, else an image folder's class folders, else "0", "1", ... for a declared
    `num_classes`; None where the data may name them (a hub dataset's or a Parquet file's
    `ClassLabel`) or the labels alone say, and for corruption sets."""
    if isinstance(
        source, HubSource | SavedDatasetSource | NpyCorruptionSource | FolderCorruptionSource
    ):
        return None
    if isinstance(source, TableSource) and any(
        _names_features(file) for file in source.files if source.builder == "parquet"
    ):
        return None
    if spec.class_names:
        return tuple(spec.class_names)
    if isinstance(source, ImageFolderSource) and source.labeled:
        found = train_source(spec, base_dir)
        try:
            return tuple(class_folder_names([source, *([found[0]] if found else [])]))
        except (OSError, DatasetError):
            return None
    if num_classes is not None:
        return tuple(str(i) for i in range(num_classes))
    return None


def _names_features(file: Path) -> bool:
    """Whether a Parquet file carries Hugging Face `datasets` features (a `ClassLabel` of its
    own class names may be among them)."""
    try:
        metadata = pq.read_schema(file).metadata or {}
    except (OSError, pa.ArrowException):
        return True
    return b"huggingface" in metadata
