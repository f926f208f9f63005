"""The shift suite's declared metrics and the records of its accuracy conditions.

Clean accuracy and each perturbation cell's accuracy (Wilson intervals), each family's mean
over its severities and the mean over applicable cells with its relative drop
(`intervals.cell_mean`), and a shifted task's accuracy and gap (Newcombe's score intervals). The OOD detection records are `suites.shift.ood.metrics`';
the declarations (units, labels) are `board.py`'s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.core.metric_record import MetricRecord, spec_record
from harness.core.suite import RunContext
from harness.core.task import Task
from harness.stats import tie_breaks
from harness.stats.intervals import (
    CELL_MEAN_METHOD,
    CI_METHOD,
    RATIO_METHOD,
    WILSON_METHOD,
    CellMean,
    cell_mean,
    newcombe_difference,
    newcombe_paired,
    relative_drop,
    wilson_ci,
)
from harness.suites.shift.board import METRICS
from harness.suites.shift.parts import Parts

SUITE = "shift"

_SPECS = {spec.name: spec for spec in METRICS}


def record(name: str, value: float | None, n: int, **kw: Any) -> MetricRecord:
    ci = kw.pop("ci", None)
    method = kw.pop("ci_method", CI_METHOD)
    return spec_record(
        _SPECS[name],
        suite=SUITE,
        value=value,
        n=n,
        ci=ci,
        ci_method=method if ci else None,
        **kw,
    )


def clean_metrics(
    correct: np.ndarray, ctx: RunContext, tied: np.ndarray | None = None
) -> list[MetricRecord]:
    return [accuracy_record("clean_acc", correct, tied)]


def accuracy_record(
    name: str, correct: np.ndarray, tied: np.ndarray | None, *, note: str | None = None, **kw: Any
) -> MetricRecord:
    """An accuracy over `correct` rows with Wilson's interval (a proportion:
    harness.stats.intervals), its argmax ties in its note (after `note`) and `tied_scores` when
    they move it more than half that interval."""
    ci = wilson_ci(float(correct.sum()), len(correct))
    ties = _ties(correct, tied)
    return record(
        name,
        float(correct.astype(np.float64).mean()),
        len(correct),
        ci=ci,
        ci_method=WILSON_METHOD,
        note=_joined(note, ties.note("top-1")),
        flags=_tie_flag(ties, ci),
        **kw,
    )


def _ties(correct: np.ndarray, tied: np.ndarray | None) -> tie_breaks.TieRange:
    """The accuracy range over argmax tie-breaks (none tied where the rows carry no column)."""
    return tie_breaks.tie_range(correct, np.zeros(len(correct), bool) if tied is None else tied)


def _tie_flag(ties: tie_breaks.TieRange, ci: tuple[float, float] | None) -> tuple[str, ...]:
    return (tie_breaks.FLAG,) if ties.moves_more_than(ci) else ()


def _mean_ties(ranges: list[tie_breaks.TieRange]) -> tie_breaks.TieRange:
    """The range of a mean of cell accuracies: each cell at its own lowest, then highest."""
    return tie_breaks.TieRange(
        tied=sum(r.tied for r in ranges),
        n=sum(r.n for r in ranges),
        low=float(np.mean([r.low for r in ranges])),
        high=float(np.mean([r.high for r in ranges])),
    )


def _mean_tie_note(ties: tie_breaks.TieRange, what: str) -> str | None:
    if ties.tied == 0:
        return None
    return (
        f"{ties.tied} of {ties.n} rows of its cells tie their label's score with another "
        f"class's; ties go to the lowest class index, and over every tie-break {what} lies in "
        f"[{ties.low:.4g}, {ties.high:.4g}]"
    )


def _joined(*notes: str | None) -> str | None:
    kept = [n for n in notes if n]
    return "; ".join(kept) if kept else None


def perturbation_metrics(
    task: Task,
    cells: dict[tuple[str, int], np.ndarray],
    clean_correct: np.ndarray | None,
    ctx: RunContext,
    parts: Parts,
) -> list[MetricRecord]:
    n = len(clean_correct) if clean_correct is not None else len(next(iter(cells.values()), []))
    prefix, cell_metric, mean_metric = {
        "image": ("corruption", "corruption_acc", "mean_corruption_acc"),
        "tabular": ("tabular", "tabular_shift_acc", "mean_tabular_shift_acc"),
        "text": ("text", "text_shift_acc", "mean_text_shift_acc"),
    }[task.modality]
    records = [
        record(
            "corruption_error",
            None,
            n,
            condition=f"corruption={name}",
            note=(
                f"not applicable: changes the inputs by at most {change * 255:.3f}/255 on "
                "average at every severity (below 0.5/255), so it is left out of every mean"
            ),
        )
        for name, change in parts.not_applicable.items()
    ]
    records += [
        record(
            cell_metric,
            None,
            n,
            condition=f"{prefix}={name}",
            note=f"not applicable: {why}; it changes no input, so it is left out of every mean",
        )
        for name, why in parts.unchanged.items()
    ]
    if not cells:
        left_out = [*parts.not_applicable, *parts.unchanged]
        if left_out:  # the board's mean column says why it has no number
            note = (
                f"not applicable (left out): {', '.join(left_out)}; no perturbation applies to "
                "this task, so there is no mean"
            )
            records.append(record(mean_metric, None, n, note=note))
        return records
    families = list(dict.fromkeys(f for f, _ in cells))
    for family in families:
        of_family = {key: correct for key, correct in cells.items() if key[0] == family}
        for (f, s), correct in of_family.items():
            faint = parts.faint.get((f, s))
            few = parts.few_changed.get((f, s))
            records.append(
                accuracy_record(
                    cell_metric,
                    correct,
                    parts.tied.get((f, s)),
                    condition=f"{prefix}={f}/severity={s}",
                    note=_few_changed_note(f, few)
                    if few is not None
                    else None
                    if faint is None
                    else (
                        f"changes the inputs by {faint * 255:.3f}/255 on average at this "
                        "severity on this task's image size (below 0.5/255): the model sees "
                        "about its clean inputs, so this is about its clean accuracy"
                    ),
                )
            )
        records.append(family_record(task, family, of_family, parts, n))
    records += mean_records(task, cells, clean_correct, ctx, mean_metric, parts)
    return records


def _few_changed_note(family: str, few: tuple[int, int]) -> str:
    """A text cell's note when its family changed fewer than half of the texts."""
    changed, n = few
    return (
        f"{family} changed only {changed} of {n} texts at this severity (fewer than half): "
        "the others are scored as they are, so this is mostly their clean accuracy"
    )


def _few_changed_mean_note(parts: Parts) -> str | None:
    """The mean's note naming the families with cells that changed fewer than half the texts."""
    if not parts.few_changed:
        return None
    most: dict[str, tuple[int, int]] = {}
    for (family, _), (changed, n) in parts.few_changed.items():
        if family not in most or changed > most[family][0]:
            most[family] = (changed, n)
    listed = "; ".join(
        f"{family} at {sum(f == family for f, _ in parts.few_changed)} severities, at most "
        f"{changed} of {n} texts"
        for family, (changed, n) in most.items()
    )
    return (
        f"some families changed fewer than half of the texts ({listed}): those cells are "
        "mostly the clean accuracy, which this mean includes"
    )


def _cells_mean(
    cells: dict[tuple[str, int], np.ndarray], parts: Parts
) -> tuple[CellMean | None, str | None]:
    """`intervals.cell_mean` of `cells`, rows paired by source image; None and the reason
    when a published set's cells differ in size and name no source image."""
    ids = [parts.cell_ids[c] for c in cells] if parts.cell_ids else None
    if ids is None and len({len(c) for c in cells.values()}) != 1:
        return None, "cells differ in size and name no source image: no interval"
    return cell_mean(list(cells.values()), ids), None


def family_record(
    task: Task,
    family: str,
    cells: dict[tuple[str, int], np.ndarray],
    parts: Parts,
    n: int,
) -> MetricRecord:
    """One family's mean over its severities: `corruption_error` (1 minus the mean accuracy)
    for images, the family's accuracy for tabular and text shifts, with the cell-mean
    interval over the source images (`cell_mean`: the same images under every severity are
    correlated)."""
    prefix, cell_metric = {
        "image": ("corruption", "corruption_error"),
        "tabular": ("tabular", "tabular_shift_acc"),
        "text": ("text", "text_shift_acc"),
    }[task.modality]
    accuracy = float(np.mean([c.mean() for c in cells.values()]))
    mean, why = _cells_mean(cells, parts)
    ci = mean.ci if mean is not None else None
    ties = _mean_ties([_ties(c, parts.tied.get(key)) for key, c in cells.items()])
    value = accuracy
    if task.modality == "image":
        value = 1.0 - accuracy
        ci = (1.0 - ci[1], 1.0 - ci[0]) if ci is not None else None
    return record(
        cell_metric,
        value,
        mean.clusters if mean is not None else n,
        condition=f"{prefix}={family}",
        ci=ci,
        ci_method=CELL_MEAN_METHOD,
        note=_joined(
            why,
            _mean_tie_note(ties, "its mean accuracy over the severities"),
            "some of its severities changed fewer than half of the texts (see their cells)"
            if any(key in parts.few_changed for key in cells)
            else None,
        ),
        flags=_tie_flag(ties, ci),  # an error's range is as wide as its accuracy's
    )


def mean_records(
    task: Task,
    cells: dict[tuple[str, int], np.ndarray],
    clean_correct: np.ndarray | None,
    ctx: RunContext,
    mean_metric: str,
    parts: Parts,
) -> list[MetricRecord]:
    """The mean over every applicable cell and the relative drop (`intervals.cell_mean`:
    Wilson at Kish's effective n over the source images, and a MOVER interval of the drop).

    On-the-fly cells hold the task's rows in order; a published set's cells are matched by
    the source id of each row (`parts.cell_ids`), so cells of unequal size get the same
    estimator and interval (the mean of the cells' accuracies)."""
    note = None
    if parts.not_applicable or parts.unchanged:
        note = "not applicable (left out): " + ", ".join([*parts.not_applicable, *parts.unchanged])
    note = _joined(note, _few_changed_mean_note(parts))
    ties = _mean_ties([_ties(c, parts.tied.get(key)) for key, c in cells.items()])
    tie_note = _mean_tie_note(ties, "the mean accuracy")
    mean, why = _cells_mean(cells, parts)
    if mean is None:
        # a published set without source ids and with unequal cells: no way to pair rows
        value = float(np.mean([c.mean() for c in cells.values()]))
        n = min(len(c) for c in cells.values())
        return [
            record(
                mean_metric,
                value,
                n,
                note=_joined(note, why, tie_note),
                flags=_tie_flag(ties, None),
            )
        ]
    mean_flags = _tie_flag(ties, mean.ci)
    records = [
        record(
            mean_metric,
            mean.value,
            mean.clusters,
            ci=mean.ci,
            ci_method=CELL_MEAN_METHOD,
            note=_joined(note, tie_note),
            flags=mean_flags,
        )
    ]
    if task.modality != "image" or clean_correct is None:
        return records
    drop, drop_ci = relative_drop(mean, clean_correct)
    clean_ties = _ties(clean_correct, parts.clean_tied)
    clean_flags = _tie_flag(clean_ties, wilson_ci(float(clean_correct.sum()), len(clean_correct)))
    records.append(
        record(
            "relative_corruption_drop",
            drop,
            mean.clusters,
            ci=drop_ci,
            ci_method=RATIO_METHOD,
            note=_joined(
                note if drop is not None else "clean accuracy is 0",
                "it rests on accuracies the argmax tie-break decides (see the clean and mean "
                "accuracy)"
                if mean_flags or clean_flags
                else None,
            ),
            flags=tuple(dict.fromkeys(mean_flags + clean_flags)),  # a ratio of the two
        )
    )
    return records


def shift_metrics(
    name: str,
    clean_correct: np.ndarray,
    shifted_correct: np.ndarray,
    ctx: RunContext,
    *,
    paired: bool,
    clean_tied: np.ndarray | None = None,
    shifted_tied: np.ndarray | None = None,
) -> list[MetricRecord]:
    c = clean_correct.astype(np.float64)
    s = shifted_correct.astype(np.float64)
    condition = f"shifted={name}"
    # A difference of two proportions: Newcombe's score intervals, which never collapse to
    # [0, 0] when every sample agrees (a bootstrap of the differences did: 24 ids correct on
    # both sides gave a certain gap of 0). Paired when the ids are the same (Newcombe 1998b,
    # method 10, with the pairs' correlation), else the hybrid interval of two independent
    # proportions.
    if paired:
        both = int(np.sum((c == 1) & (s == 1)))
        clean_only = int(np.sum((c == 1) & (s == 0)))
        shifted_only = int(np.sum((c == 0) & (s == 1)))
        gap_ci = newcombe_paired(
            both, clean_only, shifted_only, len(c) - both - clean_only - shifted_only
        )
        gap_method = "Newcombe's square-and-add interval for paired proportions, 95%"
    else:
        lo, hi = newcombe_difference(float(c.sum()), len(c), float(s.sum()), len(s))
        gap_ci = (float(lo), float(hi)) if np.isfinite(lo) and np.isfinite(hi) else None
        gap_method = "Newcombe's hybrid score interval of two independent proportions, 95%"
    pairing = (
        "paired over the same sample ids"
        if paired
        else "unpaired: the shifted task has other sample ids"
    )
    clean_ties = _ties(clean_correct, clean_tied)
    shifted_ties = _ties(shifted_correct, shifted_tied)
    # the gap over every tie-break of both sides: clean at its lowest and shifted at its
    # highest, then the other way round
    gap_ties = tie_breaks.TieRange(
        tied=clean_ties.tied + shifted_ties.tied,
        n=clean_ties.n + shifted_ties.n,
        low=clean_ties.low - shifted_ties.high,
        high=clean_ties.high - shifted_ties.low,
    )
    gap_note = None
    if gap_ties.tied:
        gap_note = (
            f"{gap_ties.tied} clean or shifted rows tie their label's score with another "
            f"class's; over every tie-break the gap lies in [{gap_ties.low:.4g}, "
            f"{gap_ties.high:.4g}]"
        )
    return [
        accuracy_record("shift_acc", shifted_correct, shifted_tied, condition=condition),
        record(
            "shift_acc_gap",
            float(c.mean() - s.mean()),
            len(s),
            condition=condition,
            ci=gap_ci,
            ci_method=gap_method,
            context={"n_clean": len(c)},
            note=_joined(f"clean minus shifted accuracy, {pairing}", gap_note),
            flags=_tie_flag(gap_ties, gap_ci),
        ),
    ]
