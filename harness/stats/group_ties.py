"""Argmax ties in a group breakdown: each group metric's and disparity's range over tie-breaks.

A row whose `label_tied` column is true (harness.stats.tie_breaks) has its label among the classes
that share the top score, so argmax's tie-break (the lowest class index) decides whether it counts
as correct. Every tie-break is taken here: each tied row's prediction free among its tied classes,
row by row. On a binary task a tie holds both classes, so a tied row's prediction is free: positive
or not, right or wrong; on a multiclass task its correctness is free (the breakdown reads only
correctness there: accuracy and ECE). `clean_label_tied` is the same for the same sample's clean
row (a robustness breakdown's clean accuracy and its drop).

The ranges, all exact unless said otherwise:

- a group's rate (accuracy, selection rate, TPR, FPR, clean accuracy) takes every value
  (base + k) / trials, k = 0..tied, where base counts the untied rows that succeed and tied the
  tied rows among the rate's trials (TPR: the positive rows; FPR: the negative ones). Its accuracy
  drop (clean minus condition accuracy, the two tie-broken independently) is such a grid too;
- a group's ECE: each confidence bin's sum of (correct - confidence) moves by k = 0..tied rows of
  the bin, bins independently (the confidences do not depend on the tie-break), so the lowest and
  highest ECE are sums of each bin's smallest and largest |sum|;
- disparities: groups hold disjoint rows, so each moves on its own. The worst (smallest) or largest
  group value lies between the extremes of the groups' ends; a gap (max - min) is largest at
  max over groups g != h of high_g - low_h, a ratio (min / max) smallest at min of low_g / high_h;
  the smallest gap and largest ratio come from the tightest choice of one achievable value per
  group (a sweep over every group's sorted values: for each candidate minimum, each group's
  smallest value at or above it). The ECE gap's lower end is that of the groups' ranges taken as
  intervals (max of lows minus min of highs, or 0), which may lie below the exact one: a sound
  range. Equalized odds: TPR rests on positive rows and FPR on negative ones, so the two move
  independently: the larger gap lies in [max of lows, max of highs], the smaller ratio in
  [min of lows, min of highs]. A ratio that some tie-break leaves undefined (every group at 0)
  says so; its range is over the others.

A number whose range is wider than half its 95% interval (or that has no interval and moves at
all) carries `tied_scores`; any tied row that moves a number gets a note with the range.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from harness.stats.calibration import confidence_bins
from harness.stats.group_statistics import Columns
from harness.stats.tie_breaks import FLAG, TieRange


@dataclass(frozen=True)
class Spans:
    """Per group (length G): rows the tie-break moves, and the lowest and highest value. A rate
    keeps its grid (`base`, `trials`): its values are (base + k) / trials, k = 0..tied."""

    tied: np.ndarray
    low: np.ndarray
    high: np.ndarray
    base: np.ndarray | None = None
    trials: np.ndarray | None = None

    @classmethod
    def grid(cls, base: np.ndarray, tied: np.ndarray, trials: np.ndarray) -> Spans:
        with np.errstate(invalid="ignore", divide="ignore"):
            low = np.where(trials > 0, base / np.maximum(trials, 1), np.nan)
            high = np.where(trials > 0, (base + tied) / np.maximum(trials, 1), np.nan)
        return cls(tied=tied, low=low, high=high, base=base, trials=trials)

    def values(self, i: int) -> np.ndarray:
        """Every value group `i` can take (sorted); its two ends when it keeps no grid."""
        if self.base is None or self.trials is None:
            return np.array([self.low[i], self.high[i]])
        return (self.base[i] + np.arange(int(self.tied[i]) + 1)) / self.trials[i]


def _counts(codes: np.ndarray, g: int, mask: np.ndarray) -> np.ndarray:
    return np.bincount(codes, weights=mask.astype(np.float64), minlength=g)


def rate_spans(
    codes: np.ndarray,
    g: int,
    *,
    success: np.ndarray,
    trial: np.ndarray,
    free: np.ndarray,
) -> Spans:
    """A rate's grid per group: `success` and `trial` per row, `free` the tied rows (whose
    success the tie-break decides), counted among the trials only."""
    moved = free & trial
    return Spans.grid(
        _counts(codes, g, success & trial & ~moved),
        _counts(codes, g, moved),
        _counts(codes, g, trial),
    )


def drop_spans(clean: Spans, acc: Spans) -> Spans:
    """Clean minus condition accuracy per group, the two tie-broken independently: a grid of
    step 1 / n from clean's lowest minus acc's highest."""
    assert clean.base is not None and acc.base is not None and acc.trials is not None
    return Spans.grid(clean.base - acc.base - acc.tied, clean.tied + acc.tied, acc.trials)


def ece_spans(
    codes: np.ndarray,
    g: int,
    bins: np.ndarray,
    nbins: int,
    *,
    correct: np.ndarray,
    confidence: np.ndarray,
    free: np.ndarray,
) -> Spans:
    """Each group's lowest and highest ECE over the tie-breaks (`bins`: each row's confidence
    bin): per bin, the sum of (correct - confidence) with every tied row wrong moves up by k."""
    keys = codes * nbins + bins
    size = g * nbins
    fixed = (correct & ~free).astype(np.float64) - confidence
    base = np.bincount(keys, weights=fixed, minlength=size).reshape(g, nbins)
    tied = np.bincount(keys, weights=free.astype(np.float64), minlength=size).reshape(g, nbins)
    top = base + tied
    largest = np.maximum(np.abs(base), np.abs(top))
    target = -base  # the k that would bring the sum to 0, when within [0, tied]
    nearest = np.minimum(target - np.floor(target), np.ceil(target) - target)
    smallest = np.where(base >= 0, base, np.where(top <= 0, -top, nearest))
    n = np.bincount(codes, minlength=g).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(n > 0, smallest.sum(axis=1) / np.maximum(n, 1), np.nan)
        high = np.where(n > 0, largest.sum(axis=1) / np.maximum(n, 1), np.nan)
    return Spans(tied=tied.sum(axis=1), low=low, high=high, trials=n)


@dataclass(frozen=True)
class Moved:
    """A number's range over the tie-breaks: the tied rows that move it, its ends, and whether
    some tie-break leaves it undefined (a ratio with every group at 0)."""

    ties: TieRange
    undefined_somewhere: bool = False

    def note(self, what: str, rows: str = "rows") -> str | None:
        if self.ties.tied == 0:
            return None
        ends = f"[{self.ties.low:.4g}, {self.ties.high:.4g}]"
        undefined = (
            " (and undefined, every group at 0, under some)" if self.undefined_somewhere else ""
        )
        return (
            f"{self.ties.tied} of its {self.ties.n} {rows} tie the label's score with another "
            f"class's at the top (argmax gives ties to the lowest class index); over every "
            f"tie-break {what} lies in {ends}{undefined}"
        )

    def flags(self, ci: tuple[float, float] | None) -> tuple[str, ...]:
        return (FLAG,) if self.ties.moves_more_than(ci) else ()


def group_moved(spans: Spans, i: int) -> Moved:
    """Group `i`'s range of one metric."""
    trials = spans.trials[i] if spans.trials is not None else 0
    return Moved(
        TieRange(
            tied=int(spans.tied[i]),
            n=int(trials),
            low=float(spans.low[i]),
            high=float(spans.high[i]),
        )
    )


def _pair_best(first: np.ndarray, second: np.ndarray, largest: bool, op: str) -> float:
    """max (or min) over groups g != h of first_g - second_h (op "-") or first_g / second_h
    (op "/", pairs with second_h = 0 left out); NaN when no pair counts."""
    with np.errstate(invalid="ignore", divide="ignore"):
        table = (
            np.subtract.outer(first, second)
            if op == "-"
            else np.divide.outer(first, np.where(second > 0, second, np.nan))
        )
    np.fill_diagonal(table, np.nan)
    if np.isnan(table).all():
        return float("nan")
    return float(np.nanmax(table) if largest else np.nanmin(table))


def _tightest(values: list[np.ndarray]) -> tuple[float, float]:
    """The smallest (max - min) and the largest (min / max; NaN when only all-zero choices
    exist) over every choice of one value per group (each array sorted ascending)."""
    heap = [(float(v[0]), j, 0) for j, v in enumerate(values)]
    heapq.heapify(heap)
    top = max(h[0] for h in heap)
    gap, ratio = float("inf"), float("nan")
    while True:
        least, j, at = heap[0]
        gap = min(gap, top - least)
        if top > 0:
            ratio = least / top if np.isnan(ratio) else max(ratio, least / top)
        if at + 1 == len(values[j]):
            return gap, ratio
        nxt = float(values[j][at + 1])
        heapq.heapreplace(heap, (nxt, j, at + 1))
        top = max(top, nxt)


def _tied_total(spans: Spans, active: np.ndarray) -> tuple[int, int]:
    counts = spans.trials if spans.trials is not None else np.zeros_like(spans.tied)
    return int(spans.tied[active].sum()), int(counts[active].sum())


def spread_moved(spans: Spans, active: np.ndarray) -> tuple[Moved, Moved]:
    """The gap (largest minus smallest group value) and the ratio (smallest over largest) over
    the active groups, each over every tie-break."""
    idx = np.flatnonzero(active)
    low, high = spans.low[idx], spans.high[idx]
    tied, n = _tied_total(spans, active)
    gap_high = _pair_best(high, low, True, "-")
    ratio_low = _pair_best(low, high, False, "/")
    if spans.base is None:  # ends only: the groups' ranges as intervals
        gap_low, ratio_high = max(0.0, float(low.max() - high.min())), float("nan")
    else:
        gap_low, ratio_high = _tightest([spans.values(int(i)) for i in idx])
    gap = Moved(TieRange(tied=tied, n=n, low=gap_low, high=gap_high))
    ratio = Moved(
        TieRange(tied=tied, n=n, low=ratio_low, high=ratio_high),
        undefined_somewhere=bool((low == 0).all()),
    )
    return gap, ratio


def extreme_moved(spans: Spans, active: np.ndarray, *, largest: bool) -> Moved:
    """The smallest (or largest) active group value over every tie-break."""
    pick = np.max if largest else np.min
    tied, n = _tied_total(spans, active)
    return Moved(
        TieRange(
            tied=tied,
            n=n,
            low=float(pick(spans.low[active])),
            high=float(pick(spans.high[active])),
        )
    )


def larger_of(a: Moved, b: Moved) -> Moved:
    """max(x, y) of two numbers that move independently (equalized odds difference)."""
    return Moved(
        TieRange(
            tied=a.ties.tied + b.ties.tied,
            n=a.ties.n + b.ties.n,
            low=max(a.ties.low, b.ties.low),
            high=max(a.ties.high, b.ties.high),
        )
    )


def smaller_of(a: Moved, b: Moved) -> Moved:
    """min(x, y) of two ratios that move independently (equalized odds ratio)."""
    return Moved(
        TieRange(
            tied=a.ties.tied + b.ties.tied,
            n=a.ties.n + b.ties.n,
            low=float(np.fmin(a.ties.low, b.ties.low)),
            high=float(np.fmin(a.ties.high, b.ties.high)),
        ),
        undefined_somewhere=a.undefined_somewhere or b.undefined_somewhere,
    )


def metric_spans(
    c: Columns, codes: np.ndarray, g: int, *, binary: bool, nbins: int
) -> dict[str, Spans] | None:
    """Every breakdown metric's spans per group (`point_values`' metrics); None when no row of
    the condition (nor of its clean reference) is tied."""
    tied = c.tied if c.tied is not None else np.zeros(len(c.label), bool)
    clean_tied = c.clean_tied if c.clean_correct is not None else None
    if not tied.any() and (clean_tied is None or not clean_tied.any()):
        return None
    every = np.ones(len(tied), bool)
    out = {
        "acc": rate_spans(codes, g, success=c.correct, trial=every, free=tied),
        "ece": ece_spans(
            codes,
            g,
            confidence_bins(c.confidence, nbins),
            nbins,
            correct=c.correct,
            confidence=c.confidence,
            free=tied,
        ),
    }
    if binary:  # a tie holds both classes: the prediction is free
        pred_pos, true_pos = c.prediction == c.positive, c.label == c.positive
        out["selection_rate"] = rate_spans(codes, g, success=pred_pos, trial=every, free=tied)
        out["tpr"] = rate_spans(codes, g, success=pred_pos, trial=true_pos, free=tied)
        out["fpr"] = rate_spans(codes, g, success=pred_pos, trial=~true_pos, free=tied)
    if c.clean_correct is not None:
        free = clean_tied if clean_tied is not None else np.zeros(len(tied), bool)
        out["clean_acc"] = rate_spans(codes, g, success=c.clean_correct, trial=every, free=free)
        out["acc_drop"] = drop_spans(out["clean_acc"], out["acc"])
    return out


def _defined(spans: Spans, active: np.ndarray, least: int) -> bool:
    return int(active.sum()) >= least and not np.isnan(spans.low[active]).any()


def disparity_moved(spans: dict[str, Spans], metric: str, active: np.ndarray) -> Moved | None:
    """A disparity's range over the tie-breaks; None when it is undefined under every one."""
    extremes = {"worst_group_acc": ("acc", False), "worst_group_acc_drop": ("acc_drop", True)}
    if metric in extremes:
        source, largest = extremes[metric]
        if source not in spans or not _defined(spans[source], active, 1):
            return None
        return extreme_moved(spans[source], active, largest=largest)
    if metric.startswith("equalized_odds"):
        if "tpr" not in spans or not all(_defined(spans[k], active, 2) for k in ("tpr", "fpr")):
            return None
        tpr, fpr = spread_moved(spans["tpr"], active), spread_moved(spans["fpr"], active)
        if metric == "equalized_odds_difference":
            return larger_of(tpr[0], fpr[0])
        return smaller_of(tpr[1], fpr[1])
    sources = {
        "group_acc_gap": ("acc", 0),
        "group_ece_gap": ("ece", 0),
        "demographic_parity_difference": ("selection_rate", 0),
        "demographic_parity_ratio": ("selection_rate", 1),
        "equal_opportunity_difference": ("tpr", 0),
        "group_acc_drop_gap": ("acc_drop", 0),
    }
    source, which = sources[metric]
    if source not in spans or not _defined(spans[source], active, 2):
        return None
    return spread_moved(spans[source], active)[which]
