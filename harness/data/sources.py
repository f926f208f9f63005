"""Where an inline task's data lives: a local path's layout resolved to one kind of source.

`resolve_source` looks at a `TaskSpec`'s `source` (or `train_source`) without reading any data:
it lists folders, never opens an image or parses a table (of a `.npy` file it reads the header
alone: `npy_header`; of a CIFAR-10-C folder also `labels.npy`, one small integer array; of a
table file its size and, for `.parquet`, the 4-byte `PAR1` marker at each end), and imports
neither torch nor datasets, so `harness validate` runs it on every inline task and refuses what
`harness run` would refuse (a missing split, a flat image folder declared labeled, a corruption
file or folder not named after one of the 19 published corruptions, a bad severity folder, cells
with different class folders or image file names, labels out of range, an `input_shape` its
transform cannot give or a CIFAR-10-C header contradicts, a nested folder or mixed layouts that
would pool several datasets into one, an empty table file, a `.parquet` file that is not Parquet,
a label column of text without `class_names`: of a delimited file its first 1 MiB is parsed for
that, of a Parquet file its footer schema read).
The loader resolves the same way, so both agree.

Layouts (docs/tasks.md):
- `hf:<id>`: a Hugging Face hub dataset (or a local dataset folder datasets can read);
- a `.parquet`, `.csv`, `.json`/`.jsonl` file: one split, whatever its name;
- a folder of table files: `<split>.parquet`, `<split>-*.parquet`, `data/<split>-*.parquet` or
  `<split>/*.parquet` name their split; a folder whose files name no split is one split
  (`harness.data.table_sources`);
- an image folder: `<class>/<image>` (one split, whatever its name), `<split>/<class>/<image>`
  (every split indexes the sorted union of the splits' class folders), or any images at all for
  an unlabeled set (`label_column: null`);
- CIFAR-10-C / CIFAR-100-C: a folder with `labels.npy` and one `<corruption>.npy` per corruption
  (severities 1-5 stacked), or one `<corruption>.npy` beside its `labels.npy`;
- ImageNet-C: `<corruption>/<1-5>/<class>/<image>` (or one `<corruption>` folder), every cell
  with the same class folders holding the same image file names.
"""

from __future__ import annotations

import difflib
import json
import os
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.core.corruption_names import CORRUPTION_NAMES
from harness.core.errors import DatasetError
from harness.core.value_text import quoted
from harness.data.image_bounds import FULL_SCALE, check_unit_bounds
from harness.data.image_transform import ImageTransform
from harness.data.npy_header import (
    NpyHeader,
    check_corruption_set,
    decoded_chw,
    stored_channels_last,
)
from harness.data.table_columns import NOT_A_NUMBER, NUMBER_PATTERN, Tally, Where, numbers
from harness.data.table_reader import (
    STREAM_BLOCK,
    TableOptions,
    check_head,
    flat,
    head_column,
    head_columns,
    missing_column_hint,
)
from harness.data.table_sources import (
    SPLIT_NAMES,
    TABLE_BUILDERS,
    TableSource,
    check_table_file,
    split_of,
    table_files,
    table_source,
)
from harness.data.task_spec import TaskSpec

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)
SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)
SEVERITY_FOLDERS: tuple[str, ...] = tuple(str(s) for s in SEVERITIES)
LABELS_NPY = "labels.npy"
SAVED_DICT = "dataset_dict.json"  # datasets' save_to_disk: a DatasetDict's list of splits
SAVED_STATE = "state.json"  # datasets' save_to_disk: one Dataset's Arrow files
PUBLISHED_CORRUPTIONS: tuple[str, ...] = CORRUPTION_NAMES
"""The 19 corruptions of the published sets (CIFAR-10-C, CIFAR-100-C, ImageNet-C and its 4
extras), in ImageNet-C order: the only names a `<corruption>.npy` file or a `<corruption>/` folder
may have, so a stray copy (`fog_backup.npy`) is refused rather than evaluated as one more cell.
The shift suite's `suites.shift.image_corruptions.CORRUPTIONS` (a test checks they agree), read
from `harness.core.corruption_names` because the config side imports no plugin
(docs/architecture.md)."""


def source_image_id(index: int, count: int) -> str:
    """The id of clean image `index` of a `count`-image test set: its row index, zero-padded to 5
    digits (more for a larger set). A CIFAR-10-C row's `source_id` and the sample id of the same
    image in the clean catalogue task (`cifar10`, `cifar100`) are both this, so their rows pair."""
    return f"{index:0{max(5, len(str(count - 1)))}d}"


@dataclass(frozen=True)
class HubSource:
    """`hf:<id>`: read with `datasets.load_dataset`."""

    dataset: str


@dataclass(frozen=True)
class ImageFolderSource:
    """A folder of `<class>/<image>` (labeled) or of any images (unlabeled). `split_roots` are
    every split folder of a `<split>/<class>/<image>` source (empty for a single-split folder):
    the class index is the same in every split (`class_folder_names`)."""

    root: Path
    labeled: bool
    split_roots: tuple[Path, ...] = ()


@dataclass(frozen=True)
class NpyCorruptionSource:
    """CIFAR-10-C layout: `(corruption, file)` pairs, each file 5 severities stacked."""

    files: tuple[tuple[str, Path], ...]
    labels: Path


@dataclass(frozen=True)
class FolderCorruptionSource:
    """ImageNet-C layout: one `<class>/<image>` folder per (corruption, severity) cell.

    `images` are the image names of each class folder, which are the same in every cell:
    `resolve_source` lists every cell once and refuses one that differs (`CellImages.same_as`).
    The loader builds each cell's rows from them (`corruption_sets.folder_cells`) instead of
    listing every class folder of every cell a second time, and one cell's names are kept, not
    every cell's copy of them (4.75 million names for the whole ImageNet-C)."""

    cells: tuple[tuple[str, int, Path], ...]
    images: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class SavedDatasetSource:
    """A folder written by datasets' `save_to_disk`, read with `datasets.load_from_disk`: one
    `Dataset` (`state.json` beside its Arrow files; it is the split, whatever its name) or a
    `DatasetDict` (`dataset_dict.json` naming its `splits`, a folder each)."""

    root: Path
    splits: tuple[str, ...] = ()  # a DatasetDict's splits; empty for one Dataset


Source = (
    HubSource
    | TableSource
    | ImageFolderSource
    | NpyCorruptionSource
    | FolderCorruptionSource
    | SavedDatasetSource
)
CORRUPTION_SOURCES = (NpyCorruptionSource, FolderCorruptionSource)


def resolve_source(spec: TaskSpec, base_dir: Path, *, split: str, train: bool = False) -> Source:
    """The source of `split` (of `train_source` when `train` and the spec names one)."""
    key = "train_source" if train and spec.train_source else "source"
    text = spec.train_source if key == "train_source" else spec.source
    assert text is not None
    if key == "source":
        check_declared_shape(spec)
    if text.startswith("hf:"):
        _no_corruption_filters(spec, text)
        local = Path(text[3:]).expanduser()
        local = local if local.is_absolute() else base_dir / local
        saved = saved_dataset(local, split, f"task {spec.name!r}: {key} {text}")
        return saved if saved is not None else HubSource(text[3:])
    path = Path(text).expanduser()
    path = path if path.is_absolute() else base_dir / path
    where = f"task {spec.name!r}: {key} {path}"
    if not path.exists():
        relative = "" if Path(text).expanduser().is_absolute() else f" (relative to {base_dir})"
        raise DatasetError(f"{where} does not exist; fix the path{relative}")
    if not path.is_file() and not path.is_dir():  # /dev/null, a named pipe: read as a folder
        raise DatasetError(f"{where} is a special file (a device, pipe or socket), not data")
    if path.is_file():
        source: Source = _file_source(path, spec, where)
    else:
        source = _folder_source(path, spec, split, where)
    if not isinstance(source, CORRUPTION_SOURCES):
        _no_corruption_filters(spec, str(path))
    if isinstance(source, ImageFolderSource | FolderCorruptionSource):
        check_unit_bounds(spec.name, spec.bounds, "encoded image files")
    if isinstance(source, TableSource):
        for file in source.files:
            where = f"task {spec.name!r}: {key} file {file}"
            check_table_file(file, where)
            columns = _header_columns(spec, source.builder, file, where)
            if columns is not None:
                check_named_columns(spec, columns, where, train=train)
                check_label_type(spec, file, source.builder, where)
                if not train:
                    check_text_features(spec, file, source.builder, columns, where)
    return source


def check_label_type(spec: TaskSpec, file: Path, builder: str, where: str) -> None:
    """A label column of text needs `class_names` to become class ids (the loader refuses it
    at every job): found from a Parquet file's schema or a delimited file's first block."""
    label = spec.label_column
    if label is None or spec.class_names or spec.recipe is not None:
        return
    example = ""
    if builder == "parquet":
        schema = pq.read_schema(file)
        if label not in schema.names:
            return
        kind = schema.field(label).type
    elif builder == "csv":
        head = head_column(file, table_options(spec), label, where)
        if head is None:
            return
        kind = head.type
        first = next((v for v in head.slice(0, 5).to_pylist() if v is not None), None)
        example = f" (e.g. {quoted(first)})" if first is not None else ""
    else:
        return
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        raise DatasetError(
            f"{where}: label column {label!r} holds text{example}; list the classes in "
            "class_names (class i is the model's output i) to map it to class ids"
        )


def check_text_features(
    spec: TaskSpec, file: Path, builder: str, columns: list[str], where: str
) -> None:
    """A feature column of text in a delimited file that validate reads whole (within the
    first block): refused with the load's own line when none of its cells is a number and none
    is missing, so every job would refuse it whatever rows a `limit` samples. A column with
    some numbers is left to the load: its share of bad cells over the rows it reads decides."""
    if (
        spec.modality != "tabular"
        or spec.input_column
        or spec.recipe is not None
        or builder != "csv"
        or file.stat().st_size >= STREAM_BLOCK
    ):
        return
    skip = {spec.label_column, spec.id_column, *spec.group_columns}
    features = spec.feature_columns or [
        c for c in columns if c not in skip and not c.startswith(PANDAS_INDEX)
    ]
    checked = [name for name in features if name not in spec.one_hot and name not in spec.ordinal]
    heads = head_columns(file, table_options(spec), checked, where)
    for name in checked:
        head = heads[name]
        if head is None or head.null_count or not pa.types.is_string(head.type):
            continue
        text = pc.utf8_trim_whitespace(head)
        if len(text) == 0 or pc.any(pc.match_substring_regex(text, NUMBER_PATTERN)).as_py():
            continue
        if pc.any(pc.is_in(text, value_set=pa.array(NOT_A_NUMBER))).as_py():
            continue
        at = Where(spec.name, f"split {spec.split!r}", lambda row: f"row {row + 1} of {file}")
        numbers(pa.chunked_array([head]), name, spec.missing_values, at, Tally(spec.name, where))


def parquet_columns(file: Path, where: str) -> list[str]:
    """The column names a Parquet file's footer declares (its schema; no row is read)."""
    try:
        return list(pq.read_schema(file).names)
    except (OSError, pa.ArrowException) as err:
        raise DatasetError(
            f"{where} is not a readable Parquet file ({flat(str(err)) or type(err).__name__}); "
            "replace it with the data saved as Parquet, or give the file its real suffix (.csv, "
            ".json, .jsonl)"
        ) from None


def check_named_columns(
    spec: TaskSpec, columns: list[str], where: str, *, train: bool = False
) -> None:
    """Every column the task names by key is in the file's header (a recipe names the columns
    of the table it builds, not of the raw file). The loader refuses the same at each job;
    `harness validate` finds it from a delimited file's first line or a Parquet file's schema.
    A training split may lack group columns (`row_columns.read_row_columns`)."""
    if spec.recipe is not None:
        return
    named: list[tuple[str, str | None]] = [
        ("label_column", spec.label_column),
        ("id_column", spec.id_column),
        *(("group_columns", c) for c in spec.group_columns if not train),
    ]
    if spec.modality == "tabular":
        named += [("feature_columns", c) for c in spec.feature_columns or ()]
        named += [(f"one_hot.{c}", c) for c in spec.one_hot]
        named += [(f"ordinal.{c}", c) for c in spec.ordinal]
    have = set(columns)
    for key, column in named:
        if column is not None and column not in have:
            raise DatasetError(
                f"{where} has no column {column!r} ({key}); its columns: {', '.join(columns)}"
                f"{missing_column_hint(column, columns)}"
            )


def table_options(spec: TaskSpec) -> TableOptions:
    """How a task's table files are read: its spec keys; tabular tables turn missing-value
    markers into nulls and read only the columns the task names when it names its features;
    text and image tables keep every cell as written (a text column of numbers too: "007"
    was read as the number 7 and reached the model as "7")."""
    tabular = spec.modality == "tabular"
    text = spec.input_column if spec.modality == "text" else None
    return TableOptions(
        column_names=tuple(spec.column_names) if spec.column_names else None,
        missing_values=tuple(spec.missing_values) if tabular else None,
        delimiter=spec.delimiter,
        encoding=spec.encoding,
        string_columns=tuple(dict.fromkeys(c for c in (spec.id_column, text) if c)),
        columns=_tabular_columns(spec) if tabular else None,
    )


def _tabular_columns(spec: TaskSpec) -> tuple[str, ...] | None:
    """The columns a tabular task reads, when its features are named (else every column)."""
    features = spec.feature_columns or ([spec.input_column] if spec.input_column else None)
    if not features:
        return None
    named = [*features, spec.label_column, spec.id_column, *spec.group_columns]
    return tuple(dict.fromkeys(c for c in named if c))


def check_declared_shape(spec: TaskSpec) -> None:
    """An image task's `input_shape` against what its transform fixes without reading an image:
    the size of `transform` / `center_crop` / `resize: [h, w]` and the channels of `channels` (or
    RGB for `imagenet-eval`). The run would refuse the same after decoding the first image."""
    if spec.modality != "image" or spec.input_shape is None:
        return
    declared = list(spec.input_shape)
    prefix = f"task {spec.name!r}: input_shape {declared}"
    if len(declared) != 3:
        raise DatasetError(
            f"{prefix} has {len(declared)} dimensions; an image task's is [channels, height, "
            "width]: fix input_shape"
        )
    transform = ImageTransform.from_spec(spec.transform, spec.resize, spec.center_crop)
    channels = spec.channels or (3 if spec.transform is not None else None)
    fixed = transform.resize if isinstance(transform.resize, tuple) else None
    size = transform.center_crop or fixed
    if size is not None and declared[1:] != list(size):
        gives = [*([channels] if channels else []), *size]
        raise DatasetError(
            f"{prefix} but {_sizing_key(spec)} gives {gives}; fix input_shape or the transform"
        )
    if channels and declared[0] != channels:
        what = f"channels {spec.channels}" if spec.channels else f"transform {spec.transform}"
        raise DatasetError(
            f"{prefix} but {what} gives {channels} channel{'s' if channels > 1 else ''}; fix "
            "input_shape or channels"
        )


def _sizing_key(spec: TaskSpec) -> str:
    """The spec key that fixes the decoded size, as the user wrote it."""
    if spec.transform is not None:
        return f"transform {spec.transform}"
    value = spec.center_crop if spec.center_crop is not None else spec.resize
    key = "center_crop" if spec.center_crop is not None else "resize"
    return f"{key} {value if isinstance(value, int) else list(value or ())}"


def check_task_source(spec: TaskSpec, base_dir: Path) -> Source:
    """Resolve every split a task reads, as `harness validate` does (no data is read); returns
    the evaluation split's source."""
    source = resolve_source(spec, base_dir, split=spec.split)
    train = train_source(spec, base_dir)
    if train is not None:
        names, train_names = _default_features(spec, source), _default_features(spec, train[0])
        if names is not None and train_names is not None:
            check_feature_order(spec, names, train_names)
    return source


PANDAS_INDEX = "__index_level_"


def _default_features(spec: TaskSpec, source: Source) -> list[str] | None:
    """The default feature columns of a tabular table source's first file, from its header (a
    delimited file's first line, a Parquet file's schema); None where the task names its
    features, or the header cannot be read without parsing."""
    if spec.modality != "tabular" or spec.feature_columns or spec.input_column or spec.recipe:
        return None
    if not isinstance(source, TableSource) or not source.files:
        return None
    file = source.files[0]
    columns = _header_columns(spec, source.builder, file, f"task {spec.name!r}: file {file}")
    if columns is None:
        return None
    skip = {spec.label_column, spec.id_column, *spec.group_columns}
    return [c for c in columns if c not in skip and not c.startswith(PANDAS_INDEX)]


def check_feature_order(spec: TaskSpec, names: list[str], train_names: list[str]) -> None:
    """Default features follow the evaluation file's header; a training file holding the same
    columns in another order would be reordered to it, and a model fitted on that file would
    get its features shuffled (iris: 0.02 for 0.96) without a word."""
    if train_names == names or set(train_names) != set(names):
        return  # the same order, or a column one split lacks (refused where it is read)
    train = (
        f"train_source {spec.train_source}"
        if spec.train_source
        else f"train_split {spec.train_split!r}"
    )
    raise DatasetError(
        f"task {spec.name!r}: {train} holds the feature columns in another order "
        f"({_quoted(train_names)}) than source {spec.source} ({_quoted(names)}); a model fitted "
        "on one file would get the other's order: list feature_columns in the order the "
        "model takes"
    )


def _quoted(names: list[str], most: int = 8) -> str:
    shown = ", ".join(repr(name) for name in names[:most])
    return shown + (", ..." if len(names) > most else "")


def train_source(spec: TaskSpec, base_dir: Path) -> tuple[Source, str] | None:
    """The training split's source and split name: `train_source` (its `train_split`, default
    "train", when it holds several), or `train_split` of a source that holds several splits."""
    if spec.train_source is not None:
        split = spec.train_split or "train"
        return resolve_source(spec, base_dir, split=split, train=True), split
    if spec.train_split is None:
        return None
    if not spec.source.startswith("hf:"):
        path = Path(spec.source).expanduser()
        path = path if path.is_absolute() else base_dir / path
        if not (path.is_dir() and _named_splits(path, spec)):
            raise DatasetError(
                f"task {spec.name!r}: train_split {spec.train_split!r} names a split of {path}, "
                "which holds a single split; give the training data with train_source: <path>"
            )
    return resolve_source(spec, base_dir, split=spec.train_split, train=True), spec.train_split


def _named_splits(path: Path, spec: TaskSpec) -> list[str]:
    if (path / SAVED_DICT).is_file():
        return ["(a DatasetDict)"]  # its splits are checked when the split is resolved
    if spec.modality == "image" and _has_images(path):
        names = [d.name for d in _subdirs(path)]
        return names if names and all(_split_key(n) in SPLIT_NAMES for n in names) else []
    return sorted({s for s in (split_of(f, path) for f in table_files(path)) if s is not None})


def _no_corruption_filters(spec: TaskSpec, where: str) -> None:
    if spec.corruptions is not None or spec.severities is not None:
        raise DatasetError(
            f"task {spec.name!r}: corruptions/severities select cells of a corruption dataset "
            f"(CIFAR-10-C .npy files or an ImageNet-C folder), which {where} is not; remove them"
        )


def _file_source(path: Path, spec: TaskSpec, where: str) -> Source:
    if path.suffix == ".npy":
        labels = path.parent / LABELS_NPY
        if path.name == LABELS_NPY or not labels.is_file():
            raise DatasetError(
                f"{where}: a .npy source is one CIFAR-10-C style corruption file with "
                f"{LABELS_NPY} beside it; point source at the folder or at <corruption>.npy"
            )
        return _npy_source(path, ((path.stem, path),), labels, spec, where)
    if path.suffix in TABLE_BUILDERS:
        return TableSource((path,), TABLE_BUILDERS[path.suffix])
    raise DatasetError(
        f"{where}: cannot read {path.suffix or 'this'} files; use a .parquet, .csv or .json(l) "
        "file (or .tsv, .txt, .data), a folder of them, an image folder or a CIFAR-10-C / "
        "ImageNet-C folder"
    )


def saved_dataset(path: Path, split: str, where: str) -> SavedDatasetSource | None:
    """`path` as a folder `save_to_disk` wrote, or None when it is not one. A DatasetDict's
    split must be one of its `splits`."""
    if not path.is_dir():
        return None
    listing = path / SAVED_DICT
    if listing.is_file():
        try:
            splits = tuple(str(name) for name in json.loads(listing.read_text())["splits"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise DatasetError(
                f"{where}: {SAVED_DICT} does not list the splits save_to_disk wrote ({err}); "
                "save the DatasetDict again"
            ) from None
        if split not in splits:
            raise DatasetError(
                f"{where} holds the splits {', '.join(splits)} (a DatasetDict saved by "
                f"datasets' save_to_disk), not {split!r}; set split (or train_split) to one of them"
            )
        return SavedDatasetSource(path, splits)
    if (path / SAVED_STATE).is_file() and (path / "dataset_info.json").is_file():
        return SavedDatasetSource(path)
    return None


def _folder_source(path: Path, spec: TaskSpec, split: str, where: str) -> Source:
    saved = saved_dataset(path, split, where)
    if saved is not None:
        return saved
    if (path / LABELS_NPY).is_file() and spec.modality == "image":
        files = sorted(p for p in path.glob("*.npy") if p.name != LABELS_NPY)
        if not files:
            raise DatasetError(f"{where}: holds {LABELS_NPY} but no <corruption>.npy files")
        chosen = tuple((p.stem, p) for p in files)
        return _npy_source(path, chosen, path / LABELS_NPY, spec, where)
    if spec.modality == "image" and _has_images(path):
        return _image_source(path, spec, split, where)
    if spec.modality == "image" and any(path.glob("*.npy")):
        raise DatasetError(
            f"{where}: holds .npy files but no {LABELS_NPY}; a CIFAR-10-C style folder needs "
            f"{LABELS_NPY} beside its <corruption>.npy files"
        )
    return table_source(path, split, where)


def _npy_source(
    root: Path, files: tuple[tuple[str, Path], ...], labels: Path, spec: TaskSpec, where: str
) -> NpyCorruptionSource:
    """`files` of the source `root` (`where` names it): a folder, or one `<corruption>.npy`."""
    names = [name for name, _ in files]
    wanted = _wanted_corruptions(spec, names, where)
    _wanted_severities(spec, where)
    chosen = tuple((n, p) for n, p in files if n in wanted)
    for name, path in chosen:
        _check_corruption_name(name, _below(where, root, path))
    header = check_corruption_set(chosen, labels, where, len(SEVERITIES))  # headers only
    if header.dtype in FULL_SCALE:
        check_unit_bounds(spec.name, spec.bounds, f"{header.dtype} arrays")
    _check_npy_shape(spec, chosen[0][1], header)
    _check_npy_labels(labels, spec, where)
    return NpyCorruptionSource(chosen, labels)


def _check_npy_shape(spec: TaskSpec, path: Path, header: NpyHeader) -> None:
    """A declared `input_shape` against the images a `<corruption>.npy` header describes (every
    file's are alike, checked), after the transform: what the run compares after loading."""
    if spec.input_shape is None:
        return
    stored = header.shape[1:]
    channels, height, width = decoded_chw(stored)
    transform = ImageTransform.from_spec(spec.transform, spec.resize, spec.center_crop)
    decoded = [channels, *transform.output_size(height, width)]
    declared = list(spec.input_shape)
    if declared != decoded:
        resized = " after the transform" if decoded[1:] != [height, width] else ""
        raise DatasetError(
            f"task {spec.name!r}: input_shape {declared} but {path} holds images of shape "
            f"{list(stored)} ({_stored_order(stored)}), which decode "
            f"to {decoded}{resized}; fix input_shape, or declare resize / center_crop to get "
            "another size"
        )


def _check_corruption_name(name: str, where: str) -> None:
    """A corruption file or folder (`where` names it) is named after one of the 19 published
    corruptions."""
    if name in PUBLISHED_CORRUPTIONS:
        return
    close = difflib.get_close_matches(name, PUBLISHED_CORRUPTIONS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise DatasetError(
        f"{where} is not named after one of the 19 published corruptions{hint}: "
        f"{', '.join(PUBLISHED_CORRUPTIONS)}; rename it or move it out of the dataset (or list "
        "the corruptions to load in corruptions:)"
    )


def _stored_order(image_shape: tuple[int, ...]) -> str:
    if len(image_shape) == 2:
        return "grey"
    return "height, width, channels" if stored_channels_last(image_shape) else "channels first"


def _check_npy_labels(labels: Path, spec: TaskSpec, where: str) -> None:
    """`labels.npy` (its header already checked: 1-D integers, 5 blocks): class indices, never
    negative, below the declared class count, and the same in every severity's block (every
    severity holds the same clean images in the same order). Labels are small: read in full."""
    try:
        values = np.asarray(np.load(labels, mmap_mode="r"), dtype=np.int64)
    except (OSError, ValueError) as err:
        reason = (str(err).splitlines() or [type(err).__name__])[0]
        raise DatasetError(f"{where}: cannot read {labels} ({reason}); replace it") from None
    negative = np.flatnonzero(values < 0)
    if len(negative):
        row = int(negative[0])
        raise DatasetError(
            f"{where}: {labels} holds label {int(values[row])} (row {row}); labels are class "
            "indices, never negative: fix the file"
        )
    k = spec.num_classes or (len(spec.class_names) if spec.class_names else None)
    above = np.flatnonzero(values >= k) if k is not None else np.empty(0, np.int64)
    if k is not None and len(above):
        row = int(above[0])
        raise DatasetError(
            f"{where}: {labels} holds label {int(values[row])} (row {row}), outside 0..{k - 1} "
            f"({k} classes declared by num_classes / class_names): fix the file or the "
            "declaration"
        )
    blocks = values.reshape(len(SEVERITIES), -1)
    differ = np.flatnonzero((blocks != blocks[0]).any(axis=0))
    if len(differ):
        image = int(differ[0])
        severity = int(np.flatnonzero(blocks[:, image] != blocks[0, image])[0]) + 1
        row = (severity - 1) * blocks.shape[1] + image
        raise DatasetError(
            f"{where}: {labels} row {row} (severity {severity}, image "
            f"{source_image_id(image, blocks.shape[1])}) has label {int(values[row])}, severity "
            f"1's copy of that image {int(blocks[0, image])}; the 5 severities hold the same "
            "images in the same order, so their labels must repeat: replace the file with the "
            "published one"
        )


def _wanted_corruptions(spec: TaskSpec, available: list[str], where: str) -> set[str]:
    if spec.corruptions is None:
        return set(available)
    if not spec.corruptions:
        raise DatasetError(
            f"{where}: corruptions is empty, which selects no cell; list the corruptions to load "
            f"(available: {', '.join(sorted(available))}) or remove the key to load them all"
        )
    unknown = [c for c in spec.corruptions if c not in available]
    if unknown:
        raise DatasetError(
            f"{where}: corruptions lists {', '.join(map(repr, unknown))}, not in this dataset "
            f"(available: {', '.join(sorted(available))})"
        )
    return set(spec.corruptions)


def _wanted_severities(spec: TaskSpec, where: str, available: set[int] | None = None) -> set[int]:
    have = set(SEVERITIES) if available is None else available
    if spec.severities is not None and not spec.severities:
        raise DatasetError(
            f"{where}: severities is empty, which selects no cell; list the severities to load "
            "(1-5) or remove the key to load them all"
        )
    wanted = set(spec.severities) if spec.severities is not None else have
    missing = sorted(wanted - have)
    if missing:
        raise DatasetError(
            f"{where}: severities lists {missing}, not in this dataset (available: {sorted(have)})"
        )
    return wanted


# ----------------------------------------------------------------------------- images


def _subdirs(folder: Path, where: str = "") -> list[Path]:
    with os.scandir(folder) as entries:
        return _folders_of(list(entries), where)


def _folders_of(entries: list[os.DirEntry[str]], where: str = "") -> list[Path]:
    """The folders among one listing's entries, sorted; those starting with `.` or `_` are
    ignored."""
    return sorted(
        Path(e.path) for e in entries if not e.name.startswith((".", "_")) and _is_dir(e, where)
    )


def _is_dir(entry: os.DirEntry[str], where: str = "") -> bool:
    """`entry.is_dir()`, with a link that cannot be followed (two links naming each other raise
    ELOOP) refused naming it rather than raised as an OSError traceback."""
    try:
        return entry.is_dir()
    except OSError as err:
        raise _unfollowable(entry, err, where) from None


def _is_file(entry: os.DirEntry[str], where: str = "") -> bool:
    try:
        return entry.is_file()
    except OSError as err:
        raise _unfollowable(entry, err, where) from None


def _unfollowable(entry: os.DirEntry[str], err: OSError, where: str) -> DatasetError:
    return DatasetError(
        f"{where + ': ' if where else ''}{entry.path} cannot be followed ({err.strerror or err}): a link loop or a link to a "
        "place that cannot be read; remove or fix the link"
    )


def is_image(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


def _has_images(folder: Path, depth: int = 4) -> bool:
    """Whether any image lies within `depth` folder levels below `folder`."""
    for current, dirs, files in os.walk(folder):
        if any(is_image(f) for f in files):
            return True
        level = len(Path(current).relative_to(folder).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if level < depth else []
    return False


def _holds_severities(folder: Path, where: str = "") -> bool:
    """Whether `folder` looks like an ImageNet-C corruption: a subfolder named 1-5 that holds
    folders (class folders). A class folder named `3` holds images, so a `<class>/<image>` folder
    with digit class names is not mistaken for one."""
    return any(d.name in SEVERITY_FOLDERS and _subdirs(d, where) for d in _subdirs(folder, where))


def _image_source(root: Path, spec: TaskSpec, split: str, where: str) -> Source:
    subs = _subdirs(root, where)
    corruptions = [d for d in subs if _holds_severities(d, where)]
    if corruptions:
        others = [d.name for d in subs if d not in corruptions]
        if others:
            raise DatasetError(
                f"{where} mixes ImageNet-C corruption folders ({_names(corruptions)}) with "
                f"folders that are not ({', '.join(others[:3])}); ImageNet-C is "
                "<corruption>/<1-5>/<class>/<image>: move the others out"
            )
        return _folder_corruptions(root, [(d.name, d) for d in corruptions], spec, where)
    if _holds_severities(root):
        return _folder_corruptions(root, [(root.name, root)], spec, where)
    splits = [d for d in subs if _split_key(d.name) in SPLIT_NAMES]  # `Test/`, `Testing/` too
    if splits and len(splits) == len(subs):
        chosen = _split_folder(subs, split)
        if chosen is None:
            raise DatasetError(
                f"{where} has no split {split!r} (splits: {', '.join(d.name for d in subs)}); "
                "set split: to one of them"
            )
        labeled = spec.label_column is not None
        if labeled:
            _check_declared_classes(
                spec, check_class_folders(chosen, f"{where}/{chosen.name}"), where
            )
        return ImageFolderSource(chosen, labeled, tuple(subs))
    split_like = [d for d in splits if _subdirs(d)]  # a split folder holds class folders
    if split_like:
        others = [d.name for d in subs if d not in splits]
        raise DatasetError(
            f"{where} mixes split folders ({_names(split_like)}: <split>/<class>/<image>) with "
            f"folders that are not splits ({', '.join(others[:3])}: <class>/<image>); a folder "
            "holds one layout: move the others out, or point source at one split folder"
        )
    labeled = spec.label_column is not None
    if labeled:
        _check_declared_classes(spec, check_class_folders(root, where), where)
    return ImageFolderSource(root, labeled)


_FOLDER_SPLITS = {"training": "train", "testing": "test"}
"""Split folder names downloaded image sets use for the usual splits (`Training/`, `Testing/`)."""


def _split_key(name: str) -> str:
    """The split a split folder's name stands for: its name in lower case, `training` and
    `testing` read as `train` and `test`."""
    folded = name.lower()
    return _FOLDER_SPLITS.get(folded, folded)


def _split_folder(folders: list[Path], split: str) -> Path | None:
    """The split folder `split` names: the folder of that name, else the one that differs only
    in case (`Test/` for the default `test`) or names it in full (`Testing/`)."""
    exact = [d for d in folders if d.name == split]
    if exact:
        return exact[0]
    folded = [d for d in folders if _split_key(d.name) == _split_key(split)]
    return folded[0] if len(folded) == 1 else None


def _check_declared_classes(spec: TaskSpec, folders: list[Path], where: str) -> None:
    """Declared `class_names` name every class folder (they fix each folder's index); without
    them, the folders' names must give one order (`check_class_order`)."""
    if spec.class_names is None:
        check_class_order([d.name for d in folders], where)
        return
    declared = {class_name(n) for n in spec.class_names}
    unknown = [d.name for d in folders if class_name(d.name) not in declared]
    if unknown:
        raise DatasetError(
            f"{where}: class folder {unknown[0]!r} is not in class_names "
            f"({len(unknown)} folder(s) unknown); list every class folder name in class_names"
        )


def check_class_order(names: Sequence[str], where: str) -> None:
    """Class folders give class indices in the sorted text order of their names (as
    torchvision's ImageFolder does). Folders named by numbers whose text order is not their
    numeric order (`0, 1, 10, 100, 101, ...`: ImageNet-V2's folders, which are class indices)
    leave it open which order a model's outputs follow; reading them in text order made folder
    `10` class 2, so an ImageNet model scored about 0.1% with no warning. Refused unless the
    spec's `class_names` says (checked only when it does not)."""
    if len(names) < 2 or not all(n.isascii() and n.isdigit() for n in names):
        return
    text, numeric = sorted(names), sorted(names, key=int)
    if text == numeric:
        return
    moved = next(a for a, b in zip(text, numeric, strict=True) if a != b)
    raise DatasetError(
        f"{where}: the class folders are numbers, and their text order ({', '.join(text[:4])}, "
        f"...), which gives the class indices as torchvision's ImageFolder does, is not their "
        f"numeric order: folder {moved!r} would be class {text.index(moved)}, not "
        f"{numeric.index(moved)}; declare class_names in the order of the model's outputs (the "
        "folder names in numeric order, ['0', '1', '2', ...], where they are class indices as "
        "in ImageNet-V2; in text order to keep an ImageFolder-trained model's)"
    )


def _names(folders: list[Path]) -> str:
    return ", ".join(d.name for d in folders[:3]) + (", ..." if len(folders) > 3 else "")


def check_class_folders(root: Path, where: str) -> list[Path]:
    """A labeled image folder is `<class>/<image>`: its class folders, each checked to hold no
    folders (one directory listing per class; no image is opened)."""
    return list(class_images(root, where))


def class_images(
    root: Path, where: str, left_out: list[str] | None = None
) -> dict[Path, tuple[str, ...]]:
    """The class folders of a labeled `<class>/<image>` folder, sorted, each with the sorted names
    of the images in it: one directory listing per class folder, no image opened, no file
    stat'ed (`root` itself is listed once, for its folders and its loose images). A class folder
    holding folders, images outside class folders, or a link to a missing image is refused.
    `left_out` collects `<class>/<file>` of every file not read as an image (a suffix not in
    `IMAGE_SUFFIXES`), hidden files (`.DS_Store`, macOS `._` copies) aside."""
    with os.scandir(root) as entries:
        here = list(entries)
    subs = _folders_of(here, where)
    loose = sorted(e.name for e in here if is_image(e.name) and _is_file(e, where))
    if not subs or loose:
        found = f"{len(loose)} images such as {loose[0]}" if loose else "no class folders"
        raise DatasetError(
            f"{where} holds images outside class folders ({found}); a labeled image folder is "
            "<class>/<image>: set label_column: null to use the images unlabeled (an OOD set)"
        )
    listed: dict[Path, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for folder in subs:
        other = seen.setdefault(class_name(folder.name), folder.name)
        if other != folder.name:
            raise DatasetError(
                f"{where}: class folders {other!r} and {folder.name!r} are the same name in two "
                f"Unicode forms ({ascii(other)}, {ascii(folder.name)}); merge them into one folder"
            )
        with os.scandir(folder) as entries:
            items = sorted(entries, key=lambda e: e.name)
        nested = [e.name for e in items if not e.name.startswith((".", "_")) and _is_dir(e, where)]
        if nested:
            raise nested_folder_error(where, folder.name, nested[0])
        dangling = [
            e.name for e in items if is_image(e.name) and e.is_symlink() and not _is_file(e, where)
        ]
        if dangling:
            raise DatasetError(
                f"{where}: {folder.name}/{dangling[0]} is a link to a missing file "
                f"({len(dangling)} such link(s) in class folder {folder.name!r}); restore its "
                "target or remove the link"
            )
        listed[folder] = tuple(e.name for e in items if is_image(e.name) and _is_file(e, where))
        if left_out is not None:
            left_out.extend(
                f"{folder.name}/{e.name}"
                for e in items
                if not e.name.startswith(".") and not is_image(e.name) and _is_file(e, where)
            )
    return listed


def class_name(folder: str) -> str:
    """The class a class folder names: its name in Unicode's composed form (NFC), so `café`
    made on macOS (`e` + U+0301) and typed elsewhere (U+00E9), which print alike, are one class."""
    return unicodedata.normalize("NFC", folder)


def class_folder_names(sources: list[Source]) -> list[str]:
    """The class index every split of a labeled image folder shares: the sorted union of the
    class folders of all its split folders (and of `train_source`'s), so a class one split lacks
    keeps its index in the others (names in NFC: `class_name`)."""
    roots = {
        root
        for source in sources
        if isinstance(source, ImageFolderSource) and source.labeled
        for root in (source.split_roots or (source.root,))
    }
    return sorted({class_name(d.name) for root in roots for d in _subdirs(root)})


def nested_folder_error(where: str, cls: str, inner: str) -> DatasetError:
    return DatasetError(
        f"{where}: class folder {cls!r} holds folders ({inner}, ...); an image folder is "
        "<class>/<image> (ImageNet-C: <corruption>/<1-5>/<class>/<image>); point source at one "
        "dataset: nested folders are not pooled into one task"
    )


def _folder_corruptions(
    root: Path, corruptions: list[tuple[str, Path]], spec: TaskSpec, where: str
) -> FolderCorruptionSource:
    """The cells of the corruption folders of `root` (`where` names it: the root of an ImageNet-C
    tree, or one corruption's folder), each listed once and checked against the first, whose
    image names the loader then uses for every cell; every message names the folder at fault by
    its real path (`_below`)."""
    wanted = _wanted_corruptions(spec, [name for name, _ in corruptions], where)
    cells: list[tuple[str, int, Path]] = []
    first: tuple[Path, list[str]] | None = None
    first_images: CellImages | None = None
    for name, folder in corruptions:
        if name not in wanted:
            continue
        at_corruption = _below(where, root, folder)
        _check_corruption_name(name, at_corruption)
        severities = _severity_folders(root, folder, where)
        for severity in sorted(_wanted_severities(spec, at_corruption, set(severities))):
            cell = severities[severity]
            at_cell = _below(where, root, cell)
            listed = class_images(cell, at_cell)
            classes = list(listed)
            _check_declared_classes(spec, classes, at_cell)
            if spec.class_names is None:  # declared names index every cell's folders alike
                first = first or (cell, [d.name for d in classes])
                _same_classes(at_cell, [d.name for d in classes], first)
            images = CellImages(spec.name, cell, {d.name: n for d, n in listed.items()})
            first_images = first_images or images.nonempty()
            images.same_as(first_images)
            cells.append((name, severity, cell))
    assert first_images is not None  # a corruption folder holds a severity folder (detected so)
    return FolderCorruptionSource(tuple(cells), first_images.names)


def _below(where: str, root: Path, path: Path) -> str:
    """`where`, which names the source `root`, moved to `path` at or below it, so that a message
    names the real path once. Appending a cell's `<corruption>/<severity>` to `where` instead
    doubled the corruption folder when the source is one corruption's folder (`source: inc/fog`
    gave `.../inc/fog/fog/2`, a folder that does not exist)."""
    rel = path.relative_to(root).as_posix()
    return where if rel == "." else f"{where}/{rel}"


@dataclass(frozen=True)
class CellImages:
    """The image file names of one ImageNet-C cell, by class folder (listed, never opened)."""

    task: str
    folder: Path
    names: dict[str, tuple[str, ...]]

    def nonempty(self) -> CellImages:
        """This cell, refused when none of its class folders holds an image (as the run does)."""
        if not any(self.names.values()):
            raise DatasetError(
                f"task {self.task!r}: {self.folder}: the class folders hold no images (png, jpg, "
                "...); restore the cell's images or leave it out with corruptions: / severities:"
            )
        return self

    def same_as(self, first: CellImages) -> None:
        """Every cell holds the first cell's images, file for file: the published ImageNet-C
        holds the same 50,000 file names in every cell, and a cell with fewer images (an empty
        class folder, one file missing) would weigh other images in mean corruption accuracy and
        mCE. Names the first class folder that differs and the first file one side lacks."""
        if self.names == first.names:
            return
        for cls in sorted(set(self.names) | set(first.names)):
            mine, theirs = self.names.get(cls, ()), first.names.get(cls, ())
            if mine == theirs:
                continue
            short, full = (self, first) if set(theirs) - set(mine) else (first, self)
            raise DatasetError(
                f"task {self.task!r}: {short.lacks(full, cls)}; every corruption/severity cell "
                "must hold the same source images, file for file (ImageNet-C holds the same "
                "50,000 file names in each), or mean corruption accuracy and mCE weigh the cells "
                "over different images: restore the missing images from the published dataset "
                "(or remove the extra ones)"
            )

    def lacks(self, other: CellImages, cls: str) -> str:
        """What this cell's class folder `cls` lacks of `other`'s (which holds more)."""
        here, there = self.folder / cls, other.folder / cls
        have, held = self.names.get(cls), other.names[cls]
        if have is None:
            return f"class folder {here} does not exist, while {there} holds {len(held)} images"
        if not have:
            return f"class folder {here} holds no images, while {there} holds {len(held)}"
        missing = sorted(set(held) - set(have))
        return (
            f"{here} lacks {missing[0]}, which {there} holds ({len(missing)} of its "
            f"{len(held)} images missing)"
        )


def _severity_folders(root: Path, folder: Path, where: str) -> dict[int, Path]:
    """The `1`..`5` folders of the ImageNet-C corruption `folder` (at or below the source `root`
    that `where` names); any other folder is refused by its path."""
    subs = _subdirs(folder)
    for d in subs:
        if d.name not in SEVERITY_FOLDERS:
            raise DatasetError(
                f"{_below(where, root, d)} is not a severity folder (1-5); ImageNet-C is "
                "<corruption>/<1-5>/<class>/<image>: remove or rename it"
            )
    return {int(d.name): d for d in subs}


def _same_classes(where: str, names: list[str], first: tuple[Path, list[str]]) -> None:
    """Every cell (`where` names its folder) has the first cell's class folders (labels are their
    sorted names)."""
    first_folder, first_names = first
    if names == first_names:
        return
    lacks = sorted(set(first_names) - set(names))
    extra = sorted(set(names) - set(first_names))
    detail = (
        f"it lacks {', '.join(lacks[:3])}"
        if lacks
        else f"it has {', '.join(extra[:3])}, which the other lacks"
    )
    raise DatasetError(
        f"{where} has {len(names)} class folders and {first_folder} has {len(first_names)} "
        f"({detail}); every corruption/severity cell needs the same class folders, since labels "
        "are their sorted names: restore the missing folders or remove the extra ones"
    )


def _header_columns(spec: TaskSpec, builder: str, file: Path, where: str) -> list[str] | None:
    """A table file's column names from its header (a CSV's first line, a Parquet schema), read
    without parsing the rows; None for another format."""
    if builder == "csv":
        return check_head(file, table_options(spec), where)
    if builder == "parquet":
        return parquet_columns(file, where)
    return None
