"""The path arguments of every subcommand, checked for their kind before anything is read or
written: one line naming the argument and the path, never a traceback.

Four roles: a file read (a spec, a policy, an id list), a folder read (a results or run folder),
a folder written (`--out`) and a file written (`--junit`, `$GITHUB_STEP_SUMMARY`). A FIFO, a
device or a socket is refused in every role (reading a FIFO blocks until a writer comes; a
write to /dev/full fails halfway). A written file goes through a temporary file and a rename,
so a failed write leaves the old file whole.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from harness.core.errors import HarnessError
from harness.store import atomic, links


class PathArgumentError(HarnessError):
    """A path argument names the wrong kind of thing, or cannot be read or written."""


def kind_of(path: Path, what: str) -> str | None:
    """'file', 'folder', 'FIFO (named pipe)', 'character device', ...; None when nothing is
    there (or a parent is not a folder); a path that cannot be looked at is one line."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:
        raise PathArgumentError(f"{what} {path}: {os_reason(err)}") from None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    return _SPECIAL.get(stat.S_IFMT(mode), "special file")


_SPECIAL = {
    stat.S_IFIFO: "FIFO (named pipe)",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFSOCK: "socket",
}


def os_reason(err: OSError) -> str:
    """An OSError's reason in words ('No space left on device'), without its path."""
    return err.strerror or type(err).__name__


def input_file(path: Path, what: str) -> Path:
    """`path` when it is a regular file (a spec, a policy): else one line saying what it is."""
    kind = kind_of(path, what)
    if kind == "file":
        return path
    if kind is None:
        raise PathArgumentError(f"{what} not found: {path}")
    raise PathArgumentError(f"{what} {path} is a {kind}, not a regular file; give the file")


def input_folder(path: Path, what: str) -> Path:
    """`path` when it is a folder (a results or run folder): else one line."""
    kind = kind_of(path, what)
    if kind == "folder":
        return path
    if kind is None:
        raise PathArgumentError(
            f"{what} {path} does not exist; run `harness run` first or pass a folder"
        )
    raise PathArgumentError(f"{what} {path} is a {kind}, not a folder")


def output_folder(path: Path, what: str, *, create: bool = True) -> Path:
    """`path` as a folder to write into: an existing folder, or created (with its parents) when
    `create`; anything else there, or a folder that cannot be made, is one line. Without
    `create` (the writer makes it later, under its own lock) the folder, or the nearest folder
    above it, is probed with a temporary folder made and removed at once."""
    kind = kind_of(path, what)
    if kind not in (None, "folder"):
        raise PathArgumentError(f"{what} {path} is a {kind}, not a folder; give a folder")
    if kind is None and path.is_symlink():  # mkdir said 'cannot create folder L: File exists'
        raise PathArgumentError(
            f"{what} {path} is a link to {os.readlink(path)}, which does not exist; create "
            "the folder it points to, or give another folder"
        )
    if kind is None and create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise PathArgumentError(
                f"{what}: cannot create folder {path}: {os_reason(err)}"
            ) from None
    elif not create:
        _probe(path if kind == "folder" else _nearest_existing(path, what), path, what)
    return path


def _nearest_existing(path: Path, what: str) -> Path:
    """The nearest ancestor of a missing `path` that exists: it must be a folder."""
    for parent in path.absolute().parents:
        kind = kind_of(parent, what)
        if kind == "folder":
            return parent
        if kind is not None:
            raise PathArgumentError(f"{what} {path}: {parent} is a {kind}, not a folder")
    return Path("/")


def _probe(folder: Path, path: Path, what: str) -> None:
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".harness-probe-", dir=folder))
    except OSError as err:
        target = "" if folder.absolute() == path.absolute() else f" (for {path})"
        raise PathArgumentError(
            f"{what}: cannot write in {folder}{target}: {os_reason(err)}"
        ) from None


def output_file(path: Path, what: str) -> Path:
    """`path` as a file to write: nothing there or a regular file, in a folder that exists or
    can be created."""
    kind = kind_of(path, what)
    if kind == "folder":
        raise PathArgumentError(f"{what} {path} is a folder; give a file name")
    if kind not in (None, "file"):
        raise PathArgumentError(f"{what} {path} is a {kind}, not a regular file")
    parent = path.parent
    kind = kind_of(parent, what)
    if kind not in (None, "folder"):
        raise PathArgumentError(f"{what} {path}: {parent} is a {kind}, not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise PathArgumentError(
            f"{what} {path}: cannot create its folder {parent}: {os_reason(err)}"
        ) from None
    return path


def write_output(path: Path, text: str, what: str) -> None:
    """Write `text` to `path` whole (temporary file + rename) or fail with one line; an
    existing file is left as it was when the write fails. `path` may itself be a symbolic link
    (the user's own choice): the file it points to is written."""
    output_file(path, what)
    if links.is_link(path):
        path = Path(os.path.realpath(path))
    try:
        atomic.write_text(path, text)
    except OSError as err:
        raise PathArgumentError(f"{what}: cannot write {path}: {os_reason(err)}") from None


def append_output(path: Path, text: str, what: str) -> None:
    """Append `text` to `path` (a summary file others write too) or fail with one line."""
    output_file(path, what)
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)
    except OSError as err:
        raise PathArgumentError(f"{what}: cannot write {path}: {os_reason(err)}") from None
