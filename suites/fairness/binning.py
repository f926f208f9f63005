"""Sensitive attributes of a task as string group labels: checked, and binned when continuous.

Everything here runs before fairlearn sees the data, so a missing column, a missing value or a
continuous attribute without bin edges is a clear harness error naming the column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import datasets
import numpy as np
import pandas as pd

from harness.core.errors import ConfigError, DatasetError
from harness.core.task import SAMPLE_ID, SOURCE_ID, Task

BIN_SUFFIX = "_bin"


def binned_name(column: str) -> str:
    """The group name of a binned continuous attribute (`age` -> `age_bin`)."""
    return column + BIN_SUFFIX


def is_continuous(dataset: datasets.Dataset, column: str) -> bool:
    feature = dataset.features[column]
    return isinstance(feature, datasets.Value) and feature.dtype.startswith("float")


def not_attributes(task: Task) -> set[str]:
    """Columns that are never sensitive attributes: ids, inputs, labels, the corruption cell
    columns of a published corruption set (`Task.cell_columns`) and `source_id`."""
    return {SAMPLE_ID, SOURCE_ID, task.input_column, task.label_column, *task.cell_columns}


def data_columns(task: Task) -> list[str]:
    """Columns of the task that can serve as sensitive attributes."""
    skip = not_attributes(task)
    return [c for c in task.data.column_names if c not in skip]


def bin_labels(edges: Sequence[float]) -> list[str]:
    return [f"[{_fmt(lo)}, {_fmt(hi)})" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def bin_values(values: np.ndarray, edges: Sequence[float], *, column: str) -> np.ndarray:
    """Labels `[lo, hi)` of the bins holding each value; values outside the edges are an error."""
    edges_arr = np.asarray(edges, dtype=np.float64)
    if len(edges_arr) < 2 or np.any(np.diff(edges_arr) <= 0):
        raise ConfigError(
            f"suites.fairness.bins.{column}: bin edges must be at least two increasing numbers "
            f"(got {list(edges)})"
        )
    pos = np.searchsorted(edges_arr, values, side="right") - 1
    outside = (pos < 0) | (pos >= len(edges_arr) - 1)
    if outside.any():
        bad = values[outside][0]
        raise DatasetError(
            f"group column {column!r} has {int(outside.sum())} values outside the bin edges "
            f"{list(edges)} (e.g. {bad}); widen suites.fairness.bins.{column}"
        )
    labels = np.array(bin_labels(list(edges_arr)), dtype=object)
    return labels[pos]


def group_labels(
    dataset: datasets.Dataset,
    columns: Sequence[str],
    *,
    bins: Mapping[str, Sequence[float]],
    available: Sequence[str],
    split: str,
) -> pd.DataFrame:
    """String group labels per sample (indexed by sample id); binned columns renamed `<col>_bin`."""
    missing = [c for c in columns if c not in dataset.column_names]
    if missing:
        raise DatasetError(
            f"group column {missing[0]!r} is not in the {split} split; available columns: "
            f"{', '.join(available) or '(none)'}"
        )
    raw = dataset.select_columns([SAMPLE_ID, *columns]).to_pandas().set_index(SAMPLE_ID)
    out = pd.DataFrame(index=raw.index)
    for col in columns:
        values = raw[col]
        blank = values.isna() | (values.astype(str).str.strip() == "")
        if blank.any():
            raise DatasetError(
                f"group column {col!r} has {int(blank.sum())} missing values in the {split} split "
                f"(e.g. sample {blank[blank].index[0]!r}); fill or drop them before a fairness run"
            )
        if col in bins:
            if not pd.api.types.is_numeric_dtype(values):
                raise ConfigError(
                    f"suites.fairness.bins.{col}: column {col!r} is not numeric; only continuous "
                    "attributes take bin edges"
                )
            out[binned_name(col)] = bin_values(values.to_numpy(np.float64), bins[col], column=col)
        elif is_continuous(dataset, col):
            raise ConfigError(
                f"group column {col!r} is continuous; give bin edges in suites.fairness.bins.{col} "
                "(or declare group_bins on the task)"
            )
        else:
            out[col] = values.astype(str)
    return out
