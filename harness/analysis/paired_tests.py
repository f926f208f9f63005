"""Paired tests on per-sample tables, and rank tie groups built from them.

Two models (or a baseline and a current run of one model) are compared on the *same* sample ids:
exact McNemar on the discordant pairs for accuracies (a per-sample 0/1 outcome), and a seeded
paired bootstrap of the mean difference for other per-sample quantities (NLL, Brier, mean
accuracy over corruptions). Metrics without a per-sample form fall back to an interval test
(95% intervals that do not overlap). Multiple comparisons are Holm-corrected. No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from harness.analysis.intervals import holm, mcnemar_exact
from harness.core.errors import ResultsError
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.core.seeding import rng

TestName = Literal["mcnemar_exact", "paired_bootstrap", "interval_overlap", "exact_value"]
RESAMPLES = 2000
ALPHA = 0.05

# Per-sample columns whose mean is the metric of the same name.
_MEAN_COLUMNS = frozenset({"nll", "brier"})
# Accuracies that are a mean of `correct` over one condition.
_NOT_PLAIN_ACCURACY = frozenset({"balanced_acc", "worst_group_acc", "mean_corruption_acc"})
CORRUPTION_PREFIX = "corruption="


@dataclass(frozen=True)
class PerSample:
    """A metric's per-sample form: values indexed by sample_id; binary ones get McNemar."""

    values: pd.Series
    binary: bool


def per_sample(record: MetricRecord, table: SampleTable | None) -> PerSample | None:
    """The per-sample values whose mean is `record`'s value, or None when it has none.

    Recognised: `correct` on the record's condition for plain accuracies (top1_acc, robust_acc,
    any `*_acc` without a group context), per-sample columns named after the metric (nll, brier),
    and mean_corruption_acc as each sample's accuracy averaged over corruption conditions.
    """
    if table is None or record.context.get("group") is not None:
        return None
    if record.context.get("class") is not None:
        return None  # a per-class number is a subset mean; compared by intervals, not here
    frame = table.frame
    if record.metric == "mean_corruption_acc":
        rows = frame[frame["condition"].str.startswith(CORRUPTION_PREFIX)]
        if rows.empty:
            return None
        values = rows.groupby("sample_id")["correct"].mean().astype(np.float64)
        return PerSample(values=values, binary=False)
    rows = frame[frame["condition"] == record.condition]
    if rows.empty:
        return None
    if record.metric == "top5_acc":
        if "top5_correct" not in rows.columns:
            return None
        return PerSample(
            values=rows.set_index("sample_id")["top5_correct"].astype(bool), binary=True
        )
    if record.metric.endswith("_acc") and record.metric not in _NOT_PLAIN_ACCURACY:
        return PerSample(values=rows.set_index("sample_id")["correct"].astype(bool), binary=True)
    if record.metric in _MEAN_COLUMNS and record.metric in rows.columns:
        return PerSample(
            values=rows.set_index("sample_id")[record.metric].astype(np.float64), binary=False
        )
    return None


@dataclass(frozen=True)
class PairedResult:
    """One paired comparison of A against B: difference of means (A - B) and its p-value."""

    test: TestName
    n: int
    diff: float
    p_value: float
    detail: str


def _join(a: pd.Series, b: pd.Series, what: str) -> tuple[np.ndarray, np.ndarray]:
    if set(a.index) != set(b.index):
        only_a, only_b = len(set(a.index) - set(b.index)), len(set(b.index) - set(a.index))
        raise ResultsError(
            f"{what}: the per-sample tables cover different sample ids ({only_a} only in the "
            f"first, {only_b} only in the second); paired tests need the same samples"
        )
    b = b.reindex(a.index)
    return a.to_numpy(), b.to_numpy()


def mcnemar(a: pd.Series, b: pd.Series, *, what: str = "comparison") -> PairedResult:
    """Exact McNemar test of two 0/1 outcome columns joined on sample_id."""
    xa, xb = _join(a, b, what)
    xa, xb = xa.astype(bool), xb.astype(bool)
    only_a = int((xa & ~xb).sum())
    only_b = int((~xa & xb).sum())
    n = len(xa)
    diff = (only_a - only_b) / n if n else 0.0
    return PairedResult(
        test="mcnemar_exact",
        n=n,
        diff=diff,
        p_value=mcnemar_exact(only_a, only_b),
        detail=f"discordant: {only_a} right only in A, {only_b} right only in B",
    )


def paired_bootstrap(
    a: pd.Series,
    b: pd.Series,
    *,
    seed: int,
    name: str,
    resamples: int = RESAMPLES,
    what: str = "comparison",
) -> PairedResult:
    """Two-sided paired bootstrap p-value of mean(A - B) = 0 (null-shifted resamples)."""
    xa, xb = _join(a, b, what)
    d = xa.astype(np.float64) - xb.astype(np.float64)
    n = len(d)
    observed = float(d.mean()) if n else 0.0
    if n < 2 or np.allclose(d, d[0]):
        p = 1.0 if n < 2 or observed == 0.0 else 0.0
        return PairedResult(
            test="paired_bootstrap",
            n=n,
            diff=observed,
            p_value=p,
            detail="degenerate (constant differences)",
        )
    idx = rng(seed, "paired-bootstrap", name, n).integers(0, n, size=(resamples, n))
    means = d[idx].mean(axis=1)
    extreme = np.abs(means - observed) >= abs(observed)
    p = float((extreme.sum() + 1) / (resamples + 1))
    return PairedResult(
        test="paired_bootstrap",
        n=n,
        diff=observed,
        p_value=min(1.0, p),
        detail=f"{resamples} paired resamples",
    )


def compare(a: PerSample, b: PerSample, *, seed: int, name: str) -> PairedResult:
    """McNemar for binary outcomes, paired bootstrap otherwise."""
    if a.binary and b.binary:
        return mcnemar(a.values, b.values, what=name)
    return paired_bootstrap(a.values, b.values, seed=seed, name=name, what=name)


def interval_test(a: MetricRecord, b: MetricRecord) -> PairedResult:
    """Without per-sample data: different when the 95% intervals do not overlap.

    Without intervals the values are treated as exact, so any difference counts.
    """
    va, vb = a.value or 0.0, b.value or 0.0
    if a.ci is None or b.ci is None:
        return PairedResult(
            test="exact_value",
            n=min(a.n, b.n),
            diff=va - vb,
            p_value=0.0 if va != vb else 1.0,
            detail="no interval: value treated as exact",
        )
    apart = a.ci[1] < b.ci[0] or b.ci[1] < a.ci[0]
    return PairedResult(
        test="interval_overlap",
        n=min(a.n, b.n),
        diff=va - vb,
        p_value=0.0 if apart else 1.0,
        detail="95% intervals " + ("do not overlap" if apart else "overlap"),
    )


@dataclass(frozen=True)
class Ranking:
    """Competition ranks where models not significantly different from their group leader tie."""

    ranks: dict[str, int]
    method: str
    comparisons: list[tuple[str, str, PairedResult, float]]  # (leader, model, result, holm p)


def rank_with_ties(
    entries: dict[str, tuple[MetricRecord, PerSample | None]], *, seed: int, alpha: float = ALPHA
) -> Ranking:
    """Rank models on one metric; a model not significantly worse than a group's leader joins it.

    Step-down: the best remaining model leads a group; every other remaining model is compared
    with it (paired test when both have per-sample values, interval test otherwise), the p-values
    are Holm-adjusted within the step, and models with adjusted p >= alpha join the group. The
    group's rank is 1 + the number of models in better groups.
    """
    valued = {m: e for m, e in entries.items() if e[0].value is not None}
    if not valued:
        return Ranking(ranks={}, method="no values to rank", comparisons=[])
    higher = next(iter(valued.values()))[0].higher_is_better
    order = sorted(valued, key=lambda m: ((-1 if higher else 1) * (valued[m][0].value or 0.0), m))
    remaining = list(order)
    ranks: dict[str, int] = {}
    comparisons: list[tuple[str, str, PairedResult, float]] = []
    tests_used: set[str] = set()
    placed = 0
    while remaining:
        leader, rest = remaining[0], remaining[1:]
        results: list[PairedResult] = []
        for model in rest:
            (rec_l, ps_l), (rec_m, ps_m) = valued[leader], valued[model]
            if ps_l is not None and ps_m is not None:
                res = compare(ps_l, ps_m, seed=seed, name=f"rank/{rec_l.key}/{leader}/{model}")
            else:
                res = interval_test(rec_l, rec_m)
            tests_used.add(res.test)
            results.append(res)
        adjusted = holm([r.p_value for r in results]) if results else []
        group = [leader]
        for model, res, p_adj in zip(rest, results, adjusted, strict=True):
            comparisons.append((leader, model, res, p_adj))
            if p_adj >= alpha:
                group.append(model)
        for model in group:
            ranks[model] = placed + 1
        placed += len(group)
        remaining = [m for m in remaining if m not in group]
    names = {
        "mcnemar_exact": "exact McNemar",
        "paired_bootstrap": "paired bootstrap",
        "interval_overlap": "95%-interval overlap",
        "exact_value": "exact values",
    }
    method = (
        f"tie groups: each model vs the best remaining model on the same sample ids "
        f"({', '.join(names[t] for t in sorted(tests_used)) or 'no test needed'}), "
        f"Holm-corrected within each step, alpha={alpha}; models not significantly worse share a rank"
    )
    return Ranking(ranks=ranks, method=method, comparisons=comparisons)
