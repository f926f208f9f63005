"""Atomic file and folder writes: a crash never leaves a half file that looks complete.

Neither writes nor removes through a symbolic link (harness/store/links.py): a link at the name
being written, or at its folder, is refused with one line naming it."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from harness.store import links


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def file_mode() -> int:
    """The mode a plainly created file gets (0o666 less the umask), as every results file has.

    `mkstemp` makes 0o600 files; the atomic writes below set this mode instead, so manifest.json
    and spec.yaml carry the same permissions as the job files written with `open`. The umask is
    read from /proc (changing it to read it would race with other threads creating files).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no /proc: the portable way
    os.umask(mask)
    return 0o666 & ~mask


def write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write to a temp file in the same folder, fsync, then rename over `path`.

    The temp file is created exclusively (`mkstemp`: never an existing file or link); a link at
    `path` or at its folder is refused, so nothing is written or replaced through one. Without
    `durable` nothing is fsynced (report pages: whole after a crash, not necessarily on disk)."""
    links.refuse_link(path.parent)  # first: mkdir of a link to nothing says "File exists"
    path.parent.mkdir(parents=True, exist_ok=True)
    links.refuse_link(path.parent)
    links.refuse_link(path)
    # the pid in the name lets a later run tell a dead writer's leftover (run_store.py)
    prefix = f".{path.name}.{os.getpid()}."
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        links.refuse_link(path)  # planted while the temp file was written
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def write_text(path: Path, text: str, *, durable: bool = True) -> None:
    if durable:
        write_bytes(path, text.encode("utf-8"))
    else:
        write_bytes(path, text.encode("utf-8"), durable=False)


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def publish_dir(tmp_dir: Path, final_dir: Path) -> None:
    """Move a fully written temp folder into place in one rename (replacing an old one).

    A link at the final name (or at the name the old folder moves to) is refused: replacing it
    would delete the files of the folder it points to. The old folder's entries are removed
    without following any link among them."""
    for child in tmp_dir.iterdir():
        if child.is_file() and not child.is_symlink():
            with child.open("rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(tmp_dir)
    links.refuse_link(final_dir)
    if final_dir.exists():
        stale = final_dir.with_name(f".stale-{final_dir.name}-{os.getpid()}")
        links.refuse_link(stale)
        os.replace(final_dir, stale)
        os.replace(tmp_dir, final_dir)
        links.remove_entry(stale)
    else:
        os.replace(tmp_dir, final_dir)
    _fsync_dir(final_dir.parent)
