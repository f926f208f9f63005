"""Model files on disk: resolve spec paths, refuse missing files, hash every file.

File adapters (Hugging Face, ONNX, TorchScript, scikit-learn) record each file's sha256 in
`describe()`, which `identity()` hashes (adapters.base), so cached results never cross models.
"""

from __future__ import annotations

from pathlib import Path

from harness.core.errors import ModelLoadError
from harness.core.hashing import file_sha256


def resolve_path(path: Path, base_dir: Path) -> Path:
    """A spec path relative to the spec's folder (absolute paths are kept)."""
    return path if path.is_absolute() else base_dir / path


def require_file(path: Path, *, model: str, key: str = "path") -> Path:
    if not path.is_file():
        raise ModelLoadError(f"model {model!r}: {key}: file not found: {path}")
    return path


def checked_sha256(path: Path, *, expected: str | None, model: str) -> str:
    """The file's sha256, refusing a file whose digest differs from the spec's `sha256`."""
    digest = file_sha256(path)
    if expected is not None and digest != expected.lower():
        raise ModelLoadError(
            f"model {model!r}: {path} has sha256 {digest[:16]}..., expected {expected[:16]}...; "
            "the file changed or the spec's sha256 is stale"
        )
    return digest


def folder_sha256(folder: Path) -> dict[str, str]:
    """sha256 of every regular file under `folder`, keyed by its relative POSIX path."""
    return {
        p.relative_to(folder).as_posix(): file_sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".cache" not in p.relative_to(folder).parts
    }
