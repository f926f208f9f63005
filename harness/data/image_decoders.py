"""Decoders that stream a task's images batch by batch (`harness.core.task.InputDecoder`).

A loaded image task keeps its input column as the source holds it and decodes one batch at a
time, so memory is bounded by the batch size, not by the split:
- `EncodedImages`: encoded files (PNG, JPEG...) given as paths, bytes, or the `{bytes, path}`
  structs of a Hugging Face `Image` column or of a pandas-written Parquet file;
- `ArrayImages`: numeric arrays stored in Arrow (lists, `Array3D`), CHW or HWC;
- `NpyRows`: rows of `.npy` files read through a memory map (CIFAR-10-C).
Each decodes to float32 CHW in the task's bounds, applies the declared `ImageTransform`, and
yields its source bytes for the task fingerprint (a content hash that needs no decoded arrays).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from PIL import Image, UnidentifiedImageError

from harness.core.errors import DatasetError
from harness.data.image_bounds import FULL_SCALE
from harness.data.image_channels import GREY_MODES
from harness.data.image_transform import ImageTransform
from harness.data.npy_header import stored_channels_last

WIDE_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})  # 16-bit grey: scaled by 65535
ImageMode = Literal["L", "RGB"]
# an unreadable file, a truncated one, or one past PIL's decompression-bomb limit
_DECODE_ERRORS = (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError)


def decode_reason(err: Exception) -> str:
    """PIL's reason in a few words (its "cannot identify image file <_io.BytesIO ...>" names an
    in-memory buffer, not the file)."""
    if isinstance(err, UnidentifiedImageError):
        return "not an image format PIL can read: damaged, empty or not an image"
    return (str(err).splitlines() or [type(err).__name__])[0]


def mode_for(image: Image.Image, channels: int | None) -> ImageMode:
    """The mode every image is converted to: declared channels, else the first image's."""
    if channels is not None:
        return "L" if channels == 1 else "RGB"
    return "L" if image.mode in GREY_MODES else "RGB"


class DepthError(ValueError):
    """An image whose pixel values have no range its format defines (PIL modes I and F)."""


def pixels(image: Image.Image, mode: ImageMode) -> tuple[Image.Image, float]:
    """`image` in a mode that keeps every value it holds, and the value that is full scale:
    8-bit images (any PIL mode with 8 bits per channel: 1, L, P, RGB, RGBA, CMYK, YCbCr...) in
    `mode`, full scale 255; 16-bit grey (I;16) as 32-bit integers, full scale 65535 (converting
    it to 8-bit clips every value above 255, an all-white image); 32-bit floats (F) as they are,
    full scale 1 (their values must lie in [0, 1]). A 32-bit integer image (I) is refused: its
    format gives it no range to scale by."""
    if image.mode in WIDE_MODES:
        return image.convert("I"), 65535.0
    if image.mode == "I":
        raise DepthError(
            "a 32-bit integer image (PIL mode I), whose format gives no range to scale by; save "
            "it as an 8- or 16-bit image"
        )
    if image.mode == "F":
        return image.copy(), 1.0  # loaded now: the file closes when the caller's `with` ends
    return image.convert(mode), 255.0


def _shape_error(task: str, sample_id: str, got: str, want: tuple[int, ...]) -> DatasetError:
    return DatasetError(
        f"task {task!r}: image {sample_id!r} decodes to shape {got}, the others to "
        f"{list(want)}; declare transform: imagenet-eval or resize/center_crop to give every "
        "image one shape"
    )


def empty_image_cells(cells: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Which cells of a column of {bytes, path} structs (a `datasets` Image column read with
    decode=False; pandas' dicts of them, with or without `path`, a `path` of nulls only) or of
    bytes hold no image: missing, or neither bytes nor a path (`EncodedImages._bytes` would say
    "an image value is NoneType", or read the table's folder as the image)."""
    kind = cells.type
    if not pa.types.is_struct(kind):  # bytes
        return pc.is_null(cells)
    fields = {kind.field(i).name: kind.field(i).type for i in range(kind.num_fields)}
    nothing = pc.is_null(pc.struct_field(cells, "bytes"))
    path_type = fields.get("path", pa.null())
    if pa.types.is_string(path_type) or pa.types.is_large_string(path_type):
        path = pc.utf8_trim_whitespace(pc.struct_field(cells, "path"))
        nothing = pc.and_(nothing, pc.fill_null(pc.equal(path, ""), True))
    return pc.or_(pc.is_null(cells), pc.fill_null(nothing, True))


# ----------------------------------------------------------------------------- encoded files


@dataclass(frozen=True)
class EncodedImages:
    """Encoded image files: a column of paths (relative to `root`), bytes or {bytes, path}."""

    task: str
    mode: ImageMode
    shape: tuple[int, int, int]  # C, H, W after the transform
    transform: ImageTransform
    root: str | None = None
    # the first image, when grey and no `channels` were declared: every image is read grey
    # because it is, so an image holding colour is refused rather than read grey (`_grey_only`)
    grey_from: str = ""

    def describe(self) -> str:
        # each image scaled by its own full scale (255, 65535, 1): `pixels`
        return f"encoded-images(mode={self.mode}, scale=own-depth, {self.transform.describe()})"

    def decode(self, column: pa.ChunkedArray, sample_ids: Sequence[str]) -> torch.Tensor:
        out = np.empty((len(sample_ids), *self.shape), dtype=np.float32)
        scales = np.empty(len(sample_ids), dtype=np.float32)
        for i, (value, sid) in enumerate(zip(column.to_pylist(), sample_ids, strict=True)):
            image, scale = self.open(value, sid)
            array = self.to_array(image)
            if array.shape != self.shape:
                raise _shape_error(self.task, sid, str(list(array.shape)), self.shape)
            if scale == 1.0:
                self._check_unit(array, value, sid)
            out[i], scales[i] = array, scale
        tensor = torch.from_numpy(out)
        return tensor.div_(torch.from_numpy(scales).view(-1, *([1] * len(self.shape))))

    def source_digest(self, column: pa.ChunkedArray) -> Iterator[bytes]:
        for value in column.to_pylist():
            yield self._bytes(value)

    def open(self, value: Any, sample_id: str) -> tuple[Image.Image, float]:
        """One stored value as a PIL image that keeps its values (`pixels`), before the
        transform, and its full-scale value."""
        try:
            with Image.open(io.BytesIO(self._bytes(value))) as image:
                if self.grey_from and image.mode not in GREY_MODES:
                    self._grey_only(image, value, sample_id)
                return pixels(image, self.mode)
        except DepthError as err:
            raise DatasetError(
                f"task {self.task!r}: image {self.where(value, sample_id)} is {err}"
            ) from None
        except _DECODE_ERRORS as err:
            raise DatasetError(
                f"task {self.task!r}: image {self.where(value, sample_id)} cannot be decoded "
                f"({decode_reason(err)}); remove or replace the file"
            ) from None

    def _grey_only(self, image: Image.Image, value: Any, sample_id: str) -> None:
        """Refuse an image holding colour (channels that differ) in a task read grey only
        because its first image is grey: converting it would drop its colour without a word.
        An RGB file of grey pixels converts exactly and passes."""
        rgb = np.asarray(image.convert("RGB"))
        if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
            return
        raise DatasetError(
            f"task {self.task!r}: image {self.where(value, sample_id)} is in colour (PIL mode "
            f"{image.mode}), but the task reads its images grey because its first image "
            f"{self.grey_from} is grey; declare channels: 3 to read every image in colour, or "
            "channels: 1 to read them grey"
        )

    def _check_unit(self, array: np.ndarray, value: Any, sample_id: str) -> None:
        """A float image's values lie in [0, 1] (its full scale)."""
        finite = np.isfinite(array).all()
        if finite and array.min() >= 0.0 and array.max() <= 1.0:
            return
        what = "NaN or inf" if not finite else f"values in [{array.min():g}, {array.max():g}]"
        raise DatasetError(
            f"task {self.task!r}: image {self.where(value, sample_id)} is a 32-bit float image "
            f"(PIL mode F) with {what}; a float image must hold values in [0, 1]: rescale it, or "
            "save it as an 8- or 16-bit image"
        )

    def where(self, value: Any, sample_id: str) -> str:
        """The image's file when the column holds a path, else its sample id."""
        path = value.get("path") if isinstance(value, dict) else value
        if isinstance(path, str) and path:
            full = Path(path)
            if self.root is not None and not full.is_absolute():
                full = Path(self.root) / full
            return f"{str(full)!r} (sample {sample_id!r})"
        return repr(sample_id)

    def to_array(self, image: Image.Image) -> np.ndarray:
        """The transformed image as a CHW array of its own values (not yet scaled): one channel
        for a grey decoder, three for RGB (a 16-bit or float grey image repeated)."""
        array = np.asarray(self.transform.apply(image))
        if array.ndim == 2:
            array = array[None]
            if self.mode == "RGB":
                array = np.repeat(array, 3, axis=0)
            return array
        return np.transpose(array, (2, 0, 1))

    def _bytes(self, value: Any) -> bytes:
        if isinstance(value, dict):
            if value.get("bytes") is not None:
                return bytes(value["bytes"])
            value = value.get("path")
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        if not isinstance(value, str):
            raise DatasetError(
                f"task {self.task!r}: an image value is {type(value).__name__}, not a path, "
                "bytes or a {bytes, path} struct"
            )
        path = Path(value)
        if self.root is not None and not path.is_absolute():
            path = Path(self.root) / path
        try:
            return path.read_bytes()
        except OSError as err:
            hint = ""
            if "\\" in value and not path.exists():  # a table written on Windows
                posix = Path(value.replace("\\", "/"))
                posix = (
                    posix if self.root is None or posix.is_absolute() else Path(self.root) / posix
                )
                if posix.exists():
                    hint = (
                        "; its path is written with Windows separators (\\): write the table's "
                        f"paths with / ({value.replace(chr(92), '/')!r})"
                    )
            raise DatasetError(
                f"task {self.task!r}: cannot read image {path} ({err}){hint}"
            ) from None


# ----------------------------------------------------------------------------- numeric arrays


@dataclass(frozen=True)
class ArrayLayout:
    """How stored numeric images become float CHW: per-sample stored shape, channel order and
    scale (uint8 / 255; other numbers as they are)."""

    stored_shape: tuple[int, ...]
    channels_last: bool
    scale: float
    dtype: str = ""  # the stored numbers' type (uint8, float32...), for messages

    @classmethod
    def infer(cls, sample: np.ndarray) -> ArrayLayout:
        last = stored_channels_last(tuple(sample.shape))  # validate reads .npy headers with it
        full = FULL_SCALE.get(sample.dtype)
        return cls(tuple(sample.shape), last, 1.0 / full if full else 1.0, str(sample.dtype))

    def chw_shape(self) -> tuple[int, int, int]:
        shape = self.stored_shape
        if len(shape) == 2:
            return (1, shape[0], shape[1])
        if len(shape) != 3:
            raise ValueError(f"an image has 2 or 3 dimensions, not {len(shape)}")
        return (
            (shape[2], shape[0], shape[1]) if self.channels_last else (shape[0], shape[1], shape[2])
        )

    def to_chw(self, stored: np.ndarray) -> np.ndarray:
        """(n, *stored_shape) -> float32 (n, C, H, W)."""
        x = stored.astype(np.float32) * np.float32(self.scale)
        if x.ndim == 3:
            return x[:, None]
        return np.transpose(x, (0, 3, 1, 2)) if self.channels_last else x

    def describe(self) -> str:
        order = "hwc" if self.channels_last else "chw"
        return f"{list(self.stored_shape)}/{order}/scale={self.scale:.8g}"


def fixed_array(
    column: pa.ChunkedArray | pa.Array, shape: tuple[int, ...]
) -> tuple[np.ndarray, int | None]:
    """A column of nested lists as one (n, *shape) array, and the index of the first row whose
    shape differs (None when every row has `shape`; the array is then valid)."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if isinstance(arr.type, pa.ExtensionType):
        arr = arr.storage
    n = len(arr)
    for level, dim in enumerate(shape):
        if not (
            pa.types.is_list(arr.type)
            or pa.types.is_large_list(arr.type)
            or pa.types.is_fixed_size_list(arr.type)
        ):
            return np.empty(0), 0
        lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(lengths != dim)
        if len(bad):
            return np.empty(0), int(bad[0]) // math.prod(shape[:level])
        arr = arr.flatten()
    values = arr.to_numpy(zero_copy_only=False)
    return values.reshape(n, *shape), None


@dataclass(frozen=True)
class ArrayImages:
    """Numeric images stored in Arrow (nested lists or `Array2D/3D`)."""

    task: str
    layout: ArrayLayout
    shape: tuple[int, int, int]
    transform: ImageTransform
    bounds: tuple[float, float]

    def describe(self) -> str:
        return f"array-images({self.layout.describe()}, {self.transform.describe()})"

    def decode(self, column: pa.ChunkedArray, sample_ids: Sequence[str]) -> torch.Tensor:
        stored, bad = fixed_array(column, self.layout.stored_shape)
        if bad is not None:
            try:
                got = str(list(np.asarray(column[bad].as_py(), dtype=np.float64).shape))
            except (ValueError, TypeError):
                got = "(ragged)"
            raise _shape_error(self.task, sample_ids[bad], got, self.layout.stored_shape)
        return _finish(
            self.task, self.layout.to_chw(stored), self.transform, sample_ids, self.bounds
        )

    def source_digest(self, column: pa.ChunkedArray) -> Iterator[bytes]:
        table = pa.table({"input": column})
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        yield sink.getvalue().to_pybytes()


def _finish(
    task: str,
    chw: np.ndarray,
    transform: ImageTransform,
    sample_ids: Sequence[str],
    bounds: tuple[float, float],
) -> torch.Tensor:
    """Apply the transform, refuse non-finite or out-of-bounds values, return a tensor."""
    if not transform.identity:
        chw = np.stack([transform.apply_array(x) for x in chw]) if len(chw) else chw
    finite = np.isfinite(chw).reshape(len(chw), -1).all(axis=1)
    low, high = bounds
    inside = ((chw >= low - 1e-6) & (chw <= high + 1e-6)).reshape(len(chw), -1).all(axis=1)
    bad = np.flatnonzero(~(finite & inside))
    if len(bad):
        x = chw[bad[0]]
        what = "NaN or inf" if not finite[bad[0]] else f"values in [{x.min():g}, {x.max():g}]"
        raise DatasetError(
            f"task {task!r}: image {sample_ids[bad[0]]!r} has {what}, outside the bounds "
            f"{list(bounds)}; store uint8 images (scaled by 1/255) or floats within the bounds"
        )
    return torch.from_numpy(np.ascontiguousarray(chw, dtype=np.float32))


# ----------------------------------------------------------------------------- .npy rows


@dataclass(frozen=True)
class NpyRows:
    """Rows of `.npy` image stacks (CIFAR-10-C): each value is `[file index, row]`; the files
    are memory-mapped per batch, so only the rows of the batch are read."""

    task: str
    files: tuple[str, ...]
    layout: ArrayLayout
    shape: tuple[int, int, int]
    transform: ImageTransform
    bounds: tuple[float, float]

    def describe(self) -> str:
        return f"npy-rows({self.layout.describe()}, {self.transform.describe()})"

    def decode(self, column: pa.ChunkedArray, sample_ids: Sequence[str]) -> torch.Tensor:
        stored = np.concatenate(list(self._rows(column)))
        return _finish(
            self.task, self.layout.to_chw(stored), self.transform, sample_ids, self.bounds
        )

    def source_digest(self, column: pa.ChunkedArray) -> Iterator[bytes]:
        for rows in self._rows(column):
            yield np.ascontiguousarray(rows).tobytes()

    def _rows(self, column: pa.ChunkedArray) -> Iterator[np.ndarray]:
        """The stored rows of a slice, one array per run of rows from the same file, in order."""
        refs, _ = fixed_array(column, (2,))
        refs = refs.astype(np.int64)
        starts = np.flatnonzero(np.diff(refs[:, 0], prepend=-1) != 0)
        for start, stop in zip(starts, [*starts[1:], len(refs)], strict=True):
            stack = open_npy(self.files[int(refs[start, 0])], self.task)
            yield np.asarray(stack[refs[start:stop, 1]])


def open_npy(path: str | Path, task: str) -> np.ndarray:
    """A memory map of a `.npy` file; a file damaged or replaced since the task was planned
    (`harness validate` checks every header: `npy_header`) is one line naming it."""
    try:
        return np.load(path, mmap_mode="r")
    except (OSError, ValueError, EOFError) as err:
        reason = (str(err).splitlines() or [type(err).__name__])[0]
        raise DatasetError(
            f"task {task!r}: cannot read {path} ({reason}); it changed or was damaged after "
            "the run was planned: replace it and rerun"
        ) from None


# ----------------------------------------------------------------------------- a loaded split


@dataclass(frozen=True)
class ImageSplit:
    """An image split ready to stream: rows (ids, labels, groups or cells, the stored input
    column), its decoder and decoded shape, and the class names its layout gives (if any)."""

    data: Any  # datasets.Dataset (kept untyped here: datasets ships no type information)
    decoder: EncodedImages | ArrayImages | NpyRows
    shape: tuple[int, int, int]
    class_names: tuple[str, ...] = ()
    cell_columns: tuple[str, ...] = ()
    description: str = ""
    group_problems: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # how the split was read (files left out), for every job


def encoded_decoder(
    task: str,
    first: Any,
    first_id: str,
    transform: ImageTransform,
    channels: int | None,
    root: str | None = None,
) -> EncodedImages:
    """The decoder of a column of encoded images, its mode and shape taken from the first image
    (or the declared channels) and the transform."""
    probe = EncodedImages(task=task, mode="RGB", shape=(0, 0, 0), transform=transform, root=root)
    try:
        with Image.open(io.BytesIO(probe._bytes(first))) as image:
            mode = mode_for(image, channels)
    except _DECODE_ERRORS as err:
        raise DatasetError(
            f"task {task!r}: image {probe.where(first, first_id)} cannot be decoded "
            f"({decode_reason(err)}); remove or replace it"
        ) from None
    probe = EncodedImages(task=task, mode=mode, shape=(0, 0, 0), transform=transform, root=root)
    channels_, height, width = probe.to_array(probe.open(first, first_id)[0]).shape
    shape = (channels_, height, width)
    grey_from = probe.where(first, first_id) if channels is None and mode == "L" else ""
    return EncodedImages(
        task=task, mode=mode, shape=shape, transform=transform, root=root, grey_from=grey_from
    )


def array_layout(column: pa.ChunkedArray | pa.Array, task: str, where: str) -> ArrayLayout:
    """The stored layout of a numeric image column, from its Arrow type and its first value."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if isinstance(arr.type, pa.ExtensionType):
        arr = arr.storage
    value_type, depth = arr.type, 0
    while (
        pa.types.is_list(value_type)
        or pa.types.is_large_list(value_type)
        or pa.types.is_fixed_size_list(value_type)
    ):
        value_type, depth = value_type.value_type, depth + 1
    if depth not in (2, 3) or not (
        pa.types.is_integer(value_type) or pa.types.is_floating(value_type)
    ):
        raise DatasetError(
            f"task {task!r}: the image column in {where} holds {arr.type}, neither encoded images "
            "(bytes, paths, {bytes, path}) nor 2-D/3-D numeric arrays; set input_column"
        )
    sample = np.asarray(arr[0].as_py(), dtype=np.dtype(value_type.to_pandas_dtype()))
    return ArrayLayout.infer(sample)


def transformed_shape(layout: ArrayLayout, transform: ImageTransform) -> tuple[int, int, int]:
    channels, height, width = layout.chw_shape()
    return (channels, *transform.output_size(height, width))


def scaled_source(decoder: EncodedImages | ArrayImages | NpyRows) -> str | None:
    """What a decoder scales to [0, 1] by its own full scale, in words (None: numbers stored as
    they are, which must lie within the declared bounds)."""
    if isinstance(decoder, EncodedImages):
        return "encoded image files"
    if decoder.layout.scale != 1.0:
        return f"{decoder.layout.dtype} arrays"
    return None
