"""Two models on the same task: paired differences with intervals for every metric, and where
they differ (classes, groups, conditions).

Jobs pair when task data, suite, suite version and config agree. For every metric both report,
the difference A - B gets a 95% interval:

- accuracies with per-sample outcomes on the same sample ids: Newcombe's hybrid score interval
  for a difference of paired proportions (method 10 of Newcombe 1998, from Wilson intervals and
  the correlation of the paired outcomes) and the exact McNemar test;
- means over cells of binary outcomes clustered by source image (mean corruption accuracy, the
  tabular / text shift means): Newcombe's square-and-add interval from the two Wilson intervals
  at Kish's effective n with the correlation of the per-image influences, continuity-adjusted
  (`intervals.cell_mean_difference`: two models that agree on every image get an interval
  around 0, not [0, 0]), and the paired bootstrap's p-value over each image's contribution
  (`paired_forms.cell_mean_form`);
- other per-sample quantities (NLL, Brier, per-corruption error): a seeded paired bootstrap
  (percentile interval of the mean difference, p-value from null-shifted resamples);
- statistics of the whole table (ECE, balanced accuracy, macro-F1, fairness disparities, OOD
  detection metrics): both models recomputed on the same seeded resamples of the sample ids
  (`paired_tests.paired_resample`), a normal interval from the resampled differences;
- numbers without per-sample data but with intervals (throughput, stored tables missing): MOVER
  (Zou & Donner 2008) from the two 95% intervals, which treats the estimates as independent
  (conservative when they are positively correlated); no p-value;
- numbers without an interval, undefined ones and numbers with an excluding caveat (upper
  bounds, reliability flags) are listed with the reason and not compared.

p-values are Holm-adjusted over the comparison's tested metrics, and separately over slices.
Analysis only: returns data, renders nothing, no torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from harness.analysis import paired_tests
from harness.analysis.caveats import caveats
from harness.analysis.intervals import (
    CellMean,
    cell_mean_difference,
    holm,
    newcombe_paired,
    z_value,
)
from harness.analysis.paired_forms import cell_means
from harness.core.errors import ResultsError
from harness.core.manifest import JobStatus
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import CLEAN, GROUP_PREFIX, SampleTable
from harness.core.seeding import rng
from harness.store.run_store import LoadedJob, StoredJob

Interval = tuple[float, float]
SliceKind = Literal["class", "group", "condition"]
ALPHA = 0.05
MIN_SLICE = 10  # smaller slices are not compared
RESAMPLES = 2000


def mover(a: MetricRecord, b: MetricRecord) -> Interval | None:
    """95% interval of a - b from the two records' intervals (independent estimates)."""
    if a.value is None or b.value is None or a.ci is None or b.ci is None:
        return None
    d = a.value - b.value
    lower = math.sqrt((a.value - a.ci[0]) ** 2 + (b.ci[1] - b.value) ** 2)
    upper = math.sqrt((a.ci[1] - a.value) ** 2 + (b.value - b.ci[0]) ** 2)
    return d - lower, d + upper


@dataclass(frozen=True)
class PairedDiff:
    """One metric of A against B: values, difference A - B with its interval, and the method."""

    suite: str
    key: str
    unit: str
    higher_is_better: bool
    a: float | None
    b: float | None
    diff: float | None
    ci: Interval | None
    method: str
    n: int
    p_value: float | None = None
    p_holm: float | None = None
    reason: str = ""  # why the metric was not compared ("" when it was)

    @property
    def better(self) -> Literal["a", "b", ""]:
        """Which model is better with 95% confidence ("" when the interval contains 0, or when
        a tested p-value is not significant after Holm)."""
        if self.ci is None or self.diff is None or self.ci[0] <= 0.0 <= self.ci[1]:
            return ""
        if self.p_holm is not None and self.p_holm >= ALPHA:
            return ""
        a_ahead = self.ci[0] > 0.0
        return "a" if a_ahead == self.higher_is_better else "b"


@dataclass(frozen=True)
class SliceDiff:
    """Accuracy of A and B on one slice of the same samples, paired."""

    suite: str
    kind: SliceKind
    slice: str
    condition: str
    n: int
    a_acc: float
    b_acc: float
    diff: float
    ci: Interval | None
    p_value: float
    p_holm: float = 1.0

    @property
    def significant(self) -> bool:
        return self.p_holm < ALPHA


@dataclass
class ModelComparison:
    """Model A against model B on one task: every metric, and the slices where they differ."""

    task: str
    a: str
    b: str
    diffs: list[PairedDiff] = field(default_factory=list)
    slices: list[SliceDiff] = field(default_factory=list)  # largest |difference| first
    slices_tested: int = 0
    notes: list[str] = field(default_factory=list)
    # (model, suite) -> the stored job each number came from (provenance)
    sources: dict[tuple[str, str], LoadedJob] = field(default_factory=dict, repr=False)


def _signature(job: StoredJob) -> tuple[str, str, str, str]:
    r = job.record
    return r.task_summary.fingerprint, r.suite, r.suite_version, r.suite_config_hash


def _latest(loaded: list[LoadedJob], model: str, task: str) -> dict[tuple[str, ...], LoadedJob]:
    out: dict[tuple[str, ...], LoadedJob] = {}
    for man, job in sorted(loaded, key=lambda mj: mj[1].record.finished or ""):
        r = job.record
        if r.model == model and r.task == task and job.status == JobStatus.COMPLETED:
            out[_signature(job)] = (man, job)
    return out


def compare_models(loaded: list[LoadedJob], *, task: str, a: str, b: str) -> ModelComparison:
    """Pair the jobs of `a` and `b` on `task` and compare every metric and slice."""
    jobs_a, jobs_b = _latest(loaded, a, task), _latest(loaded, b, task)
    comp = ModelComparison(task=task, a=a, b=b)
    if not jobs_a or not jobs_b:
        missing = a if not jobs_a else b
        raise ResultsError(
            f"no completed results of model {missing!r} on task {task!r}; compare two models "
            "that both ran on the task"
        )
    only = sorted({s[1] for s in jobs_a} ^ {s[1] for s in jobs_b})
    for sig in sorted(set(jobs_a) & set(jobs_b), key=lambda s: s[1]):
        (man, ja), (man_b, jb) = jobs_a[sig], jobs_b[sig]
        comp.sources[(a, ja.record.suite)] = (man, ja)
        comp.sources[(b, jb.record.suite)] = (man_b, jb)
        _compare_jobs(comp, ja, jb, seed=man.seed)
    if only:
        comp.notes.append(
            "not compared (run for one model only, or with another suite config): "
            + ", ".join(only)
        )
    _finish(comp)
    return comp


def _table(job: StoredJob) -> SampleTable | None:
    return job.table() if job.has_table else None


def _class_index(record: MetricRecord, names: tuple[str, ...]) -> int | None:
    value = str(record.context["class"])
    if value in names:
        return names.index(value)
    return int(value) if value.lstrip("-").isdigit() else None


def _per_sample(
    record: MetricRecord,
    table: SampleTable | None,
    names: tuple[str, ...],
    config: Mapping[str, object] | None = None,
) -> paired_tests.Form | None:
    """The paired form of the record (per-sample values whose mean is the record's value, or a
    resampled whole-table statistic; both checked against the value), or None."""
    if table is None or record.value is None or "group" in record.context:
        return None
    found: paired_tests.Form | None
    if record.metric == "class_acc" and "class" in record.context:
        index = _class_index(record, names)
        rows = table.condition(record.condition)
        rows = rows[rows["label"] == index] if index is not None else rows.iloc[0:0]
        found = (
            paired_tests.PerSample(rows.set_index("sample_id")["correct"].astype(bool), True)
            if len(rows)
            else None
        )
    elif record.metric == "corruption_error" and record.condition.startswith("corruption="):
        frame = table.frame
        rows = frame[frame["condition"].str.startswith(record.condition + "/severity=")]
        errors = 1.0 - rows.groupby("sample_id")["correct"].mean().astype(np.float64)
        found = paired_tests.PerSample(errors, False) if len(rows) else None
    else:
        return paired_tests.per_sample(record, table, config)  # checked against the value
    if found is None or len(found.values) == 0:
        return None
    mean = float(found.values.astype(np.float64).mean())
    return found if abs(mean - record.value) <= 1e-6 else None  # not the record's own mean


def _compare_jobs(comp: ModelComparison, ja: StoredJob, jb: StoredJob, *, seed: int) -> None:
    ta, tb = _table(ja), _table(jb)
    names = ja.record.task_summary.class_names
    records_b = {m.key: m for m in jb.metrics}
    for ra in ja.metrics:
        rb = records_b.get(ra.key)
        if rb is None:
            continue
        psa = _per_sample(ra, ta, names, ja.record.suite_config)
        psb = _per_sample(rb, tb, names, jb.record.suite_config)
        name = f"compare/{comp.a}/{comp.b}/{ra.key}"
        diff = _diff(ra, rb, psa, psb, seed=seed, name=name)
        comp.diffs.append(_cell_interval(diff, cell_means(ra, ta), cell_means(rb, tb)))
    if ta is not None and tb is not None:
        blocked = {  # conditions whose numbers are upper bounds or flagged are not compared
            r.condition
            for r in [*ja.metrics, *jb.metrics]
            if r.condition != CLEAN
            and any(c.kind in ("upper_bound", "unreliable") for c in caveats(r))
        }
        comp.slices += [s for s in _slices(ja, ta.frame, tb.frame) if s.condition not in blocked]


def _base(ra: MetricRecord, rb: MetricRecord) -> PairedDiff:
    diff = None if ra.value is None or rb.value is None else ra.value - rb.value
    return PairedDiff(
        ra.suite, ra.key, ra.unit, ra.higher_is_better, ra.value, rb.value, diff, None, "", 0
    )


def _diff(
    ra: MetricRecord,
    rb: MetricRecord,
    psa: paired_tests.Form | None,
    psb: paired_tests.Form | None,
    *,
    seed: int,
    name: str,
) -> PairedDiff:
    base = _base(ra, rb)
    n = min(ra.n, rb.n)
    blocking = [c for r in (ra, rb) for c in caveats(r) if c.excludes]
    if blocking:
        return replace(base, method="not compared", n=n, reason=blocking[0].reason)
    if psa is not None and psb is not None and type(psa) is type(psb):
        try:
            if isinstance(psa, paired_tests.Resampled) and isinstance(psb, paired_tests.Resampled):
                return _resampled(base, psa, psb, seed=seed, name=name)
            assert isinstance(psa, paired_tests.PerSample) and isinstance(
                psb, paired_tests.PerSample
            )
            return _paired(base, psa, psb, seed=seed, name=name)
        except ResultsError as err:
            return replace(base, method="not compared", n=n, reason=str(err))
    ci = mover(ra, rb)
    if ci is None:
        return replace(base, method="no interval", n=n, reason="no interval on one of the numbers")
    return replace(base, ci=ci, n=n, method="MOVER (no test)")


def _paired(
    base: PairedDiff,
    psa: paired_tests.PerSample,
    psb: paired_tests.PerSample,
    *,
    seed: int,
    name: str,
) -> PairedDiff:
    if psa.binary and psb.binary:
        res = paired_tests.mcnemar(psa.values, psb.values, what=name)
        xa = psa.values.astype(bool)
        xb = psb.values.reindex(psa.values.index).astype(bool)
        both, only_a = int((xa & xb).sum()), int((xa & ~xb).sum())
        only_b, neither = int((~xa & xb).sum()), int((~xa & ~xb).sum())
        ci = newcombe_paired(both, only_a, only_b, neither)
        method = "paired: Newcombe + McNemar"
        return replace(base, ci=ci, method=method, n=res.n, p_value=res.p_value)
    res = paired_tests.paired_bootstrap(
        psa.values, psb.values, seed=seed, name=name, resamples=RESAMPLES, what=name
    )
    d = psa.values.to_numpy(np.float64) - psb.values.reindex(psa.values.index).to_numpy(np.float64)
    idx = rng(seed, "compare-bootstrap", name, len(d)).integers(0, len(d), (RESAMPLES, len(d)))
    lo, hi = np.quantile(d[idx].mean(axis=1), [0.025, 0.975])
    method = "paired bootstrap"
    return replace(base, ci=(float(lo), float(hi)), method=method, n=res.n, p_value=res.p_value)


def _cell_interval(diff: PairedDiff, a: CellMean | None, b: CellMean | None) -> PairedDiff:
    """A mean over cells compared on per-sample data: its interval is `cell_mean_difference`
    (the bootstrap's percentile interval said [0, 0] for two models equal on every image)."""
    if a is None or b is None or diff.method != "paired bootstrap":
        return diff
    ci = cell_mean_difference(a, b)
    if ci is None:
        return diff
    return replace(diff, ci=ci, method="paired: Newcombe (cell means) + bootstrap")


def _resampled(
    base: PairedDiff,
    psa: paired_tests.Resampled,
    psb: paired_tests.Resampled,
    *,
    seed: int,
    name: str,
) -> PairedDiff:
    res = paired_tests.paired_resample(
        psa, psb, seed=seed, name=name, resamples=RESAMPLES, what=name
    )
    if not res.tested or res.se is None:
        return replace(base, method="not compared", n=res.n, reason=res.detail)
    half = z_value() * res.se
    method = "paired resampling of the statistic"
    ci = (res.diff - half, res.diff + half)
    return replace(base, ci=ci, method=method, n=res.n, p_value=res.p_value)


def _slice_diff(
    suite: str, kind: SliceKind, label: str, cond: str, rows: pd.DataFrame
) -> SliceDiff | None:
    if len(rows) < MIN_SLICE:
        return None
    xa, xb = rows["a"].to_numpy(bool), rows["b"].to_numpy(bool)
    both, only_a = int((xa & xb).sum()), int((xa & ~xb).sum())
    only_b, neither = int((~xa & xb).sum()), int((~xa & ~xb).sum())
    res = paired_tests.mcnemar(rows["a"].reset_index(drop=True), rows["b"].reset_index(drop=True))
    a_acc, b_acc = float(xa.mean()), float(xb.mean())
    ci = newcombe_paired(both, only_a, only_b, neither)
    return SliceDiff(
        suite,
        kind,
        label,
        cond,
        len(rows),
        a_acc,
        b_acc,
        a_acc - b_acc,
        ci,
        paired_tests.p_or_one(res),
    )


def _slices(job: StoredJob, fa: pd.DataFrame, fb: pd.DataFrame) -> list[SliceDiff]:
    """Paired accuracy on every class and group (clean rows) and every other condition."""
    summary = job.record.task_summary
    ka, kb = fa.set_index(["condition", "sample_id"]), fb.set_index(["condition", "sample_id"])
    common = ka.index.intersection(kb.index)
    if common.empty:
        return []
    va, vb = ka.loc[common], kb.loc[common]
    frame = pd.DataFrame(
        {"a": va["correct"].astype(bool).to_numpy(), "b": vb["correct"].astype(bool).to_numpy()},
        index=common,
    )
    frame["label"] = va["label"].to_numpy()
    groups = [c for c in fa.columns if c.startswith(GROUP_PREFIX)]
    for col in groups:
        frame[col] = va[col].to_numpy()
    suite = job.record.suite
    conditions = frame.index.get_level_values("condition")
    clean = frame[conditions == CLEAN]
    out: list[SliceDiff | None] = []
    names = summary.class_names
    for label, rows in clean.groupby("label"):
        shown = names[int(label)] if 0 <= int(label) < len(names) else str(label)
        out.append(_slice_diff(suite, "class", f"class {shown}", CLEAN, rows))
    for col in groups:
        by = col[len(GROUP_PREFIX) :]
        readable: Mapping[str, str] = summary.group_labels.get(by, {})
        for value, rows in clean.groupby(col, dropna=True, observed=True):
            shown = readable.get(str(value), str(value))
            out.append(_slice_diff(suite, "group", f"{by}: {shown}", CLEAN, rows))
    for cond in sorted(set(conditions) - {CLEAN}):
        out.append(_slice_diff(suite, "condition", str(cond), str(cond), frame[conditions == cond]))
    return [s for s in out if s is not None]


def _finish(comp: ModelComparison) -> None:
    """Holm-adjust the metrics' p-values and the slices' separately; order slices by size."""
    tested = [i for i, d in enumerate(comp.diffs) if d.p_value is not None]
    adjusted = holm([comp.diffs[i].p_value or 0.0 for i in tested]) if tested else []
    for i, p in zip(tested, adjusted, strict=True):
        comp.diffs[i] = replace(comp.diffs[i], p_holm=p)
    unique: dict[tuple[str, str, str], SliceDiff] = {}
    for s in comp.slices:  # the same clean slice appears in every suite's table: keep one
        unique.setdefault((s.kind, s.slice, s.condition), s)
    slices = list(unique.values())
    comp.slices_tested = len(slices)
    p_adj = holm([s.p_value for s in slices]) if slices else []
    comp.slices = sorted(
        (replace(s, p_holm=p) for s, p in zip(slices, p_adj, strict=True)),
        key=lambda s: (-abs(s.diff), s.kind, s.slice),
    )


def default_pairs(ranked: Mapping[str, list[str]]) -> list[tuple[str, str, str]]:
    """(task, first, second) for each task with at least two models: the board's leader
    against the runner-up, the comparison a reader of the headline board asks for first."""
    return [(task, models[0], models[1]) for task, models in ranked.items() if len(models) >= 2]
