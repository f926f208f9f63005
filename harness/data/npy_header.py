"""What a `.npy` file claims, read from its header alone and checked against the file's size.

The CIFAR-10-C layout (`labels.npy` + `<corruption>.npy`) is memory-mapped batch by batch, so a
damaged file would otherwise surface mid-run as numpy's own words (`mmap length is greater than
file size`, `No data left in file`, `This file contains pickled (object) data`) naming no file.
`read_npy_header` reads only the magic string and the header (a few hundred bytes; numpy caps the
header at 10,000), refuses object arrays (a pickle) and a file shorter than its header says, and
names the file and what is wrong with it in one line. `harness validate` runs it on every file of
a corruption set, so a damaged set is refused before any job starts (exit 2).
"""

from __future__ import annotations

import math
import tokenize
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.lib.format as npy_format

from harness.core.errors import DatasetError

NUMERIC_KINDS = "uif"  # unsigned, signed, float
# what numpy's header parser raises on a damaged header (found by tests/reliability/test_fuzz.py):
# it tokenizes and literal-evals the header text
_HEADER_ERRORS = (
    ValueError,
    EOFError,
    SyntaxError,
    TypeError,
    OverflowError,
    tokenize.TokenError,
)


@dataclass(frozen=True)
class NpyHeader:
    """The array a `.npy` file holds: shape and dtype (its data not read)."""

    shape: tuple[int, ...]
    dtype: np.dtype

    def describe(self) -> str:
        return f"shape {list(self.shape)} {self.dtype}"


def _header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) from the magic string and header; numpy's errors pass."""
    with path.open("rb") as f:
        version = npy_format.read_magic(f)
        if version == (1, 0):
            shape, _fortran, dtype = npy_format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _fortran, dtype = npy_format.read_array_header_2_0(f)
        else:
            raise ValueError(f"npy format version {version[0]}.{version[1]} is not supported")
        return tuple(int(n) for n in shape), np.dtype(dtype), f.tell()


def read_npy_header(path: Path, where: str) -> NpyHeader:
    """The header of `path`, or one DatasetError line naming the file (`where`: the task)."""
    try:
        size = path.stat().st_size
        shape, dtype, offset = _header(path)
    except OSError as err:
        raise DatasetError(f"{where}: cannot read {path} ({err.strerror or err})") from None
    except _HEADER_ERRORS as err:
        reason = (str(err).splitlines() or [type(err).__name__])[0] if size else "an empty file"
        raise DatasetError(
            f"{where}: {path} is not a readable .npy file ({reason}); replace it with the "
            "published file"
        ) from None
    if dtype.hasobject:
        raise DatasetError(
            f"{where}: {path} holds Python objects (a pickle inside .npy), which are never "
            "loaded; save the array with a numeric dtype"
        )
    need = offset + math.prod(shape) * dtype.itemsize
    if size < need:
        raise DatasetError(
            f"{where}: {path} is truncated: {size:,} bytes, but its header claims shape "
            f"{list(shape)} {dtype} ({need:,} bytes); download it again"
        )
    return NpyHeader(shape, dtype)


def stored_channels_last(image_shape: tuple[int, ...]) -> bool:
    """Whether a stored numeric image of this shape is height x width x channels: 3-D, 1, 3 or 4
    on the last axis and neither 1 nor 3 on the first (channels first otherwise; 2-D is grey).
    The one rule: `image_decoders.ArrayLayout.infer` applies it when a task loads, `harness
    validate` to a `.npy` header."""
    return len(image_shape) == 3 and image_shape[-1] in (1, 3, 4) and image_shape[0] not in (1, 3)


def decoded_chw(image_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(channels, height, width) of a stored 2-D or 3-D numeric image, before any transform."""
    if len(image_shape) == 2:
        return (1, image_shape[0], image_shape[1])
    if len(image_shape) != 3:
        raise ValueError(f"an image has 2 or 3 dimensions, not {len(image_shape)}")
    c, h, w = image_shape
    return (w, c, h) if stored_channels_last(image_shape) else (c, h, w)


def check_corruption_set(
    files: tuple[tuple[str, Path], ...], labels: Path, where: str, severities: int
) -> NpyHeader:
    """A CIFAR-10-C folder's files agree, from their headers: `labels` one integer per row,
    a multiple of `severities` rows; every `<corruption>.npy` one numeric image per label, all of
    one shape and dtype. Returns the first corruption file's header (the images' shape)."""
    head = read_npy_header(labels, where)
    rows = head.shape[0] if head.shape else 0
    if len(head.shape) != 1 or head.dtype.kind not in "iu" or rows == 0 or rows % severities:
        raise DatasetError(
            f"{where}: {labels} must be a 1-D array of integer labels, {severities} severities "
            f"stacked (a non-zero multiple of {severities} rows), not {head.describe()}"
        )
    first: tuple[Path, NpyHeader] | None = None
    for _name, path in files:
        got = read_npy_header(path, where)
        if got.dtype.kind not in NUMERIC_KINDS or len(got.shape) not in (3, 4):
            raise DatasetError(
                f"{where}: {path} holds {got.describe()}; a corruption file holds numeric "
                "images, (rows, height, width[, channels])"
            )
        if got.shape[0] != rows:
            raise DatasetError(
                f"{where}: {path} holds {got.shape[0]:,} images but {labels} has {rows:,} "
                "labels; every <corruption>.npy needs one image per label"
            )
        if first is not None and (got.shape[1:], got.dtype) != (first[1].shape[1:], first[1].dtype):
            raise DatasetError(
                f"{where}: {path} holds images of {got.describe()}, {first[0].name} of "
                f"{first[1].describe()}; every <corruption>.npy needs one image shape and dtype"
            )
        first = first or (path, got)
    assert first is not None  # a corruption set lists at least one file
    return first[1]
