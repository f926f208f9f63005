"""Sensitive attributes of a task as string group labels: checked, and binned when continuous.

Everything here runs before any group metric is computed, so a missing column, a missing value
or a continuous attribute without bin edges is a clear harness error naming the column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import datasets
import numpy as np
import pandas as pd

from harness.core.bin_edges import edges_problem
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
    """An edge exactly: a whole number as an integer, else the shortest text that reads back as
    it (`%g` kept 6 digits, so close edges gave two bins one label and merged their groups)."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def bin_values(
    values: np.ndarray,
    edges: Sequence[float],
    *,
    column: str,
    key: str | None = None,
    where: str = "the data",
) -> np.ndarray:
    """Labels `[lo, hi)` of the bins holding each value; values outside the edges are an error
    naming the column, `where` (the split) and `key` (the setting that gave the edges)."""
    key = key or f"suites.fairness.bins.{column}"
    problem = edges_problem(key, edges)
    if problem:
        raise ConfigError(problem)
    edges_arr = np.asarray(edges, dtype=np.float64)
    pos = np.searchsorted(edges_arr, values, side="right") - 1
    outside = (pos < 0) | (pos >= len(edges_arr) - 1)
    if outside.any():
        bad = values[outside][0]
        raise DatasetError(
            f"group column {column!r} has {int(outside.sum())} of {len(values)} values in {where} "
            f"outside the bin edges [{', '.join(map(_fmt, edges_arr))}] of {key} (e.g. {_fmt(bad)}); "
            f"widen {key} to cover every value (the last edge is excluded)"
        )
    labels = np.array(bin_labels(list(edges_arr)), dtype=object)
    return labels[pos]


def numeric_values(values: pd.Series, *, column: str, key: str, where: str) -> np.ndarray:
    """A group column as float64 for binning: numbers (integer or float) as they are, text that
    reads as numbers (an integer column a loader kept as text) parsed; other text is an error."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(np.float64)
    parsed = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
    bad = parsed.isna()
    if bad.any():
        raise ConfigError(
            f"{key}: group column {column!r} in {where} is not numeric ({int(bad.sum())} of "
            f"{len(values)} values are not numbers, e.g. {values[bad].iloc[0]!r}); bin edges "
            "apply to numeric columns only"
        )
    return parsed.to_numpy(np.float64)


def group_labels(
    dataset: datasets.Dataset,
    columns: Sequence[str],
    *,
    bins: Mapping[str, Sequence[float]],
    available: Sequence[str],
    where: str,
    bins_keys: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """String group labels per sample (indexed by sample id); binned columns renamed `<col>_bin`.

    `where` names the split in messages (`the evaluation split of task 'adult'`); `bins_keys`
    the setting each column's edges came from (default `suites.fairness.bins.<col>`).
    """
    missing = [c for c in columns if c not in dataset.column_names]
    if missing:
        raise DatasetError(
            f"group column {missing[0]!r} is not in {where}; available columns: "
            f"{', '.join(available) or '(none)'}"
        )
    raw = dataset.select_columns([SAMPLE_ID, *columns]).to_pandas().set_index(SAMPLE_ID)
    out = pd.DataFrame(index=raw.index)
    for col in columns:
        values = raw[col]
        blank = values.isna() | (values.astype(str).str.strip() == "")
        if blank.any():
            raise DatasetError(
                f"group column {col!r} has {int(blank.sum())} missing values in {where} "
                f"(e.g. sample {blank[blank].index[0]!r}); fill or drop them before a fairness run"
            )
        if col in bins:
            key = (bins_keys or {}).get(col, f"suites.fairness.bins.{col}")
            numbers = numeric_values(values, column=col, key=key, where=where)
            out[binned_name(col)] = bin_values(numbers, bins[col], column=col, key=key, where=where)
        elif is_continuous(dataset, col):
            raise ConfigError(
                f"group column {col!r} is continuous; give bin edges in suites.fairness.bins.{col} "
                "(or declare group_bins on the task)" + _whole_values_hint(values)
            )
        else:
            out[col] = values.astype(str)
    return out


WHOLE_VALUES_HINT_MAX = 20  # distinct values up to which a float column's whole values are listed


def _whole_values_hint(values: pd.Series) -> str:
    """For a float column holding a few whole numbers only (a 0/1 indicator that pandas wrote
    as floats after a missing value): those values and how to group by each of them."""
    distinct = np.unique(values.to_numpy(np.float64))
    if len(distinct) > WHOLE_VALUES_HINT_MAX or not np.all(np.isfinite(distinct)):
        return ""
    if not np.all(distinct == np.round(distinct)):
        return ""
    listed = ", ".join(f"{v:.0f}" for v in distinct)
    return (
        f"; it holds {len(distinct)} distinct whole values ({listed}): write them as integers "
        "or text to group by each value"
    )
