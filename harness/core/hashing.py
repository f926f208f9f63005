"""sha256 of a file, read in 1 MiB chunks, and of a model folder's files: weights, model files,
stored results and text attacks' similarity-model folders use these.

Torch-free, so the results store (which never imports torch) and the weight loader share it.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

CHUNK_BYTES = 1 << 20

SETTLED_NS = 3 * 10**9
"""A file's digest is kept for the process once its change time is this far behind the clock
(more than any filesystem's timestamp granularity: 2 s on FAT)."""


def file_sha256(path: Path) -> str:
    """Hex sha256 of the file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            h.update(chunk)
    return h.hexdigest()


def folder_sha256(folder: Path) -> dict[str, str]:
    """sha256 of every regular file under `folder` outside `.cache` folders, keyed by its
    relative POSIX path. Each file's digest is kept for this process while its path, inode, size,
    modification time and change time stay (a run keys every job of a spec with the same folder;
    `cp -p`, `rsync -a` and archives set a copy's mtime to its source's, but not its ctime).
    Only the digest of a file unchanged for `SETTLED_NS` is kept: the change time is a coarse
    clock (a jiffy, 1-10 ms, before Linux 6.13; whole seconds on some filesystems), so a rewrite
    within one tick of the last one reads the same ctime (git's "racy clean" index entries)."""
    digests: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or ".cache" in path.relative_to(folder).parts:
            continue
        now = time.time_ns()
        stat = path.stat()
        key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        digest = _FILE_DIGESTS.get(key)
        if digest is None:
            digest = file_sha256(path)
            if now - stat.st_ctime_ns > SETTLED_NS:  # a later change reads another ctime
                _FILE_DIGESTS[key] = digest
        digests[path.relative_to(folder).as_posix()] = digest
    return digests


def folder_digest(folder: Path) -> str:
    """One sha256 over `folder_sha256(folder)`: each file's relative path and digest."""
    digest = hashlib.sha256()
    for name, file_digest in folder_sha256(folder).items():
        digest.update(f"{name}\0{file_digest}\0".encode())
    return digest.hexdigest()


_FILE_DIGESTS: dict[tuple[str, int, int, int, int], str] = {}
