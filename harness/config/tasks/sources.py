"""Where an inline task's data lives: a local path's layout resolved to one kind of source.

`resolve_source` looks at a `TaskSpec`'s `source` (or `train_source`) without reading any data:
it lists folders, never opens an image or a table, and imports neither torch nor datasets, so
`harness validate` runs it on every inline task and refuses what `harness run` would refuse (a
missing split, a flat image folder declared labeled, an unknown corruption, a nested folder that
would pool several datasets into one). The loader resolves the same way, so both agree.

Layouts (docs/tasks.md):
- `hf:<id>`: a Hugging Face hub dataset (or a local dataset folder datasets can read);
- a `.parquet`, `.csv`, `.json`/`.jsonl` file: one split, whatever its name;
- a folder of table files: `<split>.parquet`, `<split>-*.parquet`, `data/<split>-*.parquet` or
  `<split>/*.parquet` name their split; a folder whose files name no split is one split;
- an image folder: `<class>/<image>` (one split, whatever its name), `<split>/<class>/<image>`,
  or any images at all for an unlabeled set (`label_column: null`);
- CIFAR-10-C / CIFAR-100-C: a folder with `labels.npy` and one `<corruption>.npy` per corruption
  (severities 1-5 stacked), or one `<corruption>.npy` beside its `labels.npy`;
- ImageNet-C: `<corruption>/<severity>/<class>/<image>` (or one `<corruption>` folder).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from harness.config.spec import TaskSpec
from harness.core.errors import DatasetError

SPLIT_NAMES: tuple[str, ...] = ("train", "test", "validation", "valid", "val", "dev", "eval")
TABLE_BUILDERS: dict[str, str] = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "json",
}
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)
SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)
LABELS_NPY = "labels.npy"


@dataclass(frozen=True)
class HubSource:
    """`hf:<id>`: read with `datasets.load_dataset`."""

    dataset: str


@dataclass(frozen=True)
class TableSource:
    """Table files (one split) read with a packaged datasets builder."""

    files: tuple[Path, ...]
    builder: str


@dataclass(frozen=True)
class ImageFolderSource:
    """A folder of `<class>/<image>` (labeled) or of any images (unlabeled)."""

    root: Path
    labeled: bool


@dataclass(frozen=True)
class NpyCorruptionSource:
    """CIFAR-10-C layout: `(corruption, file)` pairs, each file 5 severities stacked."""

    files: tuple[tuple[str, Path], ...]
    labels: Path


@dataclass(frozen=True)
class FolderCorruptionSource:
    """ImageNet-C layout: one `<class>/<image>` folder per (corruption, severity) cell."""

    cells: tuple[tuple[str, int, Path], ...]


Source = HubSource | TableSource | ImageFolderSource | NpyCorruptionSource | FolderCorruptionSource
CORRUPTION_SOURCES = (NpyCorruptionSource, FolderCorruptionSource)


def resolve_source(spec: TaskSpec, base_dir: Path, *, split: str, train: bool = False) -> Source:
    """The source of `split` (of `train_source` when `train` and the spec names one)."""
    key = "train_source" if train and spec.train_source else "source"
    text = spec.train_source if key == "train_source" else spec.source
    assert text is not None
    if text.startswith("hf:"):
        _no_corruption_filters(spec, text)
        return HubSource(text[3:])
    path = Path(text).expanduser()
    path = path if path.is_absolute() else base_dir / path
    where = f"task {spec.name!r}: {key} {path}"
    if not path.exists():
        raise DatasetError(f"{where} does not exist; fix the path (relative to the spec's folder)")
    if path.is_file():
        source: Source = _file_source(path, spec, where)
    else:
        source = _folder_source(path, spec, split, where)
    if not isinstance(source, CORRUPTION_SOURCES):
        _no_corruption_filters(spec, str(path))
    return source


def check_task_source(spec: TaskSpec, base_dir: Path) -> None:
    """Resolve every split a task reads, as `harness validate` does (no data is read)."""
    resolve_source(spec, base_dir, split=spec.split)
    train_source(spec, base_dir)


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
    return resolve_source(spec, base_dir, split=spec.train_split), spec.train_split


def _named_splits(path: Path, spec: TaskSpec) -> list[str]:
    if spec.modality == "image" and _has_images(path):
        names = [d.name for d in _subdirs(path)]
        return names if names and all(n in SPLIT_NAMES for n in names) else []
    return sorted({s for s in (_split_of(f, path) for f in _table_files(path)) if s is not None})


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
        return _npy_source(((path.stem, path),), labels, spec, where)
    if path.suffix in TABLE_BUILDERS:
        return TableSource((path,), TABLE_BUILDERS[path.suffix])
    raise DatasetError(
        f"{where}: cannot read {path.suffix or 'this'} files; use a .parquet, .csv or .json(l) "
        "file, a folder of them, an image folder or a CIFAR-10-C / ImageNet-C folder"
    )


def _folder_source(path: Path, spec: TaskSpec, split: str, where: str) -> Source:
    if (path / LABELS_NPY).is_file() and spec.modality == "image":
        files = sorted(p for p in path.glob("*.npy") if p.name != LABELS_NPY)
        if not files:
            raise DatasetError(f"{where}: holds {LABELS_NPY} but no <corruption>.npy files")
        return _npy_source(tuple((p.stem, p) for p in files), path / LABELS_NPY, spec, where)
    if spec.modality == "image" and _has_images(path):
        return _image_source(path, spec, split, where)
    return _table_source(path, split, where)


def _npy_source(
    files: tuple[tuple[str, Path], ...], labels: Path, spec: TaskSpec, where: str
) -> NpyCorruptionSource:
    names = [name for name, _ in files]
    wanted = _wanted_corruptions(spec, names, where)
    _wanted_severities(spec, where)
    return NpyCorruptionSource(tuple((n, p) for n, p in files if n in wanted), labels)


def _wanted_corruptions(spec: TaskSpec, available: list[str], where: str) -> set[str]:
    if spec.corruptions is None:
        return set(available)
    unknown = [c for c in spec.corruptions if c not in available]
    if unknown:
        raise DatasetError(
            f"{where}: corruptions lists {', '.join(map(repr, unknown))}, not in this dataset "
            f"(available: {', '.join(sorted(available))})"
        )
    return set(spec.corruptions)


def _wanted_severities(spec: TaskSpec, where: str, available: set[int] | None = None) -> set[int]:
    have = set(SEVERITIES) if available is None else available
    wanted = set(spec.severities) if spec.severities is not None else have
    missing = sorted(wanted - have)
    if missing:
        raise DatasetError(
            f"{where}: severities lists {missing}, not in this dataset (available: {sorted(have)})"
        )
    return wanted


# ----------------------------------------------------------------------------- tables


def _table_files(folder: Path) -> list[Path]:
    """Table files directly in `folder`, in `folder/data` and in `folder/<split>/`."""
    places = [folder, folder / "data", *(folder / s for s in SPLIT_NAMES)]
    found = [
        f
        for place in places
        if place.is_dir()
        for f in sorted(place.iterdir())
        if f.is_file() and f.suffix in TABLE_BUILDERS and not f.name.startswith(".")
    ]
    for suffixes in ((".parquet",), (".csv",), (".json", ".jsonl")):  # one format, parquet first
        chosen = [f for f in found if f.suffix in suffixes]
        if chosen:
            return chosen
    return []


def _split_of(path: Path, folder: Path) -> str | None:
    """The split a table file names: its `<split>/` folder or its name's first word."""
    rel = path.relative_to(folder)
    if len(rel.parts) > 1 and rel.parts[0] in SPLIT_NAMES:
        return rel.parts[0]
    head = re.split(r"[-_.]", path.name, maxsplit=1)[0]
    return head if head in SPLIT_NAMES else None


def _table_source(folder: Path, split: str, where: str) -> TableSource:
    files = _table_files(folder)
    if not files:
        raise DatasetError(
            f"{where} holds no .parquet, .csv or .json files (nor images for an image task); "
            "point source at the data"
        )
    builder = TABLE_BUILDERS[files[0].suffix]
    splits = {f: _split_of(f, folder) for f in files}
    named = sorted({s for s in splits.values() if s is not None})
    if not named:
        return TableSource(tuple(files), builder)  # one split, whatever its name
    loose = [f.name for f, s in splits.items() if s is None]
    if loose:
        raise DatasetError(
            f"{where} mixes split files ({', '.join(named)}) with files that name no split "
            f"({', '.join(loose[:3])}); move or rename them"
        )
    if split not in named:
        raise DatasetError(
            f"{where} has no split {split!r} (splits: {', '.join(named)}); set split: to one of them"
        )
    return TableSource(tuple(f for f, s in splits.items() if s == split), builder)


# ----------------------------------------------------------------------------- images


def _subdirs(folder: Path) -> list[Path]:
    with os.scandir(folder) as entries:
        return sorted(
            Path(e.path) for e in entries if e.is_dir() and not e.name.startswith((".", "_"))
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


def _severity_dirs(folder: Path) -> list[Path] | None:
    """The `1`..`5` subfolders of `folder` when those are all it has, else None."""
    subs = _subdirs(folder)
    if subs and all(d.name.isdigit() and int(d.name) in SEVERITIES for d in subs):
        return subs
    return None


def _image_source(root: Path, spec: TaskSpec, split: str, where: str) -> Source:
    subs = _subdirs(root)
    if subs and all(_severity_dirs(d) is not None for d in subs):
        return _folder_corruptions([(d.name, d) for d in subs], spec, where)
    if _severity_dirs(root) is not None:
        return _folder_corruptions([(root.name, root)], spec, where)
    if subs and all(d.name in SPLIT_NAMES for d in subs):
        if split not in [d.name for d in subs]:
            raise DatasetError(
                f"{where} has no split {split!r} (splits: {', '.join(d.name for d in subs)}); "
                "set split: to one of them"
            )
        root, where = root / split, f"{where}/{split}"
    labeled = spec.label_column is not None
    if labeled:
        check_class_folders(root, where)
    return ImageFolderSource(root, labeled)


def check_class_folders(root: Path, where: str) -> list[Path]:
    """A labeled image folder is `<class>/<image>`: its class folders (the first one is checked
    for nesting here; `nested_folder_error` is raised by the full scan for any other)."""
    subs = _subdirs(root)
    with os.scandir(root) as entries:
        loose = sorted(e.name for e in entries if e.is_file() and is_image(e.name))
    if not subs or loose:
        found = f"{len(loose)} images such as {loose[0]}" if loose else "no class folders"
        raise DatasetError(
            f"{where} holds images outside class folders ({found}); a labeled image folder is "
            "<class>/<image>: set label_column: null to use the images unlabeled (an OOD set)"
        )
    nested = _subdirs(subs[0])
    if nested:
        raise nested_folder_error(where, subs[0].name, nested[0].name)
    return subs


def nested_folder_error(where: str, cls: str, inner: str) -> DatasetError:
    return DatasetError(
        f"{where}: class folder {cls!r} holds folders ({inner}, ...); an image folder is "
        "<class>/<image> (ImageNet-C: <corruption>/<1-5>/<class>/<image>); point source at one "
        "dataset: nested folders are not pooled into one task"
    )


def _folder_corruptions(
    corruptions: list[tuple[str, Path]], spec: TaskSpec, where: str
) -> FolderCorruptionSource:
    wanted = _wanted_corruptions(spec, [name for name, _ in corruptions], where)
    cells: list[tuple[str, int, Path]] = []
    for name, folder in corruptions:
        if name not in wanted:
            continue
        severities = {int(d.name): d for d in _severity_dirs(folder) or []}
        for severity in sorted(_wanted_severities(spec, f"{where}/{name}", set(severities))):
            check_class_folders(severities[severity], f"{where}/{name}/{severity}")
            cells.append((name, severity, severities[severity]))
    return FolderCorruptionSource(tuple(cells))
