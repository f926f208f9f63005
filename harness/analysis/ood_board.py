"""The OOD detection board of a task: per model a detector x OOD-set table, paired comparisons,
and the score distributions behind the headline detector (no torch; renders nothing).

- `DetectorTable`: every detector's AUROC, FPR@95, AUPR-In and AUPR-Out (with intervals) on each
  OOD set and on the near / far means, the detectors left out with the reason, the headline
  detector and the fit subset (the shift suite's `ood` artifact).
- `PairedDetection`: AUROC differences on the same samples by DeLong's paired test
  (`detection.delong_paired`): on each set, the headline detector against every other detector
  of the same model, and every two models on the headline detector (their rows matched by
  sample id); on a set whose inputs repeat, over its distinct inputs (the copies of one input
  one cluster, `detection.OOD_INPUT`). The p-values are Holm-adjusted over every comparison of
  the board, as the other boards' paired tests are. A detector whose AUROC on the set carries a reliability flag (the
  scores of a model returning probabilities) is not compared, as the model comparison leaves
  flagged numbers out: the score columns the test reads do not carry the flag.
- `ScoreHistogram`: the headline detector's scores on the test set and on each OOD set.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np
import pandas as pd

from harness.analysis.caveats import caveats
from harness.core.board_notes import CAVEAT_NOTE_START
from harness.core.detection_context import DetectionContext, score_column
from harness.core.manifest import JobStatus
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import CLEAN
from harness.stats.detection import OOD_INPUT, cluster_codes, delong_paired
from harness.stats.intervals import holm
from harness.store.recency import oldest_first
from harness.store.run_store import LoadedJob, StoredJob

METRICS = ("ood_auroc", "ood_fpr_at_95_tpr", "ood_aupr", "ood_aupr_out")


@dataclass(frozen=True)
class DetectorTable:
    """One model's detection results on a task."""

    model: str
    detectors: list[str]
    sets: list[str]  # conditions: ood=<set> in run order, then ood_mean=near / far
    cells: dict[tuple[str, str, str], MetricRecord]  # (detector, condition, metric)
    absent: dict[str, str]
    headline: str
    fit: dict[str, object]
    # what the fit changed (a shrunk covariance, knn's k capped, classes without fit samples) and
    # the job's notes on its OOD sets (one labelled with the task's classes)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PairedDetection:
    """AUROC(a) - AUROC(b) on the same samples of one OOD set (DeLong paired)."""

    kind: str  # "detectors" (of `model`) or "models" (on detector `detector`)
    condition: str
    a: str
    b: str
    model: str | None
    detector: str
    difference: float
    ci: tuple[float, float] | None
    p: float | None
    p_holm: float | None = None


@dataclass(frozen=True)
class ScoreHistogram:
    """The headline detector's scores of one model: the test set and each OOD set."""

    model: str
    detector: str
    test: np.ndarray
    sets: dict[str, np.ndarray]


@dataclass
class OODBoard:
    task: str
    tables: list[DetectorTable] = field(default_factory=list)
    comparisons: list[PairedDetection] = field(default_factory=list)
    histograms: list[ScoreHistogram] = field(default_factory=list)


def _latest(
    task: str, loaded: Sequence[LoadedJob], suites: Collection[str]
) -> dict[str, StoredJob]:
    latest: dict[str, StoredJob] = {}
    for _man, job in oldest_first(loaded):
        r = job.record
        if r.task == task and r.suite in suites and job.status == JobStatus.COMPLETED:
            latest[r.model] = job
    return latest


def _table(model: str, job: StoredJob) -> DetectorTable | None:
    artifact = job.artifacts().get("ood")
    if not isinstance(artifact, dict):
        return None
    cells: dict[tuple[str, str, str], MetricRecord] = {}
    sets: list[str] = []
    for r in job.metrics:
        detector = DetectionContext.of(r.context).detector
        if r.metric in METRICS and r.condition and detector is not None:
            cells[(detector, r.condition, r.metric)] = r
            if r.condition not in sets:
                sets.append(r.condition)
    sets.sort(key=lambda c: (c.startswith("ood_mean="), c == "ood_mean=far"))
    return DetectorTable(
        model=model,
        detectors=[str(d) for d in artifact.get("detectors", [])],
        sets=sets,
        cells=cells,
        absent={str(k): str(v) for k, v in dict(artifact.get("absent", {})).items()},
        headline=str(artifact.get("headline", "energy")),
        fit=dict(artifact.get("fit", {})),
        notes=[str(n) for n in artifact.get("fit_notes", [])]
        + [_set_note(n) for n in job.record.notes if _set_note(n).startswith("OOD set ")],
    )


def _set_note(note: str) -> str:
    """A job note without its board marker (`caveat: `)."""
    return note.removeprefix(CAVEAT_NOTE_START)


def _scores(frame: pd.DataFrame, condition: str, detector: str) -> pd.Series | None:
    column, sign = score_column(detector)
    if column not in frame.columns:
        return None
    rows = frame[frame["condition"] == condition]
    return pd.Series(sign * rows[column].to_numpy(np.float64), index=rows["sample_id"].to_numpy())


def _pair(
    frame_a: pd.DataFrame, frame_b: pd.DataFrame, condition: str, det_a: str, det_b: str
) -> tuple[float, tuple[float, float] | None, float | None] | None:
    """DeLong paired on the samples both frames score (matched by id), or None."""
    parts = [
        _scores(f, c, d)
        for f, d in ((frame_a, det_a), (frame_b, det_b))
        for c in (CLEAN, condition)
    ]
    if any(p is None for p in parts):
        return None
    a_in, a_out, b_in, b_out = (p for p in parts if p is not None)
    ids_in = a_in.index.intersection(b_in.index)
    ids_out = a_out.index.intersection(b_out.index)
    if len(ids_in) < 2 or len(ids_out) < 2:
        return None
    a = (a_in[ids_in].to_numpy(), a_out[ids_out].to_numpy())
    b = (b_in[ids_in].to_numpy(), b_out[ids_out].to_numpy())
    if not all(np.isfinite(x).all() for x in (*a, *b)):
        return None
    return delong_paired(a, b, clusters=_inputs(frame_a, condition, ids_out))


def _inputs(frame: pd.DataFrame, condition: str, ids: pd.Index) -> np.ndarray | None:
    """The cluster codes of a set whose inputs repeat (`detection.OOD_INPUT`: copies of one
    input one cluster) for the rows `ids`, or None for a set without copies."""
    if OOD_INPUT not in frame.columns:
        return None
    rows = frame[frame["condition"] == condition]
    codes = pd.Series(rows[OOD_INPUT].to_numpy(), index=rows["sample_id"].to_numpy())[ids]
    if codes.isna().any():
        return None
    return cluster_codes(codes.astype(np.int64).tolist())


def _flagged(table: DetectorTable, detector: str, condition: str) -> bool:
    """Whether the detector's AUROC on the set carries an excluding caveat (a reliability flag,
    an upper bound): its scores are not compared."""
    record = table.cells.get((detector, condition, "ood_auroc"))
    return record is not None and any(
        c.kind in ("upper_bound", "unreliable") for c in caveats(record)
    )


def _detector_pairs(table: DetectorTable, frame: pd.DataFrame) -> list[PairedDetection]:
    out = []
    for condition in (c for c in table.sets if c.startswith("ood=")):
        for other in table.detectors:
            if other == table.headline:
                continue
            if _flagged(table, table.headline, condition) or _flagged(table, other, condition):
                continue
            got = _pair(frame, frame, condition, table.headline, other)
            if got is not None:
                diff, ci, p = got
                out.append(
                    PairedDetection(
                        "detectors",
                        condition,
                        table.headline,
                        other,
                        table.model,
                        table.headline,
                        diff,
                        ci,
                        p,
                    )  # fmt: skip
                )
    return out


def _model_pairs(
    tables: list[DetectorTable], frames: dict[str, pd.DataFrame]
) -> list[PairedDetection]:
    out = []
    for ta, tb in combinations(tables, 2):
        detector = ta.headline
        if detector != tb.headline:
            continue
        for condition in (c for c in ta.sets if c.startswith("ood=") and c in tb.sets):
            if _flagged(ta, detector, condition) or _flagged(tb, detector, condition):
                continue
            got = _pair(frames[ta.model], frames[tb.model], condition, detector, detector)
            if got is not None:
                diff, ci, p = got
                out.append(
                    PairedDetection(
                        "models", condition, ta.model, tb.model, None, detector, diff, ci, p
                    )
                )
    return out


def _histogram(table: DetectorTable, frame: pd.DataFrame) -> ScoreHistogram | None:
    test = _scores(frame, CLEAN, table.headline)
    if test is None:
        return None
    sets = {}
    for condition in (c for c in table.sets if c.startswith("ood=")):
        values = _scores(frame, condition, table.headline)
        if values is not None:
            sets[condition.removeprefix("ood=")] = values.to_numpy()
    return ScoreHistogram(table.model, table.headline, test.to_numpy(), sets)


def ood_board(task: str, loaded: Sequence[LoadedJob], suites: Collection[str]) -> OODBoard | None:
    """The task's OOD board from the latest completed job of each model of the `suites` that
    carry OOD detection results (`SuiteBoard.figures` with "ood_detection": the shift suite), or
    None when none scored an OOD set."""
    board = OODBoard(task)
    frames: dict[str, pd.DataFrame] = {}
    for model, job in sorted(_latest(task, loaded, suites).items()):
        table = _table(model, job)
        if table is None or not table.sets:
            continue
        board.tables.append(table)
        if job.has_table:
            frames[model] = job.table().frame
            board.comparisons += _detector_pairs(table, frames[model])
            histogram = _histogram(table, frames[model])
            if histogram is not None:
                board.histograms.append(histogram)
    if not board.tables:
        return None
    board.comparisons += _model_pairs([t for t in board.tables if t.model in frames], frames)
    tested = [i for i, c in enumerate(board.comparisons) if c.p is not None]
    adjusted = holm([float(board.comparisons[i].p or 0.0) for i in tested]) if tested else []
    for i, p in zip(tested, adjusted, strict=True):
        board.comparisons[i] = replace(board.comparisons[i], p_holm=p)
    return board
