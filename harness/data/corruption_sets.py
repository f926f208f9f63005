"""The published corruption datasets as corruption cells: CIFAR-10-C / CIFAR-100-C and ImageNet-C.

One task holds every selected (corruption, severity) cell; each row carries the cell in the
`corruption` and `severity` columns (`Task.cell_columns`) and, in `source_id`, the clean image it
was made from, so the shift suite can report `corruption=<name>/severity=<s>` conditions and pair
them with the clean images. Nothing is pooled: a layout that does not say which cell an image
belongs to is refused by `sources`.

- CIFAR-10-C: `<corruption>.npy` holds the 5 severities stacked (rows `(s - 1) * n .. s * n - 1`
  are severity s, n = 10,000 for CIFAR-10); `labels.npy` holds the matching labels. Row i is
  made from clean test image `i % n`: sample id `<corruption>/<s>/<i % n:05d>`, source id
  `<i % n:05d>` (`sources.source_image_id`: the sample id of that image in the clean catalogue
  task, `cifar10` / `cifar100`). Rows are read through a memory map, a batch at a time.
- ImageNet-C: `<corruption>/<severity>/<class>/<image>`; sample id
  `<corruption>/<severity>/<class>/<file>`, source id `<class>/<file>` (the sample id of the clean
  image in an ImageNet validation folder loaded as `<class>/<image>`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from datasets import Dataset
from datasets.table import InMemoryTable

from harness.core.errors import DatasetError
from harness.core.task import SAMPLE_ID, SOURCE_ID
from harness.data.image_decoders import (
    ArrayLayout,
    ImageSplit,
    NpyRows,
    encoded_decoder,
    open_npy,
    transformed_shape,
)
from harness.data.image_folders import labeled_listing
from harness.data.image_transform import ImageTransform
from harness.data.sources import (
    SEVERITIES,
    FolderCorruptionSource,
    NpyCorruptionSource,
    source_image_id,
)
from harness.data.task_spec import TaskSpec

CELL_COLUMNS: tuple[str, ...] = ("corruption", "severity")
INPUT = "input"


def _cell_table(
    ids: list[str],
    labels: np.ndarray,
    corruption: str,
    severities: np.ndarray,
    sources: list[str],
    inputs: pa.Array,
) -> pa.Table:
    return pa.table(
        {
            SAMPLE_ID: pa.array(ids, pa.string()),
            "label": pa.array(labels.astype(np.int64)),
            "corruption": pa.array([corruption] * len(ids), pa.string()),
            "severity": pa.array(severities.astype(np.int64)),
            SOURCE_ID: pa.array(sources, pa.string()),
            INPUT: inputs,
        }
    )


def _labels(source: NpyCorruptionSource, task: str) -> np.ndarray:
    labels = open_npy(source.labels, task)
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) % len(SEVERITIES):
        raise DatasetError(
            f"task {task!r}: {source.labels} must be a 1-D array of integer labels, one per row "
            f"of each <corruption>.npy (5 severities stacked), got shape {list(labels.shape)} "
            f"{labels.dtype}"
        )
    return np.asarray(labels, dtype=np.int64)


def npy_cells(
    spec: TaskSpec,
    source: NpyCorruptionSource,
    transform: ImageTransform,
    bounds: tuple[float, float],
) -> ImageSplit:
    """CIFAR-10-C / CIFAR-100-C cells, rows read through memory maps (module docstring)."""
    labels = _labels(source, spec.name)
    per = len(labels) // len(SEVERITIES)
    severities = sorted(spec.severities or SEVERITIES)
    rows = np.concatenate([np.arange((s - 1) * per, s * per) for s in severities])
    index = rows % per
    sources = [source_image_id(int(i), per) for i in index]
    cell_severity = rows // per + 1
    layout: ArrayLayout | None = None
    tables = []
    for f_index, (name, path) in enumerate(source.files):
        stack = open_npy(path, spec.name)
        here = ArrayLayout.infer(np.asarray(stack[0]))
        if stack.shape[0] != len(labels) or (layout is not None and here != layout):
            raise DatasetError(
                f"task {spec.name!r}: {path} holds {stack.shape[0]} images of shape "
                f"{list(stack.shape[1:])} {stack.dtype}; {source.labels} has {len(labels)} labels"
                + (f" and the other files hold {list(layout.stored_shape)}" if layout else "")
                + "; every <corruption>.npy needs one image per label"
            )
        layout = here
        refs = np.stack([np.full(len(rows), f_index), rows], axis=1).astype(np.int64)
        ids = [f"{name}/{s}/{src}" for s, src in zip(cell_severity, sources, strict=True)]
        inputs = pa.FixedSizeListArray.from_arrays(pa.array(refs.reshape(-1)), 2)
        tables.append(_cell_table(ids, labels[rows], name, cell_severity, sources, inputs))
    assert layout is not None  # sources lists at least one file
    shape = transformed_shape(layout, transform)
    decoder = NpyRows(
        task=spec.name,
        files=tuple(str(p) for _, p in source.files),
        layout=layout,
        shape=shape,
        transform=transform,
        bounds=bounds,
    )
    data = Dataset(InMemoryTable(pa.concat_tables(tables)))
    names = ", ".join(n for n, _ in source.files)
    described = (
        f"{len(source.files)} corruptions ({names}) x severities {severities}, {per} images each"
    )
    return ImageSplit(data, decoder, shape, (), CELL_COLUMNS, described)


def folder_cells(
    spec: TaskSpec,
    source: FolderCorruptionSource,
    transform: ImageTransform,
    channels: int | None,
) -> ImageSplit:
    """ImageNet-C cells: one labeled image folder per (corruption, severity) (module docstring),
    each holding the image names `resolve_source` listed, the same in every cell (checked there:
    `source.images`), so no folder is listed a second time here."""
    where = f"task {spec.name!r}: {source.cells[0][2]}"
    listing = labeled_listing(source.images, where).with_classes(spec.class_names, where)
    tables = []
    for corruption, severity, folder in source.cells:
        cell = f"{corruption}/{severity}"
        ids = [f"{cell}/{p}" for p in listing.paths]
        inputs = pa.array([str(folder / p) for p in listing.paths], pa.string())
        severities = np.full(len(ids), severity)
        tables.append(
            _cell_table(ids, listing.labels, corruption, severities, listing.paths, inputs)
        )
    table = pa.concat_tables(tables)
    first = table.column(INPUT)[0].as_py()
    decoder = encoded_decoder(
        spec.name, first, table.column(SAMPLE_ID)[0].as_py(), transform, channels
    )
    corruptions = sorted({c for c, _, _ in source.cells})
    severity_set = sorted({s for _, s, _ in source.cells})
    described = (
        f"{len(corruptions)} corruptions ({', '.join(corruptions)}) x severities {severity_set}"
    )
    data = Dataset(InMemoryTable(table))
    return ImageSplit(data, decoder, decoder.shape, listing.class_names, CELL_COLUMNS, described)
