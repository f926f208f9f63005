"""Paired forms kept between builds of a report into the same site folder.

A report's rankings (the board's rank column, every headline column) read each model's paired
form of a stored record (harness.analysis.paired_forms: a clean accuracy's per-sample
correctness, an ECE's labels, predictions and confidences); building them parses every job's
`samples.parquet`. After one model was added to a results folder, every other job's table is the
one the previous build read: its forms are kept here, so that a second build parses only the
tables that changed.

A form is kept under the sha256 of its job's table (the checksum job.json records for
`samples.parquet`, checked when the job is read) and of the whole stored record it is the form
of; the file names what wrote it (`forms_identity`: the versions of the harness, numpy, pandas
and pyarrow and the sources of the modules that read tables and build forms). So a form whose
table, record or code changed is built again from the table; a file that is not whole, is a link
or was written by other code is not read (every form is built again); a form read is the form
built, array for array (its sample ids, values and dtypes). Each table's column names are
kept too (the report's figures read a table for its group columns only when it has some). Kept: per-sample forms of a plain
column (`PerSample`: accuracies, NLL, Brier) and whole-table classification statistics (ECE,
balanced accuracy, macro-F1); the others are built from their tables every time.

The file, `.paired-forms` in the site folder (hidden: harness/present/site_folder.py), holds the
forms this build used, written into the build's staging folder and published with its pages
(harness/present/site_publish.py). Format: a line of JSON (format, identity, the sha256 of the
rest), a line of JSON (the sample-id lists and each form's description), then the arrays.
"""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis.paired_forms import (
    CellMeans,
    Form,
    PerSample,
    Resampled,
    WholeTable,
    classification_form,
)
from harness.core.metric_record import MetricRecord
from harness.store import atomic, links
from harness.store.run_store import TABLE_FILE, StoredJob

log = logging.getLogger(__name__)

NAME = ".paired-forms"
FORMAT = 1
# what reads a job's table and builds its forms (paths under harness/)
_FORM_MODULES = (
    "analysis/paired_forms.py",
    "core/calibration_context.py",
    "core/sample_table.py",
    "present/form_cache.py",
    "store/run_store.py",
)
_ALIGN = 8  # each array starts at a multiple of this in the data


def forms_identity() -> str:
    """The sha256 of what builds the forms: package versions and module sources."""
    versions = []
    for package in ("robustness-harness", "numpy", "pandas", "pyarrow"):
        try:
            versions.append(metadata.version(package))
        except metadata.PackageNotFoundError:  # run from a source tree never installed
            versions.append("not installed")
    digest = hashlib.sha256("\0".join(versions).encode() + b"\0")
    root = Path(__file__).resolve().parent.parent
    for name in _FORM_MODULES:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    return digest.hexdigest()


class FormCache:
    """The forms the site folder's previous build kept, and those this build uses
    (`harness.analysis.paired_tests.FormStore`)."""

    def __init__(self, identity: str, found: dict[str, Any], ids: list[Any], data: bytes) -> None:
        self.identity = identity
        self._found = found  # key -> description (`_described`)
        self._ids = ids  # the found descriptions' sample-id lists
        self._data = data
        self._used: dict[str, Form] = {}
        self._listed: dict[str, tuple[str, ...]] = {}  # key -> the used form's sample ids
        self._lists: dict[tuple[str, ...], tuple[str, ...]] = {}  # one copy of each id list
        self._read_ids: dict[int, tuple[str, ...]] = {}  # a found list of ids, checked
        self._indexes: dict[tuple[Any, ...], pd.Index] = {}  # built from found ids
        self._names: dict[str, list[str]] = {}  # table checksum -> its column names, used

    @classmethod
    def read(cls, folder: Path) -> FormCache:
        """The forms kept in the site folder `folder` (none when it has no whole file of this
        code's forms)."""
        identity = forms_identity()
        return cls(identity, *_read(folder / NAME, identity))

    @staticmethod
    def key(record: MetricRecord, job: StoredJob) -> str | None:
        """The digest a form of `record` is kept under: its job's table checksum and the whole
        record (None: the job lists no table)."""
        table = job.record.files.get(TABLE_FILE)
        if table is None:
            return None
        text = json.dumps(record.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(f"{table}\0{text}".encode()).hexdigest()

    def get(self, record: MetricRecord, job: StoredJob) -> Form | None:
        """The kept form of `record` (None: none kept, or one that does not read back)."""
        key = self.key(record, job)
        if key is None:
            return None
        form = self._used.get(key)
        if form is None and key in self._found:
            try:
                form = self._form(key)
            except (ValueError, KeyError, TypeError, IndexError, OverflowError) as err:
                log.info("kept paired form %s not read back (%s): built again", key[:12], err)
                form = None
            if form is not None:
                self._used[key] = form
        return form

    def names(self, job: StoredJob) -> list[str]:
        """The column names of the job's table: kept for its checksum, else read from it
        (`StoredJob.table_names`) and kept. A job without a table has none."""
        table = job.record.files.get(TABLE_FILE)
        if table is None:
            return []
        names = self._names.get(table)
        if names is None:
            kept = self._found.get("names\0" + table)
            if isinstance(kept, dict) and isinstance(kept.get("names"), list):
                names = [str(n) for n in kept["names"]]
            else:
                names = job.table_names()
            self._names[table] = names
        return names

    def put(self, record: MetricRecord, job: StoredJob, form: Form) -> None:
        """Keep `form`, built from the job's table, when it is a kind the file holds."""
        key = self.key(record, job)
        listed = _keepable(form) if key is not None else None
        if key is not None and listed is not None:
            self._used[key] = form
            # the forms of a board's tables list the same ids: one copy is held
            self._listed[key] = self._lists.setdefault(listed, listed)

    def _form(self, key: str) -> Form:
        """The found form under `key` (`_form`), its sample ids noted for `write`."""
        described = self._found[key]
        at = int(described["ids"])
        listed = self._read_ids.get(at)
        if listed is None:
            found = self._ids[at]
            if not isinstance(found, list) or not all(type(v) is str for v in found):
                raise ValueError("sample ids are not strings")
            listed = self._read_ids[at] = tuple(found)
        form = _form(described, listed, self._data, self._index)
        self._listed[key] = listed
        return form

    def _index(self, listed: tuple[str, ...], kind: Any, name: Any) -> pd.Index:
        """The index of sample ids `listed` built as `kind` says (`_index_kind`; None: as an
        ECE's ids are), named `name`: built once per list, kind and name (an index is never
        changed in place, so forms may share it)."""
        memo = (id(listed), json.dumps(kind), json.dumps(name))
        index = self._indexes.get(memo)
        if index is None:
            if kind is None or kind == ["object"]:
                index = pd.Index(np.array(listed, dtype=object), name=name)
            elif isinstance(kind, list) and len(kind) == 2 and kind[0] == "string":
                dtype = pd.StringDtype(storage=str(kind[1]), na_value=pd.NA)
                index = pd.Index(pd.array(list(listed), dtype=dtype), name=name)
            else:
                raise ValueError(f"unknown index {kind!r}")
            self._indexes[memo] = index
        return index

    def write(self, folder: Path) -> None:
        """Write the forms this build used into `folder` (the build's staging folder)."""
        ids: list[list[str]] = []
        at_ids: dict[tuple[str, ...], int] = {}
        chunks: list[bytes] = []
        size = 0
        entries = []

        def array(values: np.ndarray, dtype: str) -> list[int]:
            nonlocal size
            raw = np.ascontiguousarray(values, dtype=dtype).tobytes()
            pad = -len(raw) % _ALIGN
            chunks.append(raw + b"\0" * pad)
            start, size = size, size + len(raw) + pad
            return [start, len(values)]

        for key, form in self._used.items():
            listed = self._listed[key]
            if listed not in at_ids:
                at_ids[listed] = len(ids)
                ids.append(list(listed))
            entries.append([key, _described(form, at_ids[listed], array)])
        for table, names in self._names.items():
            entries.append(["names\0" + table, {"kind": "names", "names": names}])
        body = json.dumps({"ids": ids, "entries": entries}, separators=(",", ":")).encode()
        rest = [body, b"\n", *chunks]
        digest = hashlib.sha256()
        for part in rest:
            digest.update(part)
        head = {"format": FORMAT, "identity": self.identity, "sha256": digest.hexdigest()}
        text = json.dumps(head, sort_keys=True, separators=(",", ":")).encode()
        atomic.write_bytes(folder / NAME, b"".join([text, b"\n", *rest]), durable=False)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _keepable(form: Form) -> tuple[str, ...] | None:
    """The sample ids of a plain per-sample form or a whole-table classification form, of
    string sample ids in an index this module rebuilds; None for a form not kept."""
    if isinstance(form, Resampled):
        # its ids are `pd.Index` of the rows' sample ids as an object array: rebuilt alike
        return _strings(form.ids) if form.source is not None else None
    if type(form) is not PerSample or isinstance(form, CellMeans):
        return None
    index, values = form.values.index, form.values
    keepable = (
        _index_kind(index) is not None
        and values.dtype in (np.dtype(bool), np.dtype(np.float64))
        and (values.name is None or isinstance(values.name, str))
        and (index.name is None or isinstance(index.name, str))
    )
    return _strings(index) if keepable else None


def _strings(index: pd.Index) -> tuple[str, ...] | None:
    listed = tuple(index.tolist())  # (iterating an Arrow-backed index is 15x slower)
    return listed if all(type(v) is str for v in listed) else None


def _index_kind(index: pd.Index) -> list[Any] | None:
    """How a per-sample form's index is rebuilt: ["string", storage] for a pandas string
    dtype (NA missing values), ["object"]; None for another dtype (not kept)."""
    dtype = index.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA:
        return ["string", dtype.storage]
    if dtype == np.dtype("O"):
        return ["object"]
    return None


def _described(form: Form, ids: int, array: Any) -> dict[str, Any]:
    """The JSON description of a form (`array(values, dtype)` stores an array: [start, n])."""
    if isinstance(form, Resampled):
        source = form.source
        assert source is not None
        return {
            "kind": "whole_table",
            "ids": ids,
            "metric": source.metric,
            "bins": int(source.bins),
            "labels": array(source.labels, "<i8"),
            "predictions": array(source.predictions, "<i8"),
            "confidence": array(source.confidence, "<f8"),
        }
    values = form.values
    floats = values.dtype == np.float64
    return {
        "kind": "per_sample",
        "ids": ids,
        "index": _index_kind(values.index),
        "index_name": values.index.name,
        "name": values.name,
        "binary": bool(form.binary),
        "values": array(values.to_numpy(), "<f8" if floats else "u1"),
        "dtype": "float64" if floats else "bool",
    }


def _array(at: list[int], dtype: str, data: bytes) -> np.ndarray:
    start, n = int(at[0]), int(at[1])
    size = np.dtype(dtype).itemsize * n
    if start < 0 or n < 0 or start + size > len(data):
        raise ValueError("array outside the data")
    return np.frombuffer(data, dtype=dtype, count=n, offset=start).copy()


def _form(described: dict[str, Any], listed: tuple[str, ...], data: bytes, index: Any) -> Form:
    """The form a description (`_described`) stands for, as built from the table, of the
    sample ids `listed` (`index(listed, kind, name)` builds their index)."""
    if described["kind"] == "whole_table":
        source = WholeTable(
            metric=str(described["metric"]),
            bins=int(described["bins"]),
            labels=_array(described["labels"], "<i8", data).astype(np.int64),
            predictions=_array(described["predictions"], "<i8", data).astype(np.int64),
            confidence=_array(described["confidence"], "<f8", data).astype(np.float64),
        )
        if not len(source.labels) == len(source.predictions) == len(source.confidence):
            raise ValueError("arrays of different lengths")
        if len(listed) != len(source.labels):
            raise ValueError("sample ids and arrays of different lengths")
        return classification_form(source, index(listed, None, None))
    if described["kind"] != "per_sample":
        raise ValueError(f"unknown kind {described['kind']!r}")
    floats = described["dtype"] == "float64"
    values = _array(described["values"], "<f8" if floats else "u1", data)
    if len(values) != len(listed):
        raise ValueError("sample ids and values of different lengths")
    name = described["index_name"]
    if not (name is None or isinstance(name, str)):
        raise ValueError("an index name that is not a string")
    column = values.astype(np.float64) if floats else values.astype(bool)
    series = pd.Series(
        column, index=index(listed, described["index"], name), name=described["name"]
    )
    return PerSample(values=series, binary=bool(described["binary"]))


def _read(path: Path, identity: str) -> tuple[dict[str, Any], list[Any], bytes]:
    """The forms' descriptions by key, their sample-id lists and the arrays in `path`; none
    when it is missing, a link, not whole, or written by other code (`identity`)."""
    none: tuple[dict[str, Any], list[Any], bytes] = ({}, [], b"")
    try:
        if links.is_link(path) or not path.is_file():
            return none
        raw = path.read_bytes()
    except OSError as err:
        log.info("%s not read (%s): paired forms are built again", path, err)
        return none
    head, sep, rest = raw.partition(b"\n")
    try:
        header: Any = json.loads(head)
        usable = (
            sep == b"\n"
            and header["format"] == FORMAT
            and header["identity"] == identity
            and header["sha256"] == _sha(rest)
        )
        if usable:
            body, sep, data = rest.partition(b"\n")
            listed: Any = json.loads(body)
            found = {str(key): described for key, described in listed["entries"]}
            ids = listed["ids"]
            usable = sep == b"\n" and isinstance(ids, list)
    except (ValueError, KeyError, TypeError, RecursionError):
        usable = False
    if not usable:
        log.info("%s not whole or from other code: paired forms are built again", path)
        return none
    return found, ids, data
