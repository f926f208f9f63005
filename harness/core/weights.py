"""Safe weight loading: safetensors by default, pickle only on explicit opt-in, hashes verified.

A safetensors file's header is checked before any tensor is read: its length, its JSON, and every
tensor's dtype, shape and byte range against the file's real size, so a truncated file, a broken
header or a header claiming a 40 GB tensor is one line naming the file (and nothing is allocated
from a size the header merely claims). Loaded tensors are then fitted against the module's own
(`fit_state_dict`): a shape mismatch or an integer tensor for a floating-point parameter is
refused; a floating-point precision change (float16 weights into a float32 model) is accepted and
noted in the model's description, which every job record keeps.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from harness.core.errors import ModelLoadError
from harness.core.hashing import file_sha256
from harness.core.local_files import not_a_file

SAFETENSORS_SUFFIX = ".safetensors"
MAX_HEADER_BYTES = 100 << 20  # the safetensors format's own limit
DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "F64": 8,
    "I64": 8,
    "U64": 8,
}


def is_safetensors(path: Path) -> bool:
    """True when the file says it is safetensors: by its suffix, or a header-shaped start.

    Such a file is loaded as safetensors (and its header checked strictly), never as a pickle.
    """
    if path.suffix == SAFETENSORS_SUFFIX:
        return True
    with path.open("rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def check_safetensors(path: Path) -> dict[str, Any]:
    """The header of a safetensors file, checked against the file; damage is a ModelLoadError.

    Reads only the header: its length prefix must fit the file and the format's 100 MB limit,
    it must be a JSON object, and each tensor's byte range must lie inside the file and match
    its dtype and shape, without overlapping another's.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise _damaged(path, f"it has {size} bytes, too few for a safetensors header")
        length = int.from_bytes(prefix, "little")
        if length > min(MAX_HEADER_BYTES, size - 8):
            raise _damaged(
                path,
                f"its header claims {length:,} bytes but the file has {size - 8:,} after the "
                "length prefix (truncated, or not safetensors)",
            )
        raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise _damaged(path, f"its header is not valid JSON ({type(err).__name__})") from None
    if not isinstance(header, dict):
        raise _damaged(path, "its header is not a JSON object")
    _check_entries(path, header, data_bytes=size - 8 - length)
    return header


def _check_entries(path: Path, header: dict[str, Any], *, data_bytes: int) -> None:
    ranges: list[tuple[int, int, str]] = []
    for key, entry in header.items():
        if key != "__metadata__":
            shown = repr(key[:80])
            ranges.append((*_byte_range(path, shown, entry, data_bytes), shown))
    ranges.sort()
    for (_, end, first), (begin, _, second) in zip(ranges, ranges[1:], strict=False):
        if begin < end:
            raise _damaged(path, f"tensors {first} and {second} overlap")


def _byte_range(path: Path, shown: str, entry: object, data_bytes: int) -> tuple[int, int]:
    """A tensor entry's [begin, end) in the data, checked against its dtype, shape and the file."""
    if not isinstance(entry, dict):
        raise _damaged(path, f"tensor {shown} has no dtype/shape/data_offsets entry")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPE_BYTES:
        raise _damaged(path, f"tensor {shown} has an unknown dtype {str(dtype)[:20]!r}")
    if not isinstance(shape, list) or not all(_natural(d) for d in shape):
        raise _damaged(path, f"tensor {shown} has an invalid shape")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_natural, offsets))):
        raise _damaged(path, f"tensor {shown} has invalid data_offsets")
    begin, end = offsets
    if begin > end:
        raise _damaged(path, f"tensor {shown} has invalid data_offsets")
    claimed = math.prod(shape) * DTYPE_BYTES[dtype]
    if end > data_bytes:
        raise _damaged(
            path,
            f"tensor {shown} claims bytes {begin:,}-{end:,} ({claimed:,} bytes for shape "
            f"{shape[:8]} {dtype}) but the file holds {data_bytes:,} bytes of data (truncated or "
            "damaged)",
        )
    if end - begin != claimed:
        raise _damaged(
            path,
            f"tensor {shown} spans {end - begin:,} bytes but its shape {shape[:8]} and dtype "
            f"{dtype} need {claimed:,}",
        )
    return begin, end


def _natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _damaged(path: Path, what: str) -> ModelLoadError:
    return ModelLoadError(f"weights file {path} is not a valid safetensors file: {what}")


def load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a checked safetensors file; the library's own errors named by file."""
    check_safetensors(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        cause = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise _damaged(path, cause) from err


def load_state_dict(
    path: Path, *, expected_sha256: str | None, allow_pickle: bool
) -> tuple[dict[str, torch.Tensor], str]:
    """Load a state dict and return it with the file's sha256.

    A safetensors file loads without executing code. Anything else is a pickle: refused unless
    the spec sets `allow_pickle: true`, and even then loaded with `weights_only=True`.
    """
    what = not_a_file(path, "weights file")  # a folder is no "file not found"
    if what is not None:
        raise ModelLoadError(f"weights: {what}: {path}")
    digest = file_sha256(path)
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise ModelLoadError(
            f"weights file {path} has sha256 {digest[:16]}..., expected "
            f"{expected_sha256[:16]}...; the file changed or the spec's sha256 is stale"
        )
    if is_safetensors(path):
        return load_safetensors(path), digest
    packed = compressed_kind(path)
    if packed is not None:  # neither safetensors nor a pickle: allow_pickle cannot read it
        raise ModelLoadError(
            f"weights file {path} is a {packed}-compressed file (an archive such as .tar.gz), "
            "not weights; unpack it and set weights: to the .safetensors (or torch.save) file "
            "inside"
        )
    if not allow_pickle:
        raise ModelLoadError(
            f"weights file {path} is not safetensors (a pickle can run code when loaded); "
            "convert it to safetensors, or set allow_pickle: true on the model to load it "
            "with torch.load(weights_only=True)"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError / RuntimeError / EOFError
        raise _unreadable_pickle(path, err) from err
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        held = (
            f"a dict with keys {[str(k)[:40] for k in list(obj)[:8]]}"
            if isinstance(obj, dict)
            else f"a {type(obj).__name__}"
        )
        raise ModelLoadError(
            f"weights file {path} holds {held}, not a state dict of tensors (nor one under "
            "'state_dict'); save model.state_dict()"
        )
    return obj, digest


_COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"(\xb5/\xfd": "zstd"}
"""The leading bytes of compressed files, and their kind (torch.save writes an uncompressed zip
or a bare pickle: neither starts so)."""


def compressed_kind(path: Path) -> str | None:
    """`path`'s compression (gzip, bzip2, xz, zstd) by its leading bytes, or None."""
    with path.open("rb") as f:
        head = f.read(8)
    return next((kind for magic, kind in _COMPRESSED.items() if head.startswith(magic)), None)


# torch's weights-only unpickler names a refused class as "GLOBAL module.name was not an
# allowed global" (or "... whose module m is blocked"); a name cut by other bytes (NULs where
# the file was damaged) is no class
_REFUSED_GLOBAL = re.compile(r"GLOBAL ([\w.]+) (?:was not an allowed global|whose module)")


def _unreadable_pickle(path: Path, err: Exception) -> ModelLoadError:
    """Why torch.load(weights_only=True) could not read `path`, as one line: a class or function
    the file names (code, or objects other than tensors) is said as such; an empty, cut or
    non-torch file is not accused of holding code."""
    text = str(err)
    refused = _REFUSED_GLOBAL.search(text)
    if refused is not None:
        return ModelLoadError(
            f"weights file {path} could not be loaded with weights_only=True: it names "
            f"{refused.group(1)}, code or an object other than tensors (a pickle can run code "
            "when loaded); save model.state_dict() or convert the weights to safetensors"
        )
    if path.stat().st_size == 0:
        return ModelLoadError(f"weights file {path} is empty (0 bytes); copy or save it again")
    if isinstance(err, EOFError) or any(
        cut in text for cut in ("failed reading zip archive", "unexpected EOF")
    ):
        return ModelLoadError(
            f"weights file {path} ends early: truncated or damaged (copy or save it again)"
        )
    if "GLOBAL " in text:  # a class name that is not one: bytes of the pickle overwritten
        return ModelLoadError(
            f"weights file {path} is damaged: its pickle names a class by a broken name "
            "(copy or save it again)"
        )
    detail = next(
        (line.strip() for line in text.splitlines() if line.strip().startswith("Unsupported")),
        type(err).__name__,
    )
    detail = "".join(ch for ch in detail if ch.isprintable())  # no bytes of the file's own
    return ModelLoadError(
        f"weights file {path} could not be loaded with weights_only=True ({detail[:120]}): not "
        "a file torch.save wrote, damaged, or a pickle holding code or objects other than "
        "tensors; save model.state_dict() or convert the weights to safetensors"
    )


def fit_state_dict(
    module: torch.nn.Module, state: dict[str, torch.Tensor], *, path: Path, model: str
) -> list[str]:
    """Check loaded tensors against the module's own before loading them; notes on casts.

    Refused (one line naming the key): a shape that differs; an integer, boolean or complex
    tensor for a floating-point entry, or a floating-point one for an integer entry (a cast
    would change the values, e.g. int32 indices read as weights). Accepted with a note: a change
    of floating-point precision (float16 or bfloat16 weights into float32), or of integer width,
    and whole-number floats for an integer entry (BatchNorm's `num_batches_tracked` after a
    script cast every tensor to float16: the count it was).
    """
    own = module.state_dict()
    notes: list[str] = []
    for key, tensor in state.items():
        target = own.get(key)
        if target is None:
            continue  # unexpected keys are reported by the caller
        if tuple(tensor.shape) != tuple(target.shape):
            raise ModelLoadError(
                f"model {model!r}: weights {path}: {key} has shape {list(tensor.shape)} but the "
                f"model's {key} is {list(target.shape)}"
            )
        if tensor.dtype == target.dtype or target.is_quantized:
            continue
        if _kind(tensor.dtype) != _kind(target.dtype) and not _whole_numbers_for(tensor, target):
            raise ModelLoadError(
                f"model {model!r}: weights {path}: {key} is {_name(tensor.dtype)} but the model's "
                f"{key} is {_name(target.dtype)}; casting would change its values — save the "
                "weights with the model's dtypes"
            )
        notes.append(f"{key}: {_name(tensor.dtype)} -> {_name(target.dtype)}")
    if not notes:
        return []
    shown = "; ".join(notes[:5]) + (f"; and {len(notes) - 5} more" if len(notes) > 5 else "")
    return [f"weights cast on load from {path.name}: {shown}"]


def _whole_numbers_for(tensor: torch.Tensor, target: torch.Tensor) -> bool:
    """Whether floating-point `tensor` holds only whole numbers in the range of the integer
    `target`'s dtype: loading it into that entry keeps every value."""
    if not tensor.dtype.is_floating_point or _kind(target.dtype) != "integer":
        return False
    if tensor.numel() == 0:
        return True
    values = tensor.double()
    info = torch.iinfo(target.dtype)
    return bool(
        torch.isfinite(values).all()
        and (values == values.round()).all()
        and values.min() >= info.min
        and values.max() <= info.max
    )


def _kind(dtype: torch.dtype) -> str:
    if dtype.is_complex:
        return "complex"
    if dtype.is_floating_point:
        return "float"
    return "bool" if dtype == torch.bool else "integer"


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


MAX_WRAPPERS = 3  # stacked wrapper prefixes stripped, e.g. torch.compile of DDP: 2


def strip_wrapper_prefix(
    module: torch.nn.Module, state: dict[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The state dict without the prefix training wrappers put before every key, and a note.

    `nn.DataParallel` and `DistributedDataParallel` save `module.<key>`, a Lightning module
    `model.<key>`, `torch.compile` `_orig_mod.<key>`, and wrappers stack (`torch.compile` of a
    DDP model: `_orig_mod.module.<key>`): when every key starts with the same `<name>.` (up to
    `MAX_WRAPPERS` of them), the module has no entry under that prefix, and the stripped keys
    are all the module's own, the prefix is stripped (and said so in the model's description);
    otherwise the keys are left for the caller to report.
    """
    if not state:
        return state, []
    own = module.state_dict()
    prefix = ""
    for _ in range(MAX_WRAPPERS):
        heads = {key[len(prefix) :].split(".", 1)[0] for key in state}
        if len(heads) != 1 or not all("." in key[len(prefix) :] for key in state):
            return state, []
        prefix = f"{prefix}{heads.pop()}."
        if any(key.startswith(prefix) for key in own):
            return state, []
        stripped = {key.removeprefix(prefix): tensor for key, tensor in state.items()}
        if set(stripped) <= set(own):
            return stripped, [
                f"weights keys carried the prefix {prefix!r} (a training wrapper's); stripped"
            ]
    return state, []


def tied_keys(module: torch.nn.Module) -> dict[str, tuple[str, ...]]:
    """State-dict keys of each parameter or buffer the module holds under several names (tied
    weights): key -> every key of the same tensor."""
    names: dict[int, list[str]] = {}
    for key, tensor in [
        *module.named_parameters(remove_duplicate=False),
        *module.named_buffers(remove_duplicate=False),
    ]:
        names.setdefault(id(tensor), []).append(key)
    return {key: tuple(group) for group in names.values() if len(group) > 1 for key in group}


def untied_missing(
    module: torch.nn.Module,
    state: dict[str, torch.Tensor],
    missing: list[str],
    *,
    path: Path,
    model: str,
) -> list[str]:
    """The missing keys that no loaded key fills: a tied tensor saved once (safetensors'
    `save_model` keeps one name of each shared tensor) is loaded through its other name.
    A file that gives tied names different values is refused (which one would win is the
    order of loading)."""
    tied = tied_keys(module)
    for group in set(tied.values()):
        given = [key for key in group if key in state]
        for other in given[1:]:
            if not torch.equal(state[given[0]], state[other]):
                raise ModelLoadError(
                    f"model {model!r}: weights {path}: {given[0]} and {other} are one tied tensor "
                    "in the model but hold different values in the file"
                )
    return [key for key in missing if not any(k in state for k in tied.get(key, ()))]
