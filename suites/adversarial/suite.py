"""`adversarial` suite: robust accuracy under an attack ensemble, eps sweeps and validity checks.

Conditions in the sample table: `clean`; one per attack and eps (`attack=linf_pgd/eps=0.1`); and
the per-sample worst case over the whole ensemble of a norm (`attack=ensemble/norm=linf/eps=0.1`),
cumulative over eps (a sample broken at a smaller eps counts as broken at every larger one) and so
never above clean accuracy. Every candidate is re-verified (see `verification`) before it counts.
Validity checks (see `checks`) put reliability flags on every robust_acc record.

A run is a sequence of stages, one module each: `config` (budgets and the attack plan), `sweep`
(every attack at every eps), `checks` (validity checks and the reliability verdict), `ensemble`
(per-sample worst case), `table`, `metrics` and `artifacts`.
"""

from __future__ import annotations

from typing import Any

from harness.core.adapter import ModelAdapter
from harness.core.errors import ConfigError
from harness.core.suite import RunContext, Suite, SuiteResult
from harness.core.task import Task
from suites.adversarial import validity_checks as vc
from suites.adversarial.artifacts import SEED_SCHEME, build_artifacts
from suites.adversarial.budgets import check_budgets
from suites.adversarial.checks import assess, run_checks
from suites.adversarial.config import AdversarialConfig, plan_attacks, resolve_config
from suites.adversarial.ensemble import worst_cases
from suites.adversarial.frozen import frozen_parameters
from suites.adversarial.metrics import BLACKBOX_NOTE, METRICS, metric_records
from suites.adversarial.sweep import Target, run_sweep
from suites.adversarial.table import sample_table

__all__ = ["BLACKBOX_NOTE", "SEED_SCHEME", "AdversarialConfig", "AdversarialSuite"]


class AdversarialSuite(Suite):
    name = "adversarial"
    version = "3"  # 3: Wilson intervals for clean and robust accuracy
    description = "robust accuracy under an attack ensemble with eps sweeps and validity checks"
    config_model = AdversarialConfig
    metrics = METRICS

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self.resolved = resolve_config(self.cfg)

    @property
    def cfg(self) -> AdversarialConfig:
        assert isinstance(self.config, AdversarialConfig)
        return self.config

    def skip_reason(self, adapter: ModelAdapter, task: Task) -> str | None:
        if task.modality == "text" or task.bounds is None:
            return "the adversarial suite does not apply to discrete text inputs (no input bounds)"
        if not adapter.capabilities.gradients and not self.cfg.allow_blackbox_fallback:
            grad = [i.name for i in self.resolved.attacks if i.gradients]
            if grad:
                return (
                    f"model {adapter.name!r} exposes no gradients, attacks {grad} need them and "
                    "suites.adversarial.allow_blackbox_fallback is false; allow the fallback or "
                    "choose l2_hopskipjump / linf_hopskipjump / l2_boundary"
                )
        return None

    def run(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        if not adapter.capabilities.gradients:
            return self._run(adapter, task, ctx)
        # Input gradients only, whatever the adapter hands out (DESIGN.md section 12).
        with frozen_parameters(adapter.module()):
            return self._run(adapter, task, ctx)

    def _run(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        cfg, epsilons = self.cfg, self.resolved.epsilons
        if task.bounds is None:
            raise ConfigError(
                f"task {task.name!r} has no input bounds; the adversarial suite needs them"
            )
        bounds = (float(task.bounds[0]), float(task.bounds[1]))
        check_budgets(epsilons, bounds=bounds, input_shape=task.input_shape, task=task.name)
        task = task.head(cfg.max_samples)
        plan = plan_attacks(self.resolved, cfg, adapter)
        target = Target.of(adapter, bounds, white_box=plan.white_box)
        sweep = run_sweep(
            target,
            task,
            plan,
            epsilons,
            ctx,
            minimization_max_samples=cfg.minimization_max_samples,
            check_samples=cfg.check_samples,
        )
        checks: list[vc.CheckResult] = []
        if cfg.checks and sweep.check_inputs is not None:
            checks = run_checks(
                target,
                sweep,
                plan,
                epsilons,
                input_shape=task.input_shape,
                noise_draws=cfg.noise_draws,
                seed=ctx.seed,
            )
        reliability = assess(checks, sweep, adapter.name)
        cells = worst_cases(sweep, plan, epsilons)
        metrics = metric_records(
            self.name,
            sweep,
            cells,
            flags=reliability.flags,
            white_box=plan.white_box,
            ctx=ctx,
        )
        notes = [*plan.notes, *sweep.start_notes(), *reliability.notes, *sweep.subset_notes(plan)]
        artifacts = build_artifacts(
            bounds=bounds,
            epsilons=epsilons,
            plan=plan,
            sweep=sweep,
            checks=checks,
            reliability=reliability,
            notes=notes,
            seed=ctx.seed,
        )
        return SuiteResult(
            table=sample_table(sweep, cells), metrics=metrics, artifacts=artifacts, notes=notes
        )
