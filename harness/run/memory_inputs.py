"""The kinds of in-memory data `harness.evaluate(model, data=...)` takes, each read into `Labeled`.

- `(x, y)`: torch tensors or numpy arrays (images `(N, C, H, W)`, tables `(N, F)`), or a list of
  strings with labels (text);
- a torch `Dataset` or `DataLoader` yielding `(x, y)` pairs (read once, in order, every sample);
- a Hugging Face `datasets.Dataset` with named input and label columns;
- a pandas DataFrame with numeric feature columns and a label column (a table).

`groups` may name columns of a DataFrame or Hugging Face dataset instead of passing a frame.
Every refusal is one `InMemoryDataError` line naming the argument.
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import datasets
import numpy as np
import pandas as pd
import pyarrow.compute as pc
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
)

from harness.core.errors import DatasetError
from harness.core.value_text import quoted
from harness.data.image_decoders import empty_image_cells, encoded_decoder
from harness.data.image_transform import ImageTransform
from harness.run.memory_task import InMemoryDataError, Labeled

TAKES = (
    "(x, y) tensors or numpy arrays, (list of texts, labels), a torch Dataset or DataLoader "
    "of (x, y), a datasets.Dataset or a pandas DataFrame"
)
_LOADER_BATCH = 256
# sensitive attributes: a frame, a Series, {name: column}, a 1-D array or tensor, or the names
# of columns of the data
Groups: TypeAlias = (
    pd.DataFrame
    | pd.Series
    | Mapping[str, Any]
    | np.ndarray
    | torch.Tensor
    | pd.api.extensions.ExtensionArray
    | Sequence[str]
    | None
)
GROUP = "group"  # the name of one attribute passed unnamed (an array, a tensor, a Series)
_INPUT_NAMES = ("input", "image", "img", "pixel_values", "x", "features", "text", "sentence")


@dataclass(frozen=True)
class Columns:
    """Which columns of a DataFrame or Hugging Face dataset hold what."""

    input_column: str | None = None
    label_column: str = "label"
    feature_columns: tuple[str, ...] | None = None


def read_data(
    data: Any,
    columns: Columns,
    groups: Groups,
    class_names: Sequence[str] | None = None,
) -> tuple[Labeled, pd.DataFrame | None]:
    """`data` as `Labeled`, and the group frame (`groups`, or the named columns of `data`).
    Labels are class indices, or, with `class_names`, the names themselves (text labels), read
    as their positions in it, as a spec's table task reads them."""
    names = tuple(class_names) if class_names is not None else None
    if isinstance(data, pd.DataFrame):
        return _frame(data, columns, groups, names)
    if isinstance(data, datasets.Dataset):
        return _hub_dataset(data, columns, groups, names)
    named = _named_groups(groups, None)
    _refuse_samples(data)
    if isinstance(data, tuple | list) and len(data) == 2 and not isinstance(data[0], str):
        if isinstance(data[1], pd.Series) and _indexed(groups):
            _check_group_order(named, data[1].index, "y")
        return _pair(data[0], data[1], names), named
    if isinstance(data, DataLoader):
        return _loader(data, names), named
    if isinstance(data, Dataset):
        return _loader(DataLoader(data, batch_size=_LOADER_BATCH), names), named
    what = type(data).__name__
    if isinstance(data, tuple | list):
        what = f"{what} of {len(data)} items"
    raise InMemoryDataError(f"data: got a {what}; evaluate takes {TAKES}")


def _refuse_samples(data: Any) -> None:
    """Refuse a list of (x, y) samples (a Dataset's items, collected): one of two would be read
    as the pair (x, y) and refused in words about an x the caller never passed."""
    if not isinstance(data, tuple | list) or not data:
        return
    first = data[0]
    if not (isinstance(first, tuple | list) and len(first) == 2):
        return
    label = first[1]
    if isinstance(label, torch.Tensor):
        scalar = label.dim() == 0
    else:
        scalar = isinstance(label, int | float | np.number) and not isinstance(label, bool)
    if not scalar:
        return
    texts = isinstance(first[0], str)
    xs = "[x for x, _ in samples]" if texts else "torch.stack([x for x, _ in samples])"
    raise InMemoryDataError(
        f"data: a {type(data).__name__} of {len(data):,} (x, y) samples; pass the inputs and "
        f"the labels apart: data=({xs}, [y for _, y in samples]), or the samples as a torch "
        "Dataset"
    )


def _named_groups(groups: Groups, frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """The sensitive attributes as a frame (`_group_frame`), each column named once: a column
    named twice made every later step see a frame where it expects one column (pandas' "truth
    value of a Series is ambiguous")."""
    named = _group_frame(groups, frame)
    if named is not None:
        labels = [str(c) for c in named.columns]
        repeated = next((c for i, c in enumerate(labels) if c in labels[:i]), None)
        if repeated is not None:
            raise InMemoryDataError(
                f"groups: names column {repeated!r} twice; name each attribute once"
            )
    return named


def _group_frame(groups: Groups, frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """The sensitive attributes as a frame: `groups` itself, a Series or 1-D array/tensor as one
    attribute (named by the Series, else `group`), a mapping of names to 1-D columns, or, with
    a DataFrame or datasets.Dataset as data (`frame`: its columns), a list of its columns."""
    if groups is None or isinstance(groups, pd.DataFrame):
        return groups
    if isinstance(groups, pd.Series):
        return groups.to_frame(name=GROUP if groups.name is None else groups.name)
    if isinstance(groups, Mapping):
        return _group_mapping(groups)
    if isinstance(groups, np.ndarray | torch.Tensor | pd.api.extensions.ExtensionArray):
        return pd.DataFrame({GROUP: _group_column(groups, GROUP)})
    if frame is None or isinstance(groups, str) or not isinstance(groups, Sequence):
        raise InMemoryDataError(
            f"groups: got a {type(groups).__name__}; pass a pandas DataFrame or Series of "
            "sensitive attributes, a dict of named columns or a 1-D array (or, with a DataFrame "
            "or datasets.Dataset as data, a list of its columns)"
        )
    missing = [g for g in groups if g not in frame.columns]
    if missing:
        names = [str(c) for c in frame.columns]
        asked = str(missing[0])
        close = [c for c in names if c.casefold() == asked.casefold()]
        close += [c for c in difflib.get_close_matches(asked, names, n=3) if c not in close]
        hint = f"; did you mean {', '.join(map(repr, close[:3]))}?" if close else ""
        raise InMemoryDataError(
            f"groups: column {missing[0]!r} is not a column of data "
            f"(columns: {', '.join(names)}){hint}"
        )
    return frame[list(groups)].reset_index(drop=True)


def column_names(groups: Groups) -> list[str]:
    """The columns of the data that `groups` names (a list or tuple of names), else []."""
    if isinstance(groups, list | tuple):
        return list(groups)
    return []


def _indexed(groups: Groups) -> bool:
    """Whether `groups` carries index labels of its own (a frame, a Series, a mapping of Series),
    which may be checked against the data's; arrays, tensors and lists are read by position."""
    if isinstance(groups, Mapping):
        return bool(groups) and all(isinstance(v, pd.Series) for v in groups.values())
    return isinstance(groups, pd.DataFrame | pd.Series)


def _group_mapping(groups: Mapping[Any, Any]) -> pd.DataFrame:
    """`{name: 1-D column}` as a frame, by position; Series that all share one index keep it
    (so a reordering against the data is caught as for a frame)."""
    if not groups:
        raise InMemoryDataError("groups: an empty mapping; name at least one attribute")
    columns: dict[str, np.ndarray] = {}
    for key, values in groups.items():
        if not isinstance(key, str) or not key:
            raise InMemoryDataError(f"groups: key {key!r} is not a name; use text keys")
        columns[key] = _group_column(values, key)
    lengths = {key: len(values) for key, values in columns.items()}
    first = next(iter(lengths))
    for key, length in lengths.items():
        if length != lengths[first]:
            raise InMemoryDataError(
                f"groups: {key!r} has {length:,} values where {first!r} has {lengths[first]:,}"
            )
    indexes = [v.index for v in groups.values() if isinstance(v, pd.Series)]
    if any(not i.equals(indexes[0]) for i in indexes):
        raise InMemoryDataError(
            "groups: its Series have different indexes; align them (or pass .to_numpy() of "
            "each, read by position)"
        )
    index = indexes[0] if indexes and len(indexes) == len(groups) else None
    return pd.DataFrame(columns, index=index)


def _group_column(values: Any, name: str) -> np.ndarray:
    """One attribute's values (a Series, array, tensor or list), one per sample."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    elif isinstance(values, pd.Series):
        values = values.to_numpy()
    elif isinstance(values, pd.api.extensions.ExtensionArray):  # pd.array, pd.Categorical
        values = pd.Series(values).to_numpy()  # as the Series holding it is read
    elif isinstance(values, list | tuple):
        values = np.asarray(values, dtype=object)
    if not isinstance(values, np.ndarray):
        raise InMemoryDataError(
            f"groups: {name!r} is a {type(values).__name__}; give one value per sample (a list, "
            "array, tensor or Series)"
        )
    if values.ndim != 1:
        raise InMemoryDataError(
            f"groups: {name!r} has shape {values.shape}; give one value per sample (1-D), and "
            "several attributes as a dict of named columns or a DataFrame"
        )
    return values


def _check_group_order(groups: pd.DataFrame | None, index: pd.Index, what: str) -> None:
    """Groups are matched to samples by position. A groups frame holding the same index labels
    as the data in another order (sorted, or shuffled apart) would be matched to other rows
    without a word, and every group metric computed on the wrong people: refuse it."""
    if groups is None or len(groups) != len(index) or groups.index.equals(index):
        return
    if set(groups.index) == set(index):
        raise InMemoryDataError(
            f"groups: holds the index labels of {what} in another order, and groups are matched "
            f"to samples by position; pass groups.loc[{what}.index] (or reset both indexes)"
        )


def _pair(x: Any, y: Any, names: tuple[str, ...] | None) -> Labeled:
    if isinstance(x, list | tuple):  # read as "x is a list; pass a torch tensor ..." (probe86)
        if not x:
            raise InMemoryDataError("data: holds no samples")
        if isinstance(x[0], bytes | bytearray):
            raise InMemoryDataError(
                "data: x holds bytes (sample 0), not texts; decode them to strings "
                "(b.decode('utf-8'))"
            )
    texts = _texts(x)
    if texts is not None:
        return Labeled(inputs=texts, labels=_labels(y, len(texts), names))
    inputs = _inputs(x)
    return Labeled(
        inputs=inputs, labels=_labels(y, len(inputs), names), integer_dtype=_integer_dtype(x)
    )


def _texts(x: Any) -> list[str] | None:
    """`x` as a list of texts when it holds only strings: a list or tuple, a pandas Series, or
    a one-dimensional numpy array of strings (`np.array(texts)`, a column's `.to_numpy()`)."""
    if isinstance(x, pd.Series):
        x = x.to_numpy()
    if isinstance(x, np.ndarray):
        if x.ndim != 1 or x.dtype.kind not in "UO" or len(x) == 0:
            return None
        values = x.tolist()
    elif isinstance(x, list | tuple) and x:
        values = list(x)
    else:
        return None
    strings = [isinstance(v, str) for v in values]
    if all(strings):
        for row, text in enumerate(values):
            _check_utf8(text, row)
        return values
    if any(strings):
        row = strings.index(False)
        raise InMemoryDataError(
            f"data: x holds texts and a {type(values[row]).__name__} (sample {row}); pass only "
            "strings"
        )
    return None


def _check_utf8(text: str, row: int) -> None:
    """Refuse a text no file or model tokenizer can take (a lone surrogate, left by a decode with
    `errors="surrogateescape"`): it failed later as a bare UnicodeEncodeError."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InMemoryDataError(
            f"data: x sample {row} is not valid UTF-8 text (a lone surrogate, "
            f"U+{ord(text[err.start]):04X}, at character {err.start}); decode the text with "
            "the right encoding or drop it"
        ) from None


def _integer_dtype(x: Any) -> str | None:
    """The name of `x`'s dtype when it holds integers (uint8 images, say), else None."""
    if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.integer):
        return str(x.dtype)
    if isinstance(x, torch.Tensor) and not (x.is_floating_point() or x.is_complex()):
        return None if x.dtype == torch.bool else str(x.dtype).removeprefix("torch.")
    return None


def _inputs(x: Any, features: Sequence[str] | None = None) -> torch.Tensor:
    """A float32 CPU tensor of images (N, C, H, W) or table rows (N, F), the caller's own when it
    is one already (no copy). Values float32 cannot hold (`_check_float32`) are refused, naming
    the feature (`features`: a frame's column names) or the position in x."""
    _refuse_masked(x, "x")
    if isinstance(x, np.ndarray):
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
            raise InMemoryDataError(f"data: x holds {x.dtype} values; pass numbers")
        if np.iscomplexobj(x):
            raise InMemoryDataError("data: x holds complex numbers; pass real numbers")
        tensor = torch.from_numpy(x if _shareable(x) else _native_copy(x))
    elif isinstance(x, torch.Tensor):
        _not_meta(x, "x")
        if x.layout != torch.strided:  # torch's own error named nothing ("memory format")
            layout = str(x.layout).removeprefix("torch.")
            raise InMemoryDataError(
                f"data: x is a sparse tensor (torch.{layout}); pass x.to_dense()"
            )
        if x.is_complex():
            raise InMemoryDataError("data: x holds complex numbers; pass real numbers")
        tensor = x.detach()
    elif isinstance(x, pd.DataFrame):
        raise InMemoryDataError(
            "data: x is a DataFrame; pass the frame itself as data= with the labels as one of "
            "its columns (data=x.assign(label=y)), which keeps its column names, or x.to_numpy()"
        )
    elif _pictures(x):
        raise InMemoryDataError(
            f"data: x is a {type(x).__name__} of PIL images; pass them as one (N, C, H, W) float "
            "tensor in [0, 1] (one size and mode: torch.stack of torchvision's to_tensor), or as "
            "a datasets.Dataset with an Image column, decoded as harness run decodes files"
        )
    else:
        raise InMemoryDataError(
            f"data: x is a {type(x).__name__}; pass a torch tensor or numpy array (or a list of "
            "strings for text)"
        )
    if tensor.dim() >= 1 and tensor.shape[0] == 0:  # before the shape and float32 checks
        raise InMemoryDataError("data: holds no samples")
    if tensor.dim() not in (2, 4):
        raise InMemoryDataError(
            f"data: x has shape {list(tensor.shape)}; pass images as (N, C, H, W) (add the "
            "channel axis of grey images with x.unsqueeze(1)) or table rows as (N, features)"
        )
    if _channels_last(tuple(tensor.shape)):
        raise InMemoryDataError(
            f"data: x has shape {list(tensor.shape)}: images with the channels last (N, H, W, "
            "C); pass (N, C, H, W): x.permute(0, 3, 1, 2) (numpy: x.transpose(0, 3, 1, 2))"
        )
    source = tensor.to(device="cpu")
    out = source.to(dtype=torch.float32).contiguous()
    if source.dtype in _WIDER_THAN_FLOAT32:
        _check_float32(source.to(torch.float64), out, features)
    return out


# dtypes whose values float32 may not hold exactly (float64 fractions, integers past 2**24)
_WIDER_THAN_FLOAT32 = (torch.float64, torch.int32, torch.int64, torch.uint32, torch.uint64)
_FLOAT32_ROUNDING = 1e-3  # of a feature's span: rounding past it merges values the data tells apart


def _check_float32(source: torch.Tensor, out: torch.Tensor, features: Sequence[str] | None) -> None:
    """Inputs are read as float32. Refuse what that cast loses: a finite value past float32's
    range (read as inf, then refused as if the caller had passed inf), and a feature whose
    values float32 rounds by more than 1/1000 of their span (epoch seconds near 1.7e9 round in
    steps of 128: a float64 model reading them scored 0.51 against its own 1.0)."""
    n = source.shape[0]
    wide, narrow = source.reshape(n, -1), out.reshape(n, -1).to(torch.float64)
    finite = torch.isfinite(wide)
    lost = finite & ~torch.isfinite(narrow)
    if lost.any():
        row = int(torch.nonzero(lost.any(1))[0])
        column = int(torch.nonzero(lost[row])[0])
        raise InMemoryDataError(
            f"data: {_position(column, source.shape, features)} holds "
            f"{wide[row, column].item():.3g} (sample {row}), past float32's range (+-3.4e+38) "
            "that inputs are read in; rescale it"
        )
    low = torch.where(finite, wide, torch.inf).amin(0)
    high = torch.where(finite, wide, -torch.inf).amax(0)
    span = high - low
    error = torch.where(finite, (wide - narrow).abs(), 0.0).amax(0)
    size = torch.maximum(low.abs(), high.abs())
    # rounded by more than 1/1000 of the span, a span past float64's own noise (0.1 + 0.2 and
    # 0.3 differ by 5.6e-17: one value to any model), and distinct values merged
    suspect = (span > 1e-12 * size) & (error > _FLOAT32_ROUNDING * span)
    merged = [
        int(c)
        for c in torch.nonzero(suspect).flatten().tolist()
        if torch.unique(narrow[:, c]).numel() < torch.unique(wide[:, c]).numel()
    ]
    if merged:
        column = merged[0]
        near = size[column].item()
        step = float(np.spacing(np.float32(near)))
        raise InMemoryDataError(
            f"data: {_position(column, source.shape, features)} holds values near {near:.2g} "
            f"that span {span[column].item():.3g}; inputs are read as float32, which rounds "
            f"them there in steps of {step:.3g}, so values the data tells apart would be read "
            "as one: subtract an offset or rescale that feature first"
        )


def _position(column: int, shape: torch.Size, features: Sequence[str] | None) -> str:
    """A flattened input column named as the caller knows it: a frame's feature, `x[:, j]`."""
    if features is not None:
        return f"feature {features[column]!r}"
    index = np.unravel_index(column, tuple(shape[1:]))
    return f"x[:, {', '.join(str(int(i)) for i in index)}]"


def _pictures(x: Any) -> bool:
    """Whether `x` is a list or tuple of PIL images."""
    from PIL import Image

    return isinstance(x, list | tuple) and bool(x) and isinstance(x[0], Image.Image)


def _shareable(x: np.ndarray) -> bool:
    """Whether torch can read `x` in place: writeable, native byte order, no negative stride and
    strides whole items apart (torch.from_numpy refuses the last three with a traceback of its
    own; a structured array's field has strides of its records' size)."""
    size = x.dtype.itemsize
    return (
        x.flags.writeable and x.dtype.isnative and all(s >= 0 and s % size == 0 for s in x.strides)
    )


def _native_copy(x: np.ndarray) -> np.ndarray:
    """`x`'s values in a new array torch can read: native byte order, laid out C-contiguous
    (`x[::-1]`, np.flip, an array read big-endian from a file, a read-only memmap or a pandas
    frame's values). Always a copy: `np.ascontiguousarray` hands back a read-only array that is
    already contiguous and native as it is, which torch then shared with a warning."""
    return np.array(x, dtype=x.dtype.newbyteorder("="), order="C", copy=True)


def _refuse_masked(values: Any, which: str) -> None:
    """Refuse a numpy masked array with masked entries: they mark values as missing, but the
    values underneath are what np.asarray and torch read, so they were scored as data."""
    if not isinstance(values, np.ma.MaskedArray):
        return
    mask = np.ma.getmaskarray(values)
    if not mask.any():
        return
    count = int(mask.sum())
    rows = mask.reshape(len(mask), -1).any(axis=1) if mask.ndim > 1 else mask
    first = int(np.flatnonzero(rows)[0])
    raise InMemoryDataError(
        f"data: {which} is a masked array with {count:,} masked value"
        f"{'' if count == 1 else 's'} (sample {first}); fill or drop them "
        f"({which}.filled(value), or leave those samples out)"
    )


def _not_meta(tensor: torch.Tensor, which: str) -> None:
    """Refuse a tensor on the meta device: it has a shape but no values to read."""
    if tensor.is_meta:
        raise InMemoryDataError(
            f"data: {which} is a tensor on the meta device (a shape without values); pass the "
            f"tensor with its values, on the CPU or a GPU ({which}.device is meta)"
        )


def _channels_last(shape: tuple[int, ...]) -> bool:
    """(N, H, W, C) images: a grey or RGB last axis behind a second axis too long to be
    channels. Read as (N, C, H, W) they would reach a flattening model in the wrong pixel order
    without an error, and corruptions would treat rows as channels."""
    return len(shape) == 4 and shape[1] > 4 and shape[3] in (1, 3)


def _labels(y: Any, n: int, names: tuple[str, ...] | None = None) -> np.ndarray:
    """`y` as int64 class indices, one per sample; integral floats are accepted, and with
    `names` (class_names=) labels that are those names, read as their positions."""
    _refuse_masked(y, "y")
    if isinstance(y, torch.Tensor):
        _not_meta(y, "y")
        values = y.detach().cpu().numpy()
    elif isinstance(y, pd.Series):
        values = y.to_numpy()
    else:
        try:
            values = np.asarray(y)
        except (TypeError, ValueError):
            raise InMemoryDataError(f"data: labels of type {type(y).__name__}") from None
    if values.ndim != 1:
        raise InMemoryDataError(
            f"data: labels have shape {list(values.shape)}; pass one class index per sample "
            "(shape [N]; one-hot labels: y.argmax(1))"
        )
    if len(values) != n:
        raise InMemoryDataError(f"data: x has {n:,} samples but y has {len(values):,} labels")
    if names is not None and values.dtype.kind in "OUS":
        return _named_labels(values, names)
    if values.dtype == np.bool_:
        raise InMemoryDataError(
            "data: labels are true/false values; pass them as 0/1 class indices "
            "(y.astype(int), torch: y.long()): False is class 0, True class 1"
        )
    if values.dtype.kind == "c":  # astype(int64) keeps the real part without a word
        raise InMemoryDataError("data: labels are complex numbers; pass integer class indices")
    if not np.issubdtype(values.dtype, np.number):
        raise InMemoryDataError(
            f"data: labels are {values.dtype}, not integer class indices; pass class_names= "
            "(every class name, in class-index order) to read them as names, or map them to "
            "0..K-1"
        )
    if not np.issubdtype(values.dtype, np.integer):
        whole = np.isfinite(values) & (values == np.round(values))
        if not whole.all():
            row = int(np.flatnonzero(~whole)[0])
            if np.isnan(values[row]):  # pandas' NA and None read as NaN here
                raise InMemoryDataError(
                    f"data: label of sample {row} is missing (NaN, None or NA); every "
                    "sample needs its class index"
                )
            raise InMemoryDataError(
                f"data: label {values[row].item()!r} (sample {row}) is not an integer class index"
            )
    # past int64, astype wraps round (1e20 -> -2**63, uint64 2**64-1 -> -1): the refusal of
    # the range would name a value the caller never passed
    huge = np.abs(values) >= 2**53 if values.dtype.kind == "f" else values > np.iinfo(np.int64).max
    if huge.any():
        row = int(np.flatnonzero(huge)[0])
        raise InMemoryDataError(
            f"data: label {values[row].item()!r} (sample {row}) is not a class index "
            "(labels are 0..K-1)"
        )
    return values.astype(np.int64)


def _named_labels(values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Text labels as the positions of their names in class_names; one not there is refused."""
    index = {name: i for i, name in enumerate(names)}
    out = np.empty(len(values), dtype=np.int64)
    for row, value in enumerate(values):
        position = index.get(value) if isinstance(value, str) else None
        if position is None:
            shown = str(value) if isinstance(value, str) else value  # not numpy's np.str_('x')
            raise InMemoryDataError(
                f"data: label {quoted(shown)} (sample {row}) is not one of class_names "
                f"({', '.join(quoted(_plain(n), 40) for n in names[:10])}"
                f"{', ...' if len(names) > 10 else ''}); "
                "name every class the labels use, in class-index order"
            )
        out[row] = position
    return out


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (np.str_('x') shown as 'x')."""
    return value.item() if isinstance(value, np.generic) else value


def _loader(loader: DataLoader[Any], names: tuple[str, ...] | None) -> Labeled:
    """Read a DataLoader of (x, y) batches once, in order, into one tensor (filled in place when
    the dataset's length is known, so only one copy of the data is held)."""
    _check_reads_all_in_order(loader)
    _check_items_repeat(loader.dataset, _own_collate(loader))
    texts: list[str] = []
    parts: list[torch.Tensor] = []
    labels: list[np.ndarray] = []
    integer: str | None = None  # uint8 images: the refusal of values past 1 says to scale them
    for number, batch in enumerate(_batches(loader)):
        x, y = _batch_pair(batch)
        _same_kind(number, isinstance(x, list), bool(texts))
        if isinstance(x, list):
            texts.extend(x)
            labels.append(_labels(y, len(x), names))
            continue
        integer = integer or _integer_dtype(x)
        inputs = _inputs(x)
        if parts and inputs.shape[1:] != parts[0].shape[1:]:  # an IterableDataset's later items
            raise InMemoryDataError(
                f"data: the DataLoader's batch {number} holds samples of shape "
                f"{list(inputs.shape[1:])} where its first batch's are "
                f"{list(parts[0].shape[1:])}; every sample needs one shape"
            )
        labels.append(_labels(y, len(inputs), names))
        parts.append(inputs)
    if not labels:
        raise InMemoryDataError("data: the DataLoader yielded no batches")
    y_all = np.concatenate(labels)
    if texts:
        return Labeled(inputs=texts, labels=y_all)
    inputs = torch.cat(parts) if len(parts) > 1 else parts[0]
    return Labeled(inputs=inputs, labels=y_all, integer_dtype=integer)


_REREAD_ITEMS = 8  # a coin-flip transform passes all 8 twice alike once in 256 reads
_COLLATE_CALLS = 8  # a collate_fn mixing half its batches passes 8 calls alike once in 256


def _own_collate(loader: DataLoader[Any]) -> Callable[[list[Any]], Any] | None:
    """The loader's collate_fn when it is the caller's own (not torch's default)."""
    collate = loader.collate_fn
    defaults = (torch.utils.data.default_collate, torch.utils.data.default_convert)
    return None if collate in defaults else collate


def _check_items_repeat(dataset: Any, collate: Callable[[list[Any]], Any] | None = None) -> None:
    """Refuse a map-style dataset whose first items change when read again: a training set's
    random transform (RandomCrop, RandomHorizontalFlip) or label noise left on; and a loader's
    own `collate` that batches those items differently when called again (mixup, CutMix). Read
    once, their numbers were one random draw, unsaid: the same call scored 0.110, then 0.107
    (probe86). Global generators are restored: a dataset that draws nothing reads as before."""
    if isinstance(dataset, IterableDataset) or not hasattr(dataset, "__len__"):
        return
    states = torch.random.get_rng_state(), np.random.get_state(), random.getstate()
    try:
        items: list[Any] = []
        for i in range(min(_REREAD_ITEMS, len(dataset))):
            first, again = dataset[i], dataset[i]
            pairs = isinstance(first, list | tuple) and isinstance(again, list | tuple)
            if pairs and len(first) == 2 and len(again) == 2:
                parts: tuple[tuple[Any, Any, str], ...] = (
                    (first[0], again[0], "input"),
                    (first[1], again[1], "label"),
                )
            elif collate is None:
                return  # not (x, y) pairs: the read refuses them, naming what they are
            else:  # dicts or triples the loader's own collate_fn makes (x, y) batches of
                parts = ((first, again, "item"),)
            for one, other, what in parts:
                if not _alike(one, other):
                    raise InMemoryDataError(
                        f"data: item {i} of the dataset holds another {what} when read again "
                        "(a random transform such as RandomCrop or RandomHorizontalFlip, label "
                        "noise, or other randomness in __getitem__), so its numbers would be "
                        "one random draw; pass the dataset with its evaluation transform"
                    )
            items.append(first)
        if collate is not None and items:
            _check_collate_repeats(collate, items)
    except InMemoryDataError:
        raise
    except Exception as err:
        raise _read_error(err) from err
    finally:
        torch.random.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])


def _check_collate_repeats(collate: Callable[[list[Any]], Any], items: list[Any]) -> None:
    """Refuse a collate_fn that batches the same items differently when called again."""
    first = collate(items)
    for _ in range(_COLLATE_CALLS - 1):
        again = collate(items)
        pairs = isinstance(first, list | tuple) and isinstance(again, list | tuple)
        if not pairs or len(first) != len(again):
            return  # not (x, y) batches: the read refuses them, naming what they are
        if not all(_alike(a, b) for a, b in zip(first, again, strict=True)):
            raise InMemoryDataError(
                "data: the DataLoader's collate_fn gives another batch when called again on "
                "the same items (mixup, CutMix or other randomness in it), so its numbers "
                "would be one random draw; pass a loader with the default collate_fn or an "
                "evaluation one"
            )


def _alike(a: Any, b: Any) -> bool:
    """Two reads of one item's input or label alike (tensors and arrays by value, NaN equal to
    NaN; Python and numpy numbers and texts by value; lists, tuples and dicts part by part);
    other kinds are left to the read."""
    if isinstance(a, str | bytes) and isinstance(b, str | bytes):
        return a == b  # a text's random word dropout or swap read as alike
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_alike(p, q) for p, q in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_alike(a[k], b[k]) for k in a)
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and _tensors_alike(a, b)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    numbers = (int, float, np.integer, np.floating)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return bool(a == b or (a != a and b != b))  # NaN read twice is alike
    return True


def _tensors_alike(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.is_meta or a.layout != torch.strided:  # no values to compare: the read refuses them
        return True
    if a.dtype != b.dtype or a.device != b.device:
        return False
    if not a.is_floating_point():
        return torch.equal(a, b)
    return bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())


def _same_kind(number: int, texts: bool, texts_before: bool) -> None:
    """Refuse a loader whose batches change between texts and tensors (an IterableDataset):
    the texts and the tensors were each taken for the whole data."""
    if number and texts != texts_before:
        now, first = ("texts", "tensors") if texts else ("tensors", "texts")
        raise InMemoryDataError(
            f"data: the DataLoader's batch {number} holds {now} where its first batch held "
            f"{first}; yield one kind of input"
        )


def _batches(loader: DataLoader[Any]) -> Iterator[Any]:
    """The loader's batches; the dataset's or collate's own failure (an item that is a PIL image,
    an index error in `__getitem__`) becomes one line naming `data`, its cause chained."""
    if loader.batch_size is None and loader.batch_sampler is None:
        raise InMemoryDataError(
            "data: the DataLoader has batch_size=None (it yields single samples); give it a "
            "batch size"
        )
    try:
        batches = iter(loader)
    except Exception as err:
        raise _read_error(err) from err
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as err:
            raise _read_error(err) from err
        yield batch


def _read_error(err: Exception) -> InMemoryDataError:
    first = (str(err).strip().splitlines() or [""])[0][:200]
    hint = ""
    if isinstance(err, TypeError) and "collate" in str(err):
        hint = (
            "; the dataset's items must be tensors, arrays or numbers: give it a transform to "
            "tensors (e.g. torchvision's ToTensor())"
        )
    return InMemoryDataError(
        f"data: reading the DataLoader failed: {type(err).__name__}: {first}{hint}"
    )


def _check_reads_all_in_order(loader: DataLoader[Any]) -> None:
    """Refuse a loader over an indexed dataset that would not yield every sample once, in order:
    a shuffling or custom sampler (sample ids would name other rows on each call, so two models
    read from the "same" loader would be paired on different samples) or `drop_last` (the
    samples of the last batch would be left out of every number without a word). An
    `IterableDataset` is read in the order it yields."""
    if isinstance(loader.dataset, IterableDataset):
        return
    sampler, batches = loader.sampler, loader.batch_sampler
    custom: object = None
    if not isinstance(sampler, SequentialSampler):
        custom = sampler
    elif batches is not None and type(batches) is not BatchSampler:
        custom = batches
    elif batches is not None and not isinstance(batches.sampler, SequentialSampler):
        custom = batches.sampler
    if isinstance(custom, RandomSampler):
        raise InMemoryDataError(
            "data: the DataLoader shuffles; evaluation needs a fixed order (shuffle=False), so "
            "that sample ids and the task fingerprint mean the same rows every time"
        )
    if custom is not None:
        raise InMemoryDataError(
            f"data: the DataLoader draws its samples with a {type(custom).__name__}; evaluation "
            "reads every sample once, in order: pass a DataLoader without sampler= or "
            "batch_sampler= (a subset as torch.utils.data.Subset)"
        )
    if isinstance(batches, BatchSampler) and batches.drop_last:
        size = len(loader.dataset)  # type: ignore[arg-type]
        left = size % batches.batch_size if batches.batch_size else 0
        if left:
            raise InMemoryDataError(
                f"data: the DataLoader drops its last incomplete batch (drop_last=True): "
                f"{left:,} of {size:,} samples would not be evaluated; pass drop_last=False"
            )


def _batch_pair(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, Mapping):
        keys = ", ".join(map(repr, list(batch)[:6]))
        raise InMemoryDataError(
            f"data: the DataLoader yields dicts (keys {keys}); evaluate takes (x, y) pairs: "
            "return (input, label) from the dataset, or pass the tensors as data=(x, y)"
        )
    if not isinstance(batch, list | tuple) or len(batch) != 2:
        size = f"{len(batch)}-item batches" if isinstance(batch, list | tuple) else "batches"
        raise InMemoryDataError(
            f"data: the DataLoader yields {size} of {type(batch).__name__}; evaluate takes "
            "(x, y) pairs (input, label)"
        )
    x, y = batch
    if isinstance(x, list | tuple) and x and all(isinstance(v, str) for v in x):
        return list(x), y
    return x, y


def _frame(
    frame: pd.DataFrame,
    columns: Columns,
    groups: Groups,
    names: tuple[str, ...] | None,
) -> tuple[Labeled, pd.DataFrame | None]:
    """A table: numeric feature columns (all but the label and group columns unless named)."""
    label = columns.label_column
    if frame.columns.nlevels > 1:  # a label matched its first level, reading a frame as one
        raise InMemoryDataError(
            f"data: the frame's columns have {frame.columns.nlevels} levels (a MultiIndex, e.g. "
            f"{frame.columns[0]!r}); give each column one name, e.g. "
            "data.columns = ['_'.join(map(str, c)).strip('_') for c in data.columns]"
        )
    if label not in frame.columns:
        raise InMemoryDataError(
            f"label_column: {label!r} is not a column of data "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    named = _named_groups(groups, frame)
    group_names = column_names(groups)
    _check_group_order(named if _indexed(groups) else None, frame.index, "data")
    if columns.feature_columns is not None and not columns.feature_columns:
        raise InMemoryDataError("feature_columns: empty; name the model's input columns")
    # the frame's own column labels (pd.DataFrame(array) labels its columns 0, 1, ...)
    features = list(columns.feature_columns or ()) or [
        c for c in frame.columns if c != label and c not in group_names
    ]
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise InMemoryDataError(
            f"feature_columns: {missing[0]!r} is not a column of data "
            f"(columns: {', '.join(map(repr, frame.columns))})"
        )
    _check_unique_columns(frame, [label, *group_names, *features])
    repeated = next((c for i, c in enumerate(features) if c in features[:i]), None)
    if repeated is not None:  # a spec refuses the same; here the model got one column twice
        raise InMemoryDataError(
            f"feature_columns: names {repeated!r} twice; name each input column once"
        )
    if label in features:  # the answer among the inputs: any accuracy it gives is a leak
        raise InMemoryDataError(
            f"feature_columns: {label!r} is the label column (label_column); leave it out of "
            "the model's inputs"
        )
    for column in features:
        dtype = frame[column].dtype
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise InMemoryDataError(
                f"data: feature column {column!r} is {dtype}, not numeric; encode it as numbers "
                "(one-hot or codes) or leave it out with feature_columns="
            )
    # float64 when a column holds values float32 may round (checked in _inputs), else float32
    wide = any(_wider_than_float32(frame[c].dtype) for c in features)
    x = _inputs(
        frame[features].to_numpy(dtype=np.float64 if wide else np.float32), _feature_names(features)
    )
    y = _labels(frame[label], len(frame), names)
    return Labeled(
        inputs=x, labels=y, feature_names=_feature_names(features), modality_hint="tabular"
    ), named


def _feature_names(features: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(c) for c in features)


def _wider_than_float32(dtype: Any) -> bool:
    """Whether a frame column's dtype may hold values float32 rounds (float64, int32/64, their
    nullable forms); bool, small integers and float32/16 are exact."""
    kind = np.dtype(getattr(dtype, "numpy_dtype", dtype))
    return kind.kind in "iuf" and kind.itemsize > (2 if kind.kind in "iu" else 4)


def _check_unique_columns(frame: pd.DataFrame, used: Sequence[Any]) -> None:
    """Each column read (label, groups, features) is one column, and the features' names
    differ as text: a label repeated reads as a (N, 2) label array, a feature repeated as
    two, and results name features by their text."""
    counts = frame.columns.value_counts()
    for column in dict.fromkeys(used):
        if column in counts.index and counts[column] > 1:
            raise InMemoryDataError(
                f"data: column {column!r} appears {counts[column]} times; give each column "
                "its own name (data.columns)"
            )
    seen: dict[str, Any] = {}
    for column in dict.fromkeys(used):
        text = str(column)
        if text in seen and seen[text] != column:
            raise InMemoryDataError(
                f"data: columns {seen[text]!r} and {column!r} share the name {text!r} as text; "
                "rename one (data.columns)"
            )
        seen[text] = column


def _hub_dataset(
    ds: datasets.Dataset,
    columns: Columns,
    groups: Groups,
    names: tuple[str, ...] | None,
) -> tuple[Labeled, pd.DataFrame | None]:
    """A Hugging Face dataset: texts (a string column), images (an `Image` column, decoded to
    [0, 1] floats, channels first) or numeric arrays; labels from `label_column`, with the
    class names of a `ClassLabel` column."""
    have = list(ds.column_names)
    label = columns.label_column
    if label not in have:
        raise InMemoryDataError(
            f"label_column: {label!r} is not a column of the dataset (columns: {', '.join(have)})"
        )
    source = columns.input_column or next((c for c in _INPUT_NAMES if c in have), None)
    if source is None or source not in have:
        which = f"{source!r} is not a column" if source else "no column named as an input"
        raise InMemoryDataError(
            f"input_column: {which} of the dataset; name its input column (columns: "
            f"{', '.join(have)})"
        )
    if source == label:  # the answer as the input: any accuracy it gives is a leak
        raise InMemoryDataError(
            f"input_column: {source!r} is the label column (label_column); name the input column"
        )
    names_used = column_names(groups)
    if names_used:
        named = _named_groups(groups, ds.select_columns(_in(names_used, have)).to_pandas())
    else:
        named = _named_groups(groups, None)
    y = _labels(_column(ds, label), len(ds), names)
    kind = ds.features[label]
    declared = tuple(map(str, kind.names)) if isinstance(kind, datasets.ClassLabel) else None
    # a ClassLabel group column holds codes (0, 1) whose names the dataset declares: they are
    # shown beside the codes, as the label column's names name the classes
    group_labels = {
        c: {str(i): str(v) for i, v in enumerate(ds.features[c].names)}
        for c in names_used
        if c in ds.features and isinstance(ds.features[c], datasets.ClassLabel)
    }
    feature = ds.features[source]
    if isinstance(feature, datasets.Value) and feature.dtype in ("string", "large_string"):
        texts = ds.select_columns([source]).with_format("arrow")[0 : len(ds)].column(0)
        inputs = [str(t) for t in texts.to_pylist()]
        return Labeled(
            inputs=inputs, labels=y, class_names=declared, group_labels=group_labels
        ), named
    x = _encoded_images(ds, source) if isinstance(feature, datasets.Image) else _column(ds, source)
    return Labeled(
        inputs=_inputs(x), labels=y, class_names=declared, group_labels=group_labels
    ), named


def _column(ds: datasets.Dataset, name: str) -> np.ndarray:
    """One whole column as numpy, read in one slice (not row by row)."""
    return np.asarray(ds.select_columns([name]).with_format("numpy")[0 : len(ds)][name])


def _in(groups: Sequence[str], have: list[str]) -> list[str]:
    missing = [g for g in groups if g not in have]
    if missing:
        raise InMemoryDataError(
            f"groups: column {missing[0]!r} is not a column of the dataset "
            f"(columns: {', '.join(have)})"
        )
    return list(groups)


def _encoded_images(ds: datasets.Dataset, column: str) -> np.ndarray:
    """An `Image` column as float32 (N, C, H, W) in [0, 1], decoded from its stored bytes as
    `harness run` decodes image files (`encoded_decoder`: the first image's mode for the set, RGB
    or grey; 16-bit grey by 65535; EXIF orientation not applied). datasets' own decoder would
    give the same files other inputs: palette indices, alpha or CMYK's K as a fourth channel,
    16-bit values unscaled, photos rotated by their EXIF tag."""
    stored = ds.select_columns([column]).cast_column(column, datasets.Image(decode=False))
    values = stored.with_format("arrow")[0 : len(ds)].column(0)
    ids = [f"row {i}" for i in range(len(ds))]
    if not ids:
        raise InMemoryDataError(f"input_column: {column!r} holds no images")
    empty = empty_image_cells(values)
    missing = int(pc.sum(empty).as_py() or 0)
    if missing:  # the decoder would say "an image value is NoneType", naming no row
        raise InMemoryDataError(
            f"input_column: {column!r} has {missing:,} missing image(s) (first: row "
            f"{pc.index(empty, True).as_py()}); drop those rows or give each one its image"
        )
    try:
        decoder = encoded_decoder("in-memory", values[0].as_py(), ids[0], ImageTransform(), None)
        return decoder.decode(values, ids).numpy()
    except DatasetError as err:
        text = str(err).removeprefix("task 'in-memory': ")
        if "decodes to shape" in text:
            text = (
                f"the images of {column!r} differ in size ({text.split('; ')[0]}); resize them "
                "to one shape first (or pass the tensors as data=(x, y))"
            )
        elif " is in colour (PIL mode " in text:  # its advice names the spec key `channels:`
            text = (
                text.split("; declare channels")[0].replace(
                    "the task reads its images grey", "the column is read grey"
                )
                + "; convert every image to one mode first (all RGB, or all grey), or pass the "
                "tensors as data=(x, y)"
            )
        raise InMemoryDataError(f"input_column: {text}") from None
