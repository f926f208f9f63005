"""The rows of a loaded task that a protocol evaluates: its corruption cells and listed images.

A protocol task may keep only some corruption cells (RobustBench's 15 benchmark corruptions out
of CIFAR-10-C's 19) and only the images of a user-supplied id list (RobustBench's 5,000 ImageNet
validation images). Ids are matched on the image's class folder and file name without extension
(`n01440764/ILSVRC2012_val_00000293`), or on the file name alone where the rows carry no class
folder: a row's `source_id` (the clean image of a corruption cell), else its sample id, else the
path of its encoded image. Anything short of the protocol's rows is refused,
never evaluated on other images.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from harness.config.protocols import Protocol, ProtocolTask
from harness.core.errors import DatasetError, SpecError

if TYPE_CHECKING:
    from harness.core.task import Task

MAX_ID_FILE_BYTES = 16 << 20


def _name(key: str, depth: int | None = None) -> tuple[str, ...]:
    """The last `depth` parts of a path without the file's extension (all parts: None)."""
    path = PurePosixPath(key.strip().replace("\\", "/"))
    parts = path.with_suffix("").parts if path.suffix else path.parts
    return parts if depth is None else parts[-depth:]


def read_id_file(path: Path, protocol: Protocol) -> list[str]:
    """The images listed one per line in `path` (`<class>/<file>` without extension);
    duplicates are refused."""
    if not path.is_file():
        raise SpecError(f"protocol_sample_ids: file not found: {path}")
    if path.stat().st_size > MAX_ID_FILE_BYTES:
        raise SpecError(f"protocol_sample_ids: {path} is larger than {MAX_ID_FILE_BYTES} bytes")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a BOM is not an image
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"protocol_sample_ids: cannot read {path}: {err}") from None
    stems = ["/".join(_name(line)) for line in lines if line.strip()]
    repeated = [s for s, c in Counter(stems).items() if c > 1]
    if repeated:
        raise SpecError(f"protocol_sample_ids: {path} lists {repeated[0]!r} more than once")
    listed = [t for t in protocol.tasks if t.sample_ids and t.expected_rows is not None]
    if listed and len(stems) != listed[0].expected_rows:
        raise SpecError(
            f"protocol_sample_ids: {path} lists {len(stems)} images; protocol {protocol.name} "
            f"evaluates {listed[0].expected_rows:,} ({listed[0].ids_hint})"
        )
    return stems


def select_rows(task: Task, spec: ProtocolTask, ids: list[str] | None) -> Task:
    """`task` cut to the protocol's cells and listed images; missing ones are a DatasetError."""
    keep = np.ones(len(task), dtype=bool)
    cells = _cells(task) if spec.corruptions is not None or spec.severities is not None else None
    if cells is not None:
        keep &= _cell_mask(task, spec, cells)
    if spec.sample_ids:
        assert ids is not None  # the spec refuses a protocol with listed images and no list
        keep &= _id_mask(task, ids)
    rows = np.flatnonzero(keep)
    _check_counts(task, spec, cells, rows, ids)
    if len(rows) == len(task):
        return task
    return replace(task, data=task.data.select(rows.tolist()))


def _cells(task: Task) -> list[tuple[str, int]]:
    if "corruption" not in task.cell_columns or "severity" not in task.cell_columns:
        raise DatasetError(
            f"task {task.name!r} has no corruption cells; the protocol selects corruption cells "
            "(load the published corruption files)"
        )
    frame = task.cells()
    return list(zip(frame["corruption"].astype(str), frame["severity"].astype(int), strict=True))


def _cell_mask(task: Task, spec: ProtocolTask, cells: list[tuple[str, int]]) -> np.ndarray:
    corruptions = set(spec.corruptions or {c for c, _ in cells})
    severities = set(spec.severities or {s for _, s in cells})
    present = set(cells)
    missing = [
        (c, s) for c in sorted(corruptions) for s in sorted(severities) if (c, s) not in present
    ]
    if missing:
        c, s = missing[0]
        raise DatasetError(
            f"task {task.name!r} lacks {len(missing)} of the protocol's corruption cells (e.g. "
            f"{c} severity {s}); the protocol needs every one of them"
        )
    return np.array([c in corruptions and s in severities for c, s in cells], dtype=bool)


def _id_mask(task: Task, ids: list[str]) -> np.ndarray:
    """Rows whose image is in `ids` (matched on file names: module docstring)."""
    listed = [_name(i) for i in ids]
    for keys in _row_keys(task):
        depth = min(2, min(len(p) for p in listed), len(_name(keys[0])) if keys else 1)
        wanted = {p[-depth:] for p in listed}
        mask = np.array([_name(k, depth) in wanted for k in keys], dtype=bool)
        if mask.any():
            return mask
    raise DatasetError(
        f"task {task.name!r}: none of its images is in the protocol's id list (ids such as "
        f"{ids[0]!r}; the task's rows are named like {task.sample_ids[0]!r}); give the list of "
        "this dataset's images"
    )


def _row_keys(task: Task) -> Iterator[list[str]]:
    """Each row's candidate names, lazily: its source id or sample id, then its image's path
    (only the `path` field of a {bytes, path} column is read, never the image bytes)."""
    import pyarrow.compute as pc

    from harness.core.task import SOURCE_ID

    named = SOURCE_ID if SOURCE_ID in task.data.column_names else None
    yield [str(k) for k in (task.data[named] if named else task.sample_ids)]
    values = task.data.select_columns([task.input_column]).with_format("arrow")[:].column(0)
    if pa.types.is_struct(values.type) and values.type.get_field_index("path") >= 0:
        yield [str(v or "") for v in pc.struct_field(values, "path").to_pylist()]


def _check_counts(
    task: Task,
    spec: ProtocolTask,
    cells: list[tuple[str, int]] | None,
    rows: np.ndarray,
    ids: list[str] | None,
) -> None:
    """Every kept cell (or the task) holds the protocol's number of rows: all listed images."""
    per_cell = Counter(cells[i] for i in rows) if cells is not None else Counter({None: len(rows)})
    expected = len(ids) if ids is not None else spec.expected_rows
    if expected is None:
        return
    short = {cell: n for cell, n in per_cell.items() if n != expected}
    if short:
        cell, n = next(iter(short.items()))
        where = f" cell {cell[0]} severity {cell[1]}" if cell is not None else ""
        raise DatasetError(
            f"task {task.name!r}{where} has {n} of the protocol's {expected:,} images; the "
            "protocol's numbers need exactly those images (is the dataset complete?)"
        )
