"""`accuracy` suite: clean accuracy and calibration, with intervals.

Per-sample columns: prediction, correct, confidence (top-label probability), nll, brier,
probability_output (the model's output row already was a probability vector), decision_score
(the model's scores are decision margins: `Capabilities.probabilities` is False), label_tied (the
label shares the top score with another class, so the tie-break decides the sample) and, with
more than five classes, top5_correct and label_tied_top5. When every row was a probability
vector (a model ending in a softmax), NLL, ECE and Brier carry the `probability_outputs` flag:
they are those of softmax(probabilities); when every score was a decision margin (scikit-learn's
decision_function), they carry `decision_scores`: softmax(margins) is not the model's
probability. Ties go to the lowest class index; when any sample is
decided by a tie, top-1 (top-5) accuracy says so in its note with the range over every
tie-break, and the numbers that rest on correctness (top-1, balanced accuracy, macro-F1, ECE,
per-class accuracy; top-5) carry `tied_scores` when that range is wider than half their 95%
interval (harness.stats.tie_breaks). Metrics:
top-1/top-5/balanced accuracy, macro-F1, NLL, ECE (15 equal-width bins, top-label), Brier score
and per-class accuracy; reliability-diagram data goes into the artifacts.

Intervals: proportions (top-1, top-5, per-class accuracy) get the Wilson score interval, so an
all-correct sample is never [1, 1]; a class with fewer than MIN_DENOMINATOR samples gets a note.
Balanced accuracy and macro-F1 get Wilson's interval at the stratified effective n over classes
(harness.stats.class_mean_intervals: never [1, 1] either), ECE the bias-aware interval of
harness.stats.calibration.ece_interval (the percentile bootstrap sat around ECE's upward
bias), Brier (in [0, 2]) Wilson's interval of a bounded mean (`intervals.bounded_mean_ci`), NLL
a seeded percentile bootstrap over samples when at least MIN_NLL_ERRORS samples are wrong (its
mean is carried by the unbounded losses of wrong samples; below that it gets no interval, with
the reason in its note).

NLL per sample is -log of the label's softmax probability, or, where that probability underflows
float64 (a logit gap beyond ~690), the label's log-softmax: a confident mistake is never capped.

Brier convention: the multi-class Brier score, summed over classes,
``sum_k (p_k - y_k)^2`` per sample (Brier 1950), in [0, 2]. For a binary task it is therefore
twice sklearn's `brier_score_loss` (which scores the positive class only).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from pydantic import Field

from harness.core.adapter import ModelAdapter, check_logits
from harness.core.calibration_flags import DECISION_COLUMN, DECISION_FLAG, calibration_flags
from harness.core.errors import DatasetError
from harness.core.metric_record import MetricRecord, spec_record
from harness.core.probability_outputs import COLUMN as PROBABILITY_COLUMN
from harness.core.probability_outputs import FLAG as PROBABILITY_FLAG
from harness.core.probability_outputs import PROBABILITY_FLOOR, probability_rows
from harness.core.sample_table import CLEAN, SampleTable
from harness.core.suite import RunContext, Suite, SuiteConfig, SuiteResult
from harness.core.task import Task
from harness.stats import calibration, class_mean_intervals, tie_breaks
from harness.stats.intervals import (
    BOUNDED_MEAN_METHOD,
    CI_METHOD,
    WILSON_METHOD,
    bootstrap_joint,
    bounded_mean_ci,
    proportion,
)
from harness.suites.accuracy_board import BOARD

MIN_PROBABILITY = 1e-300
"""Below this a label's softmax probability has lost its digits (float64 underflow): its NLL is
read from the log-softmax instead."""
MIN_NLL_ERRORS = 20
"""Below this many wrong samples NLL gets no interval: its percentile bootstrap covered 0.04-0.91
with 1-12 errors and 0.92-0.95 with 20 or more (docs/statistics.md)."""


class AccuracyConfig(SuiteConfig):
    ece_bins: int = Field(default=calibration.ECE_BINS, ge=2, le=100)


def predict(adapter: ModelAdapter, task: Task, ctx: RunContext) -> dict[str, np.ndarray]:
    """Run the model over the task once: sample ids, labels and class probabilities."""
    ids: list[str] = []
    labels: list[torch.Tensor] = []
    probs: list[torch.Tensor] = []
    label_log_probs: list[torch.Tensor] = []
    given_probs: list[torch.Tensor] = []
    for batch in task.batches(ctx.batch_size):
        # no graph: a function over a trainable module (a callable, an own adapter) built one
        # per batch, and the probabilities kept below held every batch's until the end
        with torch.no_grad():
            logits = adapter.logits(batch.inputs)
        check_logits(logits, num_classes=task.num_classes, model=adapter.name, task=task.name)
        probs.append(torch.softmax(logits.double(), dim=1).cpu())
        log_probs = torch.log_softmax(logits.double(), dim=1).cpu()
        label_log_probs.append(log_probs.gather(1, batch.labels.long().cpu()[:, None])[:, 0])
        given_probs.append(probability_rows(logits))
        labels.append(batch.labels)
        ids.extend(batch.sample_ids)
        if ctx.progress is not None:
            ctx.progress(len(batch), CLEAN, len(task))
    return {
        "sample_id": np.asarray(ids, dtype=object),
        "label": torch.cat(labels).numpy() if labels else np.zeros(0, dtype=np.int64),
        "probs": torch.cat(probs).numpy() if probs else np.zeros((0, task.num_classes)),
        "label_log_prob": torch.cat(label_log_probs).numpy() if probs else np.zeros(0),
        PROBABILITY_COLUMN: (
            torch.cat(given_probs).numpy() if given_probs else np.zeros(0, dtype=bool)
        ),
        DECISION_COLUMN: np.full(len(ids), not adapter.capabilities.probabilities),
    }


class AccuracySuite(Suite):
    name = "accuracy"
    # 2: Wilson intervals for proportions; 3: class-mean and ECE intervals; 4: the per-sample
    # probability_output column and the probability_outputs flag on NLL, ECE and Brier; 5: NLL of
    # a sample whose label probability underflows is its log-softmax, not capped at 690.8; 6: the
    # label_tied columns, a note on ties and the tied_scores flag; 7: the decision_score column
    # and the decision_scores flag on NLL, ECE and Brier; 8: top-5 gives a tie at the fifth place
    # to the lowest class index on tasks of more than 16 classes (as its note says)
    # 9: a confidence on an ECE bin edge (within 1e-5 of a bin width above it, float32's
    #    rounding of a declared probability) counts in the bin it closes; notes on macro-F1's
    #    absent classes and on NLL's floored zero probabilities
    version = "9"
    description = (
        "clean top-1/top-5/balanced accuracy, macro-F1, NLL, ECE, Brier, per-class accuracy"
    )
    config_model = AccuracyConfig
    shardable: ClassVar[bool] = True  # rows depend only on their own sample (docs/ray.md)
    metrics = BOARD.metrics

    def skip_reason(self, adapter: ModelAdapter, task: Task) -> str | None:
        return None

    def run(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        assert isinstance(self.config, AccuracyConfig)
        out = predict(adapter, task, ctx)
        labels, probs = out["label"], out["probs"]
        n, k = probs.shape
        if n == 0:
            raise DatasetError(f"task {task.name!r} has no samples to evaluate")
        prediction = probs.argmax(axis=1)
        correct = prediction == labels
        confidence = probs.max(axis=1)
        label_prob = probs[np.arange(n), labels]
        # -log of the softmax, as before, except where the label's probability underflows (a
        # logit gap beyond ~690): there the log-softmax, not a cap at -log(1e-300) = 690.8
        nll = np.where(
            label_prob >= MIN_PROBABILITY,
            -np.log(np.clip(label_prob, MIN_PROBABILITY, None)),
            -out["label_log_prob"],
        )
        onehot = np.zeros_like(probs)
        onehot[np.arange(n), labels] = 1.0
        brier = ((probs - onehot) ** 2).sum(axis=1)
        columns: dict[str, object] = {
            "sample_id": out["sample_id"],
            "condition": CLEAN,
            "label": labels,
            "prediction": prediction,
            "correct": correct,
            "confidence": confidence,
            "nll": nll,
            "brier": brier,
            PROBABILITY_COLUMN: out[PROBABILITY_COLUMN],
            DECISION_COLUMN: out[DECISION_COLUMN],
            tie_breaks.COLUMN: tie_breaks.decided_by_tie(probs, labels, 1),
        }
        if k > 5:
            top5 = np.argsort(-probs, axis=1, kind="stable")[:, :5]  # ties: lowest index
            columns["top5_correct"] = (top5 == labels[:, None]).any(axis=1)
            columns[tie_breaks.TOP5_COLUMN] = tie_breaks.decided_by_tie(probs, labels, 5)
        return self.result_from_table(SampleTable.build(columns), task, ctx)

    def result_from_table(self, table: SampleTable, task: Task, ctx: RunContext) -> SuiteResult:
        """Metrics and artifacts from the per-sample table: the whole run's, or merged shards'."""
        assert isinstance(self.config, AccuracyConfig)
        metrics = self.metrics_from_table(
            table,
            num_classes=task.num_classes,
            class_names=task.class_names,
            seed=ctx.seed,
            resamples=ctx.bootstrap_resamples,
        )
        clean = table.condition(CLEAN)
        artifacts: dict[str, object] = {
            "reliability_diagram": calibration.reliability_diagram(
                clean["confidence"].to_numpy(np.float64),
                clean["correct"].to_numpy(bool),
                self.config.ece_bins,
            )
        }
        checks = [
            {"flag": flag, "description": CALIBRATION_REASONS[flag]}
            for flag in calibration_flags(clean)
        ]
        if checks:
            artifacts["checks"] = checks
        return SuiteResult(table=table, metrics=metrics, artifacts=artifacts)

    def metrics_from_table(
        self,
        table: SampleTable,
        *,
        num_classes: int,
        class_names: tuple[str, ...],
        seed: int,
        resamples: int,
        condition: str = CLEAN,
    ) -> list[MetricRecord]:
        """All metrics of one condition, recomputable from the stored per-sample table."""
        assert isinstance(self.config, AccuracyConfig)
        frame = table.condition(condition)
        n = len(frame)
        labels = frame["label"].to_numpy(np.int64)
        predictions = frame["prediction"].to_numpy(np.int64)
        correct = frame["correct"].to_numpy(bool)
        confidence = frame["confidence"].to_numpy(np.float64)
        k = num_classes
        bins = self.config.ece_bins

        extras = {
            "nll": frame["nll"].to_numpy(np.float64),
            "brier": frame["brier"].to_numpy(np.float64),
        }
        if "top5_correct" in frame.columns:
            extras["top5_acc"] = frame["top5_correct"].to_numpy(np.float64)

        means = {"nll": extras["nll"]}  # Brier and the rest: `_intervals`

        def stats(idx: np.ndarray) -> dict[str, np.ndarray]:
            return {key: v[idx].mean(axis=1) for key, v in means.items()}

        point = calibration.classification_stats(
            labels, predictions, confidence, extras, np.arange(n)[None, :], k, bins
        )
        cis = bootstrap_joint(
            stats, n, seed=seed, name=f"{self.name}/{condition}", resamples=resamples
        )
        intervals = _intervals(labels, predictions, confidence, correct, k, bins, extras)
        distorted = calibration_flags(frame)
        tied = _tied(frame, tie_breaks.COLUMN, n)
        top1_ties = tie_breaks.tie_range(correct, tied)
        top1_tied = top1_ties.moves_more_than(intervals["top1_acc"][0])
        records: list[MetricRecord] = []
        for name in ("top1_acc", "top5_acc", "balanced_acc", "macro_f1", "nll", "ece", "brier"):
            if name not in point:
                continue
            ci, method, note = intervals.get(name) or (cis.get(name), CI_METHOD, None)
            flags = distorted if name in CALIBRATION_METRICS else ()
            if name in TIE_METRICS and top1_tied:
                flags = (*flags, tie_breaks.FLAG)
            if name == "top1_acc":
                note = _joined(note, top1_ties.note("top-1"))
            elif name == "balanced_acc":
                ties = tie_breaks.balanced_tie_range(correct, tied, labels, k)
                note = _joined(note, ties.note("top-1", "balanced accuracy"))
            elif name == "macro_f1" and top1_ties.tied:
                best = tie_breaks.best_macro_f1(labels, predictions, tied, k)
                note = _joined(note, top1_ties.best_note("top-1", "macro-F1", best))
            elif name == "nll":
                note = _joined(note, _floored_note(extras["nll"]))
            elif name == "top5_acc":
                top5_ties = tie_breaks.tie_range(
                    extras["top5_acc"] > 0, _tied(frame, tie_breaks.TOP5_COLUMN, n)
                )
                note = _joined(note, top5_ties.note("top-5"))
                if top5_ties.moves_more_than(ci):
                    flags = (*flags, tie_breaks.FLAG)
            records.append(
                spec_record(
                    self.metric_spec(name),
                    suite=self.name,
                    value=float(point[name][0]),
                    n=n,
                    condition=condition,
                    ci=ci,
                    ci_method=method if ci else None,
                    context={"bins": bins} if name == "ece" else {},
                    note=note,
                    flags=flags,
                )
            )
        for cls in range(k):
            mask = labels == cls
            share = proportion(
                int(correct[mask].sum()), int(mask.sum()), what="samples of this class"
            )
            class_ties = tie_breaks.tie_range(correct[mask], tied[mask])
            records.append(
                spec_record(
                    self.metric_spec("class_acc"),
                    suite=self.name,
                    value=share.value,
                    n=share.n,
                    condition=condition,
                    ci=share.ci,
                    ci_method=WILSON_METHOD if share.ci else None,
                    context={"class": class_names[cls] if cls < len(class_names) else str(cls)},
                    note=_joined(share.note, class_ties.note("top-1")),
                    flags=(tie_breaks.FLAG,) if class_ties.moves_more_than(share.ci) else (),
                )
            )
        return records


Interval = tuple[float, float] | None

CALIBRATION_METRICS = ("nll", "ece", "brier")  # computed from the softmax of the outputs
TIE_METRICS = ("top1_acc", "balanced_acc", "macro_f1", "ece")  # rest on top-1 correctness
CALIBRATION_REASONS = {
    PROBABILITY_FLAG: "the model returns probabilities, not logits (a final softmax): NLL, ECE "
    "and Brier are those of softmax(probabilities), a flattened confidence; return logits or "
    "log-probabilities",
    DECISION_FLAG: "the model's scores are decision margins (decision_function), not "
    "probabilities: NLL, ECE and Brier are those of softmax(margins), a mapping the model does "
    "not define; use an estimator with predict_proba (e.g. CalibratedClassifierCV) for "
    "calibration numbers",
}


def _tied(frame: pd.DataFrame, column: str, n: int) -> np.ndarray:
    """A stored tie column (harness.stats.tie_breaks); tables stored before it existed have
    none: no sample counted as tied."""
    if column not in frame.columns:
        return np.zeros(n, dtype=bool)
    return frame[column].to_numpy(bool)


FLOORED_NLL = -float(np.log(PROBABILITY_FLOOR))  # 27.63: a declared probability of 0


def _floored_note(nll: np.ndarray) -> str | None:
    """Samples whose NLL is that of a label probability of exactly 0 raised to
    PROBABILITY_FLOOR before the logarithm (within float32's rounding of its log): their own NLL
    is infinite, so the mean is a floor, not the model's NLL."""
    floored = int((np.abs(nll - FLOORED_NLL) <= 1e-4).sum())
    if not floored:
        return None
    return (
        f"{floored} sample(s) score NLL {FLOORED_NLL:.2f}, as a probability of exactly 0 for the "
        f"label does once raised to {PROBABILITY_FLOOR:g} before the logarithm: where the model "
        "gave 0, its own NLL is infinite and this mean is a lower bound (scikit-learn's log_loss "
        "clips at 2.2e-16: 36.04 per such sample)"
    )


def _joined(*notes: str | None) -> str | None:
    kept = [n for n in notes if n]
    return "; ".join(kept) if kept else None


def _intervals(
    labels: np.ndarray,
    predictions: np.ndarray,
    confidence: np.ndarray,
    correct: np.ndarray,
    k: int,
    bins: int,
    extras: dict[str, np.ndarray],
) -> dict[str, tuple[Interval, str, str | None]]:
    """(interval, method, note) of every metric that is not a plain mean of per-sample values:
    proportions by Wilson (never [1, 1] for an all-correct sample), balanced accuracy and
    macro-F1 at the stratified effective n over classes, ECE by its bias-aware interval."""
    n = len(labels)
    out: dict[str, tuple[Interval, str, str | None]] = {
        "top1_acc": (proportion(int(correct.sum()), n).ci, WILSON_METHOD, None)
    }
    if "top5_acc" in extras:
        top5 = proportion(int(extras["top5_acc"].sum()), n)
        out["top5_acc"] = (top5.ci, WILSON_METHOD, None)
    confusion = class_mean_intervals.confusion_matrix(labels, predictions, k)
    for name in class_mean_intervals.CLASS_METRICS:
        found = class_mean_intervals.class_mean(confusion, name)
        out[name] = (found.ci, class_mean_intervals.METHOD, found.note)
    ece_ci = calibration.ece_interval(confidence, correct, bins)
    out["ece"] = (ece_ci, calibration.ECE_METHOD, None)
    out["brier"] = (bounded_mean_ci(extras["brier"], 0.0, 2.0), BOUNDED_MEAN_METHOD, None)
    errors = int(n - correct.sum())
    if errors < MIN_NLL_ERRORS:  # the mean is carried by the few wrong samples
        note = (
            f"no interval: only {errors} wrong sample(s) (fewer than {MIN_NLL_ERRORS}); the mean "
            "NLL is carried by the losses of wrong samples, which are unbounded, and a bootstrap "
            "over so few would claim a precision the sample does not have"
        )
        out["nll"] = (None, CI_METHOD, note)
    return out
