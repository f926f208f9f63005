"""`fairness` suite: per-group metrics and disparities over the task's sensitive attributes.

Predicts once on the clean split, attaches the (binned) group labels to the per-sample table and
computes the group breakdown (harness.stats.groups) for every grouping: single attributes
and intersections. The same breakdown of any other condition comes from `harness groups`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.core.adapter import ModelAdapter
from harness.core.board_notes import caveat_note, one_class_words
from harness.core.calibration_flags import COLUMN as PROBABILITY_COLUMN
from harness.core.calibration_flags import DECISION_COLUMN
from harness.core.errors import ConfigError, DatasetError
from harness.core.sample_table import CLEAN, SampleTable
from harness.core.suite import RunContext, Suite, SuiteResult
from harness.core.task import TRAIN_SPLIT, Task
from harness.core.task_columns import TaskColumns
from harness.core.threat_model import Headline
from harness.stats import tie_breaks
from harness.stats.groups import (
    Grouping,
    class_shown,
    group_breakdown,
    grouping_name,
    intersection_keys,
    positive_class_note,
)
from harness.suites.accuracy import predict
from harness.suites.fairness.binning import (
    bin_labels,
    binned_name,
    data_columns,
    group_labels,
    not_attributes,
)
from harness.suites.fairness.board import BOARD
from harness.suites.fairness.columns import (
    binary_label_error,
    check_task_columns,
    grouping_refusal,
    named_label_error,
)
from harness.suites.fairness.config import FairnessConfig
from harness.suites.fairness.group_metrics import records_from_breakdown


def requested_groupings(config: FairnessConfig, task: Task) -> list[tuple[str, ...]]:
    """Groupings of raw column names: the config's, else each group column and their intersection.

    Corruption cell columns and `source_id` are never taken as sensitive attributes by default
    (`binning.not_attributes`); naming one in `group_by` is refused by `skip_reason`
    (`columns.grouping_refusal`)."""
    if config.group_by is not None:
        return [(g,) if isinstance(g, str) else tuple(g) for g in config.group_by]
    skip = not_attributes(task)
    cols = tuple(c for c in task.group_columns if c not in skip)
    return [(c,) for c in cols] + ([cols] if len(cols) > 1 else [])


GROUP_BINS = "group_bins"  # the name of the task's bin edges among the job's input prints

# values that R, pandas and spreadsheets write for a missing cell (pandas' `astype(str)` turns
# NaN and None into "nan" and "None"): read as text they become a group of their own. Words a
# real category may be (`none` smokers, `na` a region code) are left out
MISSING_LIKE = frozenset(
    {"NA", "N/A", "n/a", "NaN", "nan", "NAN", "None", "null", "NULL", "<NA>", "#N/A"}
)


def one_class_notes(predictions: pd.Series, class_names: Sequence[str]) -> list[str]:
    """A board caveat when a binary task's model predicts one class on every row: its selection
    rate, TPR and FPR are then equal in every group by construction (0 or 1), so demographic
    parity and equalized odds read as perfectly fair (difference 0, as fairlearn computes them)
    while they say nothing about fairness."""
    values = predictions.unique()
    if len(predictions) == 0 or len(values) != 1:
        return []
    return [
        caveat_note(
            one_class_words(class_shown(class_names, int(values[0])), len(predictions)) + ", so "
            "demographic parity and equalized odds read as perfectly fair (difference 0) and say "
            "nothing about fairness; compare the groups' accuracy and error rates instead"
        )
    ]


def missing_like_notes(labels: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """A note per group column holding a value that usually marks a missing cell (`NA`, `nan`):
    it is reported as a group beside the real ones, which the user may not know."""
    notes = []
    for column in columns:
        counts = labels[column].value_counts()
        found = [(v, int(counts[v])) for v in counts.index if v in MISSING_LIKE]
        if found:
            listed = ", ".join(f"{v!r} ({n:,} samples)" for v, n in found)
            notes.append(
                f"group column {column!r} holds {listed}, a common marker of a missing value "
                "(R writes NA, pandas' astype(str) writes nan): it is reported as a group of its "
                "own; if it means missing, drop or fill those rows (a spec task: list it in "
                "missing_values to have it refused)"
            )
    return notes


@dataclass(frozen=True, kw_only=True)
class _Groups:
    """Raw group columns, their bin edges, each sample's (binned) group labels, the groupings."""

    columns: list[str]
    bins: dict[str, Sequence[float]]
    labels: pd.DataFrame
    groupings: list[Grouping]
    empty_bins: dict[str, list[str]]  # per binned column: its bins that hold no sample


def _clean_table(adapter: ModelAdapter, task: Task, ctx: RunContext) -> SampleTable:
    """One clean prediction per sample (argmax of the probabilities: ties go to the lowest class
    index), and whether the tie-break decides it (`label_tied`, harness.stats.tie_breaks): the
    group breakdown gives each number's range over every tie-break (harness.stats.group_ties).
    Whether each output was a probability vector, and whether the scores are decision margins
    (harness.core.probability_outputs), flag the group calibration numbers."""
    out = predict(adapter, task, ctx)
    probs = out["probs"]
    if len(probs) == 0:
        raise DatasetError(f"task {task.name!r} has no samples to evaluate")
    prediction = probs.argmax(axis=1)
    return SampleTable.build(
        {
            "sample_id": out["sample_id"],
            "condition": CLEAN,
            "label": out["label"],
            "prediction": prediction,
            "correct": prediction == out["label"],
            "confidence": probs.max(axis=1),
            tie_breaks.COLUMN: tie_breaks.decided_by_tie(probs, out["label"], 1),
            PROBABILITY_COLUMN: out[PROBABILITY_COLUMN],
            DECISION_COLUMN: out[DECISION_COLUMN],
        }
    )


class FairnessSuite(Suite):
    name = "fairness"
    # 2: Wilson group rates, disparity intervals that can contain 0, small_denominator;
    # 3: per-group ECE by the bias-aware interval (harness.stats.calibration.ece_interval);
    # 4: the table's label_tied column; every group metric and disparity that a tied row moves
    #    notes its range over the argmax tie-breaks and flags tied_scores when that range is
    #    wider than half its interval (harness.stats.group_ties; untied models' numbers as in 3)
    # 5: a gap between groups tied at an extreme (10/40 and 5/20) gets the union of the pairs'
    #    intervals, not the first group's against itself (harness.stats.group_intervals)
    # 6: the table's probability_output and decision_score columns; group ECE and its gap carry
    #    probability_outputs / decision_scores as the accuracy suite's ECE does
    # 7: group_ece_gap's interval by MOVER from the groups' bias-aware ECE intervals, not the
    #    percentile bootstrap of their plain ECEs (harness.stats.group_intervals.ece_gap_ci)
    # 8: group_tpr and group_fpr records carry the count their rate is of (the group's positive
    #    or negative labels) as n, not the group's size; the breakdown artifact gives each
    #    metric its n (values and intervals unchanged)
    # 9: notes name each small group with its counts (a group coded 0 read as "...: 0") and
    #    call groups a `limit` sample missed absent from the sample, not from the test split
    #    (notes only; no value or flag changed)
    # 10: bin labels print their edges exactly (binning._fmt): edges alike in 6 significant
    #    digits gave two bins one label, and their samples one group
    # 11: group ECE bins a confidence on a bin edge as the accuracy suite's ECE does (9)
    version = "12"
    description = "group metrics and disparities (fairlearn) with intervals"
    config_model = FairnessConfig
    metrics = BOARD.metrics

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        # `positive_label: malignant` (a class name where the key takes its index) is kept
        # aside and refused with the index the name has once the tasks are known
        # (check_task_columns); its pydantic error alone would say "a valid integer"
        given = dict(config or {})
        label = given.get("positive_label")
        self.positive_name: str | None = None
        if isinstance(label, str) and not label.strip().isdigit():
            self.positive_name = given.pop("positive_label")
        super().__init__(given)

    def _bins(self, task: Task) -> dict[str, Sequence[float]]:
        assert isinstance(self.config, FairnessConfig)
        return {**{k: list(v) for k, v in task.group_bins.items()}, **self.config.bins}

    def _bins_keys(self, task: Task) -> dict[str, str]:
        """The setting that gave each column's bin edges (the suite's bins override the task's)."""
        assert isinstance(self.config, FairnessConfig)
        return {
            c: f"suites.fairness.bins.{c}"
            if c in self.config.bins
            else f"group_bins.{c} of task {task.name!r}"
            for c in self._bins(task)
        }

    def input_fingerprints(self, task: Task) -> dict[str, str]:
        """The print of the training split's group columns: the groups it holds that the test
        split lacks are reported (`_train_coverage`), so an edit of them reruns the job. The
        job reads no training input, so an edit of those alone does not (nor is every
        training image read to hash it). And the task's `group_bins` of the columns it bins
        (`group_bins`; the suite's own `bins` are in its config hash): they are in no task
        fingerprint, so an edit of the edges alone reused the job grouped by the old edges."""
        assert isinstance(self.config, FairnessConfig)
        columns = sorted({c for g in requested_groupings(self.config, task) for c in g})
        out: dict[str, str] = {}
        printed = task.train_columns_fingerprint(columns)
        if printed is not None:
            out[TRAIN_SPLIT] = printed
        edges = {
            c: [float(e) for e in task.group_bins[c]]
            for c in columns
            if c in task.group_bins and c not in self.config.bins
        }
        if edges:  # none (a task without bins, or none grouped by): the key it had before
            text = json.dumps(edges, sort_keys=True).encode()
            out[GROUP_BINS] = hashlib.sha256(text).hexdigest()
        return out

    def plan_summary(
        self, headlines: Mapping[str, Headline | None], protocol: str | None = None
    ) -> list[str]:
        """A `bootstrap_resamples` of the suite's own is read by no interval of the suite (each
        is a closed form: only accuracy drops, under other conditions in `harness groups`, are
        resampled); it still keys the job. Said before any job, not refused: specs have it."""
        assert isinstance(self.config, FairnessConfig)
        if self.config.bootstrap_resamples is None:
            return []
        return [
            f"bootstrap_resamples ({self.config.bootstrap_resamples}) changes no number of this "
            "suite (its intervals are Wilson, Newcombe and bias-aware ECE intervals, none "
            "resampled) but keys its jobs apart; remove it"
        ]

    def check_task_columns(self, tasks: Mapping[str, TaskColumns]) -> list[str]:
        """`group_by`, `bins` and `positive_label` against the planned tasks' columns
        (`harness.suites.fairness.columns`)."""
        assert isinstance(self.config, FairnessConfig)
        if self.positive_name is not None:
            raise named_label_error(self.positive_name, tasks)
        return check_task_columns(self.config, tasks)

    def skip_reason(self, adapter: ModelAdapter, task: Task) -> str | None:
        assert isinstance(self.config, FairnessConfig)
        outcome = grouping_refusal(self.config, TaskColumns.of_task(task))
        if isinstance(outcome, ConfigError):
            raise outcome
        return outcome

    def run(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        assert isinstance(self.config, FairnessConfig)
        cfg = self.config
        if self.positive_name is not None:
            raise named_label_error(self.positive_name, {task.name: TaskColumns.of_task(task)})
        if task.num_classes == 2 and cfg.positive_label > 1:
            raise binary_label_error(cfg.positive_label, task.name)
        groups = self._groups(task)
        table = _clean_table(adapter, task, ctx).with_groups(groups.labels)
        breakdown = group_breakdown(
            table.condition(CLEAN),
            groups.groupings,
            num_classes=task.num_classes,
            seed=ctx.seed,
            condition=CLEAN,
            min_group_size=cfg.min_group_size,
            resamples=(
                cfg.bootstrap_resamples
                if cfg.bootstrap_resamples is not None
                else ctx.bootstrap_resamples
            ),
            positive_label=cfg.positive_label,
            ece_bins=cfg.ece_bins,
        )
        coverage = self._train_coverage(
            task, groups.columns, groups.bins, groups.labels, groups.groupings
        )
        notes = list(breakdown.notes)
        notes += missing_like_notes(
            groups.labels, [c for c in groups.columns if c not in groups.bins]
        )
        if task.num_classes == 2:
            notes.append(positive_class_note(task.class_names, cfg.positive_label))
            notes += one_class_notes(table.condition(CLEAN)["prediction"], task.class_names)
        elif "positive_label" in cfg.model_fields_set:  # set, and it changes nothing here
            notes.append(
                f"suites.fairness.positive_label ({cfg.positive_label}) applies to binary tasks "
                f"only: task {task.name!r} has {task.num_classes} classes, so no selection rate, "
                "TPR or FPR is computed and no class is counted as positive; the group metrics "
                "are accuracy and calibration over every class"
            )
        # a limited run sees a sample of the test split: a group it missed may be in the split
        where = (
            "the test split"
            if task.limit is None
            else f"the {len(task.data):,} test samples evaluated (limit {task.limit:,}; the "
            "test split may hold them)"
        )
        for name, absent in coverage.items():
            notes.append(
                f"{name}: groups present in the training split but absent from {where}: "
                + ", ".join(absent)
            )
        notes += unused_label_notes(task.group_labels, groups.labels, groups.columns, groups.bins)
        keys = self._bins_keys(task)
        for column, empty in groups.empty_bins.items():
            # a declared bin that holds no sample is in no group metric: say so, as an empty
            # intersection is listed, rather than report fewer groups than were declared
            notes.append(
                f"{binned_name(column)}: bins of {keys[column]} that hold no sample of {where}: "
                + ", ".join(empty)
                + "; every group metric, worst group and gap is over the other bins"
            )
        artifacts = {
            "groupings": [grouping_name(g) for g in groups.groupings],
            "bins": {binned_name(c): list(e) for c, e in groups.bins.items()},
            "min_group_size": cfg.min_group_size,
            "positive_label": cfg.positive_label if task.num_classes == 2 else None,
            "absent_in_test": coverage,
            "breakdown": breakdown.to_dict(),
        }
        return SuiteResult(
            table=table,
            metrics=records_from_breakdown(breakdown, suite=self.name),
            artifacts=artifacts,
            notes=notes,
        )

    def _groups(self, task: Task) -> _Groups:
        """The requested groupings with continuous columns binned, and each sample's groups."""
        assert isinstance(self.config, FairnessConfig)
        raw_groupings = requested_groupings(self.config, task)
        columns = list(dict.fromkeys(c for g in raw_groupings for c in g))
        task.check_groups(columns)  # a group column with empty cells fails this job alone
        bins = {c: e for c, e in self._bins(task).items() if c in columns}
        available = data_columns(task)
        labels = group_labels(
            task.data,
            columns,
            bins=bins,
            available=available,
            where=f"the evaluation split of task {task.name!r}",
            bins_keys=self._bins_keys(task),
        )
        rename = {c: binned_name(c) if c in bins else c for c in columns}
        groupings: list[Grouping] = [tuple(rename[c] for c in g) for g in raw_groupings]
        empty_bins: dict[str, list[str]] = {}
        for c, edges in bins.items():
            present = set(labels[rename[c]])
            empty = [b for b in bin_labels(list(edges)) if b not in present]
            if empty:
                empty_bins[c] = empty
        return _Groups(
            columns=columns, bins=bins, labels=labels, groupings=groupings, empty_bins=empty_bins
        )

    def _train_coverage(
        self,
        task: Task,
        columns: list[str],
        bins: Mapping[str, Sequence[float]],
        test_groups: pd.DataFrame,
        groupings: list[Grouping],
    ) -> dict[str, list[str]]:
        """Groups (per grouping) seen in the training split but not in the test split."""
        if task.train is None or not set(columns) <= set(task.train.column_names):
            return {}
        train_groups = group_labels(
            task.train,
            columns,
            bins=bins,
            available=task.train.column_names,
            where=f"the training split of task {task.name!r}",
            bins_keys=self._bins_keys(task),
        )
        out: dict[str, list[str]] = {}
        for grouping in groupings:
            cols = list(grouping)

            def keys(frame: pd.DataFrame, cols: list[str] = cols) -> set[str]:
                return set(intersection_keys(frame, cols))

            absent = sorted(keys(train_groups) - keys(test_groups))
            if absent:
                out[grouping_name(grouping)] = absent
        return out


LISTED_VALUES = 12  # a column's values listed in full up to this many, in a group_labels note


def unused_label_notes(
    declared: Mapping[str, Mapping[str, str]],
    labels: pd.DataFrame,
    columns: Sequence[str],
    bins: Mapping[str, Sequence[float]],
) -> list[str]:
    """Notes on the task's `group_labels` that label nothing: for each (unbinned) grouped
    column, the labels whose value the column holds in another case or spacing (a typo), or
    all of them when none names a value the column holds (the mapping was written for other
    codes). A label for a value merely absent from the samples evaluated is not a mistake."""
    notes = []
    for column in columns:
        mapping = declared.get(column)
        if not mapping or column in bins or column not in labels.columns:
            continue
        held = sorted(set(labels[column]))
        folded = {v.strip().casefold(): v for v in held}
        unused = [k for k in mapping if k not in held]
        near = {k: folded[k.strip().casefold()] for k in unused if k.strip().casefold() in folded}
        if near:
            named = ", ".join(f"{k!r} (the column holds {v!r})" for k, v in near.items())
        elif unused and len(unused) == len(mapping):
            named = ", ".join(repr(k) for k in unused)
        else:
            continue
        shown = ", ".join(repr(v) for v in held[:LISTED_VALUES])
        more = f", ... ({len(held)} in all)" if len(held) > LISTED_VALUES else ""
        notes.append(
            f"group_labels.{column}: {named} name no value of group column {column!r} (its "
            f"values: {shown}{more}), so they label nothing; a label names a value exactly as "
            "the column holds it"
        )
    return notes
