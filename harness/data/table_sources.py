"""Table files as a task's source: which files of a folder hold which split, and what a file shows
without being parsed.

A folder of tables is read in one format (the first of Parquet, CSV, TSV, JSON found:
`FOLDER_TABLE_SUFFIXES`), from `<split>.parquet`, `<split>-*.parquet`, `data/<split>-*.parquet`
or `<split>/*.parquet` (a folder whose files name no split is one split). `check_table_file`
refuses a 0-byte file, another file named `.parquet` and a JSON file that does not start with an
object or an array, reading at most 4 KiB of it; `harness validate` runs it on every table file
of an inline task (`harness.data.sources.resolve_source`), and the loader refuses what only
parsing finds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.core.errors import DatasetError
from harness.core.hashing import file_sha256

SPLIT_NAMES: tuple[str, ...] = ("train", "test", "validation", "valid", "val", "dev", "eval")
TABLE_BUILDERS: dict[str, str] = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    # delimited text named by suffix only (UCI's adult.data / adult.test / german.data; .txt):
    # read when named as the source, never picked up from a folder
    ".data": "csv",
    ".test": "csv",
    ".txt": "csv",
    ".dat": "csv",
}
FOLDER_TABLE_SUFFIXES: tuple[tuple[str, ...], ...] = (
    (".parquet",),
    (".csv",),
    (".tsv",),
    (".json", ".jsonl"),
)
"""The table files a folder source is read from: one format, the first found in this order."""
TABLE_FORMATS: dict[str, str] = {"parquet": "Parquet", "csv": "CSV", "json": "JSON"}
"""The format a table builder reads, as messages name it."""
PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class TableSource:
    """Table files (one split) read with a packaged datasets builder."""

    files: tuple[Path, ...]
    builder: str


def check_table_file(file: Path, where: str) -> None:
    """What a table file shows without parsing it: it is not empty, and a `.parquet` file has
    Parquet's `PAR1` marker at its start and end and room for the footer whose length precedes
    the end marker (12 bytes read), so `harness validate` refuses a 0-byte file or another file
    renamed `.parquet`; a `.json` / `.jsonl` file starts (after whitespace) with an object or
    an array (4 KiB read); the loader refuses what only parsing finds (`splits.read_split`)."""
    kind = TABLE_FORMATS[TABLE_BUILDERS[file.suffix]]
    try:
        size = file.stat().st_size
        if size == 0:
            raise DatasetError(
                f"{where} is an empty file (0 bytes), not a {kind} table; replace it with the "
                "data (or remove it)"
            )
        if file.suffix in (".json", ".jsonl"):
            with file.open("rb") as f:
                start = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
            if start and start not in (b"{", b"["):
                # A file that is one JSON scalar (`null` crashes the whole process inside
                # `datasets`' JSON reader, a segfault: it must never reach it).
                raise DatasetError(
                    f"{where} does not start with a JSON object or array (it starts with "
                    f"{start.decode('latin-1')!r}); a {kind} table holds one object per row "
                    "(JSON lines) or an array of objects: replace it with the data saved so"
                )
            return
        if file.suffix != ".parquet":
            return
        with file.open("rb") as f:
            head = f.read(4)
            f.seek(max(size - 8, 0))
            tail = f.read(8)
    except OSError as err:
        raise DatasetError(f"{where}: cannot read it ({err.strerror or err})") from None
    footer = int.from_bytes(tail[:4], "little")  # the footer's length, before the end marker
    if head != PARQUET_MAGIC or tail[4:] != PARQUET_MAGIC or size < 12 + footer:
        raise DatasetError(
            f"{where} is not a Parquet file (no PAR1 marker at its start and end: cut short, "
            "damaged, or another format named .parquet); replace it with the data saved as "
            "Parquet, or give the file its real suffix (.csv, .json, .jsonl)"
        )


def _all_tables(folder: Path) -> list[Path]:
    """Table files of every format directly in `folder`, in `folder/data` and in
    `folder/<split>/`."""
    places = [folder, folder / "data", *(folder / s for s in SPLIT_NAMES)]
    return [
        f
        for place in places
        if place.is_dir()
        for f in sorted(place.iterdir())
        if f.is_file() and f.suffix in TABLE_BUILDERS and not f.name.startswith(".")
    ]


def table_files(folder: Path) -> list[Path]:
    """Table files directly in `folder`, in `folder/data` and in `folder/<split>/`."""
    found = _all_tables(folder)
    for suffixes in FOLDER_TABLE_SUFFIXES:  # one format, parquet first
        chosen = [f for f in found if f.suffix in suffixes]
        if chosen:
            return chosen
    return []


def split_of(path: Path, folder: Path) -> str | None:
    """The split a table file names: its `<split>/` folder or its name's first word."""
    rel = path.relative_to(folder)
    if len(rel.parts) > 1 and rel.parts[0] in SPLIT_NAMES:
        return rel.parts[0]
    head = re.split(r"[-_.]", path.name, maxsplit=1)[0]
    return head if head in SPLIT_NAMES else None


def folder_tables(folder: Path, split: str, where: str) -> tuple[Path, ...]:
    """The table files of `split` in a folder of tables (every one when none names a split)."""
    return table_source(folder, split, where).files


def folder_splits(folder: Path) -> list[str]:
    """The splits the table files of a folder name (none: the folder is one split)."""
    return sorted({s for s in (split_of(f, folder) for f in table_files(folder)) if s is not None})


def table_source(folder: Path, split: str, where: str) -> TableSource:
    files = table_files(folder)
    if not files:
        raise DatasetError(
            f"{where} holds no .parquet, .csv or .json files (nor images for an image task); "
            "point source at the data"
        )
    builder = TABLE_BUILDERS[files[0].suffix]
    splits = {f: split_of(f, folder) for f in files}
    named = sorted({s for s in splits.values() if s is not None})
    if not named:
        _no_copies(files, split, where)
        return TableSource(tuple(files), builder)  # one split, whatever its name
    _one_format(folder, files, where)
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
    chosen = [f for f, s in splits.items() if s == split]
    _no_copies(chosen, split, where)
    return TableSource(tuple(chosen), builder)


def _one_format(folder: Path, chosen: list[Path], where: str) -> None:
    """Split files of another format than the one read (a stale `test.parquet` beside fresh
    `train.csv` and `test.csv`) would be left out without a word, or hide the fresh ones."""
    others = [f for f in _all_tables(folder) if f not in chosen and split_of(f, folder) is not None]
    if not others:
        return
    by_suffix: dict[str, list[str]] = {}
    for file in [*chosen, *others]:
        by_suffix.setdefault(file.suffix, []).append(file.name)
    listed = "; ".join(
        f"{suffix}: {', '.join(sorted(names))}" for suffix, names in by_suffix.items()
    )
    raise DatasetError(
        f"{where} holds split files in two formats ({listed}); a folder is read in one format "
        "(Parquet first), so the others would be left out: keep one format"
    )


def _no_copies(files: list[Path], split: str, where: str) -> None:
    """Two files of one split with the same bytes (`test.csv` and its copy `test_backup.csv`,
    which the split's name rule also reads) would put every row in the split twice: n doubled
    and intervals as narrow as twice the data gives. Only files of equal size are hashed."""
    by_size: dict[int, list[Path]] = {}
    for file in files:
        by_size.setdefault(file.stat().st_size, []).append(file)
    for same in by_size.values():
        seen: dict[str, Path] = {}
        for file in same if len(same) > 1 else ():
            digest = file_sha256(file)
            if digest in seen:
                raise DatasetError(
                    f"{where}: its files {seen[digest].name} and {file.name} of split {split!r} "
                    "hold the same bytes, so every row would be read twice; remove the copy"
                )
            seen[digest] = file
