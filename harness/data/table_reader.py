"""Local table files read through Arrow, whole columns at a time, never row by row in Python.

CSV, TSV and other delimited text (`pyarrow.csv`), Parquet (`pyarrow.parquet`) and JSON lines
(`pyarrow.json`; a `.json` file holding one array of objects is parsed whole) become one
`pyarrow.Table` per split, the files of a split concatenated in order. What the reader decides and
checks, each refusal one `DatasetError` line naming the file (and the column and row where there
is one):

- the delimiter: declared (`delimiter:`), else `,` for `.csv`, a tab for `.tsv`, and for other
  suffixes (`.data`, `.txt`) the first line's: a comma, a tab, else runs of whitespace; a `.csv`
  file whose first line holds `;` and no `,` is refused (a semicolon-separated file read as CSV
  would be one column);
- the header: the first line, unless `column_names:` names the columns of a headerless file; a
  first line of numbers only (a headerless file read as if it had a header), a header with an
  empty or repeated name (a pandas index written with `to_csv`) are refused;
- the encoding: UTF-8 (a UTF-8 byte-order mark is skipped), or `encoding:`; a UTF-16/32 file
  without `encoding:` and a cell that is not valid text are refused naming the column and row;
- quoted fields may hold delimiters and newlines (a file is read again allowing newlines in
  values only when a first read fails and it holds a `"`: that mode is slower); a row with more
  or fewer fields than the header is refused with its line number and text (and how many rows
  are ragged);
- missing-value markers (`missing_values:`, default `""` and `?`) become nulls in tabular tables;
  text and image tables keep every cell as written (an empty text stays an empty string);
- the columns converted: `TableOptions.columns` (a tabular task's named columns) when the header
  names them all and the file is ASCII, else every column (Arrow still splits every field, so
  ragged rows are found either way).

Files up to 16 MiB are parsed whole (all threads); larger ones are streamed in 1 MiB blocks with
the types Arrow infers from the first block declared (memory: one block's buffers beside the
table), and read again whole if a later block does not fit those types. Rows are numbered from 1
after the header (`TableRead.locate` maps a row of the concatenated split back to its file).
"""

from __future__ import annotations

import bisect
import codecs
import csv
import difflib
import json
import mmap
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from harness.core.errors import DatasetError


def missing_column_hint(name: str, columns: list[str]) -> str:
    """A hint for a column `name` the header lacks: the header name it holds with spaces around
    it (`a, b, label` names ' label', where a plain list of the columns seems to hold it), else
    its close matches (`Sex` for `sex`, case first), else ""."""
    spaced = [c for c in columns if c != name and c.strip() == name.strip()]
    if spaced:
        return (
            f"; the header names it {spaced[0]!r} (with spaces): name the column as written, or "
            "remove the spaces from the header"
        )
    close = [c for c in columns if c.casefold() == name.casefold()]
    close += [
        c for c in difflib.get_close_matches(name, columns, n=3, cutoff=0.6) if c not in close
    ]
    return f"; did you mean {', '.join(repr(c) for c in close[:3])}?" if close else ""


DEFAULT_MISSING: tuple[str, ...] = ("", "?")
WHITESPACE = "whitespace"
DELIMITED_SUFFIXES: dict[str, str | None] = {
    ".csv": ",",
    ".tsv": "\t",
    ".data": None,  # UCI's files (adult.data, german.data): sniffed
    ".test": None,  # UCI's adult.test
    ".txt": None,
    ".dat": None,
}
_SNIFF_BYTES = 1 << 16
STREAM_BLOCK = 1 << 20
WHOLE_FILE_BYTES = 1 << 24  # files up to 16 MiB are parsed whole (on all threads; faster)
_REASON_CHARS = 200
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True, kw_only=True)
class TableOptions:
    """How the files of one split are read (the task spec's keys, docs/tasks.md)."""

    column_names: tuple[str, ...] | None = None
    missing_values: tuple[str, ...] | None = DEFAULT_MISSING  # None: keep every cell as written
    delimiter: str | None = None
    encoding: str = "utf-8"
    string_columns: tuple[str, ...] = ()  # read as text whatever they look like (ids)
    skip_prefix: str | None = None  # leading lines starting with it are skipped (adult.test's)
    # name empty and repeated header names as pandas does ("Unnamed: 0", "priors_count.1")
    # instead of refusing them: for published files whose layout a recipe knows
    pandas_names: bool = False
    # the columns a tabular task reads (None: every column); the others are not converted when
    # the header names each of these and passes its checks (a delimited file)
    columns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TableRead:
    """A split's rows as one Arrow table, with the file each row came from."""

    table: pa.Table
    files: tuple[Path, ...]
    starts: tuple[int, ...] = field(default=(0,))  # first row of each file in `table`

    def locate(self, row: int) -> str:
        """`row 17 of <file>` for a 0-based row of the concatenated split."""
        i = max(bisect.bisect_right(self.starts, row) - 1, 0)
        return f"row {row - self.starts[i] + 1} of {self.files[i]}"


def read_table(files: Sequence[Path], options: TableOptions, where: str) -> TableRead:
    """The rows of `files` (one split) as one table; `where` starts every message (`task 't':
    source`), the file is named after it."""
    tables = [read_file(file, options, f"{where} file {file}") for file in files]
    starts, total = [], 0
    for table in tables:
        starts.append(total)
        total += table.num_rows
    if len(tables) == 1:
        return TableRead(tables[0], tuple(files), (0,))
    try:
        joined = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise DatasetError(
            f"{where}: its {len(files)} files do not hold the same columns "
            f"({_first_mismatch(tables, files, err)}); give every file of a split the same columns"
        ) from None
    return TableRead(joined, tuple(files), tuple(starts))


def _first_mismatch(tables: Sequence[pa.Table], files: Sequence[Path], err: Exception) -> str:
    """Which file's columns cannot join the first file's, and how: the column and its two types
    (a folder of 30 shards with one of them differing names that one)."""
    first = tables[0].schema
    for table, file in zip(tables[1:], files[1:], strict=True):
        for column in table.schema:
            if column.name in first.names:
                theirs = first.field(column.name).type
                try:
                    pa.unify_schemas(
                        [pa.schema([first.field(column.name)]), pa.schema([column])],
                        promote_options="permissive",
                    )
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    return (
                        f"column {column.name!r} is {column.type} in {file} but {theirs} in "
                        f"{files[0]}"
                    )
    return flat(str(err))


def read_file(file: Path, options: TableOptions, where: str) -> pa.Table:
    """One table file (its suffix says the format)."""
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        _no_text_options(options, where, "Parquet")
        return _guarded(lambda: pq.read_table(file), where, "Parquet")
    if suffix in (".json", ".jsonl"):
        _no_text_options(options, where, "JSON")
        return _read_json(file, where)
    return _read_delimited(file, options, where)


def _no_text_options(options: TableOptions, where: str, kind: str) -> None:
    if options.column_names is not None or options.delimiter is not None:
        raise DatasetError(
            f"{where}: column_names and delimiter are for delimited text (CSV, TSV); a {kind} "
            "file names its own columns: remove them"
        )


def _guarded(read: Any, where: str, kind: str) -> pa.Table:
    try:
        table = read()
    except (pa.ArrowException, OSError, ValueError) as err:
        what = "file" if kind == "Parquet" else "table"
        raise DatasetError(
            f"{where} is not a readable {kind} {what} ({flat(str(err)) or type(err).__name__}); "
            f"fix the file or replace it with the data saved as {kind}"
        ) from None
    assert isinstance(table, pa.Table)
    return table


_ARROW_ROW = re.compile(r"\s*in row \d+$")
_COLUMN = re.compile(r"Column\(([^()]*)\) (changed from|was specified twice)")
_KINDS = {bool: "bool", int: "number", float: "number", str: "string"}


def _json_lines_error(file: Path, err: Exception) -> str:
    """Arrow's JSON error with its row (counted from 0 within a 1 MiB block, blank lines left
    out: line 1,200,001 of a file read 'row 17747') replaced by the file's line, found by
    parsing the lines again (only on this error path): the first line that is not JSON; for a
    value whose type changes (`Column(/a)`, or `Column()`: a line that is not an object), the
    first line where its type differs from its first; for a key given twice, the first line
    giving it twice. A nested column's error (`Column(/a/b)`) names no line: the first line
    `json.loads` refuses would be another, later one."""
    text = flat(str(err)) or type(err).__name__
    found = _ARROW_ROW.search(text)
    if found is None:
        return text
    text = text[: found.start()].rstrip(" .")
    column = _COLUMN.search(text)
    path = None if column is None else column.group(1)
    if path is not None and path.count("/") > 1:  # nested: not followed
        return text
    key = path[1:] if path else None  # `Column()`: the row itself; `Column(/)`: the key ""
    twice = column is not None and column.group(2) != "changed from"
    first: str | None = None
    try:
        with file.open("r", encoding="utf-8-sig", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                at = f"{text}; first at line {number:,} of {file.name}"
                try:
                    row = json.loads(line, object_pairs_hook=_Object)
                except ValueError:
                    return at
                if column is None:
                    continue
                keys = [k for k, _ in row] if isinstance(row, _Object) else []
                if twice:
                    if key is not None and keys.count(key) > 1:
                        return at
                    continue
                value = row if key is None else dict(row).get(key) if keys else None
                if value is None:
                    continue
                kind = "object" if isinstance(value, _Object) else _KINDS.get(type(value), "list")
                if first is None:
                    first = kind
                elif kind != first:
                    return at
    except OSError:
        pass
    return text


class _Object(list[tuple[str, object]]):
    """A JSON object as `json.loads` read it, its (key, value) pairs in order (a key given twice
    is kept twice)."""


def _read_json(file: Path, where: str) -> pa.Table:
    with file.open("rb") as f:
        start = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start != b"[":
        try:
            table = pa_json.read_json(file)
        except (pa.ArrowException, OSError, ValueError) as err:
            raise DatasetError(
                f"{where} is not a readable JSON table ({_json_lines_error(file, err)}); fix the "
                "file or replace it with the data saved as JSON"
            ) from None
    else:
        try:
            rows = json.loads(file.read_text(encoding="utf-8-sig"))
            other = [r for r in rows if not isinstance(r, dict)][:1]
            if other:  # orient='values' writes arrays of the cells: no column names
                raise ValueError(
                    f"it is an array holding {flat(json.dumps(other[0]), 40)}, not only objects "
                    "of named cells"
                )
            table = pa.Table.from_pylist(rows)
        except (ValueError, TypeError, pa.ArrowException) as err:
            raise DatasetError(
                f"{where} is not a readable JSON table ({flat(str(err))}); a JSON table is one "
                "object per line (JSON lines) or one array of objects"
            ) from None
    if table.num_rows == 0:
        raise DatasetError(f"{where} is not a readable JSON table (it holds no rows)")
    if start != b"[" and table.num_rows == 1 and _nested_only(table):
        raise DatasetError(
            f"{where} is one JSON object of nested values (pandas' DataFrame.to_json writes "
            "its columns so unless told otherwise), not a table of rows; write one object per "
            "row: df.to_json(path, orient='records', lines=True)"
        )
    return table


def _nested_only(table: pa.Table) -> bool:
    """Whether every column holds objects or lists: one row of them is what pandas' `to_json`
    writes with orient 'columns' (its default), 'index' or 'split'."""
    return all(
        pa.types.is_struct(kind) or pa.types.is_list(kind) or pa.types.is_large_list(kind)
        for kind in table.schema.types
    )


# ----------------------------------------------------------------------------- delimited text


@dataclass(frozen=True)
class _Layout:
    """What the first bytes of a delimited file say: its delimiter, how many leading lines to
    skip."""

    delimiter: str
    skipped: int = 0


def _read_delimited(file: Path, options: TableOptions, where: str) -> pa.Table:
    layout = _sniff(file, options, where)
    include = _included(file, layout, options)
    try:
        table = _parsed_table(file, layout, options, include, where)
    except _IncludeMismatch:  # the header read here and Arrow's disagree: read every column
        include = None
        table = _parsed_table(file, layout, options, include, where)
    if table.num_rows == 0:
        raise DatasetError(
            f"{where} is not a readable CSV table (it holds no rows: only a header, or nothing)"
        )
    if options.pandas_names:
        table = table.rename_columns(_pandas_names(table.column_names))
    elif options.column_names is None and include is None:  # else checked by `_included`
        _check_header(table.column_names, options, where)
    _check_text(table, where)
    return table


class _IncludeMismatch(Exception):
    """Arrow did not find a column the header read by `_included` names."""


def _parsed_table(
    file: Path, layout: _Layout, options: TableOptions, include: list[str] | None, where: str
) -> pa.Table:
    """The parsed file (`include`: the columns converted, None: all); ragged rows refused."""
    ragged: list[Any] = []
    try:
        try:
            table = _parsed(file, layout, options, ragged, include, newlines=False)
        except (pa.ArrowException, ValueError) as err:
            if include is not None and "include_columns" in str(err):
                raise _IncludeMismatch() from None
            if not _holds_quotes(file):
                raise
            table = None
        if table is None or (ragged and _holds_quotes(file)):
            # a quoted value may hold a newline: read again allowing that (slower, so only here)
            table = _parsed(file, layout, options, ragged, include, newlines=True)
    except (pa.ArrowException, OSError, ValueError) as err:
        if include is not None and "include_columns" in str(err):
            raise _IncludeMismatch() from None
        raise _parse_error(file, err, where) from None
    if ragged:
        raise _ragged_error(file, ragged, table, where)
    return table


def _included(file: Path, layout: _Layout, options: TableOptions) -> list[str] | None:
    """The columns to convert: `options.columns`, when the header (read here from the first
    line, as `check_head` does) names each of them and passes the header checks, and the file
    is ASCII (so no column left unread holds bytes that are not text, which a whole read
    refuses); else None (every column is read and the header checked as Arrow reads it)."""
    if options.columns is None or options.pandas_names or not _ascii(file, options):
        return None
    names = (
        list(options.column_names)
        if options.column_names
        else _header_fields(file, options, layout)
    )
    try:
        if options.column_names is None:
            _check_header(names, options, "")
    except DatasetError:
        return None
    wanted = list(dict.fromkeys(options.columns))
    if not set(wanted) <= set(names) or len(wanted) == len(names):
        return None
    return wanted


def _parsed(
    file: Path,
    layout: _Layout,
    options: TableOptions,
    ragged: list[Any],
    include: list[str] | None,
    *,
    newlines: bool,
) -> pa.Table:
    """One parse of a delimited file (the columns `include` names, or all): streamed when
    large (`_streamed`), else whole; ragged rows collected in `ragged` (emptied first)."""
    ragged.clear()

    def on_invalid(row: Any) -> str:
        ragged.append(row)
        return "skip"

    data: Any = file
    delimiter = layout.delimiter
    if delimiter == WHITESPACE:
        data, delimiter = pa.BufferReader(_single_spaced(file)), " "
    read = pa_csv.ReadOptions(
        column_names=list(options.column_names) if options.column_names else None,
        encoding=options.encoding,
        skip_rows=layout.skipped,
    )
    parse = pa_csv.ParseOptions(
        delimiter=delimiter, newlines_in_values=newlines, invalid_row_handler=on_invalid
    )
    convert = pa_csv.ConvertOptions(
        null_values=list(options.missing_values or ()),
        strings_can_be_null=options.missing_values is not None,
        quoted_strings_can_be_null=options.missing_values is not None,
        column_types={c: pa.string() for c in options.string_columns},
        include_columns=include or [],
    )
    table = None
    if file.stat().st_size > WHOLE_FILE_BYTES:  # large: one block's buffers at a time
        table = _streamed(data, read, parse, convert, ragged)
    if table is None:  # small, or a later block did not fit the first block's types
        ragged.clear()
        data = _reopened(data)
        table = pa_csv.read_csv(
            data, read_options=read, parse_options=parse, convert_options=convert
        )
    return table


def _streamed(
    data: Any,
    read: pa_csv.ReadOptions,
    parse: pa_csv.ParseOptions,
    convert: pa_csv.ConvertOptions,
    ragged: list[Any],
) -> pa.Table | None:
    """The file read block by block (`STREAM_BLOCK` bytes: one block's parsing buffers at a
    time, where the whole-file reader holds several; a 300,000 x 20 float CSV peaked at 1.9x
    its table this way, 3.3-3.9x read whole), or None when a later block holds a value the types
    inferred from the first one cannot take (the whole-file reader then infers over all
    blocks). Ragged rows are collected in `ragged` (by the parser's handler)."""
    streamed = pa_csv.ReadOptions(
        column_names=read.column_names,
        encoding=read.encoding,
        skip_rows=read.skip_rows,
        block_size=STREAM_BLOCK,
    )
    try:
        # the first block's types, declared for every block: a reader that infers checks each
        # block again (a 300,000 x 20 float CSV read in 0.94 s inferring, 0.64 s declared)
        types = _head_types(data, read, parse, convert)
        ragged.clear()  # the head's ragged rows are found again below
        typed = pa_csv.ConvertOptions(
            null_values=convert.null_values,
            strings_can_be_null=convert.strings_can_be_null,
            quoted_strings_can_be_null=convert.quoted_strings_can_be_null,
            column_types={**types, **convert.column_types},
            include_columns=convert.include_columns,
        )
        reader = pa_csv.open_csv(
            _reopened(data), read_options=streamed, parse_options=parse, convert_options=typed
        )
        return reader.read_all()
    except pa.ArrowInvalid as err:
        if "conversion error" in str(err).lower():
            return None
        raise


def _first_block(data: Any) -> bytes:
    """The file's first `STREAM_BLOCK` bytes cut to whole lines (a path, or an Arrow buffer
    reader, read from its start)."""
    if isinstance(data, pa.BufferReader):
        data.seek(0)
        head = data.read(STREAM_BLOCK)
    else:
        with Path(data).open("rb") as f:
            head = f.read(STREAM_BLOCK)
    return head[: head.rfind(b"\n") + 1] if len(head) == STREAM_BLOCK else head


def _head_types(
    data: Any,
    read: pa_csv.ReadOptions,
    parse: pa_csv.ParseOptions,
    convert: pa_csv.ConvertOptions,
) -> dict[str, pa.DataType]:
    """The column types Arrow infers from the file's first block (its whole lines), read into
    memory: a reader opened on the file for it kept 30 MB more at its peak. Nothing when the
    head does not parse alone (a quoted newline cut at the block's end): the reader infers."""
    head = _first_block(data)
    try:
        schema = pa_csv.read_csv(
            pa.BufferReader(head),
            read_options=pa_csv.ReadOptions(
                column_names=read.column_names,
                encoding=read.encoding,
                skip_rows=read.skip_rows,
                use_threads=False,
            ),
            parse_options=parse,
            convert_options=convert,
        ).schema
    except (pa.ArrowException, ValueError):
        return {}
    return {f.name: f.type for f in schema if not pa.types.is_null(f.type)}


def _reopened(data: Any) -> Any:
    """A path as it is; a buffer reader rewound to its start (it is read twice)."""
    if isinstance(data, pa.BufferReader):
        data.seek(0)
    return data


# Files that are not text at all, whatever their name: a `data.csv` saved gzip-compressed read
# as one garbled header ("its columns: \x1f...").
_BINARY_MARKERS = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"PAR1", "Parquet"),  # a text header may start so too: Parquet also ends with it
)


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""How an Excel 97-2003 workbook (.xls, an OLE2 compound file) starts."""


def _workbook_parts(head: bytes) -> bool:
    """Whether the zip entries whose local headers lie in `head` include an .xlsx workbook's
    parts (`xl/...`): the names are read from the headers, not searched for in the compressed
    bytes, where `xl/` turns up by chance."""
    at = head.find(b"PK\x03\x04")
    while at >= 0 and at + 30 <= len(head):
        size = int.from_bytes(head[at + 26 : at + 28], "little")
        if head[at + 30 : at + 30 + size].startswith(b"xl/"):
            return True
        at = head.find(b"PK\x03\x04", at + 4)
    return False


def _parquet_footer(file: Path) -> bool:
    """Whether `file` ends as Parquet does: its 4-byte footer length, then `PAR1`, the footer
    inside the file. A text file that merely ends with `PAR1` (a last cell, no final newline)
    has text there, a length of hundreds of MB (`,1,P` reads 0x502C312C)."""
    try:
        size = file.stat().st_size
        with file.open("rb") as f:
            f.seek(max(0, size - 8))
            tail = f.read()
    except OSError:
        return False
    return (
        len(tail) == 8 and tail[4:] == b"PAR1" and int.from_bytes(tail[:4], "little") <= size - 12
    )


def _invalid_utf8(head: bytes, index: int) -> bool:
    """Whether line `index` of `head` holds bytes that are not UTF-8: a U+FFFD in the text
    decoded with errors="replace" may be that character itself, which a UTF-8 file holds as
    three valid bytes and Arrow reads. A character cut at the end of `head` is not counted."""
    text = head.decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    lines = text.splitlines()
    line = lines[index] if index < len(lines) else ""
    if index == len(lines) - 1 and len(head) >= _SNIFF_BYTES:
        line = line[:-3]  # the last line of a cut `head`: its last bytes may be a cut character
    return any("\udc80" <= ch <= "\udcff" for ch in line)


def _sniff(file: Path, options: TableOptions, where: str) -> _Layout:
    """The delimiter and quoting of `file` from its first 64 KiB (see the module docstring)."""
    try:
        with file.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as err:
        raise DatasetError(f"{where}: cannot read it ({err.strerror or err})") from None
    if head.startswith(_WIDE_BOMS) and codecs.lookup(options.encoding).name == "utf-8":
        raise DatasetError(
            f"{where} is UTF-16 or UTF-32 text (it starts with that byte-order mark); save it as "
            "UTF-8, or set encoding: utf-16 (or the file's encoding) on the task"
        )
    packed = next((kind for marker, kind in _BINARY_MARKERS if head.startswith(marker)), None)
    if packed == "Parquet" and not _parquet_footer(file):
        packed = None
    if head.startswith(_OLE2) or (packed == "zip" and _workbook_parts(head)):
        # a workbook renamed .csv: unzipping an .xlsx gives XML files, not a table
        raise DatasetError(
            f"{where} is an Excel workbook, not delimited text; save the sheet as CSV (CSV UTF-8 "
            "in Excel's Save As) and point source at that file"
        )
    if packed is not None:
        fix = (  # read as it is under its own suffix; a CSV of it would lose its column types
            f"rename it to {file.with_suffix('.parquet').name} (a Parquet file is read as it is)"
            if packed == "Parquet"
            else "decompress or convert it to CSV"
        )
        raise DatasetError(
            f"{where} is {packed} data, not delimited text (it starts with {packed}'s marker); "
            f"{fix} and point source at that file"
        )
    text = head.decode(options.encoding, errors="replace").lstrip("\ufeff")
    lines = text.splitlines()
    skipped = 0
    while skipped < len(lines) and _skipped(lines[skipped], options):
        skipped += 1
    at = next((i for i in range(skipped, len(lines)) if lines[i].strip()), len(lines))
    first = lines[at] if at < len(lines) else ""
    utf8 = codecs.lookup(options.encoding).name == "utf-8"
    if "\ufffd" in first and utf8 and _invalid_utf8(head, at):
        # Arrow's header names are decoded as UTF-8 with no way out: a UnicodeDecodeError
        raise DatasetError(
            f"{where}: its header ({flat(first, 80)!r}, \ufffd where a byte is not UTF-8) is "
            "not UTF-8 text; save the file as UTF-8, or set encoding: on the task (latin-1, "
            "cp1252, ...)"
        )
    declared = options.delimiter
    delimiter = declared or DELIMITED_SUFFIXES.get(file.suffix.lower()) or _guess(first)
    plain = declared is None and delimiter == "," and "," not in first
    if plain and ";" not in first and "\t" in first:
        raise DatasetError(
            f"{where}: its first line ({flat(first.replace(chr(9), ' '), 80)!r}) holds tabs and "
            "no ',': the file is tab-separated; set delimiter: \"\\t\" on the task (or name "
            "the file .tsv)"
        )
    if declared is None and delimiter == "," and "," not in first and ";" in first:
        raise DatasetError(
            f"{where}: its first line ({flat(first, 80)!r}) holds ';' and no ',': the file is "
            "semicolon-separated; set delimiter: ';' on the task (a decimal comma such as 3,5 "
            "is then refused as not a number: convert those to 3.5)"
        )
    return _Layout(delimiter, skipped=skipped)


def _guess(first: str) -> str:
    if "," in first:
        return ","
    return "\t" if "\t" in first else WHITESPACE


def _holds_quotes(file: Path) -> bool:
    """Whether a `"` occurs anywhere in the file (quoted fields may then hold newlines)."""
    with file.open("rb") as f:
        if f.seek(0, 2) == 0:
            return False
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
            return view.find(b'"') >= 0


def _single_spaced(file: Path) -> bytes:
    """A whitespace-separated file's bytes with runs of spaces and tabs made one space and
    trimmed at both ends of each line, for Arrow's one-character delimiter."""
    data = re.sub(rb"[ \t]+", b" ", file.read_bytes())
    return re.sub(rb"(?m)^ | (?=\r?$)", b"", data)


def _parse_error(file: Path, err: BaseException, where: str) -> DatasetError:
    reason = flat(str(err)) or type(err).__name__
    if isinstance(err, UnicodeDecodeError):
        reason = f"not {err.encoding} text: byte 0x{err.object[err.start]:02x}"
    return DatasetError(
        f"{where} is not a readable delimited table ({reason}); fix the file, or set "
        "delimiter: / column_names: / encoding: on the task to read it as it is"
    )


def _ragged_error(file: Path, rows: list[Any], table: pa.Table, where: str) -> DatasetError:
    first = rows[0]
    line = _line_of(file, first.text)
    at = f"line {line}" if line else "a row"
    more = f" ({len(rows)} such rows)" if len(rows) > 1 else ""
    return DatasetError(
        f"{where}: {at} has {first.actual_columns} field(s) where the header has "
        f"{first.expected_columns}{more}: {flat(first.text, 80)!r}; fix the file (quote "
        "fields that hold the delimiter), or set delimiter: / column_names: on the task"
    )


def _line_of(file: Path, text: str) -> int | None:
    """The 1-based line of `file` that reads `text` (an error path: the file is scanned)."""
    with file.open("r", encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if line.rstrip("\r\n") == text:
                return number
    return None


def check_head(file: Path, options: TableOptions, where: str) -> list[str] | None:
    """What the first line of a delimited file tells without parsing the rest (for `harness
    validate`): its encoding and delimiter, its header's names, and, for a headerless file, that
    `column_names` names as many columns as it has. Returns the column names; None when the
    header goes on past the first line (a quoted name holding a newline)."""
    layout = _sniff(file, options, where)
    fields = _header_fields(file, options, layout)
    if options.column_names is None:
        _check_header(fields, options, where)
        return None if _header_line(file, options).count('"') % 2 else fields
    if len(fields) != len(options.column_names):
        raise DatasetError(
            f"{where}: its first line has {len(fields)} field(s) but column_names names "
            f"{len(options.column_names)}; name every column of the file, in order"
        )
    return list(options.column_names)


def head_columns(
    file: Path, options: TableOptions, columns: list[str], where: str
) -> dict[str, pa.Array | None]:
    """Each of `columns` as Arrow reads it from the file's first block (1 MiB of whole lines),
    converted as the whole read converts it, for `harness validate`: a type the first block
    gives a column is the whole file's whenever it is text (a later block can turn numbers into
    text, never text into numbers). The block is parsed once for all the columns; a column is
    None when the head does not parse alone with it, or the file is split on runs of
    whitespace (the load then says)."""
    if not columns:
        return {}
    layout = _sniff(file, options, where)
    if layout.delimiter == WHITESPACE:
        return dict.fromkeys(columns)
    head = _first_block(file)

    def read(names: list[str]) -> pa.Table | None:
        try:
            return pa_csv.read_csv(
                pa.BufferReader(head),
                read_options=pa_csv.ReadOptions(
                    column_names=list(options.column_names) if options.column_names else None,
                    encoding=options.encoding,
                    skip_rows=layout.skipped,
                    use_threads=False,
                ),
                parse_options=pa_csv.ParseOptions(delimiter=layout.delimiter),
                convert_options=pa_csv.ConvertOptions(
                    null_values=list(options.missing_values or ()),
                    strings_can_be_null=options.missing_values is not None,
                    quoted_strings_can_be_null=options.missing_values is not None,
                    column_types={c: pa.string() for c in options.string_columns},
                    include_columns=names,
                ),
            )
        except (pa.ArrowException, ValueError):
            return None

    names = list(dict.fromkeys(columns))
    table = read(names)
    if table is not None:
        return {name: table.column(name).combine_chunks() for name in names}
    # One column the joint read cannot take (e.g. a name the header lacks) must not hide the
    # others: read each alone, as the load would meet it.
    alone = {name: read([name]) for name in names}
    return {name: None if t is None else t.column(0).combine_chunks() for name, t in alone.items()}


def head_column(file: Path, options: TableOptions, column: str, where: str) -> pa.Array | None:
    """`column` alone from the file's first block (see `head_columns`)."""
    return head_columns(file, options, [column], where)[column]


def _ascii(file: Path, options: TableOptions) -> bool:
    """Whether a UTF-8 file holds ASCII bytes only (read in 1 MiB pieces into one buffer: a
    memory map would count the whole file in the process's resident memory)."""
    if codecs.lookup(options.encoding).name != "utf-8":
        return False
    piece = bytearray(STREAM_BLOCK)
    with file.open("rb") as f:
        while size := f.readinto(piece):
            if not (piece if size == len(piece) else piece[:size]).isascii():
                return False
    return True


def _header_fields(file: Path, options: TableOptions, layout: _Layout) -> list[str]:
    """The fields of the file's first line that is neither blank nor skipped."""
    first = _header_line(file, options)
    if layout.delimiter == WHITESPACE:
        return first.split()
    return next(csv.reader([first], delimiter=layout.delimiter), [])


def _header_line(file: Path, options: TableOptions) -> str:
    with file.open("r", encoding=options.encoding, errors="replace", newline="") as f:
        lines = (line for line in f if line.strip() and not _skipped(line, options))
        return next(lines, "").lstrip("\ufeff").rstrip("\r\n")


def _skipped(line: str, options: TableOptions) -> bool:
    return options.skip_prefix is not None and line.startswith(options.skip_prefix)


def _check_header(names: list[str], options: TableOptions, where: str) -> None:
    if options.column_names is None and names and all(_NUMBER.match(n) for n in names):
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        raise DatasetError(
            f"{where}: its first line holds numbers only ({shown}): the file has no header; "
            "name its columns with column_names: [...] on the task"
        )
    for i, name in enumerate(names):
        if not name.strip():
            raise DatasetError(
                f"{where}: column {i + 1} of the header has no name (an index written by "
                "pandas' to_csv?); name it, drop it from the file, or give column_names"
            )
        if names.index(name) != i:
            raise DatasetError(
                f"{where}: the header names column {name!r} twice (columns {names.index(name) + 1} "
                f"and {i + 1}); rename one, or give column_names"
            )


def _pandas_names(names: list[str]) -> list[str]:
    """`Unnamed: <i>` for an empty name, `<name>.<k>` for the k-th repeat (pandas' read_csv)."""
    out: list[str] = []
    for i, name in enumerate(names):
        name = name if name.strip() else f"Unnamed: {i}"
        base, k = name, 0
        while name in out:
            k += 1
            name = f"{base}.{k}"
        out.append(name)
    return out


def _check_text(table: pa.Table, where: str) -> None:
    """A column Arrow read as bytes holds a cell that is not text in the file's encoding."""
    for i, column_field in enumerate(table.schema):
        if not pa.types.is_binary(column_field.type):
            continue
        name, column = column_field.name, table.column(i)
        for row, value in enumerate(column.to_pylist()):
            try:
                (value or b"").decode("utf-8")
            except UnicodeDecodeError as err:
                raise DatasetError(
                    f"{where}: column {name!r}, row {row + 1} is not UTF-8 text (byte "
                    f"0x{value[err.start]:02x} in {flat(repr(value), 60)}); save the file as "
                    "UTF-8, or set encoding: on the task (latin-1, cp1252, ...)"
                ) from None


def flat(text: str, limit: int = _REASON_CHARS) -> str:
    """`text` on one line, printable, at most `limit` characters (a file's bytes can end up in
    it)."""
    text = re.sub(r"\s+", " ", text).strip()
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
