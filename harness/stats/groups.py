"""Group breakdowns of a per-sample table: per-group metrics and disparities with intervals.

Works on the rows of one condition of a `SampleTable` (columns label, prediction, correct,
confidence and `group:<name>` columns), so the fairness suite (clean condition) and the
fairness x robustness view (any condition in stored tables) share one implementation. Point
estimates are the numbers fairlearn's `MetricFrame` gives, from group counts for all groups at
once (`harness.stats.group_statistics`; tests/analysis/test_groups.py holds them to
`MetricFrame` bit for bit). Intervals (`harness.stats.group_intervals`): Wilson for every group
rate, the bias-aware closed-form interval for ECE, a seeded percentile bootstrap within each
group for the accuracy drop (a clean table has none and draws no resamples), and simultaneous
intervals for the disparities, so a disparity's interval contains 0 when no pair
of groups differs significantly. A metric that is undefined for a group (no positives, an empty
intersection) is None with a note, and a disparity over an undefined group metric is None:
never a 0 difference or a ratio of 1. Groups below the minimum size carry
`insufficient_group_size`; a TPR or FPR resting on fewer positives or negatives than that
minimum carries `small_denominator`, and so does every disparity built on it.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from harness.core.calibration_flags import calibration_flags
from harness.core.errors import DatasetError
from harness.core.group_order import value_order
from harness.core.sample_table import GROUP_PREFIX, numpy_column
from harness.stats.calibration import (
    ECE_BINS,
    ECE_METHOD,
    GroupBinSums,
    resample_counts,
)
from harness.stats.group_intervals import (
    BOOTSTRAP_GAP_METHOD,
    BOOTSTRAP_GROUP_METHOD,
    ECE_GAP_METHOD,
    EXTREME_METHOD,
    GAP_METHOD,
    WILSON_GROUP_METHOD,
    Rate,
    bootstrap_gap_ci,
    bounds_together,
    ece_gap_ci,
    extreme_bootstrap_ci,
    extreme_rate_ci,
    rate_gap_ci,
    rate_ratio_ci,
    two_rate_gap_ci,
    two_rate_ratio_ci,
)
from harness.stats.group_statistics import (
    Columns,
    counted_group_stats,
    disparity_values,
    group_rates,
    group_stats,
    point_values,
    stratified_indices,
)
from harness.stats.group_ties import Spans, disparity_moved, group_moved, metric_spans
from harness.stats.intervals import DEFAULT_RESAMPLES
from harness.stats.shared_draws import SharedDraws

LABEL_GROUP = "label"  # `--by label`: group by true class (robustness by class)
INTERSECTION = "&"
INSUFFICIENT = "insufficient_group_size"
SMALL_DENOMINATOR = "small_denominator"

Grouping = tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """A value (None when undefined) with its 95% interval, how it was computed, a note (why
    undefined, or why unreliable) and reliability flags."""

    value: float | None
    ci: tuple[float, float] | None = None
    note: str | None = None
    flags: tuple[str, ...] = ()
    method: str | None = None
    # the count a rate is of where it is not the group's size (TPR: the group's positive
    # labels; FPR: its negative labels); None: the group's size (`GroupRow.n`)
    n: int | None = None


@dataclass(frozen=True, kw_only=True)
class GroupRow:
    """The metrics of one group (a value, or a combination of values for an intersection)."""

    group_by: str
    group: str
    n: int
    insufficient: bool
    metrics: dict[str, Estimate]

    def count(self, metric: str) -> int:
        """The n of one metric: the count its rate is of (TPR: positive labels; FPR: negative
        labels), else the group's size."""
        own = self.metrics[metric].n
        return self.n if own is None else own

    def flags(self, metric: str) -> tuple[str, ...]:
        """Reliability flags of one metric: a small group, then the metric's own (denominator)."""
        own = self.metrics[metric].flags
        return ((INSUFFICIENT,) if self.insufficient and self.n > 0 else ()) + own


@dataclass(frozen=True, kw_only=True)
class Disparity:
    """A between-group summary (difference, ratio, worst group) for one grouping."""

    group_by: str
    metric: str
    estimate: Estimate
    n: int
    insufficient_groups: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Breakdown:
    """Everything `group_breakdown` found for one condition."""

    condition: str
    n: int
    binary: bool
    groups: list[GroupRow]
    disparities: list[Disparity]
    notes: list[str] = field(default_factory=list)

    def disparity_records(self) -> list[dict[str, Any]]:
        """One dict per (grouping, disparity metric); undefined values stay None (never NaN)."""
        return [
            {
                "condition": self.condition,
                "group_by": d.group_by,
                "metric": d.metric,
                "value": d.estimate.value,
                "ci": list(d.estimate.ci) if d.estimate.ci else None,
                "n": d.n,
                "note": d.estimate.note,
                "flags": list(d.estimate.flags),
                "ci_method": d.estimate.method,
                "insufficient_groups": list(d.insufficient_groups),
            }
            for d in self.disparities
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (artifacts, `harness groups --format json`)."""
        return {
            "condition": self.condition,
            "n": self.n,
            "binary": self.binary,
            "groups": [
                {
                    "group_by": g.group_by,
                    "group": g.group,
                    "n": g.n,
                    "insufficient": g.insufficient,
                    "metrics": {
                        k: {
                            "n": g.count(k),
                            "value": e.value,
                            "ci": list(e.ci) if e.ci else None,
                            "note": e.note,
                            "flags": list(g.flags(k)),
                        }
                        for k, e in g.metrics.items()
                    },
                }
                for g in self.groups
            ],
            "disparities": self.disparity_records(),
            "notes": list(self.notes),
        }


def grouping_name(grouping: Grouping) -> str:
    return INTERSECTION.join(grouping)


def class_shown(class_names: Sequence[str], cls: int) -> str:
    """A class index with its name where the name says more: `1 ('yes')`, or `1`."""
    name = class_names[cls] if 0 <= cls < len(class_names) else None
    return f"{cls} ({name!r})" if name is not None and name != str(cls) else str(cls)


def positive_class_note(
    class_names: Sequence[str], positive_label: int, setting: str = "suites.fairness.positive_label"
) -> str:
    """Which class a binary task's selection rates, TPR and FPR count as positive, in words:
    a reader cannot tell it from the numbers, and with labels such as {yes, no} either reading
    is natural. The differences of demographic parity and equalized odds do not depend on it;
    the ratios, equal opportunity and the per-group rates do."""
    return (
        f"positive class: {class_shown(class_names, positive_label)} ({setting}); selection rate, TPR and FPR count predictions "
        "and labels of this class as positive (the ratios, equal opportunity and the per-group "
        "rates depend on this choice; the demographic parity and equalized odds differences do "
        "not)"
    )


def group_columns_of(frame: pd.DataFrame) -> list[str]:
    """Names of the group columns a table carries (without the `group:` prefix)."""
    return [c[len(GROUP_PREFIX) :] for c in frame.columns if c.startswith(GROUP_PREFIX)]


def intersection_keys(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Each row's intersection name: the text of `columns` joined by `&`, the values
    `frame[columns].astype(str).agg("&".join, axis=1)` gives, built in whole columns (that
    row-wise join ran Python per row: 20 s of a 200,000-row run's closing board)."""
    keys = frame[columns[0]].astype(str)
    for col in columns[1:]:
        keys = keys + INTERSECTION + frame[col].astype(str)
    return keys


def group_values(frame: pd.DataFrame, name: str) -> pd.Series:
    """The string values of group `name` (or the true class for `label`); clear error if bad."""
    return _group_column(frame, name).astype(str)


def group_text(frame: pd.DataFrame, name: str) -> np.ndarray:
    """`group_values` as a numpy array of text: integers (the true class, an integer group
    column) formatted by numpy, the digits `str` writes, without a pandas text column."""
    return _text_of(_group_column(frame, name))


def _text_of(values: pd.Series) -> np.ndarray:
    """`group_text` of a checked group column (`_group_column`)."""
    if _integer(values):
        return values.to_numpy().astype(str)
    return values.astype(str).to_numpy()


def _group_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column of group `name` (or the true class for `label`), refused with one clear line
    when missing, incomplete or continuous."""
    col = GROUP_PREFIX + name
    if col in frame.columns:
        values = frame[col]
    elif name == LABEL_GROUP:
        values = frame["label"]
    else:
        available = ", ".join(group_columns_of(frame)) or "(none)"
        raise DatasetError(
            f"group column {name!r} is not in the table (no column {col!r}); "
            f"available group columns: {available} (or 'label' to group by class)"
        )
    if _integer(values):  # numpy integers: none missing, none blank, not continuous
        return values
    missing = values.isna()
    if not pd.api.types.is_numeric_dtype(values):  # blank text is missing, as in a fairness run
        missing |= values.astype(str).str.strip() == ""
    if missing.any():
        example = frame.loc[missing, "sample_id"].iloc[0]
        raise DatasetError(
            f"group column {name!r} has {int(missing.sum())} missing values (e.g. sample "
            f"{example!r}); fill or drop them before a group breakdown"
        )
    if pd.api.types.is_float_dtype(values):
        raise DatasetError(
            f"group column {name!r} holds continuous values; bin it first (fairness suite "
            f"config `bins: {{{name}: [edges...]}}` or the task's group_bins)"
        )
    return values


_UNDEFINED_NOTES = {
    "tpr": "no positive labels in this group",
    "fpr": "no negative labels in this group",
}
_DENOMINATOR_NAMES = {"tpr": "positive labels", "fpr": "negative labels"}


def _percentile_ci(values: np.ndarray) -> tuple[float, float] | None:
    """95% percentile interval of the finite resample values."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return None
    lo, hi = np.quantile(finite, [0.025, 0.975])
    return float(lo), float(hi)


_USES = {
    "equal_opportunity_difference": ("tpr",),
    "equalized_odds_difference": ("tpr", "fpr"),
    "equalized_odds_ratio": ("tpr", "fpr"),
}


def _disparity_note(name: str, stats: dict[str, np.ndarray], labels: list[str]) -> str:
    """Why a disparity is undefined, naming the groups at fault."""
    active = stats["n"][0] > 0
    if not name.startswith("worst_group") and active.sum() < 2:
        return f"undefined: fewer than two non-empty groups ({int(active.sum())})"
    if active.sum() == 0:
        return "undefined: no non-empty group"
    parts = []
    for metric in _USES.get(name, ()):
        bad = [labels[i] for i in np.flatnonzero(active & np.isnan(stats[metric][0]))]
        if bad:
            parts.append(f"group(s) {', '.join(bad)}: {_UNDEFINED_NOTES[metric]}")
    if parts:
        return "undefined: " + "; ".join(parts)
    if name.endswith("_ratio"):
        return "undefined: the largest group rate is 0 (ratio 0/0)"
    return "undefined"


@dataclass(frozen=True, kw_only=True)
class _Computed:
    """Everything measured on one grouping: labels, point values, counts and resamples."""

    name: str
    labels: list[str]
    point: dict[str, np.ndarray]  # metric -> (1, G), the groups' own values
    rates: dict[str, Rate]
    boot: dict[str, np.ndarray]  # metric -> (R, G) for the bootstrapped metrics
    ece_cis: list[tuple[float, float] | None]  # each group's ECE interval (`ece_interval`)
    # every group's ECE interval at another level (the ECE gap's Bonferroni level)
    ece_cis_at: Callable[[float], list[tuple[float, float] | None]]
    n: int
    min_group_size: int
    # each metric's range over argmax tie-breaks per group; None when no row is tied
    ties: dict[str, Spans] | None = None

    @property
    def active(self) -> np.ndarray:
        return self.point["n"][0] > 0

    @functools.cached_property
    def wilson(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each rate's Wilson bounds of every group, computed once (a group's are its own
        `wilson_ci`'s, bit for bit: the same float64 operations element by element)."""
        bounds_together(list(self.rates.values()))
        return {metric: rate.bounds() for metric, rate in self.rates.items()}

    @functools.cached_property
    def numbers(self) -> _Numbers:
        """The groups' point values, rate trials and Wilson bounds as Python numbers, each
        array read once for all groups (a numpy scalar per group and metric cost ~1 us a read,
        ~20 reads a group's row)."""
        return _Numbers(
            values={metric: v[0].tolist() for metric, v in self.point.items()},
            trials={metric: rate.trials.tolist() for metric, rate in self.rates.items()},
            wilson={m: (low.tolist(), high.tolist()) for m, (low, high) in self.wilson.items()},
        )

    def small_denominators(self, metric: str) -> list[str]:
        """Active groups whose `metric` rests on fewer than `min_group_size` trials."""
        rate = self.rates.get(metric)
        if rate is None:
            return []
        small = self.active & (rate.trials > 0) & (rate.trials < self.min_group_size)
        return [self.labels[i] for i in np.flatnonzero(small)]


@dataclass(frozen=True)
class _Numbers:
    """`_Computed.numbers`: `values[metric][i]` is `point[metric][0, i]`, `trials[metric][i]`
    is `rates[metric].trials[i]` and `wilson[metric]` the rate's bounds, as `tolist` gives them
    (the same values: a float64's Python float, an integer's int)."""

    values: dict[str, list[Any]]
    trials: dict[str, list[Any]]
    wilson: dict[str, tuple[list[float], list[float]]]


_BOOTSTRAPPED = ("ece", "acc_drop")


def _group_codes(
    columns: Mapping[str, np.ndarray], grouping: Grouping
) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Every combination of the grouping's values (each column's string values sorted, the
    first column slowest) and each sample's combination index. `columns`: each grouping
    column's values as text (`group_values`), one per sample."""
    values: list[list[str]] = []
    codes = np.zeros(len(columns[grouping[0]]), dtype=np.int64)
    for col in grouping:
        # np.unique sorts Python strings as sorted() does; inverse: each value's level
        levels, inverse = np.unique(columns[col], return_inverse=True)
        values.append([str(v) for v in levels])
        codes = codes * len(levels) + inverse.reshape(-1)
    combos = list(itertools.product(*values))
    _refuse_ambiguous_names(grouping, combos)
    return combos, codes


def _codes_of(
    frame: pd.DataFrame, grouping: Grouping, shared: SharedDraws | None
) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """`_group_codes` of the frame's grouping columns (`group_text`), made once per command
    for tables whose grouping columns are the same integers (`harness groups --by label`: every
    model of a task has the same labels in the same order): the codes are a function of those
    values alone. Each table's columns are still checked (`_group_column`)."""
    columns = {col: _integer_group(frame, col) for col in grouping}

    def made() -> tuple[list[tuple[str, ...]], np.ndarray]:
        return _group_codes(
            {
                col: v.astype(str) if isinstance(v, np.ndarray) else _text_of(v)
                for col, v in columns.items()
            },
            grouping,
        )

    numbers = [
        v if isinstance(v, np.ndarray) else v.to_numpy()
        for v in columns.values()
        if isinstance(v, np.ndarray) or _integer(v)
    ]
    if shared is None or len(numbers) != len(columns):
        return made()
    key = ("group-codes", grouping, *((v.dtype.str, v.tobytes()) for v in numbers))
    return shared.draws(key, made)


def _integer_group(frame: pd.DataFrame, name: str) -> np.ndarray | pd.Series:
    """`_group_column(frame, name)`, as the numpy array of its integers where the column is
    numpy integers (which that check returns unread: none missing, none blank, not
    continuous), read without a pandas Series; else the checked column itself."""
    col = GROUP_PREFIX + name
    held = col if col in frame.columns else "label" if name == LABEL_GROUP else None
    values = None if held is None else numpy_column(frame, held)
    if values is not None and values.dtype.kind in "iu":
        return np.asarray(values)
    return _group_column(frame, name)


def _integer(values: pd.Series) -> bool:
    return isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu"


def _refuse_ambiguous_names(grouping: Grouping, combos: list[tuple[str, ...]]) -> None:
    """Two groups of an intersection whose names would be the same (a value holding the `&`
    that joins the values: ('x&y', 'z') and ('x', 'y&z') are both `x&y&z`) would report two
    groups' numbers under one name; refused, naming the values."""
    if len(grouping) < 2:
        return
    named: dict[str, tuple[str, ...]] = {}
    for combo in combos:
        name = INTERSECTION.join(combo)
        if name in named:
            joined = sorted(
                {
                    f"{column}={value!r}"
                    for pair in (combo, named[name])
                    for column, value in zip(grouping, pair, strict=True)
                    if INTERSECTION in value
                }
            )
            raise DatasetError(
                f"intersection {grouping_name(grouping)!r}: the groups {named[name]} and {combo} "
                f"would both be named {name!r}, because a value holds {INTERSECTION!r}, which "
                f"joins an intersection's values ({', '.join(joined)}); rename those values "
                "(or group by the columns one at a time)"
            )
        named[name] = combo


def _compute(
    frame: pd.DataFrame,
    grouping: Grouping,
    *,
    binary: bool,
    seed: int,
    condition: str,
    options: _Options,
) -> _Computed:
    """Point values (each group's own samples, as fairlearn computes them, checked against the
    vectorised counts), counts and resamples."""
    name = grouping_name(grouping)
    c = Columns.of(frame, options.positive_label)
    combos, codes = _codes_of(frame, grouping, options.shared)
    g = len(combos)
    point = point_values(c, codes, g, binary, options.ece_bins)
    bin_sums = GroupBinSums.of(c.confidence, c.correct, codes, g, options.ece_bins)
    boot: dict[str, np.ndarray] = {}
    # only accuracy drops take their interval from resamples (ECE's is a closed form): a
    # clean table, which has none, draws nothing
    if options.resamples > 0 and len(frame) >= 2 and c.clean_correct is not None:
        # the vectorised statistic the resamples go through must agree with the point values
        # on the full sample (a table that draws none has nothing for it to guard)
        check = group_stats(c, codes, g, np.arange(len(frame))[None, :], binary, options.ece_bins)
        for k, v in check.items():
            if not _agrees(v, point[k]):
                raise AssertionError(f"group statistic {k} disagrees with the groups' own values")
        boot = _bootstrap(c, codes, g, binary, seed, f"{condition}/{name}", options)
    return _Computed(
        name=name,
        labels=[INTERSECTION.join(combo) for combo in combos],
        point=point,
        rates=group_rates(c, codes, g, binary),
        boot=boot,
        ece_cis=bin_sums.intervals(),
        ece_cis_at=bin_sums.intervals,
        n=len(frame),
        min_group_size=options.min_group_size,
        ties=metric_spans(c, codes, g, binary=binary, nbins=options.ece_bins),
    )


def _agrees(a: np.ndarray, b: np.ndarray) -> bool:
    """`np.allclose(a, b, equal_nan=True)`: numpy's own test written out for two float arrays
    of one shape (its argument handling was most of its cost on a table's few groups)."""
    with np.errstate(invalid="ignore"):
        close = (np.abs(a - b) <= 1e-08 + 1e-05 * np.abs(b)) & np.isfinite(b) | (a == b)
        return bool((close | (np.isnan(a) & np.isnan(b))).all())


def _bootstrap(
    c: Columns, codes: np.ndarray, g: int, binary: bool, seed: int, name: str, options: _Options
) -> dict[str, np.ndarray]:
    """The bootstrapped metrics per resample and group (`_BOOTSTRAPPED`), on resamples drawn
    within groups. With `options.shared` (several tables broken down together, `harness
    groups`), tables with the same groups draw the same resamples, once, and each table's
    metrics come from how often each sample was drawn (`counted_group_stats`)."""

    def draw() -> np.ndarray:
        return stratified_indices(codes, g, resamples=options.resamples, seed=seed, name=name)

    if options.shared is None:
        stats = group_stats(c, codes, g, draw(), binary, options.ece_bins)
        return {k: stats[k] for k in _BOOTSTRAPPED if k in stats}
    key = ("group-bootstrap", seed, name, options.resamples, g, codes.tobytes())
    counts_t = options.shared.draws(key, lambda: resample_counts(draw(), len(codes)))
    return counted_group_stats(c, codes, g, counts_t, options.ece_bins)


def _group_estimate(comp: _Computed, metric: str, i: int) -> Estimate:
    """One group's metric, with its range over argmax tie-breaks in its note when a tied row
    moves it (and `tied_scores` when that range is wider than half its interval)."""
    est = _own_estimate(comp, metric, i)
    spans = comp.ties.get(metric) if comp.ties else None
    if spans is None or est.value is None:
        return est
    moved = group_moved(spans, i)
    if metric == "acc_drop":  # a sample's clean and condition rows each tie on their own
        moved = replace(moved, ties=replace(moved.ties, n=2 * moved.ties.n))
    note = moved.note(f"its {_WORDS[metric]}", _ROWS_OF.get(metric, "rows"))
    if note is None:
        return est
    return replace(est, note=_joined(est.note, note), flags=est.flags + moved.flags(est.ci))


_WORDS = {
    "acc": "accuracy",
    "ece": "ECE",
    "selection_rate": "selection rate",
    "tpr": "TPR",
    "fpr": "FPR",
    "clean_acc": "clean accuracy",
    "acc_drop": "accuracy drop",
}
GROUP_METRICS = frozenset(_WORDS)
"""The numbers of one group (`harness groups` rows named by the group); the others are numbers
across the groups (disparities), whose rows carry the group `*`."""
_ROWS_OF = {
    "tpr": "positive rows",
    "fpr": "negative rows",
    "acc_drop": "clean and condition rows",
    "equal_opportunity_difference": "positive rows",
    "worst_group_acc_drop": "clean and condition rows",
    "group_acc_drop_gap": "clean and condition rows",
}


_DISPARITY_WORDS = {
    "worst_group_acc": "worst-group accuracy",
    "group_acc_gap": "accuracy gap",
    "group_ece_gap": "ECE gap",
    "demographic_parity_difference": "demographic parity difference",
    "demographic_parity_ratio": "demographic parity ratio",
    "equalized_odds_difference": "equalized odds difference",
    "equalized_odds_ratio": "equalized odds ratio",
    "equal_opportunity_difference": "equal opportunity difference",
    "worst_group_acc_drop": "worst-group accuracy drop",
    "group_acc_drop_gap": "gap in accuracy drops",
}


def _joined(*notes: str | None) -> str | None:
    kept = [n for n in notes if n]
    return "; ".join(kept) if kept else None


def _own_estimate(comp: _Computed, metric: str, i: int) -> Estimate:
    """One group's metric: Wilson for rates (with a small-denominator note), else bootstrap."""
    numbers = comp.numbers
    count = int(numbers.values["n"][i])
    value = numbers.values[metric][i]
    rate = comp.rates.get(metric)
    # an undefined TPR/FPR is of its 0 positives/negatives, not of the group's size
    own_n = (
        int(numbers.trials[metric][i])
        if rate is not None and metric in _DENOMINATOR_NAMES
        else None
    )
    if count == 0:
        return Estimate(value=None, note="no samples in this group (empty intersection)", n=own_n)
    if not math.isfinite(value):
        return Estimate(value=None, note=_UNDEFINED_NOTES.get(metric, "undefined"), n=own_n)
    if metric == "ece":  # biased upward in small groups: the bias-aware interval
        ci = comp.ece_cis[i]
        return Estimate(value=float(value), ci=ci, method=ECE_METHOD if ci else None)
    if rate is None:
        boot = comp.boot.get(metric)
        ci = _percentile_ci(boot[:, i]) if boot is not None else None
        method = BOOTSTRAP_GROUP_METHOD if ci else None
        return Estimate(value=float(value), ci=ci, method=method)
    trials = int(numbers.trials[metric][i])
    note: str | None = None
    flags: tuple[str, ...] = ()
    if metric in _DENOMINATOR_NAMES and trials < comp.min_group_size:
        note = (
            f"only {trials} {_DENOMINATOR_NAMES[metric]} in this group (fewer than "
            f"{comp.min_group_size}): the rate is unreliable and its interval wide"
        )
        flags = (SMALL_DENOMINATOR,)
    low, high = numbers.wilson[metric]
    ci = (float(low[i]), float(high[i])) if trials > 0 else None  # `wilson_ci`'s
    return Estimate(
        value=float(value),
        ci=ci,
        note=note,
        flags=flags,
        method=WILSON_GROUP_METHOD,
        n=trials if metric in _DENOMINATOR_NAMES else None,
    )


def _group_rows(comp: _Computed, condition: str) -> tuple[list[GroupRow], list[str], list[str]]:
    """Every group's row, the notes, and the non-empty groups below the minimum size."""
    rows: list[GroupRow] = []
    notes: list[str] = []
    insufficient: list[str] = []
    small: list[str] = []  # as the note lists them: each with its size
    empty: list[str] = []
    metrics = [k for k in comp.point if k != "n"]
    counts = comp.numbers.values["n"]
    for i, label in enumerate(comp.labels):
        count = int(counts[i])
        if 0 < count < comp.min_group_size:
            insufficient.append(label)
            small.append(f"{label} ({_counted(count, 'sample', 'samples')})")
        if count == 0:
            empty.append(label)
        rows.append(
            GroupRow(
                group_by=comp.name,
                group=label,
                n=count,
                insufficient=count < comp.min_group_size,
                metrics={k: _group_estimate(comp, k, i) for k in metrics},
            )
        )
    if empty:  # one line per grouping: an intersection of many values is mostly empty
        notes.append(
            f"{comp.name}: {len(empty)} group(s) with no samples in condition {condition!r}: "
            + _listed(empty)
        )
    if insufficient:
        notes.append(
            f"{comp.name}: groups with fewer than {comp.min_group_size} samples (insufficient "
            "data): " + _listed(small)
        )
    return rows, notes, insufficient


_LISTED = 20  # groups a note names before it counts the rest


def _counted(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _small_groups(comp: _Computed, metric: str) -> list[str]:
    """The groups whose rates `metric` rests on have too few trials, each with those counts
    (a group coded 0 listed bare read as "none": `...: 0`)."""
    rates = _USES.get(metric, ())
    small = {g for rate in rates for g in comp.small_denominators(rate)}
    shown = []
    for i, label in enumerate(comp.labels):
        if label not in small:
            continue
        counts = [
            _counted(
                int(comp.rates[r].trials[i]), _DENOMINATOR_NAMES[r][:-1], _DENOMINATOR_NAMES[r]
            )
            for r in rates
            if r in comp.rates
        ]
        shown.append((label, f"{label} ({', '.join(counts)})"))
    return [text for _, text in sorted(shown)]


def _listed(labels: list[str]) -> str:
    more = len(labels) - _LISTED
    return ", ".join(labels[:_LISTED]) + (f" and {more} more" if more > 0 else "")


def _disparity_ci(comp: _Computed, metric: str) -> tuple[tuple[float, float] | None, str]:
    """The disparity's interval and its method (module docstring of group_intervals)."""
    active, rates, boot = comp.active, comp.rates, comp.boot
    if metric == "worst_group_acc":
        return extreme_rate_ci(rates["acc"], active, largest=False), EXTREME_METHOD
    if metric in ("demographic_parity_ratio", "equalized_odds_ratio"):
        if metric == "demographic_parity_ratio":
            return rate_ratio_ci(rates["selection_rate"], active), EXTREME_METHOD
        return two_rate_ratio_ci(rates["tpr"], rates["fpr"], active), EXTREME_METHOD
    if metric == "equalized_odds_difference":
        return two_rate_gap_ci(rates["tpr"], rates["fpr"], active), GAP_METHOD
    gap_of = {
        "group_acc_gap": "acc",
        "demographic_parity_difference": "selection_rate",
        "equal_opportunity_difference": "tpr",
    }
    if metric in gap_of:
        return rate_gap_ci(rates[gap_of[metric]], active), GAP_METHOD
    if metric == "group_ece_gap":  # from the groups' bias-aware intervals, not the bootstrap
        return ece_gap_ci(comp.point["ece"][0], comp.ece_cis_at, active), ECE_GAP_METHOD
    if not boot:
        return None, ""
    if metric == "worst_group_acc_drop":
        ci = extreme_bootstrap_ci(boot["acc_drop"], active, largest=True)
        return ci, BOOTSTRAP_GAP_METHOD
    source = "ece" if metric == "group_ece_gap" else "acc_drop"
    return bootstrap_gap_ci(boot[source], comp.point[source][0], active), BOOTSTRAP_GAP_METHOD


def _disparity_rows(comp: _Computed, binary: bool, insufficient: list[str]) -> list[Disparity]:
    """Every disparity of the grouping with its interval, note and flags."""
    out: list[Disparity] = []
    for metric, value in disparity_values(comp.point, binary).items():
        v = float(value[0])
        small = _small_groups(comp, metric)
        flags = ((INSUFFICIENT,) if insufficient else ()) + ((SMALL_DENOMINATOR,) if small else ())
        if not np.isfinite(v):
            est = Estimate(value=None, note=_disparity_note(metric, comp.point, comp.labels))
        else:
            ci, method = _disparity_ci(comp, metric)
            note = (
                f"groups with fewer than {comp.min_group_size} {_uses_text(metric)}: "
                + _listed(small)
                if small
                else None
            )
            est = Estimate(value=v, ci=ci, note=note, method=method if ci else None)
        est = _disparity_ties(comp, metric, replace(est, flags=flags))
        out.append(
            Disparity(
                group_by=comp.name,
                metric=metric,
                estimate=est,
                n=comp.n,
                insufficient_groups=tuple(insufficient),
            )
        )
    return out


def _disparity_ties(comp: _Computed, metric: str, est: Estimate) -> Estimate:
    """A disparity with its range over argmax tie-breaks in its note (also when undefined as
    stored: another tie-break can define it) and `tied_scores` when that range is wider than
    half its interval (or it has none and moves)."""
    if comp.ties is None:
        return est
    moved = disparity_moved(comp.ties, metric, comp.active)
    if moved is None:
        return est
    if metric in ("worst_group_acc_drop", "group_acc_drop_gap"):
        moved = replace(moved, ties=replace(moved.ties, n=2 * moved.ties.n))
    note = moved.note(f"the {_DISPARITY_WORDS[metric]}", _ROWS_OF.get(metric, "rows"))
    if note is None:
        return est
    return replace(est, note=_joined(est.note, note), flags=est.flags + moved.flags(est.ci))


def _uses_text(metric: str) -> str:
    return " or ".join(_DENOMINATOR_NAMES[r] for r in _USES.get(metric, ()))


@dataclass(frozen=True, kw_only=True)
class _Options:
    min_group_size: int = 20
    resamples: int = DEFAULT_RESAMPLES
    positive_label: int = 1
    ece_bins: int = ECE_BINS
    shared: SharedDraws | None = None


def breakdown_grouping(
    frame: pd.DataFrame,
    grouping: Grouping,
    *,
    num_classes: int,
    seed: int,
    condition: str,
    min_group_size: int = 20,
    resamples: int = DEFAULT_RESAMPLES,
    positive_label: int = 1,
    ece_bins: int = ECE_BINS,
    shared: SharedDraws | None = None,
) -> tuple[list[GroupRow], list[Disparity], list[str]]:
    """Group rows, disparities and notes of one grouping (one column or an intersection).
    `shared`: resamples kept across the tables of one command (`_bootstrap`)."""
    options = _Options(
        min_group_size=min_group_size,
        resamples=resamples,
        positive_label=positive_label,
        ece_bins=ece_bins,
        shared=shared,
    )
    binary = num_classes == 2
    comp = _compute(frame, grouping, binary=binary, seed=seed, condition=condition, options=options)
    rows, notes, insufficient = _group_rows(comp, condition)
    return rows, _disparity_rows(comp, binary, insufficient), notes


def group_breakdown(
    frame: pd.DataFrame,
    groupings: Sequence[Grouping],
    *,
    num_classes: int,
    seed: int,
    condition: str,
    min_group_size: int = 20,
    resamples: int = DEFAULT_RESAMPLES,
    positive_label: int = 1,
    ece_bins: int = ECE_BINS,
    shared: SharedDraws | None = None,
) -> Breakdown:
    """The breakdown of one condition's rows over several groupings (`shared`: resamples kept
    across the tables of one command, see `_bootstrap`)."""
    if len(frame) == 0:
        raise DatasetError(f"condition {condition!r} has no rows to break down by group")
    groups: list[GroupRow] = []
    disparities: list[Disparity] = []
    notes: list[str] = []
    for grouping in groupings:
        r, d, n = breakdown_grouping(
            frame,
            tuple(grouping),
            num_classes=num_classes,
            seed=seed,
            condition=condition,
            min_group_size=min_group_size,
            resamples=resamples,
            positive_label=positive_label,
            ece_bins=ece_bins,
            shared=shared,
        )
        order = {v: i for i, v in enumerate(value_order(g.group for g in r))}
        groups += sorted(r, key=lambda g: order[g.group])  # bands by their numeric bounds
        disparities += d
        notes += n
    distorted = calibration_flags(frame)
    if distorted:  # the group ECEs and their gap are those of softmax(outputs) (accuracy's ECE)
        groups = [_with_flags(g, "ece", distorted) for g in groups]
        disparities = [
            replace(d, estimate=replace(d.estimate, flags=d.estimate.flags + distorted))
            if d.metric == "group_ece_gap"
            else d
            for d in disparities
        ]
    return Breakdown(
        condition=condition,
        n=len(frame),
        binary=num_classes == 2,
        groups=groups,
        disparities=disparities,
        notes=notes,
    )


def _with_flags(row: GroupRow, metric: str, flags: tuple[str, ...]) -> GroupRow:
    """`row` with `flags` added to its `metric` (when it has that metric)."""
    if metric not in row.metrics:
        return row
    est = row.metrics[metric]
    return replace(row, metrics={**row.metrics, metric: replace(est, flags=est.flags + flags)})
