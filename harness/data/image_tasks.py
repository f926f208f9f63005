"""Image tasks: rows and a streaming decoder for every image layout, never a materialised split.

- image folders (`<class>/<image>`, or unlabeled images): one row per file, the absolute path as
  stored input, the relative path as sample id;
- tables and hub datasets with an image column: a Hugging Face `Image` column, the `{bytes,
  path}` structs pandas writes, bytes, paths, or numeric arrays (lists, `Array3D`);
- CIFAR-10-C / ImageNet-C: corruption cells (`corruption_sets`).
Every image is decoded when its batch is read (`harness.core.task.Task.batches`), converted to
one mode (RGB or grey), passed through the declared `transform` / `resize` / `center_crop`, and
scaled to [0, 1]; memory is bounded by the batch size. Images that do not all decode to one shape
need a transform; the first one that differs stops the run with its sample id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow.compute as pc

from harness.core.errors import DatasetError
from harness.core.task import SAMPLE_ID, Task
from harness.data.corruption_sets import folder_cells, npy_cells
from harness.data.image_bounds import check_unit_bounds
from harness.data.image_channels import declared_channels
from harness.data.image_decoders import (
    ArrayImages,
    ImageSplit,
    array_layout,
    empty_image_cells,
    encoded_decoder,
    scaled_source,
    transformed_shape,
)
from harness.data.image_folders import list_labeled, list_unlabeled
from harness.data.image_transform import ImageTransform
from harness.data.row_columns import check_columns, label_space, read_row_columns
from harness.data.sources import (
    FolderCorruptionSource,
    ImageFolderSource,
    NpyCorruptionSource,
    Source,
    check_class_order,
    class_folder_names,
    train_source,
)
from harness.data.splits import Split, read_split_rows
from harness.data.table_columns import arrow_column, arrow_dataset
from harness.data.table_sources import TableSource
from harness.data.task_spec import TaskSpec

INPUT = "input"


def _channels(spec: TaskSpec) -> int | None:
    return declared_channels(spec)


def load_image_task(spec: TaskSpec, source: Source, base_dir: Path) -> Task:
    """An image task over any supported layout, streamed (see the module docstring)."""
    transform = ImageTransform.from_spec(spec.transform, spec.resize, spec.center_crop)
    bounds = spec.bounds or (0.0, 1.0)
    found = train_source(spec, base_dir)
    # one class index for every split of an image folder (a class a split lacks keeps its index)
    classes = spec.class_names or class_folder_names([source, *(found[:1] if found else [])])
    if spec.class_names is None:  # the union of the splits' folders: each split's was checked
        check_class_order(classes, f"task {spec.name!r}: the class folders of {spec.source}")
    others = _other_split_roots(source, found[0] if found else None)
    split, raw = _split(spec, source, spec.split, transform, bounds, classes, others=others)
    scaled = scaled_source(split.decoder)
    if scaled is not None:
        check_unit_bounds(spec.name, spec.bounds, scaled)
    if spec.input_shape and tuple(spec.input_shape) != split.shape:
        raise DatasetError(
            f"task {spec.name!r}: images decode to shape {list(split.shape)} but input_shape says "
            f"{spec.input_shape}; fix input_shape or declare a transform"
        )
    labels = arrow_column(split.data, "label").to_numpy().astype(np.int64)
    k, names = label_space(raw, spec, labels, split.class_names)
    train = None
    if found is not None:
        train_src, train_split = found
        key = "train_source" if spec.train_source else "source"
        train_part, _ = _split(
            spec, train_src, train_split, transform, bounds, classes, key, train=True
        )
        train = train_part.data
    described = split.description or f"{spec.source} split {spec.split}"
    return Task(
        name=spec.name,
        modality="image",
        num_classes=k,
        class_names=names,
        input_shape=split.shape,
        bounds=bounds,
        data=split.data,
        train=train,
        group_columns=tuple(spec.group_columns),
        group_labels={k_: dict(v) for k_, v in spec.group_labels.items()},
        group_bins={k_: tuple(v) for k_, v in spec.group_bins.items()},
        source=spec.source,
        description=f"{described}; decoded {split.decoder.describe()}",
        decoder=split.decoder,
        cell_columns=split.cell_columns,
        group_problems=dict(split.group_problems),
        labeled=spec.label_column is not None,
        load_notes=split.notes,
    )


def _split(
    spec: TaskSpec,
    source: Source,
    split: str,
    transform: ImageTransform,
    bounds: tuple[float, float],
    classes: list[str] | None,
    key: str = "source",
    *,
    train: bool = False,
    others: tuple[Path, ...] = (),
) -> tuple[ImageSplit, datasets.Dataset | None]:
    """The split and, for tables, the raw dataset (its label feature names the classes).
    `classes` index an image folder's class folders (declared, or shared by its splits); `key`
    is the spec key the source came from (`source` or `train_source`); `train`: the training
    split (which may lack group columns); `others`: the other splits' folders of an image
    folder (an empty class folder whose class they hold images of is not noted)."""
    where = f"split {split!r}"
    if isinstance(source, ImageFolderSource):
        return _folder_split(spec, source, transform, where, classes, others), None
    if isinstance(source, NpyCorruptionSource):
        return npy_cells(spec, source, transform, bounds), None
    if isinstance(source, FolderCorruptionSource):
        return folder_cells(spec, source, transform, _channels(spec)), None
    rows = read_split_rows(spec, source, split, key)
    files_dir = source.files[0].parent if isinstance(source, TableSource) else None
    split_rows = _table_split(spec, rows, transform, bounds, where, files_dir, train=train)
    return split_rows, rows.dataset()


def _other_split_roots(source: Source, train: Source | None) -> tuple[Path, ...]:
    """The split folders of a labeled image folder (and of its `train_source`) beside the
    evaluated split's own: the folders whose class folders share one class index."""
    if not (isinstance(source, ImageFolderSource) and source.labeled):
        return ()
    roots = [
        root
        for s in (source, train)
        if isinstance(s, ImageFolderSource) and s.labeled
        for root in (s.split_roots or (s.root,))
    ]
    return tuple(r for r in dict.fromkeys(roots) if r != source.root)


def _folder_split(
    spec: TaskSpec,
    source: ImageFolderSource,
    transform: ImageTransform,
    where: str,
    classes: list[str] | None,
    others: tuple[Path, ...] = (),
) -> ImageSplit:
    for key in ("id_column", "group_columns"):
        if getattr(spec, key):
            raise DatasetError(
                f"task {spec.name!r}: {key} names table columns, and {source.root} is an image "
                "folder (sample ids are relative paths, labels are class folders); use a table "
                "with an image column for per-image groups"
            )
    where = f"task {spec.name!r}: {where} ({source.root})"
    listing = (
        list_labeled(source.root, where)
        .with_classes(classes or None, where, from_spec=spec.class_names is not None)
        .held_elsewhere(others)
        if source.labeled
        else list_unlabeled(source.root, where)
    )
    paths = [str(source.root / p) for p in listing.paths]
    decoder = encoded_decoder(spec.name, paths[0], listing.paths[0], transform, _channels(spec))
    data = datasets.Dataset.from_dict(
        {SAMPLE_ID: listing.paths, "label": listing.labels, INPUT: paths},
        features=datasets.Features(
            {
                SAMPLE_ID: datasets.Value("string"),
                "label": datasets.Value("int64"),
                INPUT: datasets.Value("string"),
            }
        ),
    )
    notes = listing.notes(f"task {spec.name!r}: {source.root}")
    return ImageSplit(data, decoder, decoder.shape, listing.class_names, notes=notes)


def _refuse_empty_paths(
    raw: datasets.Dataset, column: str, spec: TaskSpec, split: Split, where: str
) -> None:
    """A path column's empty or missing cell: joined to the table's folder it named the folder
    ("cannot read image /data (Is a directory)"), with neither the column nor the row; an Image
    column's cell without bytes or a path ("an image value is NoneType"), also of the {bytes,
    path} dicts or the bytes pandas writes."""
    feature = raw.features[column]
    cells = raw.with_format("arrow")[column]
    paths = isinstance(feature, datasets.Value) and feature.dtype in ("string", "large_string")
    if paths:
        empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(cells), ""), True)
    elif _is_encoded(feature):  # {bytes, path} structs (an Image column), {bytes}, or bytes
        empty = empty_image_cells(cells)
    else:
        return
    count = pc.sum(empty).as_py() or 0
    if count:
        row = int(pc.index(empty, True).as_py())
        raise DatasetError(
            f"task {spec.name!r}: image column {column!r} has {count:,} empty cell(s) in {where} "
            f"(first: {split.locate(row)}); give each row its image"
            + ("'s path" if paths else "")
            + ", or drop those rows"
        )


def _is_encoded(feature: Any) -> bool:
    """An Image column, a {bytes, path} struct (pandas), bytes, or paths."""
    if isinstance(feature, datasets.Image):
        return True
    if isinstance(feature, dict):
        return "bytes" in feature
    return isinstance(feature, datasets.Value) and feature.dtype in (
        "binary",
        "large_binary",
        "string",
        "large_string",
    )


def _image_column(raw: datasets.Dataset, spec: TaskSpec, where: str) -> str:
    if spec.input_column:
        check_columns(raw, spec, [spec.input_column], where)
        return spec.input_column
    images = [
        c
        for c, f in raw.features.items()
        if isinstance(f, datasets.Image) or (isinstance(f, dict) and "bytes" in f)
    ]
    if len(images) == 1:
        return images[0]
    if "image" in raw.column_names:
        return "image"
    raise DatasetError(
        f"task {spec.name!r}: set input_column to the image column of {where} "
        f"(columns: {', '.join(raw.column_names)})"
    )


def _table_split(
    spec: TaskSpec,
    split: Split,
    transform: ImageTransform,
    bounds: tuple[float, float],
    where: str,
    files_dir: Path | None,
    *,
    train: bool = False,
) -> ImageSplit:
    raw = split.dataset()
    column = _image_column(raw, spec, where)
    rows = read_row_columns(raw, spec, where, split.locate, train=train)
    feature = raw.features[column]
    _refuse_empty_paths(raw, column, spec, split, where)
    inputs = raw.select_columns([column])
    if isinstance(feature, datasets.Image):
        inputs = inputs.cast_column(column, datasets.Image(decode=False))
    if column != INPUT:
        inputs = inputs.rename_column(column, INPUT)
    meta = arrow_dataset(rows.table(), rows.features())
    data = datasets.concatenate_datasets([meta, inputs], axis=1)
    first = inputs.with_format("arrow")[0:1].column(INPUT)
    if _is_encoded(feature):
        root = str(files_dir) if files_dir is not None else None
        value = first.to_pylist()[0]
        decoder = encoded_decoder(spec.name, value, rows.ids[0], transform, _channels(spec), root)
        return ImageSplit(data, decoder, decoder.shape, group_problems=rows.group_problems)
    layout = array_layout(first, spec.name, where)
    shape = transformed_shape(layout, transform)
    arrays = ArrayImages(
        task=spec.name, layout=layout, shape=shape, transform=transform, bounds=bounds
    )
    return ImageSplit(data, arrays, shape, group_problems=rows.group_problems)
