"""OOD detection records: each detector on each OOD set against the clean rows, and the means
over the sets tagged `near` and `far`.

Per set and detector: AUROC, AUPR-In (`ood_aupr`), AUPR-Out and FPR at 95% TPR, each with its
interval (`harness.stats.detection`). Per tag and detector: the mean of each metric over the
tagged sets (as OpenOOD reports near and far OOD), the AUROC's with DeLong's interval of the
mean; the others have none (the note says so). A detector whose scores are not all finite gets
no value, with a note naming how many samples, never a NaN; so does one that gives every sample
the same score up to rounding (`SAME_SCORE_RTOL`): it ranks nothing, and an AUROC would be drawn
from round-off (energy of a model that returns log-probabilities is log(1) = 0 for every input).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from harness.core.metric_record import MetricRecord
from harness.core.suite import RunContext
from harness.stats import detection
from harness.stats.detection import MEAN_AUROC_METHOD, METHODS
from harness.suites.shift.metrics import record
from harness.suites.shift.ood.detectors import column_of

VALUES = {
    "ood_auroc": detection.auroc,
    "ood_aupr": detection.aupr,
    "ood_aupr_out": detection.aupr_out,
    "ood_fpr_at_95_tpr": detection.fpr_at_tpr,
}


@dataclass(frozen=True)
class ScoredSet:
    """An OOD set's rows as the metrics need them: name, tag (near, far or None), columns;
    `clusters`, for a set whose inputs repeat enough to matter (`sets.repeated_note`), one key
    per row, equal for copies of one input: its intervals are then built over the distinct
    inputs. None: every row an independent sample."""

    name: str
    tag: str | None
    rows: dict[str, Any]
    clusters: tuple[Hashable, ...] | None = None


def score_values(rows: dict[str, Any], detector: str) -> np.ndarray:
    """A detector's scores (higher = more in-distribution) from a block's columns."""
    column = column_of(detector)
    values = np.asarray(rows[column], dtype=np.float64)
    return -values if detector == "neg_entropy" else values


SAME_SCORE_RTOL = 1e-5
"""Scores whose highest and lowest differ by at most this share of their largest magnitude (at
least 1) are the same score up to rounding: float32 outputs carry about 7 significant digits, and
the energy of log-probabilities (0 in exact arithmetic) spread over 4e-8 to 7e-8 on breast cancer
through scikit-learn and callable adapters."""


def _not_finite(s_in: np.ndarray, s_out: np.ndarray) -> int:
    return int((~np.isfinite(s_in)).sum() + (~np.isfinite(s_out)).sum())


def same_score_note(detector: str, s_in: np.ndarray, s_out: np.ndarray) -> str | None:
    """Why a detector whose scores are all equal up to rounding has no value; None when they
    vary."""
    both = np.concatenate([s_in, s_out])
    spread = float(both.max() - both.min())
    largest = float(np.abs(both).max())
    if spread > SAME_SCORE_RTOL * max(1.0, largest):
        return None
    note = (
        f"{detector} gives every sample the same score up to rounding (highest minus lowest "
        f"{spread:.2g} over {len(both)} samples), so it cannot rank test samples against OOD "
        "ones: no value"
    )
    if detector == "energy" and largest <= SAME_SCORE_RTOL:
        note += (
            "; the model returns log-probabilities (a final log_softmax; scikit-learn, ONNX and "
            "callable probabilities are handed on as log-probabilities), whose energy "
            "logsumexp(log p) is 0 for every input: read msp, or set "
            "suites.shift.ood.headline: msp"
        )
    return note


TIE_SHARE = 0.01
"""Ties between test and OOD scores on at least this share of their pairs are said: the AUROC
counts each tie half (up to half this share of its value)."""


def tie_note(detector: str, s_in: np.ndarray, s_out: np.ndarray) -> str | None:
    """Why an AUROC rests on ties (a saturated score: MSP of 1.0 for most inputs); None when
    under TIE_SHARE of the test-OOD pairs tie."""
    values_in, counts_in = np.unique(s_in, return_counts=True)
    values_out, counts_out = np.unique(s_out, return_counts=True)
    shared, at_in, at_out = np.intersect1d(values_in, values_out, return_indices=True)
    pairs = float((counts_in[at_in] * counts_out[at_out]).sum())
    share = pairs / (len(s_in) * len(s_out))
    if share < TIE_SHARE:
        return None
    most = shared[np.argmax(counts_in[at_in] * counts_out[at_out])]
    return (
        f"ties: {share:.0%} of the test-OOD pairs get the same {detector} score "
        f"({int(counts_in[at_in].sum())} of {len(s_in)} test and {int(counts_out[at_out].sum())} "
        f"of {len(s_out)} OOD scores lie on values the other set shares, most at "
        f"{float(most):.6g}); the AUROC counts each tie half, so {detector} orders none of "
        "these pairs (a saturated score)"
    )


def threshold_note(detector: str, s_in: np.ndarray) -> str | None:
    """Why FPR@95 is read at a higher TPR: the threshold is a score that many test samples
    share, so every one of them passes it (None when the ties there add fewer than 2 test
    samples, or under 1 point of TPR, to those the threshold needs)."""
    needed = detection._rank_needed(len(s_in), detection.TPR_LEVEL)
    threshold = np.sort(s_in)[::-1][needed - 1]
    accepted = int((s_in >= threshold).sum())
    reached = accepted / len(s_in)
    if accepted - needed < max(2, 0.01 * len(s_in)):
        return None
    return (
        f"the threshold ({float(threshold):.6g}) is the {detector} score of "
        f"{int((s_in == threshold).sum())} test samples, so it accepts {reached:.0%} of the "
        "test set, not 95%: this is the FPR at that TPR (no threshold accepts 95%)"
    )


def few_samples_note(name: str, n_in: int, n_out: int) -> str:
    """Why a value has no interval: an interval needs at least 2 samples on each side."""
    return (
        f"no interval: {n_in} test and {n_out} OOD sample(s) in {name!r}; an interval needs at "
        "least 2 on each side (and a value from so few says little)"
    )


def few_inputs_note(name: str, n_in: int, n_out: int, distinct: int) -> str:
    """Why a value of a set of copies of fewer than 2 distinct inputs has no interval."""
    return (
        f"no interval: {n_in} test and {n_out} OOD sample(s) in {name!r}, copies of {distinct} "
        "distinct input(s); an interval needs at least 2 distinct inputs on each side (and a "
        "value from so few says little)"
    )


def under_half(s_in: np.ndarray, s_out: np.ndarray) -> bool:
    """Whether the AUROC is under 0.5, on the exact Mann-Whitney count (twice U against m n, in
    integers): the float AUROC, a mean of placements, rounds an exact 0.5 (an OOD set identical
    to the test set) to 0.49999999999999994 for some scores."""
    ordered = np.sort(s_out)
    twice_u = int(
        (np.searchsorted(ordered, s_in, side="left") + np.searchsorted(ordered, s_in, "right"))
        .astype(np.int64)
        .sum()
    )
    return twice_u < len(s_in) * len(s_out)


def below_chance_note(name: str, detector: str, s_in: np.ndarray, s_out: np.ndarray) -> str:
    """Why an AUROC is under 0.5, in words and in the scores' own medians."""
    return (
        f"below chance: to {detector}, OOD set {name!r} looks more in-distribution than the "
        f"test set (median score {float(np.median(s_out)):.4g} against the test set's "
        f"{float(np.median(s_in)):.4g}; higher = more in-distribution), so thresholding "
        f"{detector} would reject test samples before OOD ones"
    )


def at_chance_note(
    name: str,
    detector: str,
    value: float,
    ci: tuple[float, float],
    s_in: np.ndarray,
    s_out: np.ndarray,
) -> str:
    """Why an AUROC under 0.5 whose interval holds 0.5 is not called below chance."""
    return (
        f"at chance: AUROC {value:.3f} is under 0.5, but its interval [{ci[0]:.3f}, "
        f"{ci[1]:.3f}] holds 0.5: {detector} cannot tell OOD set {name!r} from the test set "
        f"(median score {float(np.median(s_out)):.4g} against the test set's "
        f"{float(np.median(s_in)):.4g}; higher = more in-distribution)"
    )


def set_metrics(
    scored: ScoredSet,
    clean_rows: dict[str, Any],
    detectors: list[str],
    ctx: RunContext,
    headline: str,
) -> list[MetricRecord]:
    """Every metric of every detector on one OOD set (the headline detector's AUROC is the
    board's headline number; the others are in the report's detector table)."""
    records = []
    name = scored.name
    n = len(clean_rows["sample_id"]) + len(scored.rows["sample_id"])
    for detector in detectors:
        s_in, s_out = score_values(clean_rows, detector), score_values(scored.rows, detector)
        context = {"score": detector}
        bad = _not_finite(s_in, s_out)
        empty = len(s_in) == 0 or len(s_out) == 0
        same = None if bad or empty else same_score_note(detector, s_in, s_out)
        if bad or empty or same:
            why = (
                f"{detector} gave a non-finite score for {bad} sample(s): no value"
                if bad
                else same or "an empty set: no value"
            )
            for m in VALUES:  # only the headline detector's AUROC is a headline number
                rec = record(m, None, n, condition=f"ood={name}", context=context, note=why)
                records.append(replace(rec, headline=rec.headline and detector == headline))
            continue
        cis = detection.detection_cis(
            s_in, s_out, seed=ctx.seed, name=f"shift/{name}/{detector}",
            resamples=ctx.bootstrap_resamples, clusters=scored.clusters,
        )  # fmt: skip
        distinct = len(set(scored.clusters)) if scored.clusters is not None else len(s_out)
        few = (
            few_samples_note(name, len(s_in), len(s_out))
            if len(s_in) < 2 or len(s_out) < 2 or scored.clusters is None
            else few_inputs_note(name, len(s_in), len(s_out), distinct)
        )
        for metric, fn in VALUES.items():
            value = fn(s_in, s_out)
            ci = cis[metric]
            notes = [] if ci is not None else [few]
            if metric == "ood_auroc":
                notes += [t] if (t := tie_note(detector, s_in, s_out)) else []
            elif metric == "ood_fpr_at_95_tpr":
                notes += [t] if (t := threshold_note(detector, s_in)) else []
            # copies of one input decide no chance verdict: they are one sample, not twenty
            under = metric == "ood_auroc" and under_half(s_in, s_out)
            if under and (ci is not None or distinct >= 2):
                if detection.holds_chance(ci):
                    notes.append(at_chance_note(name, detector, value, ci, s_in, s_out))
                else:
                    notes.append(below_chance_note(name, detector, s_in, s_out))
            note = "; ".join(notes) or None
            rec = record(metric, value, n, condition=f"ood={name}", context=context, note=note)
            records.append(
                replace(
                    rec,
                    ci=ci,
                    ci_method=METHODS[metric] if ci else None,
                    headline=rec.headline and detector == headline,
                )
            )
    return records


def tag_means(
    scored: list[ScoredSet],
    clean_rows: dict[str, Any],
    detectors: list[str],
    per_set: list[MetricRecord],
    headline: str,
) -> list[MetricRecord]:
    """The mean of each metric over the sets of each tag (`ood_mean=near`, `ood_mean=far`)."""
    records = []
    for tag in ("near", "far"):
        members = [s for s in scored if s.tag == tag]
        if not members:
            continue
        names = ", ".join(s.name for s in members)
        for detector in detectors:
            means = _mean_records(tag, names, members, clean_rows, detector, per_set)
            records += [replace(r, headline=r.headline and detector == headline) for r in means]
    return records


def _mean_records(
    tag: str,
    names: str,
    members: list[ScoredSet],
    clean_rows: dict[str, Any],
    detector: str,
    per_set: list[MetricRecord],
) -> list[MetricRecord]:
    conditions = {f"ood={s.name}" for s in members}
    n = len(clean_rows["sample_id"]) + sum(len(s.rows["sample_id"]) for s in members)
    out = []
    for metric in VALUES:
        own = [
            r
            for r in per_set
            if r.metric == metric and r.condition in conditions and r.context["score"] == detector
        ]
        values = [r.value for r in own]
        note = f"mean over the {tag} OOD sets ({names})"
        if len(own) == 1 and len(members) == 1 and own[0].value is not None:
            # one set: the mean is that set's number, with its interval and method
            (alone,) = own
            said = f"{note}: the set's own value" + (" and interval" if alone.ci else "")
            rec = record(
                metric,
                alone.value,
                n,
                condition=f"ood_mean={tag}",
                context={"score": detector},
                note=f"{said}; {alone.note}" if alone.note else said,
            )
            out.append(replace(rec, ci=alone.ci, ci_method=alone.ci_method))
            continue
        if len(values) < len(members) or any(v is None for v in values):
            out.append(
                record(
                    metric,
                    None,
                    n,
                    condition=f"ood_mean={tag}",
                    context={"score": detector},
                    note=f"{note}: a set has no value",
                )
            )
            continue
        ci = None
        if metric == "ood_auroc":
            s_in = score_values(clean_rows, detector)
            ci = detection.mean_auroc_ci(
                s_in,
                [score_values(s.rows, detector) for s in members],
                clusters=[_codes(s) for s in members],
            )
            if ci is None:
                note += (
                    "; no interval: the test set or a set has fewer than 2 samples or distinct "
                    "inputs (and a value from so few says little)"
                )
        rec = record(
            metric,
            float(np.mean([v for v in values if v is not None])),
            n,
            condition=f"ood_mean={tag}",
            context={"score": detector},
            note=note
            if metric == "ood_auroc"
            else f"{note}; no interval for a mean of this metric",
        )
        out.append(replace(rec, ci=ci, ci_method=MEAN_AUROC_METHOD if ci else None))
    return out


def _codes(scored: ScoredSet) -> np.ndarray | None:
    """A set's cluster codes (its copies of one input one cluster), or None without copies."""
    return None if scored.clusters is None else detection.cluster_codes(scored.clusters)
