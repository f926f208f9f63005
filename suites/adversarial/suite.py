"""`adversarial` suite: robust accuracy under an attack cascade, eps sweeps and validity checks.

Conditions in the sample table: `clean`; one per attack and eps (`attack=linf_apgd_ce/eps=0.1`:
the cascade after that attack); and the per-sample worst case over the whole ensemble of a norm
(`attack=ensemble/norm=linf/eps=0.1`), cumulative over eps (a sample broken at a smaller eps
counts as broken at every larger one) and so never above clean accuracy. Every candidate is
re-verified (see `verification`) before it counts. Validity checks (see `checks`) put reliability
flags on every robust_acc record and on every attacked row of the table.

A run is a sequence of stages, one module each: `config` (budgets, the preset and the attack
plan), the subsets (`harness.core.subsets`), the nondeterminism probe that turns on expectation
over transformation (`forward`), `sweep` (the cascade), `ensemble` (per-sample worst case),
`checks`, `table`, `metrics`, `examples` and `artifacts`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.core.adapter import ModelAdapter
from harness.core.board_notes import settings_note
from harness.core.errors import ConfigError, ModelOutputError
from harness.core.hashing import folder_digest
from harness.core.subsets import stratified_indices, subset_note
from harness.core.suite import RunContext, Suite, SuiteResult
from harness.core.task import Task
from harness.core.task_columns import TaskColumns
from harness.core.threat_model import Headline, headline_budget
from harness.suites.adversarial import validity_checks as vc
from harness.suites.adversarial.artifacts import SEED_SCHEME, Subsets, build_artifacts
from harness.suites.adversarial.board import BOARD
from harness.suites.adversarial.budgets import (
    NORMS,
    Norm,
    budgets_text,
    check_budgets,
    check_planned_budgets,
)
from harness.suites.adversarial.checks import assess, check_norm, check_set, run_checks
from harness.suites.adversarial.config import (
    AdversarialConfig,
    AttackPlan,
    ResolvedConfig,
    check_targets,
    plan_attacks,
    refused_without_gradients,
    resolve_config,
)
from harness.suites.adversarial.ensemble import WorstCase, worst_cases
from harness.suites.adversarial.escalation import escalate
from harness.suites.adversarial.examples import ExamplePool
from harness.suites.adversarial.feature_space import (
    FeatureSpace,
    feature_space,
    feature_spread,
    mixed_scale_note,
    small_budget_note,
    unrealisable_note,
)
from harness.suites.adversarial.forward import Forward
from harness.suites.adversarial.frozen import frozen_parameters
from harness.suites.adversarial.metrics import (
    BLACKBOX_NOTE,
    FAST_NOTE,
    RecordContext,
    metric_records,
)
from harness.suites.adversarial.noise import random_point, sample_seeds
from harness.suites.adversarial.plan_summary import plan_summary
from harness.suites.adversarial.rows import read_rows
from harness.suites.adversarial.sweep import SweepSettings, Target, run_sweep
from harness.suites.adversarial.table import sample_table
from harness.suites.adversarial.text.config import TextConfig, resolve_text
from harness.suites.adversarial.text.run import run_text
from harness.suites.adversarial.text.sources import no_word_vectors, synonyms_table

__all__ = ["BLACKBOX_NOTE", "SEED_SCHEME", "AdversarialConfig", "AdversarialSuite"]

PROBE_SAMPLES = 64  # inputs the nondeterminism (three passes) and batch (two) probes use


class AdversarialSuite(Suite):
    name = "adversarial"
    # 18: text attacks freeze words inside HTML markup (tags, comments, entities): a text broken
    #     only through its markup counts as robust (moves numbers on texts holding markup); notes
    #     on repeated texts, texts without spaces and a truncated text's word share
    # 17: a tabular job names the categorical and whole-number features its attacks move to
    #     values no row can hold (a settings note and headline caveat; numbers unchanged)
    # 16: text attacks count the texts left unbroken whose search the query budget stopped with
    #     candidates untried (notes); nonfinite_gradients is also counted at the random point of
    #     the budget around each check sample that gradient_mismatch uses (its n doubles; not
    #     for randomised models): a gradient NaN only off the clean inputs is flagged (numbers
    #     of models with finite gradients unchanged)
    # 15: nonfinite_gradients: a NaN or inf coordinate in the input gradient (a backward pass NaN
    #     at some inputs only) is a masking flag and escalates (numbers of models with finite
    #     gradients unchanged); text attacks count the texts they had no candidate for (notes)
    # 14: the randomness probe also passes a seeded random point of the checks' budget around
    #     each probe sample (its n 64 -> 128): a model random only off its clean inputs gets
    #     EOT and nondeterministic_forward (those passes leave torch's generator as they found
    #     it: other randomised models draw as in 13); gradient_mismatch is measured at the check
    #     samples and a random point of the budget around each (its n doubles): a gradient
    #     honest only at the clean inputs is a mismatch; zero_gradients says when it counts NaN
    #     or inf gradients (numbers of deterministic, honestly differentiable models unchanged)
    # 13: text attacks score the clean texts twice and flag nondeterministic_forward on a model
    #     whose scores change between calls; a NaN score row on an attack text leaves it
    #     unbroken (counted in a note); similarity_model read from the spec's folder and long
    #     texts truncated (image and tabular numbers unchanged)
    # 12: the unbounded-attack check's PGD ascends the unsaturated (log float64) cross-entropy:
    #     an honest float16 / bfloat16 network's confident samples had no gradient there (their
    #     float32 cross-entropy's rounds to 0 in its backward pass) and the check raised
    # 11: the loss check's PGD ascends the log of the float64 cross-entropy (its steps, without
    #     float32's saturation: 120-class confident models were flagged loss_not_increasing);
    #     a tabular task whose features differ widely in spread gets a mixed-scale note; PGD,
    #     APGD and Square keep their iterates in each feature's box (tabular); a sample whose
    #     clean label ties another class at the top (argmax's tie-break decides it) is never
    #     robust, as a clean-misclassified one; clean_acc notes the tied samples with its range
    #     over every tie-break and flags tied_scores (untied models as in 10)
    # 10: randomised models only: Square scores proposal and best point under the same draws
    #     and keeps attacking past a noisy break; FAB-T too, its candidate moved to the budget's
    #     edge; noise_beats_gradient, stronger_attack_lowers_acc and gradient_obfuscation count
    #     an extra break only when five fresh verifications confirm it
    # 9: gradient_mismatch counts a sample only when it is off at 1%, 10% and 25% of eps;
    #    a randomised model's clean_acc and clean rows carry nondeterministic_forward;
    #    loss_not_increasing reads a float64 loss and a relative rise; batch_dependent_forward;
    #    APGD and PGD attack a randomised model's samples past their first noisy break;
    #    torch's global generator seeded per job (randomised models; harness/run/model_rng.py);
    #    the loss check's loss is log1p(sum exp(l_j - l_y)) (no float64 cancellation)
    # 8: preset fast runs APGD-CE and APGD-T for 40 steps (was 25), APGD-T on 2 targets (was 3);
    # 7: text attacks score texts in batches of like token length (float noise); the
    #    character attack stops scoring a word's candidates at the first break;
    # 6: escalation runs APGD-CE and APGD-T on gradients measured from the forward pass;
    # 5: text attacks rank by a candidate edit, keep a last-place edit only if it breaks
    version = "19"
    description = "robust accuracy under an attack cascade with eps sweeps and validity checks"
    config_model = AdversarialConfig
    metrics = BOARD.metrics

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self.resolved = resolve_config(self.cfg)
        resolve_text(self.cfg.text, self.cfg.preset)  # text budgets refused at construction too
        self.base_dir: Path | None = None
        self._text_tasks: set[str] = set()  # `bind_modalities`: their summary is the text attacks
        self._maybe_text = False  # `bind_modalities`: a task is text or not known until loaded
        # `bind_model_gradients`: task -> its models -> whether each gives gradients
        self._gradients: dict[str, dict[str, bool | None]] | None = None  # None: not bound

    @property
    def config_hash(self) -> str:
        """The config's hash; `text` left out while it holds its defaults, so image and tabular
        results stored before text attacks existed keep their hash (and comparability)."""
        payload = self.config.model_dump(mode="json")
        if payload.get("text") == TextConfig().model_dump(mode="json"):
            del payload["text"]
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def bind_spec_folder(self, base_dir: Path) -> None:
        """A relative `text.synonyms_file` is read from the spec's folder; checked here."""
        self.base_dir = base_dir
        plan = resolve_text(self.cfg.text, self.cfg.preset, base_dir)
        if plan.synonyms_file is not None and "word" in plan.attacks:
            synonyms_table(plan.synonyms_file, key="suites.adversarial.text.synonyms_file")

    def input_fingerprints(self, task: Task) -> dict[str, str]:
        """The synonyms file a text job's word attacks read and the local folder of its
        similarity model, by their contents: the config hash holds their paths only, and an
        edited file (or an encoder saved again into its folder) served the results of the old
        one. A hub similarity model is keyed by its id, as the config names it."""
        if task.modality != "text":
            return {}
        plan = resolve_text(self.cfg.text, self.cfg.preset, self.base_dir)
        prints: dict[str, str] = {}
        if plan.synonyms_file is not None and "word" in plan.attacks:
            key = "suites.adversarial.text.synonyms_file"
            table = synonyms_table(plan.synonyms_file, key=key)  # a missing file: its one line
            printed = json.dumps(table, sort_keys=True, ensure_ascii=False).encode()
            prints["text.synonyms_file"] = hashlib.sha256(printed).hexdigest()
        if plan.similarity_model is not None and Path(plan.similarity_model).is_dir():
            prints["text.similarity_model"] = folder_digest(Path(plan.similarity_model))
        return prints

    def hub_models(self) -> dict[str, str]:
        """The text attacks' similarity encoder when it is a hub id (not a local folder) and a
        task the suite runs on is text, or of a modality known only once it is loaded."""
        source = self.cfg.text.similarity_model
        if source is None or not self._maybe_text:
            return {}
        resolved = resolve_text(self.cfg.text, self.cfg.preset, self.base_dir).similarity_model
        if resolved is None or Path(resolved).exists() or resolved != source:
            return {}
        return {"text.similarity_model": resolved}

    @property
    def cfg(self) -> AdversarialConfig:
        assert isinstance(self.config, AdversarialConfig)
        return self.config

    def bind_modalities(self, modalities: Mapping[str, str | None]) -> None:
        self._text_tasks = {name for name, m in modalities.items() if m == "text"}
        self._maybe_text = any(m in ("text", None) for m in modalities.values())

    def bind_model_gradients(self, gradients: Mapping[str, Mapping[str, bool | None]]) -> None:
        self._gradients = {task: dict(models) for task, models in gradients.items()}

    def check_model_word_vectors(
        self, word_vectors: Mapping[str, Mapping[str, bool | None]]
    ) -> None:
        """Text attacks that are all word attacks with `word_source: embedding` cannot run on a
        model without input embeddings (a `callable`, an ONNX graph): every such job would fail
        once the model is loaded, so the spec is refused now, in one line naming the model."""
        plan = resolve_text(self.cfg.text, self.cfg.preset, self.base_dir)
        if "char" in plan.attacks or plan.word_source != "embedding":
            return  # the char attacks run alone (with a note), or a synonyms file is the source
        for task, models in word_vectors.items():
            if task not in self._text_tasks:
                continue
            for model, known in models.items():
                if known is False:
                    raise no_word_vectors(model, plan.attacks.get("word", []))

    def plan_summary(
        self, headlines: Mapping[str, Headline | None], protocol: str | None = None
    ) -> list[str]:
        """The preset, its attacks, the budgets per task and the worst-case passes per sample,
        for models with gradients and for black-box ones; the text attacks for text tasks
        (plan_summary.py). Budgets a protocol set are said to be its own."""
        return plan_summary(
            self.cfg, headlines, self._text_tasks, self._gradients, protocol=protocol
        )

    def check_task_columns(self, tasks: Mapping[str, TaskColumns]) -> list[str]:
        """Budgets the spec lists that span a task's whole input range, where its bounds are
        declared (`check_planned_budgets`); a `targets` above every task's classes but the
        sample's own (config.check_targets); text tasks run the text attacks, which take no
        `params` and no epsilons."""
        numeric = {t: c for t, c in tasks.items() if t not in self._text_tasks}
        given = self.resolved.epsilons if self.cfg.epsilons is not None else None
        check_planned_budgets(given, numeric, units=self.cfg.eps_units)
        return check_targets(self.cfg, numeric)

    def skip_reason(self, adapter: ModelAdapter, task: Task) -> str | None:
        if task.modality == "text":
            return None  # black-box text attacks (suites/adversarial/text)
        if task.bounds is None:
            return f"task {task.name!r} has no input bounds; the adversarial suite needs them"
        if not adapter.capabilities.gradients:
            grad = refused_without_gradients(self._resolved_for(task), self.cfg)
            if grad:
                return (
                    f"model {adapter.name!r} exposes no gradients, attacks {grad} need them and "
                    "suites.adversarial.allow_blackbox_fallback is false; allow the fallback or "
                    "choose gradient-free attacks (linf_square, l2_square, l2_hopskipjump...)"
                )
        return None

    def _resolved_for(self, task: Task) -> ResolvedConfig:
        """The attacks and budgets a task gets: the spec's epsilons, else its headline threat
        model's (what its jobs run and what a skip names)."""
        return resolve_config(self.cfg, task) if self.cfg.epsilons is None else self.resolved

    def run(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        if task.modality == "text":
            return self._run_text(adapter, task, ctx)
        if not adapter.capabilities.gradients:
            return self._run(adapter, task, ctx)
        # Input gradients only, whatever the adapter hands out (see frozen.py).
        with frozen_parameters(adapter.module()):
            return self._run(adapter, task, ctx)

    def _run(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        cfg = self.cfg
        resolved = self._resolved_for(task)
        epsilons = resolved.epsilons
        if task.bounds is None:
            raise ConfigError(
                f"task {task.name!r} has no input bounds; the adversarial suite needs them"
            )
        space = feature_space(task, cfg.eps_units)
        bounds = space.bounds if space else (float(task.bounds[0]), float(task.bounds[1]))
        check_budgets(epsilons, bounds=bounds, input_shape=task.input_shape, task=task.name)
        full_n = len(task)
        task = _subset_task(task, cfg.max_samples, ctx.seed)
        spread = feature_spread(task, cfg.eps_units)  # read once for both budget notes
        scale_notes = [
            note
            for note in (
                small_budget_note(task, epsilons, cfg.eps_units, spread=spread),
                mixed_scale_note(task, epsilons, cfg.eps_units, spread=spread),
            )
            if spread is not None and note is not None
        ]
        realisable = unrealisable_note(task)
        if realisable is not None:
            scale_notes.append(realisable)
        if space is not None:  # per-feature ranges: the attacks work in `space` (feature_space.py)
            task, adapter = space.task(task), space.adapter(adapter)
        plan = plan_attacks(resolved, cfg, adapter)
        n = len(task)
        check_rows = _draw(task, cfg.check_samples, ctx.seed, "checks")
        device = adapter.device
        probe = read_rows(task, check_rows[:PROBE_SAMPLES], device)
        moved = _moved_probe(
            task, check_rows[:PROBE_SAMPLES], probe, plan, epsilons, ctx.seed, space, bounds
        )
        nondeterminism = _probed(adapter, probe, moved)
        draws = cfg.eot_draws if nondeterminism.raised else 1
        # a randomised forward pass differs between any two batches: nothing to tell apart
        batches = vc.batch_dependent(
            lambda x: adapter.logits(x.clone()), probe[:0] if nondeterminism.raised else probe
        )
        probes = [nondeterminism, batches]
        module = adapter.module() if plan.white_box else None
        fwd = Forward(adapter=adapter, module=module, num_classes=task.num_classes, draws=draws)
        target = Target(
            fwd=fwd, bounds=bounds, device=device, box=space.attack_box(device) if space else None
        )
        pool = _example_pool(cfg.examples, task, plan, epsilons, ctx.seed)
        settings = SweepSettings(
            seed=ctx.seed,
            batch_size=ctx.batch_size,
            minimization_rows=_draw(task, cfg.minimization_max_samples, ctx.seed, "minimization"),
            examples=pool,
            keep_candidates=check_norm(plan, epsilons) if cfg.checks and fwd.eot else None,
        )
        runner = run_sweep(target, task, plan, epsilons, ctx, settings)
        sweep, rows = runner.sweep, runner.rows
        cells = worst_cases(sweep, epsilons)
        checks: list[vc.CheckResult] = probes
        if cfg.checks:
            runner.progress.stage(f"validity checks on {len(check_rows)} samples")
            norm, eps = check_norm(plan, epsilons)
            inputs = rows.inputs(check_rows)
            cs = check_set(
                target, sweep, cells, check_rows, inputs, norm=norm, eps=eps, seed=ctx.seed
            )
            checks = run_checks(
                cs,
                sweep,
                plan,
                inputs=inputs,
                input_shape=task.input_shape,
                noise_draws=cfg.noise_draws,
                probes=probes,
            )
        reliability = assess(checks, sweep, adapter.name)
        escalation = escalate(
            runner, plan, epsilons, reliability.flags, rounds=cfg.escalation_rounds
        )
        if escalation is not None and escalation.ran:
            cells = worst_cases(sweep, epsilons)  # the escalation is the cascade's last member
            reliability = assess(checks, sweep, adapter.name)  # its rejected candidates too
        runner.progress.stage("table and records")
        runner.progress.finish()
        rc = RecordContext(
            suite=self.name,
            flags=reliability.flags,
            preset=plan.preset,
            eot_draws=draws,
            ctx=ctx,
        )
        metrics = metric_records(sweep, cells, rc, white_box=plan.white_box)
        arrays, examples = _stored_examples(pool, cells, space)
        notes = [
            *([subset_note(n, full_n, f"max_samples={cfg.max_samples}")] if n < full_n else []),
            *_budgets_note(epsilons, task=task if cfg.epsilons is None else None),
            *scale_notes,
            *plan.notes,
            *_preset_notes(plan),
            *sweep.start_notes(),
            *reliability.notes,
            *([escalation.note()] if escalation is not None else []),
            *sweep.subset_notes(plan),
        ]
        artifacts = build_artifacts(
            bounds=bounds,
            epsilons=epsilons,
            plan=plan,
            sweep=sweep,
            checks=checks,
            reliability=reliability,
            notes=notes,
            seed=ctx.seed,
            subsets=Subsets(
                max_samples=(n, full_n) if n < full_n else None,
                minimization=(len(settings.minimization_rows), n),
                checks=(len(check_rows), n),
            ),
            examples=examples,
            num_classes=task.num_classes,
        )
        artifacts["eps_units"] = cfg.eps_units
        artifacts["escalation"] = escalation.to_dict() if escalation is not None else None
        if space is not None:
            artifacts["feature_space"] = space.describe()
        return SuiteResult(
            table=sample_table(sweep, cells, reliability.flags),
            metrics=metrics,
            artifacts=artifacts,
            notes=notes,
            arrays=arrays,
        )

    def _run_text(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        """Character- and word-level attacks on a text task (suites/adversarial/text/run.py)."""
        cfg, full_n = self.cfg, len(task)
        task = _subset_task(task, cfg.max_samples, ctx.seed)
        n = len(task)
        notes = [subset_note(n, full_n, f"max_samples={cfg.max_samples}")] if n < full_n else []
        if cfg.preset == "fast":
            notes.append(TEXT_FAST_NOTE)
        specs = {s.name: s for s in self.metrics}
        result = run_text(
            suite=self.name,
            text_cfg=cfg.text,
            preset=cfg.preset,
            adapter=adapter,
            task=task,
            ctx=ctx,
            specs=specs,
            base_dir=self.base_dir,
            notes=notes,
        )
        assert result.table is not None
        return result


TEXT_FAST_NOTE = (
    "preset fast (CI loops): fewer candidates per word and queries per text than preset "
    "standard; robust accuracy may sit above standard's"
)


def _stored_examples(
    pool: ExamplePool | None, cells: list[WorstCase], space: FeatureSpace | None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The stored examples' arrays and artifact, in the task's own units."""
    if pool is None:
        return {}, {}
    main = next(c for c in cells if c.after is None and (c.norm, c.eps) == pool.key)
    arrays, examples = pool.draw(main.broken & main.evaluated)
    if space is not None:  # back from the attack space to the model's own inputs
        for key in ("adv_clean", "adv_perturbed"):
            if key in arrays:
                mapped = space.to_model(torch.from_numpy(arrays[key]))
                arrays[key] = mapped.numpy().astype(np.float32)
    return arrays, examples


def _draw(task: Task, n: int | None, seed: int, purpose: str) -> np.ndarray:
    """Rows of a seeded label-stratified subset of `task` (all rows when n is None)."""
    return stratified_indices(
        task.sample_ids, task.labels, n, seed=seed, purpose=f"adversarial/{purpose}"
    )


def _moved_probe(
    task: Task,
    rows: np.ndarray,
    probe: torch.Tensor,
    plan: AttackPlan,
    epsilons: dict[Norm, list[float]],
    seed: int,
    space: FeatureSpace | None,
    bounds: tuple[float, float],
) -> torch.Tensor:
    """A random point of the checks' budget around each probe input, in the box: the
    nondeterminism probe passes these too, since a model can be deterministic on its clean
    inputs and random on perturbed ones (randomised discretisation on digits' 1/16 grid: uniform
    noise below half a level, then rounding, never moves a clean pixel off its level)."""
    if not plan.infos or len(probe) == 0:
        return probe[:0]
    norm, eps = check_norm(plan, epsilons)
    all_ids = task.sample_ids
    ids = [str(all_ids[int(r)]) for r in rows]
    seeds = sample_seeds(seed, ids, "nondeterminism-probe", device=probe.device)
    box = space.attack_box(probe.device) if space is not None else bounds
    return random_point(probe, seeds, norm=norm, eps=eps, bounds=box)


def _probed(adapter: ModelAdapter, probe: torch.Tensor, moved: torch.Tensor) -> vc.CheckResult:
    """The nondeterminism probe on the clean probe inputs and on the points around them (one
    count over both); a model that fails on the moved points is named with where it failed.
    The passes on the moved points leave torch's global generator where they found it: a
    randomised model's draws in the attacks are those it had before these passes existed."""
    clean = vc.nondeterministic(lambda x: adapter.logits(x.clone()), probe)
    if len(moved) == 0:
        return clean
    devices = [moved.device] if moved.device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            around = vc.nondeterministic(lambda x: adapter.logits(x.clone()), moved)
    except ModelOutputError as err:  # one line still, with the place it failed
        err.args = (f"{err}{_MOVED_PROBE}", *err.args[1:])
        raise
    bad = clean.bad + around.bad
    return replace(clean, raised=bad > 0, bad=bad, n=clean.n + around.n)


_MOVED_PROBE = (
    " (on perturbed inputs under adversarial attack: random points of the budget around clean "
    "inputs, where the suite probes the model for randomness before the attacks)"
)


def _subset_task(task: Task, n: int | None, seed: int) -> Task:
    """The task restricted to a seeded label-stratified subset of n samples (max_samples)."""
    if n is None or n >= len(task):
        return task
    rows = _draw(task, n, seed, "max_samples")
    return replace(task, data=task.data.select(rows.tolist()), limit=n)


def _example_pool(
    k: int, task: Task, plan: AttackPlan, epsilons: dict[Norm, list[float]], seed: int
) -> ExamplePool | None:
    """The pool for the stored examples: the task's headline threat model when attacked, else
    the largest eps of the first norm attacked."""
    norm = next((nm for nm in NORMS if plan.norm_infos(nm)), None)
    if k == 0 or norm is None:
        return None
    norm, eps = headline_budget(task.headline, epsilons) or (norm, epsilons[norm][-1])
    return ExamplePool(
        k=k,
        seed=seed,
        sample_ids=task.sample_ids,
        labels=task.labels,
        norm=norm,
        eps=eps,
    )


def _budgets_note(epsilons: dict[Norm, list[float]], *, task: Task | None) -> list[str]:
    """A board note when a model ran several budgets: as the spec lists them, or (`task`: the
    spec lists none) the task's default ones."""
    count = sum(len(v) for v in epsilons.values())
    if count < 2:
        return []
    if task is None:
        origin = "as the spec lists them"
    elif task.headline:
        origin = "the task's headline threat models (the spec sets no suites.adversarial.epsilons)"
    else:
        origin = (
            "the suite's default budgets for a task without a headline threat model (the spec "
            "sets no suites.adversarial.epsilons)"
        )
    return [
        settings_note(
            f"{count} budget(s) per model, a column each ({budgets_text(epsilons)}): {origin}"
        )
    ]


def _preset_notes(plan: AttackPlan) -> list[str]:
    return [FAST_NOTE] if plan.preset == "fast" else []
