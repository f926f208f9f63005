"""Preparation recipes for hub datasets whose raw columns are not yet a task.

The loader reads image, text and numeric columns with integer labels. Some standard benchmarks
on the hub store their labels as strings (`income: ">50K"`, ImageNet-R's `wnid`), their
categorical features as strings, or their sensitive attributes as one-hot columns. A recipe turns
such a raw split into plain columns the loader reads, with every choice declared in the catalogue:

- `StringLabels`: a string label column mapped to class ids, by a declared table or by the sorted
  unique values of the evaluation split (ImageNet-R/-A: the official evaluation sorts the wnids).
- `TabularRecipe`: numeric features min-max scaled by the training split's range (test values
  clipped to [0, 1], so inputs and attack budgets live in [0, 1]), categorical features one-hot
  encoded against declared categories (an unknown or missing value is the all-zero vector), group
  columns copied or decoded from one-hot columns, rows with a missing numeric feature or label
  dropped (counted in the log), and a seeded stratified holdout when the hub has one split,
  drawn after sorting the rows by their content (`canonical_order`), so the same rows in another
  order (the raw public file, `recipe_files`) give the same split.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.core.errors import DatasetError
from harness.core.subsets import stratified_indices

log = logging.getLogger(__name__)
HOLDOUT_SEED = 0


@dataclass(frozen=True, kw_only=True)
class StringLabels:
    """Class ids from a string column: a declared value -> id table, else sorted unique values."""

    column: str
    values: tuple[str, ...] | None = None  # class id = position in this tuple
    names_column: str | None = None  # a readable class name per row (e.g. ImageNet-R class_name)

    def classes(self, raw: pd.Series) -> tuple[str, ...]:
        return self.values if self.values is not None else tuple(sorted(set(raw.astype(str))))

    def encode(self, raw: pd.Series, classes: tuple[str, ...], task: str) -> np.ndarray:
        values = raw.astype(str)
        codes = pd.Categorical(values, categories=list(classes)).codes
        if (codes < 0).any():
            unknown = sorted(set(values[codes < 0]))
            raise DatasetError(
                f"task {task!r}: label column {self.column!r} has value(s) {unknown[:5]} outside "
                f"the declared classes {list(classes)[:10]}"
            )
        return np.asarray(codes, dtype=np.int64)


@dataclass(frozen=True, kw_only=True)
class OneHotGroup:
    """A group column decoded from one-hot columns `<prefix><value>` (the value is the group)."""

    prefix: str
    values: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class TabularRecipe:
    """How a raw tabular split becomes features in [0, 1], integer labels and group columns."""

    label: str
    label_values: tuple[str, ...] | None = None  # raw label text per class id; None: ints already
    numeric: tuple[str, ...] = ()
    one_hot: dict[str, tuple[str, ...]] = field(default_factory=dict)
    groups: tuple[str, ...] = ()  # string columns kept as group columns
    one_hot_groups: dict[str, OneHotGroup] = field(default_factory=dict)
    age_bands: tuple[str, tuple[float, ...], tuple[str, ...]] | None = None  # column, edges, names
    holdout: float | None = None  # test fraction drawn when the hub has a single split

    def feature_names(self) -> list[str]:
        names = list(self.numeric)
        for column, categories in self.one_hot.items():
            names.extend(f"{column}={c}" for c in categories)
        return names

    def group_names(self) -> list[str]:
        names = [*self.groups, *self.one_hot_groups]
        if self.age_bands is not None:
            names.append(f"{self.age_bands[0]}_band")
        return names

    def columns_needed(self) -> list[str]:
        needed = [self.label, *self.numeric, *self.one_hot, *self.groups]
        for group in self.one_hot_groups.values():
            needed.extend(f"{group.prefix}{v}" for v in group.values)
        if self.age_bands is not None:
            needed.append(self.age_bands[0])
        return list(dict.fromkeys(needed))

    def split(self, frame: pd.DataFrame, task: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(train, test) of a single hub split: seeded, label-stratified, `holdout` for test."""
        assert self.holdout is not None
        frame = canonical_order(self.clean(frame, task), self.columns_needed())
        labels = self.labels(frame, task)
        ids = [f"row-{i}" for i in frame.index]
        n_test = int(round(self.holdout * len(frame)))
        test_rows = stratified_indices(
            ids, labels, n_test, seed=HOLDOUT_SEED, purpose=f"holdout:{task}"
        )
        is_test = np.zeros(len(frame), dtype=bool)
        is_test[test_rows] = True
        return frame[~is_test], frame[is_test]

    def clean(self, frame: pd.DataFrame, task: str) -> pd.DataFrame:
        """Check the raw columns exist; drop rows with a missing label or numeric feature."""
        missing = [c for c in self.columns_needed() if c not in frame.columns]
        if missing:
            raise DatasetError(
                f"task {task!r}: column(s) {missing} not found in the hub data; "
                f"available columns: {', '.join(map(str, frame.columns))}"
            )
        subset = [self.label, *self.numeric]
        bad = frame[subset].isna().any(axis=1)
        if bad.any():
            log.info("task %s: dropped %d row(s) with a missing label or feature", task, bad.sum())
        return frame[~bad].reset_index(drop=True)

    def labels(self, frame: pd.DataFrame, task: str) -> np.ndarray:
        raw = frame[self.label]
        if self.label_values is None:
            return raw.to_numpy(dtype=np.int64)
        return StringLabels(column=self.label, values=self.label_values).encode(
            raw.astype(str).str.strip(), self.label_values, task
        )

    def prepare(
        self, train: pd.DataFrame, test: pd.DataFrame, task: str
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Both splits as plain columns: features (scaled by the training range), label, groups."""
        train, test = self.clean(train, task), self.clean(test, task)
        lo = train[list(self.numeric)].astype(float).min()
        hi = train[list(self.numeric)].astype(float).max()
        span = (hi - lo).replace(0.0, 1.0)
        return self._columns(train, lo, span, task), self._columns(test, lo, span, task)

    def _columns(
        self, frame: pd.DataFrame, lo: pd.Series, span: pd.Series, task: str
    ) -> pd.DataFrame:
        out: dict[str, object] = {}
        for column in self.numeric:
            scaled = (frame[column].astype(float) - lo[column]) / span[column]
            out[column] = scaled.clip(0.0, 1.0).astype(np.float32).to_numpy()
        for column, categories in self.one_hot.items():
            text = frame[column].astype("string").str.strip()
            for category in categories:
                out[f"{column}={category}"] = (text == category).fillna(False).to_numpy(np.float32)
        out["label"] = self.labels(frame, task)
        for column in self.groups:
            out[column] = frame[column].astype("string").str.strip().fillna("missing").to_numpy()
        for name, group in self.one_hot_groups.items():
            out[name] = _decode_one_hot(frame, group, name, task)
        if self.age_bands is not None:
            column, edges, band_names = self.age_bands
            band = np.digitize(frame[column].astype(float).to_numpy(), edges[1:-1])
            out[f"{column}_band"] = np.asarray(band_names)[band]
        return pd.DataFrame(out)


def canonical_order(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`frame`'s rows sorted by the values of `columns` (text trimmed; `?`, empty and missing
    cells alike), so a holdout drawn from it does not depend on the order of the file: UCI's
    adult.data and the hub's copy of the same rows (in another order) give the same split.
    Rows equal in every one of `columns` become equal prepared rows, so their order among
    themselves does not matter."""
    keys: dict[str, pd.Series] = {}
    for column in columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values):
            keys[column] = values.astype(float)
        else:
            text = values.astype("string").str.strip()
            keys[column] = text.mask(text.isin(["?", ""]))
    order = pd.DataFrame(keys).sort_values(list(keys), kind="mergesort", na_position="last")
    return frame.iloc[order.index.to_numpy()].reset_index(drop=True)


def _decode_one_hot(frame: pd.DataFrame, group: OneHotGroup, name: str, task: str) -> np.ndarray:
    """The value whose one-hot column is set, per row; rows with none or several are refused."""
    block = np.stack(
        [frame[f"{group.prefix}{v}"].astype(float).to_numpy() for v in group.values], axis=1
    )
    hot = block > 0.5
    counts = hot.sum(axis=1)
    if (counts != 1).any():
        raise DatasetError(
            f"task {task!r}: {int((counts != 1).sum())} row(s) have no or several of the one-hot "
            f"columns {group.prefix}* set, so group {name!r} is undefined for them"
        )
    return np.array(group.values)[hot.argmax(axis=1)]
