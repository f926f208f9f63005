"""No write, truncation or removal in a results folder passes through a symbolic link.

A results folder is data the harness did not write itself: it may come from a shared CI cache or
a download. A link planted at a name the harness writes (`.lock`, `manifest.json`, a job folder,
a report page) would turn that write into a write to whatever the link points at: the run lock
truncated `~/.bashrc`, the replacement of a job folder deleted the files of the folder its link
named. So every such name is checked with `lstat` and opened with `O_NOFOLLOW`, and a link is
refused with one line naming it; nothing is written through it. The folder given on the command
line (`--out`) is the user's own choice and may itself be a link; everything below it is checked.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path

from harness.core.errors import ResultsError


class LinkRefusedError(ResultsError):
    """A name the harness was about to write, truncate or remove is a symbolic link."""


def link_refusal(path: Path) -> LinkRefusedError:
    try:
        target = f" (pointing to {os.readlink(path)})"
    except OSError:
        target = ""
    return LinkRefusedError(
        f"refusing to write through symbolic link {path}{target}: a results or report folder holds "
        "plain files and folders only; remove the link or choose another --out (nothing was "
        "written through it)"
    )


def is_link(path: Path) -> bool:
    """Whether `path` itself is a symbolic link (never follows it; a missing path is not)."""
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def refuse_link(path: Path) -> None:
    """Raise `LinkRefusedError` when `path` is a symbolic link."""
    if is_link(path):
        raise link_refusal(path)


def real_dir(path: Path) -> Path:
    """`path` as a folder of its own: created when missing, refused when it is a link (to a
    folder or anything else). Its parent must exist."""
    refuse_link(path)
    try:
        os.mkdir(path)
    except FileExistsError:
        refuse_link(path)  # created by someone else meanwhile
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            raise ResultsError(
                f"{path} is not a folder; move it away or choose another --out"
            ) from None
    return path


def first_link(folder: Path) -> Path | None:
    """The first symbolic link inside `folder` (at any depth, links never followed), or None."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return None
    for entry in sorted(entries, key=lambda e: e.name):
        path = Path(entry.path)
        if entry.is_symlink():
            return path
        if entry.is_dir(follow_symlinks=False):
            found = first_link(path)
            if found is not None:
                return found
    return None


def refuse_links_in(folder: Path) -> None:
    """Refuse a folder that is a link or holds one anywhere inside it."""
    refuse_link(folder)
    found = first_link(folder)
    if found is not None:
        raise link_refusal(found)


def open_no_follow(path: Path, flags: int, mode: int = 0o666) -> int:
    """`os.open` that refuses a symbolic link at `path` (`O_NOFOLLOW`) with one line."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as err:
        if err.errno == errno.ELOOP or is_link(path):
            raise link_refusal(path) from None
        raise


def remove_entry(path: Path) -> None:
    """Remove `path` without following it: a link is unlinked (its target untouched), a folder
    is removed with everything inside it (links inside unlinked, never followed)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path, ignore_errors=True)  # does not follow links (fd-based on Linux)
    else:
        path.unlink(missing_ok=True)
