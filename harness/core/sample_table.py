"""`SampleTable`: one row per (sample_id, condition) — the source every number is derived from.

(A table that combines several suites, as `EvaluationResult.table` does, has a `suite` column and
one row per (sample_id, condition, suite).)

Required columns: sample_id, condition, label, prediction, correct, confidence. Suites add their
own extras (nll, brier, perturbation norm, OOD score...), and the runner adds the task's group
columns as `group:<name>` so fairness breakdowns of any condition need no access to the data.
Convention: an optional string column `flags` holds the reliability flags that apply to a row's
outcome, comma separated and sorted ("" when none), the same names as `MetricRecord.flags`
(the adversarial suite puts its job's flags on every attacked row).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REQUIRED_COLUMNS: dict[str, str] = {
    "sample_id": "string",
    "condition": "string",
    "label": "int64",
    "prediction": "int64",
    "correct": "bool",
    "confidence": "float64",
}
# what a stored table's required columns must hold to be read (the writers cast to
# REQUIRED_COLUMNS; a reader accepts any width of integer or float)
REQUIRED_KINDS: dict[str, str] = {
    "sample_id": "text",
    "condition": "text",
    "label": "integers",
    "prediction": "integers",
    "correct": "booleans",
    "confidence": "numbers",
}
_KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "text": lambda d: pd.api.types.is_string_dtype(d) or pd.api.types.is_object_dtype(d),
    "integers": pd.api.types.is_integer_dtype,
    "booleans": pd.api.types.is_bool_dtype,
    "numbers": lambda d: pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d),
}
GROUP_PREFIX = "group:"
CLEAN = "clean"
UNLABELED = -1  # the label of a row that has none (an OOD set's rows): never a class


def condition_mask(frame: pd.DataFrame, condition: str) -> Any:
    """`frame["condition"] == condition`, as a numpy boolean array where the column is Arrow
    text with no value missing (pyarrow's equality on the column, 0.1 ms for 719 rows where
    pandas' comparison and the conversion of its Arrow booleans took 0.35 ms); else pandas'
    comparison itself. Either selects the same rows (`frame[mask]`)."""
    column = frame["condition"]
    arrow = getattr(column.array, "_pa_array", None)
    if isinstance(condition, str) and len(column) and _arrow_text(arrow):
        import pyarrow.compute as pc

        mask = pc.equal(arrow, condition).to_numpy(zero_copy_only=False)
        if mask.dtype == bool and len(mask) == len(column):
            return mask
    return column == condition


def numpy_column(frame: pd.DataFrame, name: str, dtype: Any = None) -> Any:
    """`frame[name].to_numpy(dtype)` for a column held as a numpy array of booleans, integers
    or floats, read without a pandas Series (building one cost 25-60 us a read, ~8 reads a
    table of `harness groups`): the same values and dtype, and read-only where it is the
    frame's own memory, as pandas' Copy-on-Write gives it. None for any other column (text,
    nullable, object, a name held twice, or none): the caller reads it through pandas."""
    get = getattr(frame, "_get_column_array", None)  # pandas' array of a column, no Series
    if get is None:
        return None
    try:
        at = frame.columns.get_loc(name)
    except (KeyError, TypeError):
        return None
    if not isinstance(at, int):
        return None
    values = get(at)
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "biuf":
        return None
    values = values.view()
    values.flags.writeable = False
    return np.asarray(values, dtype=dtype)


def _arrow_text(arrow: Any) -> bool:
    """Whether `arrow` is an Arrow array of text with no value missing."""
    import pyarrow as pa

    return (
        isinstance(arrow, pa.ChunkedArray)
        and arrow.null_count == 0
        and (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type))
    )


def _unique_ids(frame: pd.DataFrame) -> bool:
    """Whether the frame's one `sample_id` column holds each id once (one hash of one column,
    a fifth of the cost of checking the (sample_id, condition) pairs); False when it cannot
    tell (the pairs' check then decides, and fails as it did)."""
    ids = frame["sample_id"]
    arrow = getattr(getattr(ids, "array", None), "_pa_array", None)
    if isinstance(ids, pd.Series) and arrow is not None and _arrow_text(arrow):
        # Arrow's own unique() of text with none missing: equal texts are equal bytes (0.1 ms
        # for 719 ids where pandas' is_unique of the Arrow column took 0.4 ms)
        return len(arrow.unique()) == len(arrow)
    try:
        return isinstance(ids, pd.Series) and bool(ids.is_unique)
    except TypeError:  # unhashable ids
        return False


@dataclass(frozen=True)
class SampleTable:
    """A validated per-sample results frame (pandas underneath)."""

    frame: pd.DataFrame

    def __post_init__(self) -> None:
        missing = [c for c in REQUIRED_COLUMNS if c not in self.frame.columns]
        if missing:
            raise ValueError(f"sample table lacks required columns {missing}")
        if _unique_ids(self.frame):
            return  # every key holds the sample id: no key repeats
        key = ["sample_id", "condition", *(["suite"] if "suite" in self.frame.columns else [])]
        dup = self.frame.duplicated(key)
        if dup.any():
            first = self.frame.loc[dup, key].iloc[0].tolist()
            raise ValueError(f"sample table has duplicate {tuple(key)} rows, e.g. {first}")

    @classmethod
    def build(cls, columns: dict[str, object]) -> SampleTable:
        """Build from column arrays, casting the required columns to their dtypes."""
        frame = pd.DataFrame(columns)
        for col, dtype in REQUIRED_COLUMNS.items():
            if col in frame.columns:
                frame[col] = frame[col].astype(dtype)
        return cls(frame)

    @classmethod
    def concat(cls, tables: list[SampleTable]) -> SampleTable:
        return cls(pd.concat([t.frame for t in tables], ignore_index=True))

    def to_pandas(self) -> pd.DataFrame:
        return self.frame.copy()

    def conditions(self) -> list[str]:
        return list(dict.fromkeys(self.frame["condition"]))

    def condition(self, name: str) -> pd.DataFrame:
        return self.frame[condition_mask(self.frame, name)]

    def with_groups(self, groups: pd.DataFrame) -> SampleTable:
        """Attach group columns (indexed by sample_id) as `group:<name>` columns."""
        if groups.empty or len(groups.columns) == 0:
            return self
        renamed = groups.add_prefix(GROUP_PREFIX)
        frame = self.frame.drop(columns=[c for c in renamed.columns if c in self.frame.columns])
        frame = frame.join(renamed, on="sample_id")
        return SampleTable(frame)

    def write_parquet(self, path: Path) -> None:
        self.frame.to_parquet(path, index=False)

    @classmethod
    def read_parquet(cls, path: Path) -> SampleTable:
        return cls(pd.read_parquet(path)).with_checked_types()

    def with_checked_types(self, dtypes: Mapping[str, Any] | None = None) -> SampleTable:
        """This table, when each required column has a type its readers compute with (a stored
        table rewritten by another tool may hold `correct` as the strings "True"/"False": their
        mean is no accuracy); else a ValueError naming the column. `dtypes`: the frame's own
        column dtypes by name, when the caller knows them (no column is then read for them)."""
        for col, kind in REQUIRED_KINDS.items():
            dtype = self.frame[col].dtype if dtypes is None else dtypes[col]
            if not _KIND_CHECKS[kind](dtype):
                raise ValueError(f"sample table column {col!r} holds {dtype} values, not {kind}")
        return self

    def __len__(self) -> int:
        return len(self.frame)
