"""Why a path that should name a file on this machine does not (torch-free: planning and the
adapters share the wording)."""

from __future__ import annotations

from pathlib import Path


def not_a_file(path: Path, kind: str = "model file") -> str | None:
    """None when `path` is a file; otherwise what it is instead, in words (`kind`: the file
    the key names)."""
    if path.is_file():
        return None
    if path.is_dir():
        return f"is a folder, not a {kind}"
    if path.is_symlink() and not path.exists():
        return "is a link that leads to no file (broken, or a loop)"
    if path.exists():  # /dev/null, a named pipe: no file to read, but not missing either
        return f"is a special file (a device, pipe or socket), not a {kind}"
    return "file not found"
