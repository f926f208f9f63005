"""Two models on the same task: paired differences with intervals for every metric, and where
they differ (classes, groups, conditions).

Jobs pair when task data, suite, suite version and config agree. Every metric both report is
compared with the test the leaderboard's tie groups and the CI gate use for it
(`paired_tests.compare_records`): exact McNemar for accuracies, Newcombe's interval for means
over cells, the paired sign-flip test for other per-sample means, paired resampling for whole-table
statistics (ECE debiased), Mann-Whitney on timing rounds, MOVER from the two intervals for
numbers without per-sample data. Each gives the 95% interval of A - B and its p-value from one
procedure, so the interval excludes 0 exactly when p < 0.05. Numbers without an interval,
undefined ones and numbers with an excluding caveat (upper bounds, reliability flags) are listed
with the reason and not compared.

Families (one per verdict, named on each row, `PairedDiff.family`): the metrics of the comparison
are Holm-adjusted together; slices (every class and group on the clean rows, every other
condition) separately. A metric that is the same test on the same rows as a slice (per-class
accuracy, a plain accuracy on one condition) is tested once, in the slices' family, and its row
carries that family's adjusted p-value: counting it in both would multiply top-1's p-value by the
number of classes. A verdict ("A better") is the adjusted p-value below 0.05; the interval shown
is the unadjusted 95% one, so it can exclude 0 while the verdict says "not significant after
Holm", and `PairedDiff.why` says so. How the headline boards' stars decide on the same number
(another family: the column's step) is in `board_families`.
Analysis only: returns data, renders nothing, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from harness.analysis import paired_tests
from harness.analysis.caveats import caveats
from harness.analysis.headline import HeadlineBoard
from harness.core.class_context import ClassContext
from harness.core.errors import ResultsError
from harness.core.group_context import GroupContext
from harness.core.group_order import group_names
from harness.core.manifest import JobStatus
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import CLEAN, GROUP_PREFIX, UNLABELED, SampleTable
from harness.core.suite_board import SuiteConfigs, read_config
from harness.core.suite_config import SuiteConfig
from harness.stats import timing
from harness.stats.intervals import below_alpha_text, holm
from harness.stats.shared_draws import SharedDraws, ValueStore
from harness.store.recency import oldest_first
from harness.store.run_store import LoadedJob, StoredJob

Interval = tuple[float, float]
SliceKind = Literal["class", "group", "condition"]
ALPHA = 0.05
MIN_SLICE = 10  # smaller slices are not compared


def _p3(p: float | None) -> str:
    """A p-value to three significant digits; one below ALPHA stays below it."""
    return "—" if p is None else below_alpha_text(p, f"{p:.3g}", ALPHA)


METRICS_FAMILY = "the comparison's metrics"
SLICES_FAMILY = "the slices"


@dataclass(frozen=True)
class PairedDiff:
    """One metric of A against B: values, difference A - B with its 95% interval, the test's
    p-value and the adjusted one within `family` (Holm over `family_size` tests)."""

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
    family: str = ""  # whose Holm adjustment p_holm is (METRICS_FAMILY, or a slice)
    family_size: int = 0
    detail: str = ""  # the test's own words (discordant counts, resamples...)
    slice_key: tuple[str, str, str] | None = None  # the slice that is the same test, if any
    board: str = ""  # how the headline board's stars decide on the same number (`board_families`)

    @property
    def better(self) -> Literal["a", "b", ""]:
        """Which model is better: the adjusted p-value below 0.05 ("" otherwise)."""
        if self.diff is None or self.p_holm is None or self.p_holm >= ALPHA or self.diff == 0:
            return ""
        return "a" if (self.diff > 0) == self.higher_is_better else "b"

    @property
    def excludes_zero(self) -> bool:
        """The unadjusted 95% interval excludes 0 (the same as p < 0.05)."""
        return self.ci is not None and (self.ci[0] > 0.0 or self.ci[1] < 0.0)

    @property
    def why(self) -> str:
        """Why the interval and the verdict say different things ("" when they do not)."""
        if not self.excludes_zero or self.better or self.p_holm is None:
            return ""
        return (
            f"the 95% interval excludes 0 (p={_p3(self.p_value)}), but not after Holm's "
            f"correction over the {self.family_size} tests of {self.family} "
            f"(adjusted p={_p3(self.p_holm)})"
        )


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
    metrics_tested: int = 0  # the metrics' Holm family (metrics that are a slice's test excluded)
    notes: list[str] = field(default_factory=list)
    # (model, suite) -> the stored job each number came from (provenance)
    sources: dict[tuple[str, str], LoadedJob] = field(default_factory=dict, repr=False)


def _signature(job: StoredJob) -> tuple[str, str, str, str]:
    r = job.record
    return r.task_summary.fingerprint, r.suite, r.suite_version, r.suite_config_hash


def _latest(loaded: list[LoadedJob], model: str, task: str) -> dict[tuple[str, ...], LoadedJob]:
    out: dict[tuple[str, ...], LoadedJob] = {}
    for man, job in oldest_first(loaded):
        r = job.record
        if r.model == model and r.task == task and job.status == JobStatus.COMPLETED:
            out[_signature(job)] = (man, job)
    return out


def compare_models(
    loaded: list[LoadedJob],
    *,
    task: str,
    a: str,
    b: str,
    configs: SuiteConfigs,
    store: ValueStore | None = None,
) -> ModelComparison:
    """Pair the jobs of `a` and `b` on `task` and compare every metric and slice (`configs`: the
    installed suites' config models, `harness.core.suite_board.suite_configs`; `store`:
    resampled values kept between reports, harness.present.resampled_cache)."""
    jobs_a, jobs_b = _latest(loaded, a, task), _latest(loaded, b, task)
    comp = ModelComparison(task=task, a=a, b=b)
    if not jobs_a or not jobs_b:
        missing = a if not jobs_a else b
        raise ResultsError(
            f"no completed results of model {missing!r} on task {task!r}; compare two models "
            "that both ran on the task"
        )
    only = sorted({s[1] for s in jobs_a} ^ {s[1] for s in jobs_b})
    paired = {s[1] for s in set(jobs_a) & set(jobs_b)}
    apart = sorted(({s[1] for s in jobs_a} & {s[1] for s in jobs_b}) - paired)
    for sig in sorted(set(jobs_a) & set(jobs_b), key=lambda s: s[1]):
        (man, ja), (man_b, jb) = jobs_a[sig], jobs_b[sig]
        comp.sources[(a, ja.record.suite)] = (man, ja)
        comp.sources[(b, jb.record.suite)] = (man_b, jb)
        _compare_jobs(comp, ja, jb, configs, store)
    if only:
        comp.notes.append("not compared (run for one model only): " + ", ".join(only))
    if apart:
        comp.notes.append(
            "not compared (measured differently): "
            + ", ".join(_apart(suite, a, b, jobs_a, jobs_b) for suite in apart)
            + "; run both models with one harness and spec"
        )
    _finish(comp)
    return comp


def _apart(
    suite: str,
    a: str,
    b: str,
    jobs_a: dict[tuple[str, ...], LoadedJob],
    jobs_b: dict[tuple[str, ...], LoadedJob],
) -> str:
    """How the latest `suite` jobs of `a` and `b` were measured differently (`_signature`): on
    other samples, by another suite version (an older harness's results beside a newer one's),
    or with another config."""
    fa, _, va, ca = [s for s in jobs_a if s[1] == suite][-1]
    fb, _, vb, cb = [s for s in jobs_b if s[1] == suite][-1]
    parts = ["other samples of the task"] if fa != fb else []
    if va != vb:
        parts.append(f"{a}: version {va}, {b}: version {vb}")
    if ca != cb:
        parts.append(f"{a}: config {ca[:12]}, {b}: config {cb[:12]}")
    return f"{suite} ({'; '.join(parts)})"


def _table(job: StoredJob) -> SampleTable | None:
    return job.table() if job.has_table else None


def _class_index(value: str, names: tuple[str, ...]) -> int | None:
    if value in names:
        return names.index(value)
    return int(value) if value.lstrip("-").isdigit() else None


def _per_sample(
    record: MetricRecord,
    table: SampleTable | None,
    names: tuple[str, ...],
    config: SuiteConfig | None = None,
) -> paired_tests.Form | None:
    """The paired form of the record (per-sample values whose mean is the record's value, or a
    resampled whole-table statistic; both checked against the value), or None."""
    if table is None or record.value is None or GroupContext.of(record.context).group is not None:
        return None
    found: paired_tests.Form | None
    label = ClassContext.of(record.context).label
    if record.metric == "class_acc" and label is not None:
        index = _class_index(label, names)
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


def _compare_jobs(
    comp: ModelComparison,
    ja: StoredJob,
    jb: StoredJob,
    configs: SuiteConfigs,
    store: ValueStore | None = None,
) -> None:
    ta, tb = _table(ja), _table(jb)
    names = ja.record.task_summary.class_names
    records_b = {m.key: m for m in jb.metrics}
    seed = min(ja.record.seed, jb.record.seed)
    for ra in ja.metrics:
        rb = records_b.get(ra.key)
        if rb is None:
            continue
        ea = _evidence(ra, ja, ta, names, configs)
        eb = _evidence(rb, jb, tb, names, configs)
        name = paired_tests.pair_name(ra.key, comp.a, comp.b)
        comp.diffs.append(_diff(ra, rb, ea, eb, seed=seed, name=name, store=store))
    if ta is not None and tb is not None:
        blocked = {  # conditions whose numbers are upper bounds or flagged are not compared
            r.condition
            for r in [*ja.metrics, *jb.metrics]
            if r.condition != CLEAN
            and any(c.kind in ("upper_bound", "unreliable") for c in caveats(r))
        }
        comp.slices += [s for s in _slices(ja, ta.frame, tb.frame) if s.condition not in blocked]


def _evidence(
    record: MetricRecord,
    job: StoredJob,
    table: SampleTable | None,
    names: tuple[str, ...],
    configs: SuiteConfigs,
) -> paired_tests.Evidence:
    rounds = None
    if record.metric in timing.ROUND_METRICS:
        rounds = timing.rounds_for(record.metric, record.context, job.artifacts())
    config = read_config(configs, job.record.suite, job.record.suite_config)
    form = _per_sample(record, table, names, config)
    return paired_tests.Evidence(record=record, form=form, rounds=rounds, seed=job.record.seed)


def _base(ra: MetricRecord, rb: MetricRecord) -> PairedDiff:
    diff = None if ra.value is None or rb.value is None else ra.value - rb.value
    return PairedDiff(
        ra.suite, ra.key, ra.unit, ra.higher_is_better, ra.value, rb.value, diff, None, "", 0
    )


def _slice_key(record: MetricRecord, test: str) -> tuple[str, str, str] | None:
    """The slice that is the same test on the same rows as this metric (None: no such slice):
    a per-class accuracy is the class's slice, a plain accuracy on one condition that
    condition's slice."""
    if test != "mcnemar_exact":
        return None
    label = ClassContext.of(record.context).label
    if record.metric == "class_acc" and label is not None:
        return "class", f"class {label}", record.condition
    if record.condition != CLEAN and not GroupContext.of(record.context).group:
        return "condition", record.condition, record.condition
    return None


def _diff(
    ra: MetricRecord,
    rb: MetricRecord,
    ea: paired_tests.Evidence,
    eb: paired_tests.Evidence,
    *,
    seed: int,
    name: str,
    store: ValueStore | None = None,
) -> PairedDiff:
    base = _base(ra, rb)
    n = min(ra.n, rb.n)
    blocking = [c for r in (ra, rb) for c in caveats(r) if c.excludes]
    if blocking:
        return replace(base, method="not compared", n=n, reason=blocking[0].reason)
    if base.diff is None:
        return replace(base, method="not compared", n=n, reason="undefined on one side")
    try:
        res = paired_tests.compare_records(
            ea, eb, seed=seed, name=name, shared=None if store is None else SharedDraws(store)
        )
    except ResultsError as err:
        return replace(base, method="not compared", n=n, reason=str(err))
    if not res.tested:
        return replace(base, method="not compared", n=res.n, reason=res.detail)
    return replace(
        base,
        diff=res.diff,
        ci=res.ci,
        method=res.method,
        n=res.n,
        p_value=res.p_value,
        detail=res.detail,
        slice_key=_slice_key(ra, res.test),
    )


def _slice_diff(
    suite: str, kind: SliceKind, label: str, cond: str, rows: pd.DataFrame
) -> SliceDiff | None:
    if len(rows) < MIN_SLICE:
        return None
    res = paired_tests.mcnemar(rows["a"].reset_index(drop=True), rows["b"].reset_index(drop=True))
    a_acc, b_acc = float(rows["a"].mean()), float(rows["b"].mean())
    return SliceDiff(
        suite, kind, label, cond, len(rows), a_acc, b_acc, a_acc - b_acc, res.ci,
        paired_tests.p_or_one(res),
    )  # fmt: skip


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
    # an OOD set's rows have no label: every model is "wrong" on each, an accuracy of 0 that
    # says nothing (their comparison is the OOD detection metrics')
    frame = frame[frame["label"] != UNLABELED]
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
        value_names = group_names([str(v) for v in clean[col].dropna().unique()], readable)
        for value, rows in clean.groupby(col, dropna=True, observed=True):
            shown = value_names[str(value)]
            out.append(_slice_diff(suite, "group", f"{by}: {shown}", CLEAN, rows))
    for cond in sorted(set(conditions) - {CLEAN}):
        out.append(_slice_diff(suite, "condition", str(cond), str(cond), frame[conditions == cond]))
    return [s for s in out if s is not None]


def _finish(comp: ModelComparison) -> None:
    """Holm-adjust the slices' p-values, then the metrics' (each metric that is a slice's test
    takes the slice's adjusted p-value: one family per verdict); order slices by size."""
    unique: dict[tuple[str, str, str], SliceDiff] = {}
    for s in comp.slices:  # the same clean slice appears in every suite's table: keep one
        unique.setdefault((s.kind, s.slice, s.condition), s)
    slices = list(unique.values())
    comp.slices_tested = len(slices)
    p_adj = holm([s.p_value for s in slices]) if slices else []
    adjusted = {key: p for key, p in zip(unique, p_adj, strict=True)}
    for i, d in enumerate(comp.diffs):
        if d.p_value is not None and d.slice_key in adjusted:
            comp.diffs[i] = replace(
                d, p_holm=adjusted[d.slice_key], family=SLICES_FAMILY, family_size=len(slices)
            )
    tested = [i for i, d in enumerate(comp.diffs) if d.p_value is not None and not d.family]
    metric_p = holm([comp.diffs[i].p_value or 0.0 for i in tested]) if tested else []
    for i, p in zip(tested, metric_p, strict=True):
        comp.diffs[i] = replace(
            comp.diffs[i], p_holm=p, family=METRICS_FAMILY, family_size=len(tested)
        )
    comp.metrics_tested = len(tested)
    comp.slices = sorted(
        (replace(s, p_holm=p) for s, p in zip(slices, p_adj, strict=True)),
        key=lambda s: (-abs(s.diff), s.kind, s.slice),
    )


def board_families(comp: ModelComparison, heads: Sequence[HeadlineBoard]) -> None:
    """Say on each metric that is also a headline column of the comparison's task how the
    board's stars decided on the same two numbers (`PairedDiff.board`), and why a verdict can
    differ: the stars' tie groups adjust within one step of the column (the leader against the
    models left), this page over every tested metric of the pair. The p-value is the same
    (same test, same draws: `paired_tests.pair_name`)."""
    for i, d in enumerate(comp.diffs):
        if d.p_value is None:
            continue
        for head in (h for h in heads if h.board.task == comp.task):
            text = _board_text(head, d, comp.a, comp.b)
            if text:
                comp.diffs[i] = replace(d, board=text)
                break


def _board_text(head: HeadlineBoard, d: PairedDiff, a: str, b: str) -> str:
    for j, column in enumerate(head.columns):
        keys = {
            row.model: cell.record.key
            for row in head.rows
            if (cell := row.cells[j]).record is not None
        }
        if keys.get(a) != d.key or keys.get(b) != d.key:
            continue
        ranking = head.rankings[j] if j < len(head.rankings) else None
        if ranking is None or a not in ranking.ranks or b not in ranking.ranks:
            return ""
        return _step_text(ranking, column.label, d, a, b)
    return ""


def _step_text(ranking: paired_tests.Ranking, label: str, d: PairedDiff, a: str, b: str) -> str:
    """The board's decision on a and b in words, and why it differs from this page's."""
    step = [c for c in ranking.comparisons if {c[0], c[1]} == {a, b}]
    same = ranking.ranks[a] == ranking.ranks[b]
    if not step:
        where = "in one tie group" if same else "in different tie groups"
        return (
            f"headline board ({label}): {where}, each tested against its group's leader, not "
            "against each other"
        )
    leader, _other, _res, p_adj = step[0]
    size = sum(1 for c in ranking.comparisons if c[0] == leader and c[3] is not None)
    board_apart = p_adj is not None and p_adj < ALPHA
    text = (
        f"headline board ({label}): {'apart' if board_apart else 'tied'}, Holm over the {size} "
        f"models tested against the step's leader {leader} (adjusted p="
        + ("—" if p_adj is None else _p3(p_adj))
        + ")"
    )
    if board_apart != bool(d.better):
        text += (
            f"; the same p-value ({_p3(d.p_value)}) is adjusted over {size} tests there and over "
            f"{d.family_size} here ({d.family}), so the two verdicts differ"
        )
    return text
