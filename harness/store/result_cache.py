"""The result cache shared by every results folder: finished jobs stored under a content key.

`harness run` looks a job up here after its own results folder (a resumed run, then the other
run folders of the same `--out`: job_cache.py) and before computing it; every job it computes
is stored here. So the same model, task and suite config run into another `--out` is copied,
not recomputed.

Key. An entry's key (`entry_key`) is the sha256 of the job key (harness.config.plan.job_key:
the model's weights and settings, the task's data, the data of other tasks the suite reads, the
suite's name, version and config, the seed, batch size, device type, bootstrap resamples, the
protocol and the harness version), the model, task and suite names the results are stored
under, and the context the runner computed them in: a digest of the harness's own source code
(harness.run.code_identity), the versions of Python and of the packages a run records (torch,
numpy, foolbox, datasets...) and of other libraries that can move a number (scipy, Pillow,
transformers, tokenizers, ONNX Runtime) and the device (CPU or GPU model, the CPU's vector
instructions torch uses, `cpu_capability`: AVX2, AVX512; CPU count, CUDA and cuDNN). Changing
any of them misses: a cache shared by several machines (a home folder on a network drive) never
serves one machine's timings, or another library version's numbers, to another.

Location. `$HARNESS_CACHE` when set, else the platform's user cache folder
(`$XDG_CACHE_HOME/robustness-harness`, by default `~/.cache/robustness-harness`;
`~/Library/Caches/robustness-harness` on macOS; `%LOCALAPPDATA%/robustness-harness/Cache` on
Windows). `HARNESS_NO_CACHE=1` (like `harness run --no-cache` or `execution: {cache: false}`)
turns the cache off for a run. Layout:

    <root>/CACHEDIR.TAG                    marks the folder as a cache for backup tools (in
                                           <root>/v1/ when a `HARNESS_CACHE` root holds
                                           other files)
    <root>/v1/entries/<ab>/<key>/          one finished job: job.json + the files it lists
    <root>/v1/entries/<ab>/.tmp-<key16>-<pid>-<rand>/    an entry being written
    <root>/v1/entries/<ab>/.trash-<key16>-<pid>-<rand>/  an entry being removed

Safety. An entry is written under a temporary name (files copied and checked against the
sha256 job.json lists, fsynced) and published by one rename: a reader sees a whole entry or
none. When two processes store the same key at once, the first rename wins and the second
finds the entry there and drops its copy: both succeed. Before reuse an entry is read back in
full (job.json's own checksum, every file's sha256, the metric records) and copied into the
run folder checked again; a damaged entry is logged, removed and never served, and the job
runs and stores a fresh one. Nothing here follows a symlink below the cache root
(harness.store.nofollow). An entry's last use is its folder's modification time (`prune`
removes the least recently used first).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import secrets
import stat
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import ResultsError
from harness.core.manifest import JobRecord, JobStatus
from harness.store import nofollow
from harness.store.job_cache import DamagedSource, copy_job
from harness.store.liveness import alive
from harness.store.record_file import NewerSchemaError, parse_record
from harness.store.run_store import RunStore, read_job

log = logging.getLogger(__name__)

ENV_DIR = "HARNESS_CACHE"
ENV_OFF = "HARNESS_NO_CACHE"
APP = "robustness-harness"
LAYOUT = "v1"
TAG_NAME = "CACHEDIR.TAG"
# https://bford.info/cachedir/: backup tools skip a folder holding this file
TAG = b"Signature: 8a477f597d28d172789f06886806bc55\n# robustness-harness result cache\n"
_KEY = re.compile(r"[0-9a-f]{64}")
_SHARD = re.compile(r"[0-9a-f]{2}")
_LEFTOVER = re.compile(r"\.(?:tmp|trash)-[0-9a-f]{1,64}-(\d+)-[0-9a-f]+")
# a leftover this old is a dead writer's even when its pid was reused by another process
STALE_LEFTOVER_S = 24 * 3600.0


def default_root() -> Path:
    """The platform's user cache folder for the harness (what `HARNESS_CACHE` overrides)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / APP / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / APP


def configured_root() -> Path:
    """`$HARNESS_CACHE` (made absolute) when set and not empty, else `default_root()`."""
    value = os.environ.get(ENV_DIR, "")
    return Path(value).expanduser().absolute() if value else default_root()


def disabled_by_environment() -> bool:
    """Whether `HARNESS_NO_CACHE` is set to a true value (anything but empty, 0, false, no)."""
    return os.environ.get(ENV_OFF, "").strip().lower() not in ("", "0", "false", "no")


def entry_key(
    *, job_key: str, model: str, task: str, suite: str, context: Mapping[str, Any]
) -> str:
    """The content key of a job's entry: its job key and names, and `context` (the harness's
    code digest, the package versions and the device: see the module docstring)."""
    payload = {"job": job_key, "model": model, "task": task, "suite": suite, "context": context}
    payload["layout"] = LAYOUT
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    """What `harness cache` shows of an entry; `problem` set: damaged (never served)."""

    key: str
    size: int  # bytes of its files
    last_used: float  # seconds since the epoch (the entry folder's modification time)
    record: JobRecord | None = None
    problem: str | None = None
    newer: str | None = None  # written by a newer harness ("schema version N"): kept, unread


@dataclass(frozen=True)
class Leftover:
    """A temporary folder of an interrupted write or removal."""

    shard: str
    name: str
    size: int
    modified: float
    pid: int


@dataclass
class CacheContents:
    entries: list[CacheEntry] = field(default_factory=list)
    leftovers: list[Leftover] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries) + sum(x.size for x in self.leftovers)


@dataclass
class PruneResult:
    removed: list[CacheEntry]
    kept: list[CacheEntry]
    leftovers: list[Leftover]  # removed


class ResultCache:
    """The result cache at `root` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.unusable: str | None = None  # why the cache cannot be read (said once per run)

    @classmethod
    def for_run(cls, *, enabled: bool = True) -> ResultCache | None:
        """The cache a run reads and writes: None when the run turned it off (`enabled` False:
        `--no-cache`, `execution.cache: false`), when `HARNESS_NO_CACHE` is set, or where this
        platform cannot open files without following links (logged)."""
        if not enabled or disabled_by_environment():
            return None
        if not nofollow.supported():
            log.warning("result cache: off on this platform (no O_NOFOLLOW / openat)")
            return None
        return cls(configured_root())

    @property
    def entries_dir(self) -> Path:
        return self.root / LAYOUT / "entries"

    def entry_path(self, key: str) -> Path:
        return self.entries_dir / key[:2] / key

    # -- folders ---------------------------------------------------------------------------
    def _open_entries(self, *, create: bool) -> int:
        """A descriptor of `<root>/v1/entries` (made, with the root and its tag, when `create`)."""
        if create and not self.root.is_dir():
            self.root.mkdir(parents=True, mode=0o700, exist_ok=True)
        root_fd = nofollow.open_dir(self.root, follow=True)  # the root may be a link: the user's
        try:
            # the root is tagged only when it is the harness's (the default folder, which on
            # Linux holds the hub tasks' prepared splits too) or holds nothing but the cache:
            # `HARNESS_CACHE` set to a folder of the user's own files would have backup tools
            # skip all of it
            own = create and (
                self.root.absolute() == default_root()
                or set(os.listdir(root_fd)) <= {TAG_NAME, LAYOUT}
            )
            if own:
                with contextlib.suppress(FileExistsError):
                    nofollow.write_new(root_fd, TAG_NAME, TAG)
            layout_fd = nofollow.open_dir(LAYOUT, dir_fd=root_fd, create=create)
        finally:
            os.close(root_fd)
        if create and not own:
            with contextlib.suppress(FileExistsError):
                nofollow.write_new(layout_fd, TAG_NAME, TAG)
        try:
            return nofollow.open_dir("entries", dir_fd=layout_fd, create=create)
        finally:
            os.close(layout_fd)

    def _shards(self, entries_fd: int) -> list[str]:
        return sorted(n for n in os.listdir(entries_fd) if _SHARD.fullmatch(n))

    # -- reading ---------------------------------------------------------------------------
    def restore(
        self,
        *,
        key: str,
        job_key: str,
        names: tuple[str, str, str],
        store: RunStore,
        dirname: str,
    ) -> JobRecord | None:
        """Copy entry `key` into `store`'s run folder as job folder `dirname`; its record (as
        the cache holds it: the run that computed it), or None on a miss.

        The entry is verified in full first and checked again while it is copied; a damaged one
        is logged and removed, and the job runs (None). A failure to write the run folder is a
        ResultsError, as for any reused job."""
        if self.unusable is not None:
            return None
        try:
            entries_fd = self._open_entries(create=False)
        except FileNotFoundError:
            return None
        except OSError as err:
            self.unusable = _why(err)
            log.warning("result cache %s is unusable (%s); not read", self.root, self.unusable)
            return None
        try:
            try:
                shard_fd = nofollow.open_dir(key[:2], dir_fd=entries_fd)
            except FileNotFoundError:
                return None
            except OSError as err:  # a link or a file named like a shard: never read through
                log.warning("result cache: %s skipped (%s)", self.entries_dir / key[:2], _why(err))
                return None
            try:
                return self._restore_from(shard_fd, key, job_key, names, store, dirname)
            finally:
                os.close(shard_fd)
        finally:
            os.close(entries_fd)

    def _restore_from(
        self,
        shard_fd: int,
        key: str,
        job_key: str,
        names: tuple[str, str, str],
        store: RunStore,
        dirname: str,
    ) -> JobRecord | None:
        try:
            entry_fd = nofollow.open_dir(key, dir_fd=shard_fd)
        except FileNotFoundError:
            return None
        except OSError as err:  # a link or a file where the entry's folder should be
            self._discard(shard_fd, key, None, f"not a plain folder: {_why(err)}")
            return None
        path = self.entry_path(key)
        try:
            try:
                record = _verified(path, job_key, names)
                copy_job(
                    entry_fd,
                    record,
                    store,
                    dirname=dirname,
                    reused_from=record.reused_from or f"{record.run_id}/{dirname}",
                    where=path,
                )
            except DamagedSource as err:
                self._discard(shard_fd, key, entry_fd, str(err))
                return None
            except NewerSchemaError:
                log.info("result cache: entry %s was written by a newer harness; not read", key)
                return None
            # another ResultsError of copy_job: the run folder could not be written (the run's)
            with contextlib.suppress(OSError):
                os.utime(entry_fd)  # last used: now
            return record
        finally:
            os.close(entry_fd)

    def _discard(self, shard_fd: int, key: str, entry_fd: int | None, why: str) -> None:
        """Log a damaged entry and remove it (only the one that was read: a fresh entry a
        writer published meanwhile stays; one already removed by a prune is not damaged)."""
        try:
            now = os.stat(key, dir_fd=shard_fd, follow_symlinks=False)
        except FileNotFoundError:
            log.info("result cache: entry %s was removed while it was read", key[:12])
            return
        if entry_fd is not None:
            was = os.fstat(entry_fd)
            if (now.st_dev, now.st_ino) != (was.st_dev, was.st_ino):
                return
        log.warning(
            "result cache: entry %s is damaged (%s); ignored, the job runs again and its fresh "
            "results replace it",
            self.entry_path(key),
            why,
        )
        _remove(shard_fd, key)

    # -- writing ---------------------------------------------------------------------------
    def save(self, *, key: str, job_dir: Path) -> bool:
        """Store the finished job in `job_dir` (a run folder's job folder) as entry `key`.

        True when it was stored, or an intact-looking entry was there already (another run
        stored the same results first); OSError or ResultsError when the cache cannot be
        written (the caller logs it: the run's own results are never affected)."""
        entries_fd = self._open_entries(create=True)
        try:
            shard_fd = nofollow.open_dir(key[:2], dir_fd=entries_fd, create=True)
        except OSError as err:  # a link or a file where the shard folder should be
            path = self.entries_dir / key[:2]
            if _is_folder(entries_fd, key[:2]):  # not ours to remove: no prune would
                raise OSError(
                    err.errno, f"{path} is a folder that cannot be opened ({_why(err)})"
                ) from None
            raise OSError(
                err.errno, f"{path} is not a folder ({_why(err)}); `harness cache prune` removes it"
            ) from None
        finally:
            os.close(entries_fd)
        try:
            try:
                info = os.stat(key, dir_fd=shard_fd, follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    return True  # verified when it is read; a damaged one is replaced then
                _remove(shard_fd, key)  # a file or a link where an entry should be
            except FileNotFoundError:
                pass
            return self._publish(shard_fd, key, job_dir)
        finally:
            os.close(shard_fd)

    def _publish(self, shard_fd: int, key: str, job_dir: Path) -> bool:
        tmp = f".tmp-{key[:16]}-{os.getpid()}-{secrets.token_hex(4)}"
        os.mkdir(tmp, dir_fd=shard_fd)
        try:
            src_fd = nofollow.open_dir(job_dir)
            try:
                record = parse_record(
                    nofollow.read_bytes(src_fd, "job.json"), job_dir / "job.json", JobRecord
                )
                tmp_fd = nofollow.open_dir(tmp, dir_fd=shard_fd)
                try:
                    for name, digest in record.files.items():
                        if nofollow.copy_file(src_fd, name, tmp_fd) != digest:
                            raise DamagedSource(
                                f"results file {job_dir / name} changed while it was being "
                                "stored in the result cache"
                            )
                    nofollow.copy_file(src_fd, "job.json", tmp_fd)
                    nofollow.fsync_dir(tmp_fd)
                finally:
                    os.close(tmp_fd)
            finally:
                os.close(src_fd)
            try:
                os.rename(tmp, key, src_dir_fd=shard_fd, dst_dir_fd=shard_fd)
            except OSError as err:
                if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                nofollow.remove_tree(shard_fd, tmp)  # another process published this key first
                return True
        except BaseException:
            nofollow.remove_tree(shard_fd, tmp)
            raise
        nofollow.fsync_dir(shard_fd)
        return True

    # -- showing and pruning ---------------------------------------------------------------
    def contents(self) -> CacheContents:
        """Every entry (with its record, or why it is damaged) and every leftover."""
        out = CacheContents()
        try:
            entries_fd = self._open_entries(create=False)
        except FileNotFoundError:
            return out
        except OSError as err:
            raise ResultsError(f"result cache {self.root} is unreadable: {_why(err)}") from None
        try:
            for shard in self._shards(entries_fd):
                try:
                    shard_fd = nofollow.open_dir(shard, dir_fd=entries_fd)
                except OSError as err:  # a link or a file where a shard folder should be
                    if _is_folder(entries_fd, shard):  # no permission: no damage a prune mends
                        log.warning(
                            "result cache: %s is a folder that cannot be opened (%s); its "
                            "entries are left out",
                            self.entries_dir / shard,
                            _why(err),
                        )
                    elif not isinstance(err, FileNotFoundError):  # removed since it was listed
                        out.entries.append(self._bad_shard(entries_fd, shard, err))
                    continue
                try:
                    self._read_shard(shard, shard_fd, out)
                finally:
                    os.close(shard_fd)
        finally:
            os.close(entries_fd)
        return out

    def _bad_shard(self, entries_fd: int, shard: str, err: OSError) -> CacheEntry:
        """A shard name that is no folder (a link, a file): no entry under it can be read or
        stored (a run storing a job there stops using the cache), so it is listed as damaged
        (its key: the shard's name) and a prune removes it."""
        size, used = _size_and_time(entries_fd, shard)
        try:
            link = stat.S_ISLNK(os.stat(shard, dir_fd=entries_fd, follow_symlinks=False).st_mode)
        except OSError:
            link = False
        what = "a symbolic link, not a folder" if link else f"not a folder ({_why(err)})"
        problem = (
            f"{self.entries_dir / shard} is {what}: no entry whose key starts with {shard} can "
            "be read or stored"
        )
        return CacheEntry(shard, size, used, problem=problem)

    def _read_shard(self, shard: str, shard_fd: int, out: CacheContents) -> None:
        for name in sorted(os.listdir(shard_fd)):
            leftover = _LEFTOVER.fullmatch(name)
            if leftover:
                size, modified = _size_and_time(shard_fd, name)
                out.leftovers.append(Leftover(shard, name, size, modified, int(leftover.group(1))))
            elif _KEY.fullmatch(name) and name.startswith(shard):
                out.entries.append(self._entry(shard_fd, name))

    def _entry(self, shard_fd: int, key: str) -> CacheEntry:
        size, used = _size_and_time(shard_fd, key)
        try:
            entry_fd = nofollow.open_dir(key, dir_fd=shard_fd)
        except OSError as err:
            return CacheEntry(key, size, used, problem=f"not a plain folder: {_why(err)}")
        try:
            text = nofollow.read_bytes(entry_fd, "job.json")
            record = parse_record(text, self.entry_path(key) / "job.json", JobRecord)
        except OSError as err:
            return CacheEntry(key, size, used, problem=f"job.json unreadable: {_why(err)}")
        except NewerSchemaError as err:
            return CacheEntry(key, size, used, newer=f"schema version {err.version}")
        except ResultsError as err:
            return CacheEntry(key, size, used, problem=str(err))
        finally:
            os.close(entry_fd)
        return CacheEntry(key, size, used, record=record)

    def prune(
        self,
        *,
        everything: bool = False,
        unused_for: float | None = None,
        max_bytes: int | None = None,
        dry_run: bool = False,
        now: float | None = None,
    ) -> PruneResult:
        """Remove every entry (`everything`), those unused for more than `unused_for` seconds,
        and the least recently used ones until the entries fit in `max_bytes`. Damaged entries
        and the leftovers of dead writers always go. `dry_run`: say what would go."""
        now = time.time() if now is None else now
        contents = self.contents()
        doomed = {e.key for e in contents.entries if e.problem is not None or everything}
        if unused_for is not None:
            doomed |= {e.key for e in contents.entries if now - e.last_used > unused_for}
        if max_bytes is not None:
            total = 0
            for e in sorted(contents.entries, key=lambda e: e.last_used, reverse=True):
                if e.key in doomed:
                    continue
                total += e.size
                if total > max_bytes:
                    doomed.add(e.key)
        removed = [e for e in contents.entries if e.key in doomed]
        kept = [e for e in contents.entries if e.key not in doomed]
        dead = [x for x in contents.leftovers if _abandoned(x, now)]
        if not dry_run:
            self._remove_all([(e.key[:2], e.key) for e in removed], entries=True)
            self._remove_all([(x.shard, x.name) for x in dead], entries=False)
        return PruneResult(removed=removed, kept=kept, leftovers=dead)

    def _remove_all(self, names: list[tuple[str, str]], *, entries: bool) -> None:
        """Remove entries (renamed out of the way first) or leftovers (deleted in place)."""
        if not names:
            return
        entries_fd = self._open_entries(create=False)
        try:
            for shard, name in names:
                if entries and name == shard:  # a shard that is no folder (`_bad_shard`)
                    _remove_bad_shard(entries_fd, shard, self.entries_dir / shard)
                    continue
                try:
                    shard_fd = nofollow.open_dir(shard, dir_fd=entries_fd)
                except OSError:
                    continue
                try:
                    if entries:
                        _remove(shard_fd, name)
                    else:
                        nofollow.remove_tree(shard_fd, name)
                except OSError as err:  # a read-only mount, no permission: name what and why
                    what = "entry" if entries else "unfinished write"
                    raise ResultsError(
                        f"result cache: cannot remove {what} {self.entries_dir / shard / name}: "
                        f"{_why(err)}"
                    ) from None
                finally:
                    os.close(shard_fd)
        finally:
            os.close(entries_fd)


def _verified(path: Path, job_key: str, names: tuple[str, str, str]) -> JobRecord:
    """The entry's record after reading it back in full (its seal, every file's sha256, the
    metric records): the results this job would compute, or DamagedSource."""
    try:
        record = read_job(path).record
    except NewerSchemaError:
        raise  # a newer harness's entry: a miss, left in place
    except ResultsError as err:
        raise DamagedSource(str(err)) from None
    if record.status != JobStatus.COMPLETED:
        raise DamagedSource(f"it holds a {record.status.value} job, not results")
    if record.key != job_key or (record.model, record.task, record.suite) != names:
        raise DamagedSource("it holds another job's results (its job key or names differ)")
    return record


def _remove(shard_fd: int, key: str) -> None:
    """Rename entry `key` out of the way (readers then miss it at once), then delete it; an
    interrupted removal leaves a `.trash-` leftover that `prune` deletes."""
    trash = f".trash-{key[:16]}-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        os.rename(key, trash, src_dir_fd=shard_fd, dst_dir_fd=shard_fd)
    except FileNotFoundError:
        return
    nofollow.remove_tree(shard_fd, trash)


def _is_folder(dir_fd: int, name: str) -> bool:
    """Whether `name` in `dir_fd` is a folder (not a link to one)."""
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _remove_bad_shard(entries_fd: int, shard: str, path: Path) -> None:
    """Unlink the link or file named like a shard (never what a link points to); a folder
    made there meanwhile stays."""
    try:
        info = os.stat(shard, dir_fd=entries_fd, follow_symlinks=False)
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(shard, dir_fd=entries_fd)
    except FileNotFoundError:
        return
    except OSError as err:
        raise ResultsError(f"result cache: cannot remove {path}: {_why(err)}") from None


def _abandoned(x: Leftover, now: float) -> bool:
    """A leftover whose writer is gone (or that is a day old: its pid may be another's now)."""
    return now - x.modified > STALE_LEFTOVER_S or not alive(x.pid)


def _size_and_time(dir_fd: int, name: str) -> tuple[int, float]:
    """Bytes of the plain files in folder `name` (no link followed) and its modification time."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return 0, 0.0
    if not stat.S_ISDIR(info.st_mode):
        return info.st_size, info.st_mtime
    return sum(_file_sizes(dir_fd, name)), info.st_mtime


def _file_sizes(dir_fd: int, name: str) -> Iterator[int]:
    try:
        fd = nofollow.open_dir(name, dir_fd=dir_fd)
    except OSError:
        return
    try:
        for child in os.scandir(fd):
            if child.is_file(follow_symlinks=False):
                yield child.stat(follow_symlinks=False).st_size
    finally:
        os.close(fd)


def _why(err: OSError) -> str:
    return err.strerror or str(err)
