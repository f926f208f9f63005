"""What compression costs: each variant's change from its parent, and where the harm is.

A variant job is paired with its parent's job on the same task data, suite, suite version and
config. Every metric both report is compared with the best test its stored results allow
(harness.analysis.paired_tests): exact McNemar on the per-sample `correct` column for
accuracies, the paired sign-flip test for other per-sample means (NLL, Brier), paired
resampling for whole-table statistics (ECE debiased, disparities, OOD detection),
Mann-Whitney on the timing rounds for throughput and latency (inconclusive when the timing was
unstable), MOVER from the intervals otherwise, and no test (p empty) for numbers without
either. p-values are Holm-adjusted over each (variant, task) family. A mean over cells is tested
by Newcombe's square-and-add interval of its delta from the two cell-mean intervals with the
correlation over the images (`intervals.cell_mean_difference`; `MetricDelta.ci`) and the p-value
read off it, so the two agree; it stays about +-z/n wide (n the images) for a variant that
changes no prediction, where the bootstrap's differences were all 0.

"Where the harm is concentrated" (Hooker et al. 2020, "What do compressed deep neural networks
forget?"): slices of the per-sample tables (each class and each group on the clean condition,
each non-clean condition) are tested the same way, and the slice with the largest paired drop is
reported per kind with its n and p-value, even when the average barely moves. No torch here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import pandas as pd

from harness.analysis import paired_tests
from harness.core.board_notes import RANDOMISED_MARK
from harness.core.class_context import ClassContext
from harness.core.group_context import GroupContext
from harness.core.manifest import JobStatus, ModelDescription
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import CLEAN, GROUP_PREFIX, UNLABELED, SampleTable
from harness.core.suite_board import SuiteConfigs
from harness.stats.groups import INTERSECTION, intersection_keys
from harness.stats.intervals import below_alpha_text, holm
from harness.stats.shared_draws import SharedDraws, ValueStore
from harness.stats.timing import UNSTABLE
from harness.store.completeness import Completeness
from harness.store.recency import oldest_first
from harness.store.run_store import LoadedJob, StoredJob

SliceKind = Literal["class", "group", "condition"]
ALPHA = 0.05
MIN_SLICE = 10  # smaller slices are not searched for concentrated harm


@dataclass(frozen=True)
class MetricDelta:
    """One metric of a variant against its parent: values, delta (variant - parent), test."""

    suite: str
    metric: str
    unit: str
    higher_is_better: bool
    parent_value: float | None
    variant_value: float | None
    delta: float | None
    test: str
    n: int
    p_value: float | None
    p_holm: float | None = None
    detail: str = ""
    # 95% interval of the delta (not Holm-adjusted): the one its paired test inverts, where
    # the test is of the delta itself (not ECE's: of the debiased ECE)
    ci: tuple[float, float] | None = None
    # the parent's key where it is not `metric`: an fp16/bf16 variant's timing (keyed with
    # `weights`) against its float32 parent's, which is the column a board shows it under
    parent_metric: str = ""

    @property
    def significant_harm(self) -> bool:
        if self.delta is None or self.p_holm is None or self.p_holm >= ALPHA:
            return False
        return self.delta < 0 if self.higher_is_better else self.delta > 0


@dataclass(frozen=True)
class HarmSlice:
    """The accuracy drop (parent - variant) on one slice of the samples, paired McNemar."""

    suite: str
    kind: SliceKind
    slice: str
    condition: str
    n: int
    parent_acc: float
    variant_acc: float
    drop: float
    p_value: float
    p_holm: float


@dataclass(frozen=True)
class VariantSize:
    """A variant's size on disk and parameter counts against its parent's (docs/variants.md)."""

    size_bytes: int | None
    parent_size_bytes: int | None
    size_format: str | None
    parameters: int | None
    parent_parameters: int | None
    nonzero_parameters: int | None
    parent_nonzero_parameters: int | None
    gradients: bool | None
    size_ratio: float | None = None  # size_bytes / parent_size_bytes when both are known

    @classmethod
    def of(cls, desc: ModelDescription) -> VariantSize:
        ratio = (
            desc.size_bytes / desc.parent_size_bytes
            if desc.size_bytes and desc.parent_size_bytes
            else None
        )
        return cls(
            size_bytes=desc.size_bytes,
            parent_size_bytes=desc.parent_size_bytes,
            size_format=desc.size_format,
            parameters=desc.parameters,
            parent_parameters=desc.parent_parameters,
            nonzero_parameters=desc.nonzero_parameters,
            parent_nonzero_parameters=desc.parent_nonzero_parameters,
            gradients=desc.gradients,
            size_ratio=ratio,
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.size_ratio is None:
            del out["size_ratio"]
        return out

    def ratio_text(self, parent: str = "") -> str:
        """'size 0.26x' (`parent`: words after the ratio, e.g. " the parent's"), and where the
        variant holds fewer nonzero parameters than its parent, their share: a pruned model
        stored dense keeps its size ('size 1.00x; nonzero parameters 0.50x'), which alone read
        as a pruning that did nothing. '' without a size ratio."""
        if not self.size_ratio:
            return ""
        text = f"size {self.size_ratio:.2f}x{parent}"
        nonzero, before = self.nonzero_parameters, self.parent_nonzero_parameters
        if nonzero is not None and before and nonzero < before:
            text += f"; nonzero parameters {nonzero / before:.2f}x{parent}"
        return text


@dataclass
class VariantComparison:
    """A variant on one task against its parent: size, metric deltas and concentrated harm."""

    variant_model: str
    parent: str
    variant: str
    task: str
    size: VariantSize
    status: str = "compared"  # or "skipped" / "no parent results" / "failed" / "parent failed"
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    deltas: list[MetricDelta] = field(default_factory=list)
    worst: dict[str, HarmSlice] = field(default_factory=dict)  # kind -> largest drop
    slices_tested: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["size"] = self.size.to_dict()
        out["deltas"] = [dict(asdict(d), significant_harm=d.significant_harm) for d in self.deltas]
        return out


def _sig(job: StoredJob) -> tuple[str, str, str, str]:
    r = job.record
    return r.task_summary.fingerprint, r.suite, r.suite_version, r.suite_config_hash


def _table(job: StoredJob) -> SampleTable | None:
    return job.table() if (job.path / "samples.parquet").is_file() else None


def compare_variants(
    loaded: list[LoadedJob],
    *,
    task: str | None = None,
    metrics: Collection[str] | None = None,
    configs: SuiteConfigs,
    store: ValueStore | None = None,
) -> list[VariantComparison]:
    """Pair every variant job under the store with its parent's job and compare them.
    `metrics`: test only the metrics of these keys (a leaderboard's note reads its first
    column's); the comparisons' status and slices are those of every metric. `configs`: the
    installed suites' config models (`harness.core.suite_board.suite_configs`). `store`:
    resampled values kept between reports (harness.present.resampled_cache)."""
    runs: dict[tuple[str, str, tuple[str, str, str, str]], list[StoredJob]] = {}
    seeds: dict[int, int] = {}
    run_of: dict[int, str] = {}
    recency: dict[tuple[str, str, tuple[str, str, str, str]], int] = {}
    for i, (man, job) in enumerate(oldest_first(loaded)):
        if task is not None and job.record.task != task:
            continue
        slot_key = (job.record.model, job.record.task, _sig(job))
        runs.setdefault(slot_key, []).append(job)
        seeds[id(job)] = man.seed
        run_of[id(job)] = man.run_id
        recency[slot_key] = i
    latest = {key: jobs[-1] for key, jobs in runs.items()}
    out: dict[tuple[str, str], VariantComparison] = {}
    paired: set[tuple[str, str]] = set()  # comparisons with a metric both jobs report
    # why no parent job matched, in words, per variant and suite
    unpaired: dict[tuple[str, str], dict[str, str]] = {}
    # per variant and task, each suite's compared pair (its run): the newest pair of a suite is
    # compared, an older one (other samples, version or config) is named, never listed beside
    # it (the same metrics twice, Holm over both)
    compared: dict[tuple[str, str], dict[str, tuple[str, int]]] = {}
    # the run (and recency) of each suite's unpaired variant job
    unpaired_runs: dict[tuple[str, str], dict[str, tuple[str, int]]] = {}
    chosen: list[
        tuple[tuple[str, str, tuple[str, str, str, str]], VariantComparison, StoredJob, StoredJob]
    ] = []
    newest_first = sorted(latest.items(), key=lambda kv: (kv[0][:2], -recency[kv[0]]))
    for (model, task_name, sig), job in newest_first:
        desc = job.record.model_description
        if desc.lineage is None:
            continue
        parent, variant = desc.lineage
        comp = out.setdefault(
            (model, task_name),
            VariantComparison(
                model,
                parent,
                variant,
                task_name,
                VariantSize.of(desc),
                notes=list(desc.variant_notes),
            ),
        )
        done = compared.setdefault((model, task_name), {})
        if sig[1] in done:  # a newer pair of this suite is compared
            comp.notes.append(
                f"{sig[1]}: the jobs of run {run_of[id(job)]} (older, on other samples, suite "
                f"version or config) are not compared: those of run {done[sig[1]][0]} are"
            )
            continue
        if job.status == JobStatus.SKIPPED:
            if desc.unavailable_reason:
                comp.status, comp.reason = "skipped", desc.unavailable_reason
            continue
        candidates = runs.get((parent, task_name, sig), [])
        if not candidates:
            unpaired.setdefault((model, task_name), {}).setdefault(
                sig[1], _why_no_parent(runs, parent, task_name, sig)
            )
            unpaired_runs.setdefault((model, task_name), {}).setdefault(
                sig[1], (run_of[id(job)], recency[(model, task_name, sig)])
            )
        same = [p for p in candidates if not built_from_other(desc, p.record.model_description)]
        pjob = same[-1] if same else None
        if candidates and pjob is None and job.status == JobStatus.COMPLETED:
            other = built_from_other(desc, candidates[-1].record.model_description)
            comp.status, comp.reason = "parent differs", other
            continue
        if job.status != JobStatus.COMPLETED or pjob is None or pjob.status != JobStatus.COMPLETED:
            continue
        done[sig[1]] = (run_of[id(job)], recency[(model, task_name, sig)])
        chosen.append(((model, task_name, sig), comp, job, pjob))
    # compared in the folder's order (oldest first), as before the newest pair was chosen:
    # the order decides which of equal slice drops is shown
    position = {slot: i for i, slot in enumerate(latest)}
    for slot, comp, job, pjob in sorted(chosen, key=lambda c: (c[0][:2], position[c[0]])):
        comp.notes.extend(_randomised_notes(slot[2][1], job, pjob, comp.parent))
        if _compare_jobs(
            comp, job, pjob, seed=seeds[id(job)], metrics=metrics, configs=configs, store=store
        ):
            paired.add(slot[:2])
    for key, comp in out.items():
        _finish(
            comp,
            paired=key in paired,
            unpaired=unpaired.get(key),
            runs=(compared.get(key, {}), unpaired_runs.get(key, {})),
        )
    return list(out.values())


def _randomised_notes(suite: str, vjob: StoredJob, pjob: StoredJob, parent: str) -> list[str]:
    """A note when either job's caveat says its model is randomised (harness.core.
    forward_repeats): a delta then compares one draw of each model, and the same model twice
    differs as well (`{prune: 0.0}` of a noisy parent read top1_acc +0.040 with no word)."""
    said = [
        f"{role} {name!r}"
        for role, name, job in (("parent", parent, pjob), ("variant", vjob.record.model, vjob))
        if RANDOMISED_MARK in " ".join(job.record.notes)
    ]
    if not said:
        return []
    whose = (
        f"job of {said[0]} says the model is"
        if len(said) == 1
        else (f"jobs of {' and '.join(said)} say the models are")
    )
    return [
        f"{suite}: the {whose} randomised: each delta compares one draw of each model, and two "
        "draws of the same model differ too"
    ]


def _why_no_parent(
    runs: Mapping[tuple[str, str, tuple[str, str, str, str]], list[StoredJob]],
    parent: str,
    task: str,
    sig: tuple[str, str, str, str],
) -> str:
    """Why no job of `parent` on `task` has the variant job's signature (`_sig`): the part
    that differs, first the task's sample, then the suite, its version, its config."""
    fingerprint, suite, version, _ = sig
    theirs = [s for (model, name, s) in runs if model == parent and name == task]
    where = f"of parent {parent!r} on task {task!r}"
    if not theirs:
        return f"no results {where}: run the parent and its variant together"
    same_suite = [s for s in theirs if s[1] == suite]
    if not same_suite:
        return f"no {suite} results {where}"
    if all(s[0] != fingerprint for s in same_suite):
        return (
            f"the {suite} results {where} are on other samples (another limit, split or "
            "data): run the parent and its variant together"
        )
    if all(s[2] != version for s in same_suite if s[0] == fingerprint):
        theirs_v = ", ".join(sorted({s[2] for s in same_suite if s[0] == fingerprint}))
        return (
            f"the {suite} results {where} are from another version of the suite ({theirs_v}; "
            f"the variant's {version}): run the parent and its variant together"
        )
    return f"the {suite} results {where} ran another suite config"


def built_from_other(variant: ModelDescription, parent: ModelDescription) -> str:
    """Why a variant job was not built from the model its parent's job ran ('' when it was, or
    when the records cannot tell). A variant's description keeps its parent's content hashes
    (`weights_sha256`, `state_sha256`: the parent's describe(), as the variant's own build saw
    it); a parent job whose hashes differ ran other weights (retrained between two runs, a
    `--models m@int8` run after the parent's, a factory that initialises at random), and
    comparing the two would report the difference between two models as the cost of
    compression."""
    mine, theirs = variant.model_dump(), parent.model_dump()
    for key in sorted(mine):
        a, b = mine.get(key), theirs.get(key)
        if key.endswith("sha256") and isinstance(a, str) and isinstance(b, str) and a != b:
            return (
                f"built from other weights than the job of parent {variant.parent!r} ({key} "
                f"{a[:12]} here, {b[:12]} there): the parent changed between the runs, or its "
                "factory is not deterministic; rerun the parent and its variants together"
            )
    return ""


def mark_failed(
    comparisons: list[VariantComparison],
    gaps: Completeness,
    lineage: Callable[[str], tuple[str, str] | None],
) -> None:
    """Say each failed job (in a finished run) of a variant or its parent on the comparison it
    touches, as the leaderboard's note does: a failed variant job otherwise left no comparison
    at all, and a failed parent read as never run. `lineage(model)`: (parent, variant) of a
    variant model's name, else None."""
    by_key = {(c.variant_model, c.task): c for c in comparisons}
    for gap in gaps.failed:
        said = f"{gap.label} in run {gap.run} {gap.why}"
        line = lineage(gap.model)
        if line is not None and (gap.model, gap.task) not in by_key:
            size = VariantSize(None, None, None, None, None, None, None, None)
            comp = VariantComparison(gap.model, *line, gap.task, size, "failed", said)
            comparisons.append(comp)
            by_key[(gap.model, gap.task)] = comp
            continue
        for comp in comparisons:
            if comp.task != gap.task or gap.model not in (comp.variant_model, comp.parent):
                continue
            role = "parent" if gap.model == comp.parent else "variant"
            if role == "parent" and comp.status == "no parent results":
                comp.status, comp.reason = "parent failed", said
            elif comp.status == "failed" and role == "variant":
                comp.reason = f"{comp.reason}; {said}"
            else:
                comp.notes.insert(0, f"{role} job {said}: its metrics are not compared")


def mark_partial(comparisons: list[VariantComparison], gaps: Completeness) -> None:
    """First note of each comparison whose task an incomplete run touches (--allow-partial)."""
    for comp in comparisons:
        scoped = gaps.for_task(comp.task)
        if not scoped.whole:
            comp.notes.insert(
                0, f"PARTIAL results (compared with --allow-partial): {scoped.summary()}"
            )


def _compare_jobs(
    comp: VariantComparison,
    vjob: StoredJob,
    pjob: StoredJob,
    *,
    seed: int,
    metrics: Collection[str] | None = None,
    configs: SuiteConfigs,
    store: ValueStore | None = None,
) -> bool:
    """Add the deltas of the metrics both jobs report (of `metrics` only, when given) and the
    slices; whether any metric is reported by both."""
    suite = vjob.record.suite
    vtable, ptable = _table(vjob), _table(pjob)
    parent_records = {m.key: m for m in pjob.metrics}
    paired = False
    # conditions whose two numbers were measured differently (an upper bound against a
    # white-box attack): their rows are not a harm slice either
    unlike: set[str] = set()
    for vm in vjob.metrics:
        pm = parent_records.get(vm.key) or _float_parent(vm, parent_records)
        if pm is None:
            continue
        paired = True
        if _measured_differently(vm, pm):
            unlike.add(vm.condition)  # whichever metrics are shown (the leaderboard's one)
        if metrics is not None and vm.key not in metrics and pm.key not in metrics:
            continue
        delta = None if vm.value is None or pm.value is None else vm.value - pm.value

        if delta is None:
            comp.deltas.append(
                _delta(suite, vm, pm, None, "none", min(vm.n, pm.n), None, "undefined value")
            )
            continue
        why_not = _not_comparable(vm, pm)
        if why_not:
            comp.deltas.append(
                _delta(suite, vm, pm, delta, "not compared", min(vm.n, pm.n), None, why_not)
            )
            continue
        res = paired_tests.compare_records(
            _evidence(vm, vjob, vtable, configs),
            _evidence(pm, pjob, ptable, configs),
            seed=seed,
            name=f"variant/{comp.variant_model}/{vm.key}",
            shared=None if store is None else SharedDraws(store),
        )
        row = _delta(suite, vm, pm, delta, res.test, res.n, res.p_value, res.detail)
        if res.test == "cell_mean_newcombe":
            row = _with_cell_interval(row, res.ci)
        elif res.ci is not None and not res.statistic:
            # the interval that inverts the row's test, where the test is of the delta itself
            # (ECE's paired resamples test the debiased ECE: `statistic` names it)
            row = replace(row, ci=res.ci)
        comp.deltas.append(row)
    if vtable is not None and ptable is not None:
        for s in _slices(suite, vtable.frame, ptable.frame, skip=unlike):
            comp.worst.setdefault(f"_all/{s.kind}/{s.suite}/{s.condition}/{s.slice}", s)
        same = identical_outputs(vtable.frame, ptable.frame)
        if same and not any(n.startswith(IDENTICAL) for n in comp.notes):
            comp.notes.insert(
                0,
                f"{IDENTICAL} on every one of the {same} rows compared ({suite} suite: the "
                "same predictions and confidences to the last bit): the recipe did not change "
                "what the model computes (is the compressed layer used in its forward pass?), "
                "so every delta is 0 by construction, not a measured robustness to compression",
            )
        one = constant_prediction(vtable.frame, ptable.frame)
        if one is not None and not any(n.startswith(CONSTANT) for n in comp.notes):
            comp.notes.insert(0, one)
    return paired


IDENTICAL = "the variant's outputs equal its parent's"
CONSTANT = "the variant predicts one class"


def constant_prediction(vframe: pd.DataFrame, pframe: pd.DataFrame) -> str | None:
    """A note when the variant predicts one class on every clean labelled row and its parent
    does not: compression collapsed it, so its disparities (demographic parity, equalized odds)
    and per-group selection rates are equal across groups by construction, not a fairer model."""
    if "prediction" not in vframe.columns or "prediction" not in pframe.columns:
        return None

    def clean(frame: pd.DataFrame) -> pd.Series:
        rows = frame[(frame["condition"].astype(str) == CLEAN) & (frame["label"] != UNLABELED)]
        return rows["prediction"].astype(str)

    v, p = clean(vframe), clean(pframe)
    if len(v) < 2 or v.nunique() != 1 or p.nunique() < 2:
        return None
    return (
        f"{CONSTANT} ({v.iloc[0]!r}) on every one of the {len(v)} clean rows (its parent "
        f"predicts {p.nunique()}): compression collapsed it to a constant, whose disparities and "
        "per-group selection rates are 0 by construction, not a fairer model"
    )


def identical_outputs(vframe: pd.DataFrame, pframe: pd.DataFrame) -> int:
    """The number of rows (condition x sample) both tables hold when the variant's predictions
    and confidences equal the parent's on every one of them, else 0. Any real compression
    (int8, pruning, fp16) moves a confidence in its last bits somewhere."""
    columns = ["condition", "sample_id", "prediction", "confidence"]
    if not all(c in vframe.columns and c in pframe.columns for c in columns):
        return 0
    keyed_v = vframe[columns].set_index(["condition", "sample_id"])
    keyed_p = pframe[columns].set_index(["condition", "sample_id"])
    common = keyed_v.index.intersection(keyed_p.index)
    if common.empty:
        return 0
    v, p = keyed_v.loc[common], keyed_p.loc[common]
    same = (v["prediction"].to_numpy() == p["prediction"].to_numpy()) & (
        v["confidence"].to_numpy() == p["confidence"].to_numpy()
    )
    return len(common) if bool(same.all()) else 0


def _delta(
    suite: str,
    vm: MetricRecord,
    pm: MetricRecord,
    delta: float | None,
    test: str,
    n: int,
    p_value: float | None,
    detail: str,
) -> MetricDelta:
    """A variant metric against its parent's, as one delta row."""
    return MetricDelta(
        suite, vm.key, vm.unit, vm.higher_is_better, pm.value, vm.value, delta, test, n, p_value,
        detail=detail, parent_metric="" if pm.key == vm.key else pm.key,
    )  # fmt: skip


def _with_cell_interval(row: MetricDelta, ci: tuple[float, float] | None) -> MetricDelta:
    """A mean over cells: the delta's interval, the one its test's p-value is read off."""
    if ci is None:
        return row
    text = f"95% interval of the delta [{format_value(ci[0])}, {format_value(ci[1])}] (Newcombe)"
    return replace(row, ci=ci, detail=f"{row.detail}; {text}" if row.detail else text)


MEASURED_DIFFERENTLY = "measured differently"
# a throughput number of a model whose weights are another float type than `precision`
# (an fp16/bf16 variant) carries `weights` in its context, keeping it off float32 columns
_WEIGHTS = "weights"
_OWN_PEAK = frozenset({"percent_of_peak"})  # taken against that type's peak: not comparable


def _float_parent(
    variant: MetricRecord, parent_records: Mapping[str, MetricRecord]
) -> MetricRecord | None:
    """The parent's record of a variant's throughput number keyed by its `weights` type: the
    same condition on the parent's float32 weights, the comparison an fp16/bf16 variant is for
    (exact keys left every timing of such a variant uncompared, without a word)."""
    if _WEIGHTS not in variant.context or variant.metric in _OWN_PEAK:
        return None
    context = {k: v for k, v in variant.context.items() if k != _WEIGHTS}
    return parent_records.get(replace(variant, context=context).key)


def _measured_differently(variant: MetricRecord, parent: MetricRecord) -> bool:
    """One number a decision-based upper bound, the other a white-box attack's."""
    notes = (variant.note or "", parent.note or "")
    return notes[0] != notes[1] and "upper bound" in notes[0] + notes[1]


def _not_comparable(variant: MetricRecord, parent: MetricRecord) -> str:
    """Why two numbers must not be tested against each other ('' when they may).

    Unstable timing is not a reason here: the comparison is reported as inconclusive.
    """
    flagged = sorted((set(variant.flags) | set(parent.flags)) - {UNSTABLE})
    if flagged:
        return f"reliability flags raised ({', '.join(flagged)}): not compared"
    if _measured_differently(variant, parent):
        return (
            f"{MEASURED_DIFFERENTLY} (decision-based upper bound vs white-box attack): not compared"
        )
    return ""


def _evidence(
    record: MetricRecord, job: StoredJob, table: SampleTable | None, configs: SuiteConfigs
) -> paired_tests.Evidence:
    """The record's paired form (per-class and per-group accuracy: McNemar on the class's or
    group's samples), rounds."""
    label = ClassContext.of(record.context).label
    if record.metric == "class_acc" and label is not None and table is not None:
        rows = table.condition(record.condition)
        rows = rows[rows["label"].astype(str) == label]
        form = (
            None
            if rows.empty
            else paired_tests.PerSample(
                values=rows.set_index("sample_id")["correct"].astype(bool), binary=True
            )
        )
        return paired_tests.Evidence(record=record, form=form)
    group = GroupContext.of(record.context)
    if record.metric == "group_acc" and group.group is not None and group.group_by and table:
        rows = table.condition(record.condition)
        columns = [GROUP_PREFIX + c for c in group.group_by.split(INTERSECTION)]
        if all(c in rows.columns for c in columns):
            names = intersection_keys(rows, columns)
            rows = rows[names == group.group]
            return paired_tests.Evidence(record=record, form=_accuracy_form(record, rows))
    return paired_tests.stored_evidence(record, job, table, configs=configs)


def _accuracy_form(record: MetricRecord, rows: pd.DataFrame) -> paired_tests.PerSample | None:
    """`correct` on a group's rows, when its mean is the record's value (else None: the record
    was computed on other rows, and is compared through its interval)."""
    if rows.empty or record.value is None:
        return None
    values = rows.set_index("sample_id")["correct"].astype(bool)
    if abs(float(values.mean()) - record.value) > 1e-6 * max(1.0, abs(record.value)):
        return None
    return paired_tests.PerSample(values=values, binary=True)


def _slices(
    suite: str, vframe: pd.DataFrame, pframe: pd.DataFrame, *, skip: Collection[str] = ()
) -> list[HarmSlice]:
    """Paired accuracy drop on every class and group (clean rows) and every other condition
    (but those of `skip`: measured differently for the two models)."""
    keyed_v = vframe.set_index(["condition", "sample_id"])
    keyed_p = pframe.set_index(["condition", "sample_id"])
    common = keyed_v.index.intersection(keyed_p.index)
    if common.empty:
        return []
    v, p = keyed_v.loc[common], keyed_p.loc[common]
    frame = pd.DataFrame(
        {
            "v": v["correct"].astype(bool).to_numpy(),
            "p": p["correct"].astype(bool).to_numpy(),
            "label": p["label"].to_numpy(),
        },
        index=common,
    )
    for col in [c for c in pframe.columns if c.startswith(GROUP_PREFIX)]:
        frame[col] = p[col].to_numpy()
    frame = frame[frame["label"] != UNLABELED]  # OOD rows: no label, no accuracy to compare
    conditions = frame.index.get_level_values("condition")
    out: list[HarmSlice] = []

    def add(kind: SliceKind, name: str, cond: str, rows: pd.DataFrame) -> None:
        if len(rows) < MIN_SLICE:
            return
        res = paired_tests.mcnemar(
            rows["v"].reset_index(drop=True), rows["p"].reset_index(drop=True)
        )
        p = 1.0 if res.p_value is None else res.p_value
        pa, va = float(rows["p"].mean()), float(rows["v"].mean())
        out.append(HarmSlice(suite, kind, name, cond, len(rows), pa, va, pa - va, p, p))

    clean = frame[conditions == CLEAN]
    for label, rows in clean.groupby("label"):
        add("class", f"label={label}", CLEAN, rows)
    for col in [c for c in frame.columns if c.startswith(GROUP_PREFIX)]:
        for value, rows in clean.groupby(col, dropna=True, observed=True):
            add("group", f"{col[len(GROUP_PREFIX) :]}={value}", CLEAN, rows)
    for cond in sorted(set(conditions) - {CLEAN} - set(skip)):
        add("condition", str(cond), str(cond), frame[conditions == cond])
    return out


def _finish(
    comp: VariantComparison,
    *,
    paired: bool,
    unpaired: Mapping[str, str] | None = None,
    runs: tuple[Mapping[str, tuple[str, int]], Mapping[str, tuple[str, int]]] = ({}, {}),
) -> None:
    """Holm-adjust the family's p-values, keep the largest drop per slice kind (`paired`:
    whether the two jobs reported a metric in common; `unpaired`: per suite, why no parent job
    matched the variant's). A suite left out beside one that is compared is named in a note:
    its deltas are missing for a reason (a parent measured by an older suite version)."""
    tested = [i for i, d in enumerate(comp.deltas) if d.p_value is not None]
    adjusted = holm([comp.deltas[i].p_value or 0.0 for i in tested]) if tested else []
    for i, p in zip(tested, adjusted, strict=True):
        d = comp.deltas[i]
        comp.deltas[i] = MetricDelta(**{**asdict(d), "p_holm": p})
    slices = list(comp.worst.values())
    comp.slices_tested = len(slices)
    slice_holm = holm([s.p_value for s in slices]) if slices else []
    best: dict[str, HarmSlice] = {}
    for s, p in zip(slices, slice_holm, strict=True):
        s = HarmSlice(**{**asdict(s), "p_holm": p})
        if s.kind not in best or s.drop > best[s.kind].drop:
            best[s.kind] = s
    comp.worst = best
    why = list((unpaired or {}).items())
    if comp.status == "compared" and not paired and not comp.reason:
        comp.status, comp.reason = (
            "no parent results",
            why[0][1]
            if why
            else f"no completed results of parent {comp.parent!r} on the same samples and suite config",
        )
    elif comp.status == "compared":
        comp.notes.extend(_unpaired_note(suite, reason, *runs) for suite, reason in why)


def _unpaired_note(
    suite: str,
    reason: str,
    compared: Mapping[str, tuple[str, int]],
    unpaired: Mapping[str, tuple[str, int]],
) -> str:
    """Why a suite's variant job went unpaired; where another job of the suite was compared
    (two runs on other samples), which job that is: a bare "accuracy: not compared" beside
    accuracy rows read as if they were not there. `compared`, `unpaired`: each suite's run id
    and recency."""
    if suite not in compared or suite not in unpaired:
        return f"{suite}: not compared: {reason}"
    (kept, kept_at), (left, left_at) = compared[suite], unpaired[suite]
    age = "newer" if left_at > kept_at else "older"
    return (
        f"{suite}: compared on the jobs of run {kept}; the variant's {age} job of run {left} "
        f"is not compared: {reason}"
    )


def format_value(value: float | None) -> str:
    """A value in variant notes and tables: 3 decimals, or 4 significant digits when tiny/huge."""
    if value is None:
        return "—"
    return (
        f"{value:.4g}"
        if abs(value) >= 1000 or (value != 0 and abs(value) < 0.001)
        else f"{value:.3f}"
    )


def format_p(p: float | None) -> str:
    """A p-value as `format_value` writes it, except that one below alpha never prints as alpha
    and one that underflowed never as 0 (`intervals.below_alpha_text`)."""
    return "—" if p is None else below_alpha_text(p, format_value(p), ALPHA)


def p_is(p: float | None, name: str = "p") -> str:
    """`p=0.002`, or `p < 1e-300` where `format_p` gives a bound (not `p=< 1e-300`)."""
    text = format_p(p)
    return f"{name} {text}" if text.startswith("<") else f"{name}={text}"


def board_notes(comparisons: list[VariantComparison], task: str, metric: str) -> list[str]:
    """Short leaderboard notes: each variant's change on the board's first column."""
    notes = []
    for c in comparisons:
        if c.task != task:
            continue
        if c.status != "compared":
            notes.append(f"variant {c.variant_model}: {c.status} ({c.reason})")
            continue
        d = next((d for d in c.deltas if metric in (d.metric, d.parent_metric)), None)
        if d is None:
            continue
        size = f", {c.size.ratio_text()}" if c.size.size_ratio else ""
        worst = c.worst.get("class") or c.worst.get("group") or c.worst.get("condition")
        harm = (
            # the largest of many drops: its Holm p says whether it is more than the pick
            f"; largest slice drop {worst.slice} [{worst.suite}, {worst.condition}] "
            f"{format_value(worst.drop)} (n={worst.n}, McNemar {p_is(worst.p_value)}, "
            f"{p_is(worst.p_holm, 'Holm p')} over {c.slices_tested} slices)"
            if worst
            else ""
        )
        ci = f"95% CI [{format_value(d.ci[0])}, {format_value(d.ci[1])}], " if d.ci else ""
        notes.append(
            f"variant {c.variant_model} vs {c.parent}: {metric} {'+' if (d.delta or 0) > 0 else ''}{format_value(d.delta)} "
            f"({ci}{d.test} {p_is(d.p_value)}){size}{harm}"
        )
    return notes
