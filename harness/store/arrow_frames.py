"""A stored per-sample table's pandas frame from its Arrow table, the frame `to_pandas` gives,
built without pyarrow's per-table pandas metadata handling when an earlier table of the same
schema showed how.

`pa.Table.to_pandas` costs about 1 ms for a 719-row table of 13 columns whatever its size: it
parses the file's pandas metadata, finds each column's pandas type by name and builds the
column names' Index (Arrow text, ~0.4 ms) again for every table. A results folder's tables
share one schema (the same suite writes the same columns), so `frame_of` converts the first
table of each schema with `to_pandas`, builds the same frame from the columns directly (numpy
arrays, the pandas text type's own `__from_arrow__`, the first frame's column Index), and keeps
that recipe only where the two frames are equal in every respect it compares (column names and
their Index, dtypes, values, row index, blocks, attrs). Later tables of that schema (metadata
included) with no missing value, read under the same pandas text options (`mode.string_storage`,
`future.infer_string`, which to_pandas reads at each call), are built by the recipe; any other
table is `to_pandas`'s.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

_T = TypeVar("_T")
_KEPT = 4  # schemas whose recipe is kept (a folder's tables have one or a few)


@dataclass(frozen=True)
class _Recipe:
    schema: Any  # pa.Schema, metadata included
    columns: pd.Index  # the frame's column names, as to_pandas made them
    dtypes: tuple[Any, ...]  # each column's pandas dtype: a numpy dtype or a text type
    order: tuple[int, ...]  # to_pandas' blocks, by their first column
    named: dict[str, Any]  # each column's dtype by its name (the names are unique)
    # the pandas options to_pandas read for the text types (`_text_options`) when it was made
    options: tuple[Any, ...]


_recipes: list[_Recipe] = []
_refused: list[Any] = []  # schemas whose frame the recipe does not reproduce

# the options by which to_pandas picks a text column's (and the column names') pandas type at
# each call: a recipe made under others would keep its first table's (ArrowStringArray where
# `pd.option_context("mode.string_storage", "python")` makes to_pandas give StringArray)
_TEXT_OPTIONS = ("mode.string_storage", "future.infer_string")


def _text_options() -> tuple[Any, ...]:
    values: list[Any] = []
    # pandas 3 warns on reading future.infer_string (deprecated; still settable)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in _TEXT_OPTIONS:
            try:
                values.append(pd.get_option(name))
            except (KeyError, pd.errors.OptionError):  # an option a pandas release dropped
                values.append(None)
    return tuple(values)


def frame_of(table: Any) -> pd.DataFrame:
    """`table.to_pandas(use_threads=False)` (a `pa.Table` of a stored per-sample table)."""
    return typed_frame_of(table)[0]


def typed_frame_of(table: Any) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """`frame_of(table)` and, when it was built by its schema's recipe, its columns' dtypes by
    name (the frame's own: the recipe was kept because they are); else None."""
    if table.num_rows and not any(column.null_count for column in table.columns):
        options = _text_options()
        for recipe in _recipes:
            if recipe.options == options and recipe.schema.equals(
                table.schema, check_metadata=True
            ):
                built = _guarded(_built, table, recipe)
                if built is None:
                    return table.to_pandas(use_threads=False), None
                return built, recipe.named
        if not any(s.equals(table.schema, check_metadata=True) for s in _refused):
            frame = table.to_pandas(use_threads=False)
            made = _guarded(_recipe_of, table, frame)
            if made is None:
                _refused[:] = [table.schema, *_refused][:_KEPT]
            else:
                _recipes[:] = [made, *_recipes][:_KEPT]
            return frame, None
    return table.to_pandas(use_threads=False), None


def _guarded(build: Callable[..., _T | None], *args: Any) -> _T | None:
    """`build(*args)`, or None (to_pandas' frame) where it fails: the recipe builds frames with
    pandas internals (`DataFrame._from_arrays`, block managers) that a pandas release may move;
    a failure there must cost speed, never a reader's table."""
    try:
        return build(*args)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError, NotImplementedError):
        return None


def _built(table: Any, recipe: _Recipe) -> pd.DataFrame | None:
    """The frame of `table` by `recipe` (None: its blocks came out otherwise than to_pandas')."""
    arrays: list[Any] = []
    for column, dtype in zip(table.columns, recipe.dtypes, strict=True):
        if isinstance(dtype, np.dtype):
            values = column.to_numpy()
            # a fresh, writable array of its own, as to_pandas gives (not a view of Arrow's buffer)
            arrays.append(np.array(values, dtype=dtype, copy=True))
        else:
            arrays.append(dtype.__from_arrow__(column))
    frame = pd.DataFrame._from_arrays(
        arrays,
        columns=recipe.columns,
        index=pd.RangeIndex(table.num_rows),
        verify_integrity=False,
    )
    # the blocks in to_pandas' order (the same columns in the same blocks either way)
    first = {int(b.mgr_locs.as_array[0]): b for b in frame._mgr.blocks if len(b.mgr_locs)}
    if len(first) != len(frame._mgr.blocks) or sorted(first) != sorted(recipe.order):
        return None
    mgr = type(frame._mgr)(tuple(first[i] for i in recipe.order), frame._mgr.axes)
    return pd.DataFrame._from_mgr(mgr, axes=mgr.axes)


def _recipe_of(table: Any, frame: pd.DataFrame) -> _Recipe | None:
    """The recipe that builds `frame` (to_pandas' frame of `table`) from `table`, when it does
    build that frame exactly; None otherwise (the schema's frames are then to_pandas')."""
    import pyarrow as pa

    try:
        meta = json.loads((table.schema.metadata or {}).get(b"pandas", b"{}"))
    except ValueError:
        return None
    if not isinstance(meta, dict) or meta.get("index_columns") != [] or frame.attrs:
        return None
    names = list(table.column_names)
    if [str(c) for c in frame.columns] != names or len(set(names)) != len(names):
        return None
    if not isinstance(frame.index, pd.RangeIndex) or not frame.index.equals(
        pd.RangeIndex(table.num_rows)
    ):
        return None
    dtypes: list[Any] = []
    for field, dtype in zip(table.schema, frame.dtypes, strict=True):
        kind = field.type
        numeric = (
            pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind)
        )
        text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        plain = isinstance(dtype, np.dtype) and numeric and dtype.kind in "biuf"
        if not (plain or (isinstance(dtype, pd.StringDtype) and text)):
            return None
        dtypes.append(dtype)
    blocks = frame._mgr.blocks
    if not all(len(b.mgr_locs) for b in blocks):
        return None
    order = tuple(int(b.mgr_locs.as_array[0]) for b in blocks)
    recipe = _Recipe(
        table.schema,
        frame.columns,
        tuple(dtypes),
        order,
        dict(zip(names, dtypes, strict=True)),
        _text_options(),
    )
    built = _built(table, recipe)
    return recipe if built is not None and _same_frame(built, frame) else None


def _same_frame(built: pd.DataFrame, frame: pd.DataFrame) -> bool:
    """Whether the two frames are alike in all that a reader can see: column Index (type and
    values), row index, dtypes, values bit for bit, block layout, attrs."""
    if type(built.columns) is not type(frame.columns) or built.columns.dtype != frame.columns.dtype:
        return False
    if not built.columns.equals(frame.columns) or not built.index.equals(frame.index):
        return False
    if type(built.index) is not type(frame.index) or built.attrs != frame.attrs:
        return False
    if list(built.dtypes) != list(frame.dtypes):
        return False
    layout = [(type(b).__name__, b.dtype, list(b.mgr_locs)) for b in frame._mgr.blocks]
    if [(type(b).__name__, b.dtype, list(b.mgr_locs)) for b in built._mgr.blocks] != layout:
        return False
    for i in range(frame.shape[1]):
        a, b = built.iloc[:, i], frame.iloc[:, i]
        if type(a.array) is not type(b.array):
            return False
        if isinstance(b.dtype, np.dtype):
            if a.to_numpy().tobytes() != b.to_numpy().tobytes():
                return False
        elif a.tolist() != b.tolist():
            return False
    return True
