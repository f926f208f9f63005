"""What a stored metric offers a paired comparison: per-sample values, or a resampled statistic.

Two runs (or two models) are compared on the same sample ids. A metric that is the mean of a
per-sample column (accuracies, NLL, Brier) has a `PerSample` form, and so has a mean over cells
(mean corruption accuracy, the tabular / text shift means: each source image's contribution to
the metric, `cell_mean_form`, whose mean is the metric on equal and unequal cells alike); a
metric that is a function of the whole table (ECE, balanced accuracy, macro-F1, fairness
disparities, OOD detection metrics) has a `Resampled` form: a statistic that can be recomputed
on bootstrap resamples of the sample ids, so both runs can be resampled with the SAME draws
(a paired bootstrap; per-sample forms get the sign-flip test). Metrics without either form are
compared through their intervals, or not at all (harness.analysis.paired_tests). No torch here.
"""

from __future__ import annotations

import hashlib
import itertools
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.analysis.stored_groups import GroupOptions, with_clean_reference
from harness.core.calibration_context import CalibrationContext
from harness.core.class_context import ClassContext
from harness.core.detection_context import DetectionContext, score_column
from harness.core.group_context import GroupContext
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import CLEAN, SampleTable, condition_mask
from harness.core.suite_config import SuiteConfig
from harness.stats import calibration, detection
from harness.stats.group_statistics import (
    CLEAN_CORRECT,
    DISPARITY_STATS,
    EVERY_STAT,
    Columns,
    disparity_values,
    group_stats,
)
from harness.stats.groups import group_values, intersection_keys
from harness.stats.intervals import CellMean, cell_mean

Statistic = Callable[[np.ndarray], np.ndarray]
# The tested statistic from resample draw counts: (counts_t, rows) -> values, where counts_t
# is (N, R) (`calibration.resample_counts`) and the form's sample i reads row rows[i].
Counted = Callable[[np.ndarray, np.ndarray], np.ndarray]

# Per-sample columns whose mean is the metric of the same name.
_MEAN_COLUMNS = frozenset({"nll", "brier"})
# Accuracies that are not a plain mean of `correct` over one condition.
_NOT_PLAIN_ACCURACY = frozenset({"balanced_acc", "worst_group_acc", "mean_corruption_acc"})
CORRUPTION_PREFIX = "corruption="
# means over every condition with a prefix: each sample's accuracy averaged over them
_MEAN_OVER_CONDITIONS = {
    "mean_corruption_acc": CORRUPTION_PREFIX,
    "mean_tabular_shift_acc": "tabular=",
    "mean_text_shift_acc": "text=",
}
_WHOLE_TABLE = frozenset({"ece", "balanced_acc", "macro_f1"})
_DISPARITIES = frozenset(
    {
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
        "equal_opportunity_difference",
        "worst_group_acc",
        "group_acc_gap",
        "group_ece_gap",
        "worst_group_acc_drop",
        "group_acc_drop_gap",
    }
)
_BINARY_ONLY = frozenset(
    {
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
        "equal_opportunity_difference",
    }
)


@dataclass(frozen=True)
class PerSample:
    """A metric's per-sample form: values indexed by sample_id; binary ones get McNemar."""

    values: pd.Series
    binary: bool


@dataclass(frozen=True)
class CellMeans(PerSample):
    """A mean over cells in its per-image form (`cell_mean_form`), with the mean itself: two of
    them are compared by Newcombe's interval of the difference (paired_tests.cell_mean_test)."""

    mean: CellMean


@dataclass(frozen=True)
class Resampled:
    """A statistic of the whole table, recomputable on resampled sample ids.

    `ids` are the sample ids in the order the statistic indexes them; `strata` gives each a
    stratum code (a group, or ID versus OOD) and resamples are drawn within strata, the columns
    of each stratum in stratum order. `statistic(idx)` maps an (R, n) matrix of positions to R
    values; row `arange(n)` gives the point value. `tested` is the statistic a paired test
    compares when it is not the metric itself (ECE: its debiased form, whose bias does not
    differ between models), `tested_name` what that is in words. `counted`, when the tested
    statistic is a function of sums over the drawn samples, computes it from how often each
    sample was drawn (one sparse product per resample matrix instead of a pass over every
    draw; paired_tests uses it when both forms have one). `fingerprint`, when set, is a digest
    of everything the tested statistic (`counted`, where the form has it) computes from besides
    the draws (the statistic, its settings and per-sample arrays, the strata): equal
    fingerprints, equal values on the same draws (`SharedDraws.stored`).
    """

    ids: pd.Index
    strata: np.ndarray
    statistic: Statistic
    tested: Statistic | None = None
    tested_name: str = "statistic"
    counted: Counted | None = None
    fingerprint: str | None = None
    # what a whole-table classification statistic is computed from (`classification_form`
    # rebuilds the form from it: harness/present/form_cache.py keeps it between reports)
    source: WholeTable | None = None

    @property
    def value(self) -> float:
        return float(self.statistic(np.arange(len(self.ids))[None, :])[0])

    def test_statistic(self, idx: np.ndarray) -> np.ndarray:
        """The values a paired test compares on the resamples `idx`."""
        return (self.tested or self.statistic)(idx)


Form = PerSample | Resampled


def per_sample(
    record: MetricRecord, table: SampleTable | None, config: SuiteConfig | None = None
) -> Form | None:
    """The paired form of `record` from its job's table (None when it has none).

    `config` is the job's suite config read through its suite's model (`read_config`): a
    disparity's form needs its positive label and ECE bins (`GroupOptions`), and there is none
    without them. A form whose
    value on the full table is not the record's value (the record was computed on other rows,
    e.g. a subset of the samples) is not used: None.
    """
    if table is None or record.value is None:
        return None
    form = _form(record, table, config)
    if form is None:
        return None
    value = form.value if isinstance(form, Resampled) else float(form.values.mean())
    return form if abs(value - record.value) <= 1e-6 * max(1.0, abs(record.value)) else None


def _form(record: MetricRecord, table: SampleTable, config: SuiteConfig | None) -> Form | None:
    frame = table.frame
    if record.metric.startswith("ood_"):
        return _ood(record, table)
    if record.metric in _DISPARITIES and GroupContext.of(record.context).group is None:
        return _disparity(record, frame, config) if isinstance(config, GroupOptions) else None
    if (
        GroupContext.of(record.context).group is not None
        or ClassContext.of(record.context).label is not None
    ):
        return None  # a subset's number: compared through its interval
    if record.metric in _MEAN_OVER_CONDITIONS:
        mean = cell_means(record, table)
        return None if mean is None else cell_mean_form(mean)
    if record.metric == "shift_acc_gap":
        return _gap(record, frame)
    rows = condition_rows(table, record.condition)
    if rows.empty:
        return None
    return _plain(record, rows, sample_ids(table, record.condition))


_ROWS: dict[int, tuple[weakref.ref[SampleTable], dict[Hashable, object]]] = {}


def _forget(key: int) -> Callable[[weakref.ref[SampleTable]], None]:
    """Drop a table's rows from `_ROWS` when the table is gone."""

    def gone(_ref: weakref.ref[SampleTable]) -> None:
        _ROWS.pop(key, None)

    return gone


def _derived(table: SampleTable) -> dict[Hashable, object]:
    """What has been derived from `table` while it lives (its rows of a condition, the design
    of its OOD sets; treat them as read-only)."""
    key = id(table)
    entry = _ROWS.get(key)
    if entry is None or entry[0]() is not table:
        entry = (weakref.ref(table, _forget(key)), {})
        _ROWS[key] = entry
    return entry[1]


def condition_rows(table: SampleTable, condition: str) -> pd.DataFrame:
    """The table's rows of `condition`, selected once per table and condition while the table
    lives (a table's metrics of one condition read the same rows; treat them as read-only)."""
    cache = _derived(table)
    if ("rows", condition) not in cache:
        frame = table.frame
        mask = condition_mask(frame, condition)
        # every row of the condition (a table of one condition): the frame itself, not a copy
        whole = isinstance(mask, np.ndarray) and bool(mask.all())
        cache["rows", condition] = frame if whole else frame[mask]
    rows = cache["rows", condition]
    assert isinstance(rows, pd.DataFrame)
    return rows


def sample_ids(table: SampleTable, condition: str) -> pd.Index:
    """`pd.Index(rows["sample_id"], name="sample_id")` of the table's rows of `condition`
    (`condition_rows`), built once per table and condition while the table lives: a job's
    accuracies and per-sample means index their values by the same ids (read-only)."""
    cache = _derived(table)
    if ("ids", condition) not in cache:
        rows = condition_rows(table, condition)
        cache["ids", condition] = pd.Index(rows["sample_id"], name="sample_id")
    ids = cache["ids", condition]
    assert isinstance(ids, pd.Index)
    return ids


def cell_means(record: MetricRecord, table: SampleTable | None) -> CellMean | None:
    """A mean over cells (`mean_corruption_acc`, `mean_tabular_shift_acc`, `mean_text_shift_acc`)
    recomputed from the table as the shift suite computes it (`intervals.cell_mean`: each
    condition with the metric's prefix is a cell; rows pair across cells by `source_id` where
    the table has it, else by `sample_id`, which is a published set's source image), or None:
    another metric, no such rows, a published set whose cells name no shared image and differ in
    size (the suite gives that mean no interval either), or a value that is not the record's."""
    prefix = _MEAN_OVER_CONDITIONS.get(record.metric)
    if table is None or record.value is None or prefix is None:
        return None
    frame = table.frame
    rows = frame[frame["condition"].astype(str).str.startswith(prefix)]
    mean = rows_cell_mean(rows) if not rows.empty else None
    if mean is None or abs(mean.value - record.value) > 1e-6 * max(1.0, abs(record.value)):
        return None
    return mean


def rows_cell_mean(rows: pd.DataFrame) -> CellMean | None:
    """`intervals.cell_mean` of a table's rows, each condition a cell, paired as the shift suite
    pairs them: by `source_id` where the table has it, else by `sample_id` (a published set's
    source image); when no id recurs across cells (a published set without source ids) by
    position, and None when such cells differ in size (the suite gives no interval either)."""
    id_col = "source_id" if "source_id" in rows.columns else "sample_id"
    cells = [cell for _c, cell in rows.groupby("condition", sort=False, observed=True)]
    values = [c["correct"].to_numpy(dtype=np.float64) for c in cells]
    ids = [c[id_col].astype(str).to_numpy(dtype=object) for c in cells]
    if len(cells) > 1 and len(set().union(*map(set, ids))) == sum(map(len, ids)):
        if len({len(v) for v in values}) != 1:
            return None
        return cell_mean(values, [ids[0]] * len(cells))
    return cell_mean(values, ids)


def cell_mean_form(mean: CellMean) -> CellMeans:
    """The per-image form of a mean over cells: image i's value is `value + m * u_i` (u_i its
    influence, `CellMean.influence`), so the mean over the m images is the metric and the mean
    of two models' differences is the difference of their metrics, whatever the cells' sizes.
    With every image in every cell this is the image's accuracy over the cells. Sorted by image
    id (the order the per-image means had, which the seeded resamples index)."""
    values = mean.value + len(mean.ids) * mean.influence
    series = pd.Series(values, index=pd.Index(mean.ids)).sort_index()
    return CellMeans(values=series, binary=False, mean=mean)


def _plain(record: MetricRecord, rows: pd.DataFrame, ids: pd.Index) -> Form | None:
    """Accuracies (McNemar), per-sample means, and whole-table accuracy-suite statistics
    (`ids`: the rows' `sample_ids`)."""

    def keyed(column: str, dtype: type) -> pd.Series:
        """The column indexed by sample id (what `rows.set_index("sample_id")[column]` is)."""
        values = rows[column].to_numpy()
        series = pd.Series(values, index=ids, name=column)
        # a column of the dtype already is not cast (a copy: the Series copied it)
        return series if values.dtype == np.dtype(dtype) else series.astype(dtype)

    if record.metric == "top5_acc":
        if "top5_correct" not in rows.columns:
            return None
        return PerSample(values=keyed("top5_correct", bool), binary=True)
    if record.metric.endswith("_acc") and record.metric not in _NOT_PLAIN_ACCURACY:
        return PerSample(values=keyed("correct", bool), binary=True)
    if record.metric in _MEAN_COLUMNS and record.metric in rows.columns:
        return PerSample(values=keyed(record.metric, np.float64), binary=False)
    if record.metric in _WHOLE_TABLE:
        return _classification(record, rows)
    return None


def _classification(record: MetricRecord, rows: pd.DataFrame) -> Resampled | None:
    """ECE, balanced accuracy or macro-F1 of one condition's rows."""
    needed = {"label", "prediction", "confidence"}
    if not needed <= set(rows.columns):
        return None
    labels = rows["label"].to_numpy(np.int64)
    predictions = rows["prediction"].to_numpy(np.int64)
    if labels.min(initial=0) < 0 or predictions.min(initial=0) < 0:
        return None
    confidence = rows["confidence"].to_numpy(np.float64)
    bins = CalibrationContext.of(record.context).bins or calibration.ECE_BINS
    source = WholeTable(record.metric, bins, labels, predictions, confidence)
    return classification_form(source, id_index(rows["sample_id"]))


try:  # pandas 3's text types: a stored table's text columns, and what pandas infers
    _STORED_TEXT: object = pd.StringDtype("pyarrow", na_value=pd.NA)
    _INFERRED_TEXT: object = pd.StringDtype("pyarrow", na_value=np.nan)
except (TypeError, ImportError):  # an older pandas: object columns, no shortcut
    _STORED_TEXT = _INFERRED_TEXT = None


def id_index(ids: pd.Series) -> pd.Index:
    """`pd.Index(ids.to_numpy())`: the rows' sample ids, as pandas infers them from the objects.
    A stored table's ids (Arrow text, none missing) are cast to the inferred text type in place
    (the same Arrow strings: 0.05 ms for 719 ids, where the round trip through Python strings
    took 0.6 ms); any other column takes the round trip."""
    if _STORED_TEXT is not None and ids.dtype == _STORED_TEXT and len(ids) and _no_nulls(ids):
        return pd.Index(ids.array.astype(_INFERRED_TEXT, copy=False))
    return pd.Index(ids.to_numpy())


def _no_nulls(ids: pd.Series) -> bool:
    """`not ids.hasnans` for Arrow text: Arrow's count of nulls (hasnans built a mask first)."""
    import pyarrow as pa

    arrow = getattr(ids.array, "_pa_array", None)
    if isinstance(arrow, pa.ChunkedArray):
        return arrow.null_count == 0
    return not ids.hasnans


@dataclass(frozen=True)
class WholeTable:
    """What a whole-table classification statistic (`_WHOLE_TABLE`) of one condition's rows is
    computed from: the metric, its ECE bins, and each row's label, prediction and confidence."""

    metric: str
    bins: int
    labels: np.ndarray  # int64
    predictions: np.ndarray  # int64
    confidence: np.ndarray  # float64


def classification_form(source: WholeTable, ids: pd.Index) -> Resampled:
    """The resampled form of ECE, balanced accuracy or macro-F1 from its `source` arrays, the
    rows' sample ids `ids` in the same order."""
    labels, predictions, confidence = source.labels, source.predictions, source.confidence
    k = int(max(labels.max(initial=0), predictions.max(initial=0))) + 1
    bins, metric = source.bins, source.metric

    def statistic(idx: np.ndarray) -> np.ndarray:
        if metric == "ece":
            return calibration.ece(confidence, labels == predictions, idx, bins)
        if metric == "balanced_acc":
            return calibration.balanced_accuracy(labels, labels == predictions, idx, k)
        return calibration.macro_f1(labels, predictions, idx, k)

    def debiased(idx: np.ndarray) -> np.ndarray:
        return calibration.debiased_ece(confidence, labels == predictions, idx, bins)

    def counted(counts_t: np.ndarray, at: np.ndarray) -> np.ndarray:
        if metric == "ece":
            return calibration.counted_debiased_ece(
                confidence, labels == predictions, counts_t, at, bins
            )
        if metric == "balanced_acc":
            return calibration.counted_balanced_accuracy(
                labels, labels == predictions, counts_t, at, k
            )
        return calibration.counted_macro_f1(labels, predictions, counts_t, at, k)

    strata = np.zeros(len(ids), dtype=np.int64)
    arrays = (labels, predictions, confidence, strata)
    fingerprint = _fingerprint(f"counted {metric} bins={bins} k={k}", arrays)
    if metric == "ece":
        return Resampled(
            ids,
            strata,
            statistic,
            tested=debiased,
            tested_name="debiased ECE",
            counted=counted,
            fingerprint=fingerprint,
            source=source,
        )
    return Resampled(
        ids=ids,
        strata=strata,
        statistic=statistic,
        counted=counted,
        fingerprint=fingerprint,
        source=source,
    )


def _fingerprint(what: str, arrays: tuple[np.ndarray, ...]) -> str:
    """sha256 of a statistic's name and settings and of its per-sample arrays (dtype, shape
    and bytes of each)."""
    digest = hashlib.sha256(what.encode() + b"\0")
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}\0".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _ood(record: MetricRecord, table: SampleTable) -> Resampled | None:
    """OOD detection metrics: ID (clean) and OOD scores, resampled within each set. A mean over
    the sets of a tag (`ood_mean=near` / `far`) is the mean of the metric over the sets whose
    rows carry that tag (`detection.OOD_TAG`), recomputed on the same resamples: the ID rows
    drawn once (every set is scored against them), each set within itself."""
    detector = DetectionContext.of(record.context).detector
    batch = detection.BATCH.get(record.metric)
    if detector is None or batch is None:
        return None
    column, sign = score_column(detector)
    if column not in table.frame.columns:
        return None
    design = _ood_design(table, record.condition)
    if design is None or design.repeated or min(np.diff(design.bounds, prepend=0)) < 2:
        # a set (or the test set) of one sample: every resample draws that row, so a test would
        # see only the other side's variance; its value has no interval and no paired form
        return None
    scores = sign * np.concatenate([rows[column].to_numpy(np.float64) for rows in design.parts])
    # Integer codes give the same statistics through faster paths (NaN scores stay as they are:
    # their statistics are undefined, which the float paths report).
    coded = not np.isnan(scores).any()
    values = detection.score_levels(scores) if coded else scores
    m, bounds = design.m, design.bounds
    keyed = _keyed_aupr(record.metric, values, m, bounds) if coded else None

    def statistic(idx: np.ndarray) -> np.ndarray:
        ins = values[idx[:, :m]]
        parts = [batch(ins, values[idx[:, a:b]]) for a, b in itertools.pairwise(bounds)]
        return np.asarray(parts[0] if len(parts) == 1 else np.mean(parts, axis=0))

    # what the statistic computes from besides the positions drawn: the metric and its path,
    # the scores (or their codes) in row order, the ID count and the sets' bounds
    fingerprint = _fingerprint(
        f"ood {record.metric} coded={coded} keyed={keyed is not None} m={m}",
        (values, np.asarray(bounds, dtype=np.int64), design.strata),
    )
    return Resampled(
        ids=design.ids,
        strata=design.strata,
        statistic=keyed or statistic,
        fingerprint=fingerprint,
    )


def _keyed_aupr(metric: str, codes: np.ndarray, m: int, bounds: np.ndarray) -> Statistic | None:
    """AUPR-In or AUPR-Out of OOD score codes (ID first, `m` of them; the sets between
    `bounds`) from their sort keys (`detection.aupr_keys`), gathered once per resample: the
    float64 `detection.BATCH` gives on the codes, without building each resample's keys from
    its codes. None for another metric, or codes of more than 2**15 levels."""
    is_id = np.arange(len(codes)) < m
    if metric == "ood_aupr":
        keys = detection.aupr_keys(codes, is_id)
    elif metric == "ood_aupr_out":  # the reversed order, OOD positive
        keys = detection.aupr_keys(codes.max() - codes, ~is_id)
    else:
        return None
    if keys is None:
        return None
    sets = list(itertools.pairwise(bounds))

    def positives(a: int, b: int) -> int:
        return m if metric == "ood_aupr" else b - a

    def statistic(idx: np.ndarray) -> np.ndarray:
        drawn = keys[idx]  # the ID columns, then each set's
        if len(sets) == 1:
            return detection.keyed_aupr(drawn, positives(*sets[0]))
        parts = [
            detection.keyed_aupr(
                np.concatenate([drawn[:, :m], drawn[:, a:b]], axis=1), positives(a, b)
            )
            for a, b in sets
        ]
        return np.asarray(np.mean(parts, axis=0))

    return statistic


@dataclass(frozen=True)
class _OODDesign:
    """The rows an OOD record of one condition reads, the same for every detector and metric:
    the ID (clean) rows and each OOD set's (`parts`, ID first), their ids, strata (0 for ID, 1
    and on for the sets), the sets' bounds in that order and the ID count `m`."""

    parts: list[pd.DataFrame]
    ids: pd.Index
    strata: np.ndarray
    bounds: np.ndarray
    m: int
    # a set whose inputs repeat (`detection.OOD_INPUT`): resampling its rows would count every
    # copy as a sample, so its records get no paired form (compared through their intervals,
    # which are built over the distinct inputs)
    repeated: bool = False


def _ood_design(table: SampleTable, condition: str) -> _OODDesign | None:
    """The design of a table's OOD records of `condition` (None: no ID or no OOD rows), built
    once per table and condition while the table lives."""
    cache = _derived(table)
    if ("ood", condition) not in cache:
        frame = table.frame
        clean = condition_rows(table, CLEAN)
        sets = _ood_sets(condition, frame)
        cache["ood", condition] = None if clean.empty or not sets else _design(clean, sets)
    design = cache["ood", condition]
    assert design is None or isinstance(design, _OODDesign)
    return design


def _design(clean: pd.DataFrame, sets: list[pd.DataFrame]) -> _OODDesign:
    m = len(clean)
    # OOD sample ids may repeat ID ids (and each other's) in principle: qualify them by set;
    # two runs whose means read different sets are not paired (paired_resample says so)
    ids = [f"id:{s}" for s in clean["sample_id"]]
    if len(sets) == 1:
        ids += [f"ood:{s}" for s in sets[0]["sample_id"]]
    else:
        ids += [f"{ss['condition'].iat[0]}:{s}" for ss in sets for s in ss["sample_id"]]
    sizes = [len(s) for s in sets]
    strata = np.repeat(np.arange(len(sets) + 1, dtype=np.int64), [m, *sizes])
    strata.flags.writeable = False  # shared by the table's OOD forms
    bounds = np.cumsum([m, *sizes])
    repeated = any(
        detection.OOD_INPUT in s.columns and s[detection.OOD_INPUT].notna().any() for s in sets
    )
    return _OODDesign([clean, *sets], pd.Index(ids), strata, bounds, m, repeated)


def _ood_sets(condition: str, frame: pd.DataFrame) -> list[pd.DataFrame]:
    """The OOD rows a record reads: its set's (`ood=<set>`), or each set of its tag
    (`ood_mean=<tag>`, in the table's order; none in a table without tags)."""
    if not condition.startswith(detection.MEAN_PREFIX):
        out = frame[frame["condition"] == condition]
        return [] if out.empty else [out]
    if detection.OOD_TAG not in frame.columns:
        return []
    tagged = frame[frame[detection.OOD_TAG] == condition.removeprefix(detection.MEAN_PREFIX)]
    return [tagged[tagged["condition"] == c] for c in dict.fromkeys(tagged["condition"])]


def _gap(record: MetricRecord, frame: pd.DataFrame) -> Resampled | None:
    """Clean accuracy minus accuracy on a shifted task: two sample sets, resampled separately."""
    clean = frame[frame["condition"] == CLEAN]
    shifted = frame[frame["condition"] == record.condition]
    if clean.empty or shifted.empty:
        return None
    hits = np.r_[clean["correct"].to_numpy(np.float64), shifted["correct"].to_numpy(np.float64)]
    m = len(clean)
    ids = pd.Index(
        [f"clean:{s}" for s in clean["sample_id"]] + [f"shifted:{s}" for s in shifted["sample_id"]]
    )
    strata = np.r_[np.zeros(m, dtype=np.int64), np.ones(len(shifted), dtype=np.int64)]

    def statistic(idx: np.ndarray) -> np.ndarray:
        return np.asarray(hits[idx[:, :m]].mean(axis=1) - hits[idx[:, m:]].mean(axis=1))

    return Resampled(ids=ids, strata=strata, statistic=statistic)


def _disparity(record: MetricRecord, frame: pd.DataFrame, config: GroupOptions) -> Resampled | None:
    """A fairness disparity of one grouping, recomputed on resamples drawn within groups."""
    group_by = GroupContext.of(record.context).group_by
    if group_by is None:
        return None
    rows = with_clean_reference(frame, record.condition)
    needs_drop = record.metric in ("worst_group_acc_drop", "group_acc_drop_gap")
    if rows.empty or (needs_drop and CLEAN_CORRECT not in rows.columns):
        return None
    grouping = group_by.split("&")
    sf = pd.DataFrame({col: group_values(rows, col).to_numpy() for col in grouping})
    # sorted as sorted() does; not np.unique of numpy text, which drops trailing NULs ("f" and
    # "f\x00" one level)
    codes, levels = pd.factorize(intersection_keys(sf, grouping), sort=True)
    codes = np.asarray(codes, dtype=np.int64)
    c = Columns.of(rows, config.positive_label)
    g, binary = (
        len(levels),
        record.metric in _BINARY_ONLY or bool(set(np.unique(c.label)) <= {0, 1}),
    )
    bins = config.ece_bins
    metric = record.metric
    parts = DISPARITY_STATS.get(metric, EVERY_STAT)  # what this disparity reads, no more

    def statistic(idx: np.ndarray) -> np.ndarray:
        stats = group_stats(c, codes, g, idx, binary, bins, parts)
        return disparity_values(stats, binary)[metric]

    return Resampled(ids=id_index(rows["sample_id"]), strata=codes, statistic=statistic)
