"""The results store: `<out>/runs/<run_id>/` with a manifest and one folder per finished job.

Layout (see results/README.md):
    runs/<run_id>/manifest.json         run record: spec, versions, device, seed, git sha, jobs
    runs/<run_id>/spec.yaml             the resolved spec
    runs/<run_id>/jobs/<job>/job.json   job record: key, model, task, suite, config, timings,
                                        adapter description, task summary, file checksums
The two JSON records are typed (harness.core.manifest: `RunManifest`, `JobRecord`) and sealed
with their own checksum (harness.store.checksums); readers get the types, never raw dicts.
    runs/<run_id>/jobs/<job>/samples.parquet   per-sample table
    runs/<run_id>/jobs/<job>/metrics.json      metric records
    runs/<run_id>/jobs/<job>/artifacts.json    suite artifacts (reliability bins, hyper-parameters)
A job folder is written under a temp name and renamed into place when complete, so a folder
with the final name is always whole; job.json records the sha256 of every file beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from harness.core.errors import ResultsError
from harness.core.hashing import file_sha256
from harness.core.manifest import SCHEMA_VERSION, JobRecord, JobStatus, RunManifest
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.store import atomic, links
from harness.store.arrow_frames import typed_frame_of
from harness.store.liveness import alive
from harness.store.metric_file import metric_records
from harness.store.record_file import read_record, record_text
from harness.store.write_advice import write_advice

if TYPE_CHECKING:
    import pyarrow as pa

TABLE_FILE = "samples.parquet"
ARRAYS_FILE = "arrays.npz"  # numeric artifacts (adversarial examples, image galleries)
_ARRAY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")
RUN_FOLDER_LIMIT = 160  # a run id is a name (up to 128 characters), '-' and a 12-digit hash
# what interrupted writers leave in a run folder (atomic.py, write_job, publish_dir, the probe)
_LEFTOVER_DIRS = (".tmp-", ".stale-")
_LEFTOVER_FILE = re.compile(r"^\.(.+\.tmp|write-probe-\d+)$")
_PID_OF_DIR = re.compile(r"-(\d+)$")  # .tmp-<job>-<pid>, .stale-<job>-<pid>, .write-probe-<pid>
_PID_OF_FILE = re.compile(r"\.(\d+)\.[^.]*\.tmp$")  # .<name>.<pid>.<random>.tmp (atomic.py)


def safe_component(name: str, limit: int = 60) -> str:
    """A path component that cannot escape its folder (no '/', '..', NUL, leading dot).

    A name that must be shortened or changed to fit keeps a hash of the whole name at its end,
    so two different names never share a folder (a run id's spec hash always survives).
    """
    cleaned = _UNSAFE.sub("_", name).lstrip(".")
    if cleaned == name and 0 < len(cleaned) <= limit:
        return cleaned
    digest = hashlib.sha256(name.encode("utf-8", errors="surrogatepass")).hexdigest()[:12]
    return f"{cleaned[: max(limit - 13, 0)]}~{digest}"


@dataclass(frozen=True)
class StoredJob:
    """A finished job as read back from disk. Its per-sample table is parsed once, when first
    asked for, and kept with the job (a report reads it for several boards, figures and
    pages); callers treat it as read-only. The table file's bytes are read (and their checksum
    checked) by `read_job` and again when the table is parsed, not held in between: a folder's
    jobs are read before any of their tables is needed."""

    path: Path
    record: JobRecord
    metrics: list[MetricRecord]
    _parsed: dict[str, SampleTable] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # the whole table as Arrow read it, kept by `read_arrow` until `table()` parses it
    _read: dict[str, pa.Table] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def status(self) -> JobStatus:
        return self.record.status

    @property
    def has_table(self) -> bool:
        """Whether the job stored a per-sample table (throughput and skipped jobs do not)."""
        return TABLE_FILE in self.record.files

    def table(self) -> SampleTable:
        """The per-sample table; an unreadable or malformed file is a ResultsError naming it."""
        if TABLE_FILE not in self._parsed:
            self._parsed[TABLE_FILE] = self._read_table()
        return self._parsed[TABLE_FILE]

    def table_columns(self, pick: Callable[[list[str]], list[str]]) -> pd.DataFrame:
        """Some columns of the per-sample table (`pick` chooses them from its column names),
        parsed on their own and not kept: what a caller needs before it reads the table (the
        conditions it holds, its group columns). Unreadable: a ResultsError naming the file."""
        path = self.path / TABLE_FILE
        with _unreadable_table(path):
            return self.arrow_columns(pick).to_pandas(use_threads=False)

    def arrow_columns(self, pick: Callable[[list[str]], list[str]]) -> pa.Table:
        """`table_columns` as read, before pandas: an Arrow table (with the file's pandas
        metadata, so `to_pandas` gives `table_columns`' frame). Unreadable: a ResultsError
        naming the file."""
        path = self.path / TABLE_FILE
        with _unreadable_table(path):
            data = self._table_bytes()
            with _parquet_file(path, data) as parquet:
                wanted = pick(list(parquet.schema_arrow.names))
                return parquet.read(columns=wanted, use_threads=False)

    def read_arrow(self) -> pa.Table:
        """The whole per-sample table as Arrow reads it (what `table()` parses), kept with the
        job until `table()` parses it or `forget_table()`: a caller that plans from some of
        its columns first (`harness groups`) reads the file once. Unreadable: a ResultsError
        naming the file."""
        if TABLE_FILE not in self._read:
            path = self.path / TABLE_FILE
            with _unreadable_table(path):
                self._read[TABLE_FILE] = self._arrow_table()
        return self._read[TABLE_FILE]

    def table_names(self) -> list[str]:
        """The per-sample table's column names: the parsed table's, else read from the file's
        schema alone (its checksum checked; no column is parsed). Unreadable: a ResultsError
        naming the file."""
        parsed = self._parsed.get(TABLE_FILE)
        if parsed is not None:
            return [str(c) for c in parsed.frame.columns]
        path = self.path / TABLE_FILE
        with _unreadable_table(path), _parquet_file(path, self._table_bytes()) as parquet:
            return [str(c) for c in parquet.schema_arrow.names]

    def forget_table(self) -> None:
        """Drop the parsed table (a caller done with it; `table()` would read it again)."""
        self._parsed.pop(TABLE_FILE, None)
        self._read.pop(TABLE_FILE, None)

    def _table_bytes(self) -> bytes | None:
        """The table file's bytes, their checksum checked against job.json again (what is
        parsed is what was checked), or None for a file too large to hold or one job.json does
        not list (parsed from the file, as `read_job` leaves it)."""
        digest = self.record.files.get(TABLE_FILE)
        if digest is None:
            return None
        path = self.path / TABLE_FILE
        return _checked_bytes(path, digest, self.path / "job.json", hash_large=False)

    def _read_table(self) -> SampleTable:
        path = self.path / TABLE_FILE
        with _unreadable_table(path):
            arrow = self._read.pop(TABLE_FILE, None)
            if arrow is None:
                arrow = self._arrow_table()
            frame, dtypes = typed_frame_of(arrow)
            return SampleTable(frame).with_checked_types(dtypes)

    def _arrow_table(self) -> pa.Table:
        """The whole table file read into Arrow (its checksum checked)."""
        data = self._table_bytes()
        # what SampleTable.read_parquet (pandas.read_parquet) reads, the same frame, without
        # pandas' file handling, the dataset layer of pyarrow's read_table (a third of a small
        # table's read) and the reader's threads (a small table reads faster alone)
        with _parquet_file(self.path / TABLE_FILE, data) as parquet:
            return parquet.read(use_threads=False)

    def artifacts(self) -> dict[str, Any]:
        path = self.path / "artifacts.json"
        if not path.exists():
            return {}
        try:
            got = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError) as err:
            raise ResultsError(
                f"results file {path} is unreadable ({type(err).__name__})"
            ) from None
        if not isinstance(got, dict):
            raise ResultsError(f"results file {path} is damaged: expected a JSON object")
        return got

    def arrays(self) -> dict[str, np.ndarray]:
        """The job's numeric artifacts (empty when it stored none); never unpickles."""
        if ARRAYS_FILE not in self.record.files:
            return {}
        path = self.path / ARRAYS_FILE
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {name: npz[name] for name in npz.files}
        except (OSError, ValueError) as err:
            raise ResultsError(f"results file {path} is unreadable ({err})") from None


@contextmanager
def _unreadable_table(path: Path) -> Iterator[None]:
    """A per-sample table that cannot be read or parsed: one ResultsError naming the file."""
    import pyarrow  # its errors are not all ValueErrors

    try:
        yield
    except (OSError, ValueError, pyarrow.ArrowException) as err:
        why = _one_line(err).replace("'<Buffer>'", f"'{path}'")  # as when read from the file
        raise ResultsError(
            f"results file {path} is unreadable ({why}); it was damaged — rerun "
            "the job (or restore the file)"
        ) from None


def _parquet_file(path: Path, data: bytes | None) -> Any:
    """The Parquet file at `path`, or in `data` (its bytes, already read and checked); a
    context manager that closes it."""
    import pyarrow
    import pyarrow.parquet

    return pyarrow.parquet.ParquetFile(path if data is None else pyarrow.BufferReader(data))


LoadedJob = tuple[RunManifest, StoredJob]  # a stored job with the manifest of its run


class RunStore:
    """Reads and writes one run folder."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.jobs_dir = run_dir / "jobs"
        self.created = False  # set by open_for_writing when it made the folder
        self.made_parents: list[Path] = []  # `runs/` and the results folder, if it made them

    @classmethod
    def open_for_writing(cls, out_dir: Path, run_id: str) -> RunStore:
        """The run folder of `run_id` under `out_dir`, created if new and checked writable.

        A folder holding another run's manifest is refused (names never collide: the folder
        name keeps the run id's hash). `created` says whether this call made the folder, so a
        run that fails before its first manifest can remove it again (`discard_if_unused`).
        Below `out_dir` (the user's choice) nothing may be a symbolic link: `runs`, the run
        folder or anything inside it being one is refused before anything is read or written
        there (harness/store/links.py).
        """
        check_results_folder(out_dir)
        run_dir = out_dir / "runs" / safe_component(run_id, RUN_FOLDER_LIMIT)
        made_parents = [p for p in (run_dir.parent, out_dir) if not p.exists()]
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            links.real_dir(run_dir.parent)
            created = not run_dir.exists() and not links.is_link(run_dir)
            links.real_dir(run_dir)
            links.refuse_links_in(run_dir)
            links.real_dir(run_dir / "jobs")
            probe = run_dir / f".write-probe-{os.getpid()}"
            os.close(links.open_no_follow(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
            probe.unlink()
        except OSError as err:
            raise ResultsError(
                f"cannot write results to {out_dir}: {err.strerror or err}; "
                "choose another results folder (--out; save(out=...) in Python)"
            ) from None
        store = cls(run_dir)
        store.created = created
        store.made_parents = made_parents if created else []
        try:
            previous = store.read_manifest()
        except ResultsError as err:  # a rerun cannot mend it (nor "rerun the run"): say what does
            damage = str(err).split(" — ", 1)[0]
            raise ResultsError(
                f"{damage}; delete it (or restore it) and rerun: the run's whole job folders are "
                "checked by their keys and reused (or choose another --out)"
            ) from None
        if previous is not None and previous.run_id != run_id:
            raise ResultsError(
                f"run folder {run_dir} holds run {previous.run_id!r}, not {run_id!r}; "
                "choose another --out (or move that run away)"
            )
        store.remove_leftovers(dead_only=True)
        return store

    def remove_leftovers(self, *, dead_only: bool = False) -> list[Path]:
        """Delete what interrupted writers left: temp job folders, stale folders of a replaced
        job, temp files of manifest and spec writes, write probes. Returns what was deleted.

        Entries carrying this process's pid are kept. With `dead_only`, so are entries whose
        writer is alive (before the run lock is held); holding the lock, nobody else writes.
        """
        candidates = [
            p
            for p in self.jobs_dir.glob(".*")
            if p.name.startswith(_LEFTOVER_DIRS) and (p.is_dir() or links.is_link(p))
        ]
        candidates += [
            p
            for p in self.run_dir.glob(".*")
            if _LEFTOVER_FILE.match(p.name) and (p.is_file() or links.is_link(p))
        ]
        removed = []
        for path in candidates:
            pid = _pid_in(path.name)
            if pid == os.getpid() or (dead_only and (pid is None or alive(pid))):
                continue
            links.remove_entry(path)  # a link is unlinked, never followed
            removed.append(path)
        return removed

    def discard_if_unused(self) -> bool:
        """After a run failed to write: remove the run folder if this process created it and no
        job folder was published in it (its manifest, if any, holds no results), then `runs/`
        and the results folder if this run made them and they are empty (a refused run leaves
        no empty folders behind). True if the run folder was removed.
        """
        if not self.created or not self.run_dir.is_dir():
            return False
        if any(not p.name.startswith(".") for p in self.jobs_dir.glob("*")):
            return False
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.created = False
        for folder in self.made_parents:  # `runs/` first, then the results folder
            try:
                folder.rmdir()  # only when empty: another run's folder or a file keeps it
            except OSError:
                break
        self.made_parents = []
        return True

    def job_dirname(self, model: str, task: str, suite: str, key: str) -> str:
        return (
            f"{safe_component(model)}--{safe_component(task)}--{safe_component(suite)}--{key[:12]}"
        )

    def completed(self, model: str, task: str, suite: str, key: str) -> StoredJob | None:
        """The stored job with this exact key, if it finished (completed or skipped) and is intact."""
        path = self.jobs_dir / self.job_dirname(model, task, suite, key)
        if not (path / "job.json").is_file():
            return None
        try:
            job = read_job(path)
        except ResultsError:
            return None  # damaged: rerun and replace
        record = job.record
        same = (record.key, record.model, record.task, record.suite) == (key, model, task, suite)
        return job if same else None

    def write_job(
        self,
        *,
        record: JobRecord,
        table: SampleTable | None,
        metrics: list[MetricRecord],
        artifacts: dict[str, Any],
        arrays: dict[str, np.ndarray] | None = None,
    ) -> Path:
        """Write a job folder atomically (the store adds `files` and `schema_version`).

        `arrays` (numeric arrays keyed by identifier-like names) go to `arrays.npz`.
        """
        _check_arrays(arrays or {})
        name = self.job_dirname(record.model, record.task, record.suite, record.key)
        final = self.jobs_dir / name
        tmp = self.jobs_dir / f".tmp-{name}-{os.getpid()}"
        current = tmp
        try:
            links.refuse_link(self.jobs_dir)
            links.refuse_link(tmp)
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
            files: dict[str, str] = {}
            if table is not None:
                current = tmp / TABLE_FILE
                table.write_parquet(current)
                files[TABLE_FILE] = file_sha256(current)
            current = tmp / "metrics.json"
            current.write_text(
                json.dumps(
                    [m.to_dict() for m in metrics], indent=1, sort_keys=True, allow_nan=False
                )
            )
            files["metrics.json"] = file_sha256(current)
            current = tmp / "artifacts.json"
            current.write_text(
                json.dumps(artifacts, indent=1, sort_keys=True, default=str, allow_nan=False)
            )
            files["artifacts.json"] = file_sha256(current)
            if arrays:
                current = tmp / ARRAYS_FILE
                with current.open("wb") as f:
                    np.savez_compressed(f, allow_pickle=False, **arrays)
                files[ARRAYS_FILE] = file_sha256(current)
            full = record.replace(files=files, schema_version=SCHEMA_VERSION)
            current = tmp / "job.json"
            current.write_text(record_text(full))
            current = final
            atomic.publish_dir(tmp, final)
        except OSError as err:
            links.remove_entry(tmp)
            raise _write_error(current, err) from None
        except links.LinkRefusedError:
            raise  # the link is left as it is (it may be another process's doing)
        except BaseException:
            links.remove_entry(tmp)
            raise
        return final

    def write_manifest(self, manifest: RunManifest) -> None:
        """Write manifest.json atomically, sealed with its own checksum."""
        self.write_file("manifest.json", record_text(manifest) + "\n")

    def write_file(self, name: str, text: str) -> None:
        """Write a file of the run folder atomically; storage failures are a ResultsError."""
        path = self.run_dir / name
        try:
            atomic.write_text(path, text)
        except OSError as err:
            raise _write_error(path, err) from None

    def read_manifest(self) -> RunManifest | None:
        """The run's manifest (None before the first run wrote one); damage is a ResultsError."""
        path = self.run_dir / "manifest.json"
        if not path.exists():
            return None
        return read_record(path, RunManifest)


def _check_arrays(arrays: dict[str, np.ndarray]) -> None:
    """Array artifacts are plain numbers under plain names (a suite bug otherwise)."""
    for name, value in arrays.items():
        if not _ARRAY_NAME.fullmatch(name):
            raise ValueError(f"array artifact name {name!r} is not an identifier")
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            raise ValueError(f"array artifact {name!r} must be a numeric numpy array")


def _write_error(path: Path, err: OSError) -> ResultsError:
    """One line naming the file a storage failure (read-only, disk full) hit."""
    where = err.filename or path
    return ResultsError(
        f"cannot write results file {where}: {err.strerror or err}; {write_advice(err)} (or "
        "choose another --out) and rerun — finished jobs are kept"
    )


def _pid_in(name: str) -> int | None:
    """The writer's pid in a leftover's name (None: a name without one)."""
    found = _PID_OF_FILE.search(name) or _PID_OF_DIR.search(name)
    return int(found.group(1)) if found else None


def read_job(path: Path) -> StoredJob:
    """Read a job folder, verifying the checksums job.json records; damage is a ResultsError."""
    record_path = path / "job.json"
    record = read_record(record_path, JobRecord)
    listed = record.files
    metrics_data: bytes | None = None
    if "metrics.json" not in listed:
        raise ResultsError(f"results file {record_path} is damaged: it lists no checksummed files")
    for fname, digest in listed.items():
        if Path(fname).name != fname or fname.startswith("."):
            raise ResultsError(
                f"results file {record_path} is damaged: it lists {fname[:80]!r}, which is not a "
                "file name inside the job folder"
            )
        fpath = path / fname
        if not fpath.is_file():
            raise ResultsError(f"results file {fpath} is missing (listed in {record_path})")
        data = _checked_bytes(fpath, digest, record_path)
        if fname == "metrics.json":
            metrics_data = data  # the bytes just checked: parsed from them, not read again
    metrics_path = path / "metrics.json"
    try:
        raw = json.loads(metrics_path.read_text() if metrics_data is None else metrics_data)
    except (OSError, ValueError, RecursionError) as err:
        raise ResultsError(
            f"results file {metrics_path} is unreadable ({_one_line(err)}); it was damaged — "
            "rerun the job"
        ) from None
    return StoredJob(path=path, record=record, metrics=metric_records(raw, metrics_path))


_HELD_BYTES = 16 << 20  # files up to this size are read whole to be checked, and parsed from that


def _checked_bytes(
    path: Path, digest: str, record_path: Path, *, hash_large: bool = True
) -> bytes | None:
    """The file's bytes when it is small enough to hold (`_HELD_BYTES`), else None, after
    checking its sha256 against `digest` (a larger file's is checked from the file unless
    `hash_large` is False); a mismatch is a ResultsError naming the file and `record_path`."""
    if path.stat().st_size > _HELD_BYTES:
        if not hash_large:
            return None
        data, found = None, file_sha256(path)
    else:
        data = path.read_bytes()
        found = hashlib.sha256(data).hexdigest()
    if found != digest:
        raise ResultsError(
            f"results file {path} does not match its checksum in {record_path}; "
            "it was modified or damaged — rerun the job"
        )
    return data


def _one_line(err: BaseException) -> str:
    """An exception's message on one line, shortened (pyarrow's can span lines)."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def check_results_folder(out: Path) -> None:
    """`out` is a results folder: runs go to `out/runs/<run_id>`. A run folder or a `runs/`
    folder given instead would nest the run where `harness leaderboard <results>` never looks
    (the model silently missing from its boards): refused, naming the folder to pass."""
    where = "(--out; save(out=...) in Python)"
    if (out / "manifest.json").is_file():
        raise ResultsError(
            f"{out} is a run folder, not a results folder; pass the results folder that holds "
            f"it ({out.parent.parent}) {where}"
        )
    if out.is_dir() and any((child / "manifest.json").is_file() for child in out.iterdir()):
        raise ResultsError(
            f"{out} holds run folders itself (a results folder's runs/); pass the results "
            f"folder ({out.parent}) {where}"
        )


def find_run_dirs(root: Path) -> list[Path]:
    """Run folders under `root`: itself if it is one, else `root/runs/*` (or `root/*`)."""
    if not root.exists():
        raise ResultsError(
            f"results folder {root} does not exist; run `harness run` first or pass a folder"
        )
    if not root.is_dir():
        raise ResultsError(f"results folder {root} is not a folder; pass a results or run folder")
    if (root / "manifest.json").is_file():
        return [root]
    base = root / "runs" if (root / "runs").is_dir() else root
    runs = sorted(p for p in base.iterdir() if (p / "manifest.json").is_file())
    if not runs:
        raise ResultsError(f"no runs found under {root} (looked for */manifest.json)")
    return runs


def load_jobs(root: Path) -> list[LoadedJob]:
    """Every finished job under `root` with its run manifest; fails closed on damaged files.

    The manifest has the last word on the jobs its last invocation ran: for a model x task x
    suite it lists, only the folder it lists is read, and none when it says the job failed (a
    rerun after a suite's version moved writes a new folder beside the old one, whose numbers
    would otherwise show as a second, stale board). A folder of a job the manifest does not name
    at all was written by an earlier invocation with other filters (`--models`, `--tasks`,
    `--suites` run into the same folder) and is read."""
    out: list[LoadedJob] = []
    for run_dir in find_run_dirs(root):
        manifest = read_record(run_dir / "manifest.json", RunManifest)
        jobs_dir = run_dir / "jobs"
        if not jobs_dir.is_dir():
            continue
        named = {e.names for e in manifest.jobs}
        listed = {e.dir for e in manifest.jobs if e.dir and e.status != JobStatus.FAILED}
        for path in sorted(jobs_dir.iterdir()):
            if path.name.startswith(".") or not path.is_dir():
                continue  # temp folders of interrupted writes are never results
            if path.name not in listed and not (path / "job.json").exists():
                continue  # not a job's folder (nothing the manifest lists, no job record)
            job = read_job(path)
            record = job.record
            if path.name not in listed and (record.model, record.task, record.suite) in named:
                continue  # superseded by the job the manifest lists (or says failed)
            out.append((manifest, job))
    return out
