"""Safe weight loading: safetensors by default, pickle only on explicit opt-in, hashes verified."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from harness.core.errors import ModelLoadError
from harness.core.hashing import file_sha256


def is_safetensors(path: Path) -> bool:
    """True when the file starts with a safetensors header (8-byte length, then a JSON object)."""
    with path.open("rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    size = int.from_bytes(head[:8], "little")
    return head[8:9] == b"{" and 0 < size <= path.stat().st_size - 8


def load_state_dict(
    path: Path, *, expected_sha256: str | None, allow_pickle: bool
) -> tuple[dict[str, torch.Tensor], str]:
    """Load a state dict and return it with the file's sha256.

    A safetensors file loads without executing code. Anything else is a pickle: refused unless
    the spec sets `allow_pickle: true`, and even then loaded with `weights_only=True`.
    """
    if not path.is_file():
        raise ModelLoadError(f"weights file not found: {path}")
    digest = file_sha256(path)
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise ModelLoadError(
            f"weights file {path} has sha256 {digest[:16]}..., expected "
            f"{expected_sha256[:16]}...; the file changed or the spec's sha256 is stale"
        )
    if is_safetensors(path):
        return load_file(str(path)), digest
    if not allow_pickle:
        raise ModelLoadError(
            f"weights file {path} is not safetensors (a pickle can run code when loaded); "
            "convert it to safetensors, or set allow_pickle: true on the model to load it "
            "with torch.load(weights_only=True)"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError / RuntimeError subclasses
        raise ModelLoadError(
            f"weights file {path} could not be loaded with weights_only=True "
            f"({type(err).__name__}); it may contain code or non-tensor objects"
        ) from err
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelLoadError(f"weights file {path} does not hold a state dict of tensors")
    return obj, digest
