"""File operations that never follow a symbolic link: every name is opened relative to an open
folder descriptor (openat) with O_NOFOLLOW, and folders with O_DIRECTORY as well.

The shared result cache (result_cache.py) and the copies of reused jobs into run folders
(job_cache.py) read and write through these. A file or folder that was replaced by a symlink
(a stray link, or another user of a shared cache folder) makes the operation fail with an
OSError instead of reading or writing somewhere else; new files are created exclusively
(O_EXCL), so an existing file or link is never written through.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
from pathlib import Path

from harness.core.hashing import CHUNK_BYTES
from harness.store.atomic import file_mode

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UnreadableSource(OSError):
    """The file being copied could not be read as a plain file (missing, a link, unreadable)."""


def supported() -> bool:
    """Whether this platform opens names relative to folder descriptors without following links."""
    return bool(_NOFOLLOW and _DIRECTORY) and os.open in os.supports_dir_fd


def open_dir(
    name: str | Path, *, dir_fd: int | None = None, create: bool = False, follow: bool = False
) -> int:
    """A descriptor of folder `name` (relative to `dir_fd` when given), made first with `create`.

    Without `follow` a symlink in the last component is refused (OSError): only a folder the
    user named themselves (the cache root) is opened with `follow`."""
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, dir_fd=dir_fd)
    flags = os.O_RDONLY | _DIRECTORY | _CLOEXEC | (0 if follow else _NOFOLLOW)
    return os.open(name, flags, dir_fd=dir_fd)


def _plain_file(fd: int, name: str) -> None:
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raise OSError(errno.EINVAL, "not a regular file", name)


def read_bytes(dir_fd: int, name: str) -> bytes:
    """The bytes of plain file `name` in `dir_fd` (a symlink there is an OSError)."""
    fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _CLOEXEC, dir_fd=dir_fd)
    try:
        _plain_file(fd, name)
        chunks = []
        while chunk := os.read(fd, CHUNK_BYTES):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _create(dir_fd: int, name: str) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    return os.open(name, flags, file_mode(), dir_fd=dir_fd)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_new(dir_fd: int, name: str, data: bytes) -> None:
    """Create `name` in `dir_fd` (it must not exist, not even as a link), write and fsync it."""
    fd = _create(dir_fd, name)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_file(src_fd: int, name: str, dst_fd: int) -> str:
    """Copy plain file `name` from folder `src_fd` to a new file in `dst_fd`; its hex sha256.

    A problem on the source side (missing, a link, not a plain file, unreadable) raises
    UnreadableSource; one on the destination side (disk full, an existing entry) a plain OSError.
    """
    try:
        src = os.open(name, os.O_RDONLY | _NOFOLLOW | _CLOEXEC, dir_fd=src_fd)
        _plain_file(src, name)
    except OSError as err:
        raise UnreadableSource(err.errno, err.strerror, name) from None
    h = hashlib.sha256()
    try:
        dst = _create(dst_fd, name)
        try:
            while True:
                try:
                    chunk = os.read(src, CHUNK_BYTES)
                except OSError as err:
                    raise UnreadableSource(err.errno, err.strerror, name) from None
                if not chunk:
                    break
                h.update(chunk)
                _write_all(dst, chunk)
            os.fsync(dst)
        finally:
            os.close(dst)
    finally:
        os.close(src)
    return h.hexdigest()


def fsync_dir(fd: int) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot sync a folder
        os.fsync(fd)


def remove_tree(dir_fd: int, name: str) -> None:
    """Delete folder `name` in `dir_fd` and what it holds, never following links (a link named
    `name` is removed itself); a name that is gone already is fine."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=dir_fd)
