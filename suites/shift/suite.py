"""`shift` suite: image corruptions, tabular/text perturbations, dataset shift and OOD detection.

Conditions in the per-sample table: `clean` (with OOD-score columns `msp`, `energy`, `max_logit`,
`entropy`, the top logits for later scores, and `probability_output`: whether the model's output
was a probability vector), `corruption=<name>/severity=<s>` (on-the-fly, or a published corrupted
set's rows), `tabular=<family>/severity=<s>`, `text=<family>/severity=<s>`,
`shifted=<task>` (the shifted task's own sample ids) and `ood=<set>` (label -1: OOD samples have
no label). All randomness derives from (run seed, sample id, family, severity) through
`harness.core.seeding`. Metrics that need several models of a board (mCE, relative mCE, effective
robustness) are computed from the stored records and tables by `cross_model/` (the hook of the suite's board).

A run is a sequence of stages, one module each: `config` (settings), `sources` (shifted tasks and
OOD sets, loaded once), `sweep` (clean rows and perturbation cells through the `cache` of
corrupted inputs; rows built by `rows`), `shifted` (dataset shift), `ood` (OOD detection: scores,
sets, metrics), `metrics` (records) and `published` (a published corrupted set's cells).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.core.adapter import ModelAdapter
from harness.core.errors import ConfigError
from harness.core.sample_table import SampleTable
from harness.core.subsets import subset_note
from harness.core.suite import RunContext, Suite, SuiteResult
from harness.core.task import TRAIN_SPLIT, Task
from harness.stats import tie_breaks
from harness.suites.shift import batch_dependence, perturbations, selection
from harness.suites.shift.board import BOARD
from harness.suites.shift.cache import CACHE_BYTES, CorruptionCache
from harness.suites.shift.config import (
    GeneratedOOD,
    ShiftConfig,
    corruptions_for,
    ood_name,
    ood_task,
    refuse_unknown,
)
from harness.suites.shift.image_corruptions import CORRUPTIONS as IMAGE_CORRUPTIONS
from harness.suites.shift.metrics import clean_metrics, perturbation_metrics
from harness.suites.shift.ood.detectors import build_bank, fit_rows
from harness.suites.shift.ood.report import (
    headline_note,
    headline_of,
    ood_artifact,
    ood_notes,
    ood_records,
)
from harness.suites.shift.ood.sets import TestInputs, ood_set
from harness.suites.shift.parts import Parts
from harness.suites.shift.probability_outputs import (
    check_entry,
    distorted_detectors,
    flag_records,
    reason,
)
from harness.suites.shift.published import run_published
from harness.suites.shift.shifted import shifted_task
from harness.suites.shift.sources import TaskSources, ood_entries, shifted_entries
from harness.suites.shift.sweep import check_evaluable, negative_bounds_note, perturbation_cells

__all__ = ["BENCHMARK_CORRUPTIONS", "ShiftConfig", "ShiftSuite"]

BENCHMARK_CORRUPTIONS: tuple[str, ...] = IMAGE_CORRUPTIONS[:15]
"""The 15 ImageNet-C benchmark corruptions; the other 4 are held-out validation corruptions."""


class ShiftSuite(Suite):
    name = "shift"
    # 4: AUPR interval by the two-sample jackknife (t, rare-event df). 5: corrupted images move
    # (docs/corruptions.md): glass blur's shuffle offsets from 16-bit fields, symmetric Gaussians
    # summed in mirrored pairs, large defocus disks on small images by FFT. 6: every corrupted
    # batch has the standard (B, C, H, W) layout (motion blur of one-channel images came back
    # with channels-last strides, which a model's convolution may run by another kernel: logits
    # moved by ~1e-6); saturate in closed form (float32 rounding). 7: `digits-shifted` keeps the
    # `digits` sample ids (the same test images, translated), so its accuracy gap is paired;
    # the gap's interval is Newcombe's score interval (paired or independent), never [0, 0].
    # 8: mean corruption accuracy's interval is Wilson's at Kish's effective n over source
    # images (`intervals.cell_mean`), the relative drop's a MOVER interval; neither is [1, 1] or
    # [0, 0] any more (values unchanged). 9: frost's procedural texture is dense ice crystals
    # (feathery blades with side branches, thinned in places, flipped at random) instead of
    # sparse needles: it looked like white scratches at 224 px (docs/corruptions.md, "Fidelity");
    # the OOD AUPR interval is never a point and spans the bias-corrected AUPR. 10: OOD
    # detectors beyond the logit scores (features, last layer, ODIN), AUPR-Out, near/far means
    # (the logit scores' numbers are unchanged). 11: each cell's accuracy gets Wilson's
    # interval, each family's corruption error (tabular / text: accuracy) the cell-mean interval
    # over its severities (values unchanged; they had no interval). 12: the clean rows record
    # whether each output was a probability vector (`probability_output`); a model returning
    # probabilities gets `probability_outputs` on the OOD numbers of the detectors that score
    # its outputs (values unchanged). 13: spatter's noise keeps the published spread at every
    # image size (it changed 48-127 px images by under 0.5/255 at most severities); spatter's
    # numbers move at sizes other than 32 and 224 px, and the means over corruptions with them.
    # 14: rows record whether the argmax tie-break decides their correctness (`label_tied`);
    # the accuracies note such rows and carry `tied_scores` when they move them more than half
    # their interval (values unchanged).
    # 15: a detector whose scores are equal up to rounding (energy of log-probabilities) has no
    # OOD value; generated noise on a tabular task with per-feature ranges fills each feature's
    # range, not the hull of them all (tasks without feature ranges: unchanged).
    # 16: ODIN steps each feature by a share of its own range on tasks with per-feature ranges,
    # and has no value on a model whose outputs ignore its input; generated noise is left out
    # of a text task's OOD sets (with a note); relative_corruption_drop's interval takes the
    # continuity adjustment where no image's outcome changes (it was [0, 0]); the fit's notes
    # and an in-class OOD set's caveat reach boards and reports (quickstart numbers unchanged)
    # 17: tabular gaussian_noise leaves categorical columns (declared, or whole numbers with at
    # most 10 values) as they are; the near / far mean AUROC's interval is built as one set's
    # 18: tabular gaussian_noise on a task with no continuous feature is not applicable (left
    # out of the mean, which is undefined with a reason when nothing applies)
    # 19: an OOD AUROC under 0.5 whose interval holds 0.5 is at chance, not below it; notes on
    #     an OOD set whose inputs repeat or hold the task's test inputs; feature detectors left
    #     out with a note when the default features layer never runs (numbers unchanged)
    # 20: float16 / bfloat16 models keep ViM, ReAct, ASH and DICE; a last nn.Linear that is
    #     an input embedding gives no features (Mahalanobis, KNN ran on raw inputs); a labelled
    #     OOD set with more classes than the task is scored; a headline detector that did not
    #     run falls back to one that did; notes on test inputs in a set (whole split up to
    #     20,000), KNN's k over a class's fit samples (quickstart numbers unchanged)
    # 21: a near / far mean over one set carries that set's interval (and method) for every
    #     metric: AUPR-In, AUPR-Out and FPR@95 had none, the AUROC the mean's DeLong
    # 22: a set whose inputs repeat: its rows carry their input (`ood_input`), the near / far
    #     mean AUROC's interval counts it over its inputs, and its note says how it is compared;
    #     an OOD set or shifted task read from a folder holding files that are not images says
    #     so in a note (notes only)
    # 23: feature_dropout imputes a categorical feature with its most frequent training value
    #     (a one-hot column drops out whole); tabular noise scales by the training std where no
    #     range was declared; `batch_dependent_forward` on a model whose outputs depend on its
    #     batch; text families that change no text left out; notes on negative image bounds
    # 24: ASH scores an input whose kept features are all zero as the bias's energy (it was
    #     NaN, and the set's ASH had no value); notes on tied OOD scores and FPR@95's real
    #     threshold, on RMD with one fit class and a tied covariance of one-sample classes, and
    #     why no OOD set ran when none of its detectors can; features of a layer called by
    #     keyword or named by an alias (quickstart numbers unchanged)
    # 25: a features layer called with a number keyword before its input (`head(scale=2.0,
    #     input=h)`) gives its tensor input (it "ran 0 times"; quickstart numbers unchanged)
    version = "26"
    description = (
        "ImageNet-C corruptions, tabular/text perturbations, dataset-shift accuracy gap and "
        "OOD detection (logit, feature and last-layer detectors; near and far OOD)"
    )
    config_model = ShiftConfig
    metrics = BOARD.metrics

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        # Per-instance caches (the runner shares one instance across a run's jobs): corrupted
        # inputs do not depend on the model, and shifted / OOD tasks load once.
        self._cache = CorruptionCache()
        self._sources = TaskSources()
        self._seed: int | None = None  # the run's seed (`bind_seed`)

    @property
    def cfg(self) -> ShiftConfig:
        assert isinstance(self.config, ShiftConfig)
        return self.config

    def _families(self, task: Task) -> list[str]:
        modality = task.modality
        chosen = {
            "image": corruptions_for(self.cfg, task),
            "tabular": self.cfg.tabular,
            "text": self.cfg.text,
        }[modality]
        return list(perturbations.families(modality)) if chosen == "all" else list(chosen)

    def _check_corruptions_apply(self, task: Task) -> None:
        """`corruptions` given per task names image corruptions; listed for a tabular or text
        task they can never apply, and the job would run without them, saying nothing."""
        value = self.cfg.corruptions
        if task.modality == "image" or not isinstance(value, dict):
            return
        names = value.get(task.name)
        if not isinstance(names, list) or not names:
            return  # `all` reads as every corruption that applies: none here
        raise ConfigError(
            f"suites.shift.corruptions.{task.name}: task {task.name!r} is a {task.modality} task, "
            f"and the image corruptions listed for it ({', '.join(names)}) do not apply to it; "
            f"list its families under suites.shift.{task.modality} "
            f"({', '.join(perturbations.families(task.modality))})"
        )

    def bind_spec_folder(self, base_dir: Path) -> None:
        """Shifted tasks and OOD sets given as task specs read their `source` relative to the
        spec file's folder; each is checked here and a named one must be a registered task
        (`TaskSources.bind`)."""
        self._sources.bind(self.cfg, base_dir)

    def check_task_names(self, task_names: Sequence[str]) -> None:
        """Shifted tasks and OOD sets given per task (a mapping) must be keyed by the spec's task
        names: an entry under a misspelt name would never run, and nothing would say so."""
        settings = {
            "shifted_tasks": self.cfg.shifted_tasks,
            "ood_sets": self.cfg.ood_sets,
            "corruptions": self.cfg.corruptions,
        }
        for key, value in settings.items():
            if not isinstance(value, dict):
                continue
            for name in value:
                refuse_unknown(key, name, task_names, "a task of this run", "tasks")
        for task in task_names:  # a task as its own OOD set: every sample both in and out
            sets = self.cfg.ood_sets
            entries = sets.get(task, []) if isinstance(sets, dict) else sets
            named = [e for e in entries if ood_task(e) is not None and ood_name(e) == task]
            if any(not isinstance(ood_task(e), str) for e in named):
                raise ConfigError(
                    f"suites.shift.ood_sets: an inline OOD set is named {task!r}, like the task "
                    "it is scored against: its condition (ood=...) would read as the task's own; "
                    "give the set another name"
                )
            if named:
                per_task = isinstance(sets, dict)
                raise ConfigError(
                    f"suites.shift.ood_sets: task {task!r} is its own OOD set: every sample "
                    "would count as in- and out-of-distribution, and its AUROC would be a coin "
                    "flip; list another task"
                    + ("" if per_task else " (or give ood_sets per task: {other-task: [...]})")
                )

    def check_model_names(self, model_names: Sequence[str]) -> None:
        """`mce_baseline` and `effective_robustness_testbed` name models of the spec (or their
        variants): a name the spec does not define would never be on the board, and mCE or the
        testbed would silently go without it."""
        named = [("mce_baseline", self.cfg.mce_baseline)] if self.cfg.mce_baseline else []
        testbed = self.cfg.effective_robustness_testbed or []
        named += [("effective_robustness_testbed", m) for m in testbed]
        for key, name in named:
            refuse_unknown(key, name, model_names, "a model of this spec", "models")

    def bind_seed(self, seed: int) -> None:
        self._seed = seed  # chooses the OOD fit subset, whose rows alone a job's key reads

    def input_fingerprints(self, task: Task) -> dict[str, str]:
        """The fingerprints of the shifted tasks and OOD sets a job on `task` reads
        (`TaskSources.fingerprints`), and of its training split when the job reads that: the
        tabular perturbations are scaled by its features' spread (the whole split), the OOD
        detectors fit on its seeded subset (the split's ids and labels, which choose it, and
        the subset's rows: an image-folder task does not read every training image to key a
        job; the whole split when no seed was bound)."""
        prints = self._sources.fingerprints(self.cfg, task)
        declared = self._declared_categorical(task)
        if declared is not None:
            prints[perturbations.CATEGORICAL_KEY] = declared
        if task.observed_bounds and "gaussian_noise" in self._families(task):
            # which features' ranges are declared decides the noise's scale, and a range
            # declared as the data's own gives the same task fingerprint
            named = json.dumps([list(task.feature_names), list(task.observed_bounds)])
            prints[perturbations.OBSERVED_KEY] = hashlib.sha256(named.encode()).hexdigest()
        if not self._reads_train(task) or task.train is None:
            return prints
        if task.modality != "tabular" and self._seed is not None:
            rows, _ids = fit_rows(task, self.cfg.ood.fit_samples, self._seed)
            printed = task.train_rows_fingerprint(rows)
        else:
            printed = task.train_fingerprint
        if printed is not None:
            prints[TRAIN_SPLIT] = printed
        return prints

    def _declared_categorical(self, task: Task) -> str | None:
        """The print of the features a tabular task's spec declares categorical (one_hot,
        ordinal: `Task.categorical_features`) when a tabular family runs on it: they decide
        which features gaussian noise leaves alone and what feature dropout imputes, and the
        same data under another declaration has the same fingerprint. None when it declares
        none (the key stays what it was) or no tabular family runs."""
        if task.modality != "tabular" or not task.categorical_features or not self.cfg.severities:
            return None
        if not self._families(task):
            return None
        named = json.dumps([list(task.feature_names), list(task.categorical_features)])
        return hashlib.sha256(named.encode()).hexdigest()

    def _reads_train(self, task: Task) -> bool:
        if selection.is_published(task):
            return False
        tabular = task.modality == "tabular" and bool(self._families(task))
        return tabular or bool(ood_entries(self.cfg, task))

    def skip_reason(self, adapter: ModelAdapter, task: Task) -> str | None:
        self._check_corruptions_apply(task)
        has_work = bool(self._families(task) and self.cfg.severities)
        has_work = has_work or bool(shifted_entries(self.cfg, task) or ood_entries(self.cfg, task))
        has_work = has_work or (selection.is_published(task))
        if not has_work:
            return f"no shift conditions configured for {task.modality} task {task.name!r}"
        return None

    # ------------------------------------------------------------------ run
    def run(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        cfg = self.cfg
        if selection.is_published(task):
            reads_others = bool(shifted_entries(cfg, task) or ood_entries(cfg, task))
            return run_published(adapter, task, ctx, cfg, reads_others=reads_others)
        self._check_corruptions_apply(task)
        full_n, whole = len(task), task
        task = task.subset(cfg.max_samples, seed=ctx.seed, purpose="shift/rows")
        families = self._families(task)
        check_evaluable(task, families)
        parts = Parts(tables=[])
        bounds_note = negative_bounds_note(task, families if cfg.severities else [])
        if bounds_note is not None:
            parts.notes.append(bounds_note)
        generated = sum(e.n for e in ood_entries(cfg, task) if isinstance(e, GeneratedOOD))
        parts.plan(ctx, len(task) * (1 + len(families) * len(cfg.severities)) + generated)
        oods = ood_entries(cfg, task)
        bank = build_bank(adapter, task, ctx, cfg.ood, cfg.energy_temperature) if oods else None
        clean_rows, cells = perturbation_cells(
            adapter, task, families, ctx, parts, cfg=cfg, cache=self._cache, bank=bank
        )
        clean_correct = clean_rows["correct"]
        parts.clean_tied = clean_rows[tie_breaks.COLUMN]
        parts.metrics += clean_metrics(clean_correct, ctx, parts.clean_tied)
        parts.metrics += perturbation_metrics(task, cells, clean_correct, ctx, parts)
        temperature, load = cfg.energy_temperature, self._sources.load
        distorted: list[str] = []  # detectors scoring a model's probabilities as logits
        for entry in shifted_entries(cfg, task):
            shifted_task(
                adapter, task, entry, clean_correct, ctx, parts,
                temperature=temperature, max_samples=cfg.max_samples, load=load,
            )  # fmt: skip
        if bank is not None:
            test_inputs = TestInputs(whole, task, ctx)
            scored = [
                ood_set(
                    adapter,
                    task,
                    entry,
                    ctx,
                    parts,
                    bank=bank,
                    temperature=temperature,
                    max_samples=cfg.max_samples,
                    load=load,
                    test_inputs=test_inputs,
                )  # fmt: skip
                for entry in oods
            ]
            records = ood_records(
                bank,
                [s for s in scored if s is not None],
                clean_rows,
                ctx,
                headline_of(bank, cfg.ood),
            )
            distorted = distorted_detectors(bank, clean_rows)
            parts.metrics += flag_records(records, distorted)
            parts.notes += ood_notes(bank, adapter)
            fallback = headline_note(bank, cfg.ood)
            if fallback is not None:
                parts.notes.append(fallback)
            if distorted:
                parts.notes.append(
                    f"OOD detection UNRELIABLE (probability_outputs): {reason(distorted)}"
                )
        parts.notes += self._scope_notes(task, families, full_n)
        gallery = parts.gallery.pop("images", None)
        artifacts = self._artifacts(task, families, parts)
        checks: list[dict[str, str]] = []
        if bank is not None:
            artifacts["ood"] = ood_artifact(bank, cfg.ood)
            if distorted:
                checks.append(check_entry(distorted))
        bad, probed = batch_dependence.dependent_rows(adapter, parts.probe)
        if bad:
            why = batch_dependence.reason(adapter.name, bad, probed)
            parts.metrics = batch_dependence.flag_all(parts.metrics)
            parts.notes.append(f"shift numbers UNRELIABLE ({batch_dependence.FLAG}): {why}")
            checks.append({"flag": batch_dependence.FLAG, "description": why})
        if checks:
            artifacts["checks"] = checks
        return SuiteResult(
            table=SampleTable.concat(parts.tables),
            metrics=parts.metrics,
            artifacts=artifacts,
            notes=parts.notes,
            arrays={"gallery_images": gallery} if gallery is not None else {},
        )

    def _scope_notes(self, task: Task, families: list[str], full_n: int) -> list[str]:
        notes = []
        if len(task) < full_n:
            notes.append(subset_note(len(task), full_n, f"max_samples={self.cfg.max_samples}"))
        if task.modality == "tabular" and task.train is None and families:
            notes.append(
                "tabular shifts use evaluation-split feature statistics (the task has no train split)"
            )
        return notes

    def _artifacts(self, task: Task, families: list[str], parts: Parts) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n": len(task),
            "severities": list(self.cfg.severities),
            "families": families,
            "cache": {
                "entries": len(self._cache.inputs),
                "bytes": self._cache.cached_bytes,
                "limit_bytes": CACHE_BYTES,
            },
        }
        if task.modality == "image" and families:
            out["not_applicable"] = {
                name: {"max_mean_change_x255": round(change * 255, 4)}
                for name, change in parts.not_applicable.items()
            }
            out["noop_rule"] = (
                "not applicable: mean |corrupted - clean| below 0.5/255 at every severity"
            )
            out["faint_cells"] = {
                f"{name}/severity={severity}": {"mean_change_x255": round(change * 255, 4)}
                for (name, severity), change in parts.faint.items()
            }
        if parts.few_changed:
            out["few_texts_changed"] = {
                f"{name}/severity={severity}": {"changed": changed, "texts": n}
                for (name, severity), (changed, n) in parts.few_changed.items()
            }
        if parts.gallery:
            out["corruption_gallery"] = dict(parts.gallery)
        return out
