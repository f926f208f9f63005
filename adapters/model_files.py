"""Model files on disk: resolve spec paths, refuse missing files, hash every file.

File adapters (Hugging Face, ONNX, TorchScript, scikit-learn) record each file's sha256 in
`describe()`, which `identity()` hashes (adapters.base), so cached results never cross models.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.core.errors import ModelLoadError
from harness.core.hashing import file_sha256
from harness.core.local_files import not_a_file


def resolve_path(path: Path, base_dir: Path) -> Path:
    """A spec path relative to the spec's folder (absolute paths are kept)."""
    return path if path.is_absolute() else base_dir / path


# the harness package's folder (this file is harness/adapters/model_files.py; not resolved
# through links, as the zoo's weights are named through it)
_PACKAGE = Path(os.path.abspath(__file__)).parents[1]


def shown_path(path: Path, base_dir: Path) -> str:
    """How a job record names a model file or folder: `<harness>/...` for one shipped inside
    the harness (the zoo's weights), relative to the spec's folder when it lies there (as the
    spec names it), else as given (an absolute path the spec chose). A results folder that is
    shared or published names no folder of the machine that wrote it beyond what its spec
    says; the file's identity is its sha256, recorded beside it."""
    absolute = Path(os.path.abspath(path))
    roots = ((_PACKAGE, "<harness>/"), (Path(os.path.abspath(base_dir)), ""))
    for root, prefix in roots:
        if absolute.is_relative_to(root):
            return prefix + absolute.relative_to(root).as_posix()
    return str(path)


def require_file(path: Path, *, model: str, key: str = "path") -> Path:
    """`path` when it is a file; otherwise one line saying what it is instead."""
    what = not_a_file(path)
    if what is None:
        return path
    raise ModelLoadError(f"model {model!r}: {key}: {what}: {path}")


def checked_sha256(path: Path, *, expected: str | None, model: str) -> str:
    """The file's sha256, refusing a file whose digest differs from the spec's `sha256`."""
    digest = file_sha256(path)
    if expected is not None and digest != expected.lower():
        raise ModelLoadError(
            f"model {model!r}: {path} has sha256 {digest[:16]}..., expected {expected[:16]}...; "
            "the file changed or the spec's sha256 is stale"
        )
    return digest
