"""`adversarial` suite: robust accuracy under an attack ensemble, eps sweeps and validity checks.

Conditions in the sample table: `clean`; one per attack and eps (`attack=linf_pgd/eps=0.1`); and
the per-sample worst case over the whole ensemble of a norm (`attack=ensemble/norm=linf/eps=0.1`),
cumulative over eps (a sample broken at a smaller eps counts as broken at every larger one) and so
never above clean accuracy. Every candidate is re-verified (see `verification`) before it counts.
Validity checks (see `validity_checks`) put reliability flags on every robust_acc record.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field

from harness.analysis.intervals import CI_METHOD, bootstrap_ci
from harness.core.adapter import ModelAdapter, check_logits
from harness.core.errors import ConfigError, DatasetError, UnknownNameError
from harness.core.metric_record import MetricRecord, MetricSpec, spec_record
from harness.core.sample_table import CLEAN, SampleTable
from harness.core.seeding import derive_seed
from harness.core.suite import RunContext, Suite, SuiteConfig, SuiteResult
from harness.core.task import Task
from suites.adversarial import attacks as atk
from suites.adversarial import validity_checks as vc
from suites.adversarial.blackbox import LogitsModel
from suites.adversarial.budgets import NORMS, Norm, check_budgets, eps_label, max_budget, parse_eps
from suites.adversarial.frozen import frozen_parameters
from suites.adversarial.noise import start_noise
from suites.adversarial.verification import Verified, verify, within_budget

log = logging.getLogger(__name__)

SEED_SCHEME = (
    "PGD random starts: a counter-based 32-bit hash of (derive_seed(run seed, sample id, attack, "
    "eps, restart), element index), independent of batch and device; foolbox attacks run inside torch.random.fork_rng seeded by "
    "derive_seed(run seed, attack, eps, batch sample ids)"
)


BLACKBOX_NOTE = (
    "decision-based attack (the model exposes no gradients): an upper bound on robust accuracy, "
    "not comparable with white-box numbers"
)


class AdversarialConfig(SuiteConfig):
    attacks: list[str] = Field(
        default_factory=lambda: [
            "fgsm",
            "linf_pgd",
            "l2_pgd",
            "linf_deepfool",
            "l2_deepfool",
            "l2_cw",
        ]
    )
    epsilons: dict[str, list[float | str]] = Field(
        default_factory=lambda: {"linf": [0.05, 0.1], "l2": [0.5, 1.0]}
    )
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    max_samples: int | None = Field(default=None, ge=1)
    minimization_max_samples: int | None = Field(default=200, ge=1)
    allow_blackbox_fallback: bool = True
    blackbox_attack: Literal["hopskipjump", "boundary"] = "hopskipjump"
    checks: bool = True
    check_samples: int = Field(default=100, ge=1)
    noise_draws: int = Field(default=20, ge=1)


@dataclass
class _Outcome:
    """Per-sample arrays of one (attack, eps) over the evaluated samples."""

    attacked: np.ndarray
    broken: np.ndarray
    prediction: np.ndarray
    confidence: np.ndarray
    norm: np.ndarray
    invalid: dict[str, int]


class AdversarialSuite(Suite):
    name = "adversarial"
    version = "2"
    description = "robust accuracy under an attack ensemble with eps sweeps and validity checks"
    config_model = AdversarialConfig
    metrics = (
        MetricSpec(
            name="robust_acc",
            unit="fraction",
            higher_is_better=True,
            headline=True,
            description="worst case over attacks, cumulative over eps",
        ),
        MetricSpec(name="clean_acc", unit="fraction", higher_is_better=True),
        MetricSpec(name="min_norm_median", unit="input units", higher_is_better=True),
        MetricSpec(name="min_norm_q25", unit="input units", higher_is_better=True),
        MetricSpec(name="min_norm_q75", unit="input units", higher_is_better=True),
        MetricSpec(name="invalid_adversarials", unit="count", higher_is_better=False),
    )

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        cfg = self.cfg
        self.epsilons: dict[Norm, list[float]] = {}
        for norm, values in cfg.epsilons.items():
            if norm not in NORMS:
                close = difflib.get_close_matches(norm.lower(), NORMS, n=1, cutoff=0.3)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ConfigError(
                    f"suites.adversarial.epsilons.{norm}: unknown norm; {hint}known norms: linf, l2"
                )
            key = f"suites.adversarial.epsilons.{norm}"
            self.epsilons[norm] = sorted({parse_eps(v, key=key) for v in values})  # type: ignore[index]
        self.attack_infos: list[atk.AttackInfo] = []
        for name in cfg.attacks:
            try:
                info = atk.resolve_attack(name)
            except UnknownNameError as err:
                raise ConfigError(f"suites.adversarial.attacks: {err}") from None
            if not self.epsilons.get(info.norm):
                raise ConfigError(
                    f"suites.adversarial.epsilons.{info.norm}: attack {name!r} is an {info.norm} "
                    f"attack but no {info.norm} epsilons are given"
                )
            self.attack_infos.append(info)
        for name in cfg.params:
            # decision-based attacks may be tuned without being listed: they are the fallback
            # for models without gradients
            fallback = name in cfg.attacks or atk.resolve_attack(name).kind == "decision"
            if not fallback:
                raise ConfigError(
                    f"suites.adversarial.params.{name}: attack not in suites.adversarial.attacks"
                )
            atk.attack_params(atk.resolve_attack(name), cfg.params[name])  # refuse typos now
        self.params = {
            i.name: atk.attack_params(i, cfg.params.get(i.name)) for i in self.attack_infos
        }

    @property
    def cfg(self) -> AdversarialConfig:
        assert isinstance(self.config, AdversarialConfig)
        return self.config

    def skip_reason(self, adapter: ModelAdapter, task: Task) -> str | None:
        if task.modality == "text" or task.bounds is None:
            return "the adversarial suite does not apply to discrete text inputs (no input bounds)"
        if not adapter.capabilities.gradients and not self.cfg.allow_blackbox_fallback:
            grad = [i.name for i in self.attack_infos if i.gradients]
            if grad:
                return (
                    f"model {adapter.name!r} exposes no gradients, attacks {grad} need them and "
                    "suites.adversarial.allow_blackbox_fallback is false; allow the fallback or "
                    "choose l2_hopskipjump / linf_hopskipjump / l2_boundary"
                )
        return None

    # ----------------------------------------------------------------------------------------
    def _plan(
        self, adapter: ModelAdapter
    ) -> tuple[list[atk.AttackInfo], dict[str, dict[str, Any]], list[str]]:
        """The attacks to run on this adapter (decision-based fallback without gradients)."""
        if adapter.capabilities.gradients:
            return self.attack_infos, self.params, []
        infos = [i for i in self.attack_infos if not i.gradients]
        params = {i.name: self.params[i.name] for i in infos}
        replaced = [i.name for i in self.attack_infos if i.gradients]
        added = []
        for norm in dict.fromkeys(i.norm for i in self.attack_infos if i.gradients):
            kind = self.cfg.blackbox_attack if norm == "l2" else "hopskipjump"
            info = atk.resolve_attack(f"{norm}_{kind}")
            if info.name not in params:
                infos.append(info)
                params[info.name] = atk.attack_params(info, self.cfg.params.get(info.name))
                added.append(info.name)
        notes = []
        if replaced:
            notes.append(
                f"model {adapter.name!r} exposes no gradients: gradient attacks {replaced} were "
                f"replaced by decision-based {added} (labels only; robust accuracy is an upper bound)"
            )
        return infos, params, notes

    def run(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        if not adapter.capabilities.gradients:
            return self._run(adapter, task, ctx)
        # Input gradients only, whatever the adapter hands out (DESIGN.md section 12).
        with frozen_parameters(adapter.module()):
            return self._run(adapter, task, ctx)

    def _run(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        cfg = self.cfg
        if task.bounds is None:
            raise ConfigError(
                f"task {task.name!r} has no input bounds; the adversarial suite needs them"
            )
        bounds = (float(task.bounds[0]), float(task.bounds[1]))
        check_budgets(self.epsilons, bounds=bounds, input_shape=task.input_shape, task=task.name)
        task = task.head(cfg.max_samples)
        infos, params, notes = self._plan(adapter)
        white = adapter.capabilities.gradients
        module = adapter.module() if white else None
        fmodel = (
            atk.model_for_foolbox(module, bounds, adapter.device)
            if module is not None
            else LogitsModel(adapter, bounds)
        )
        n = len(task)
        ids: list[str] = []
        labels = np.zeros(n, np.int64)
        clean_pred = np.zeros(n, np.int64)
        clean_conf = np.zeros(n, np.float64)
        outcomes: dict[tuple[str, float], _Outcome] = {}
        min_norms: dict[str, np.ndarray] = {}
        for info in infos:
            if info.kind != "fixed":
                min_norms[info.name] = np.full(n, np.nan)
            for eps in self.epsilons[info.norm]:
                outcomes[(info.name, eps)] = _Outcome(
                    attacked=np.zeros(n, bool),
                    broken=np.zeros(n, bool),
                    prediction=np.zeros(n, np.int64),
                    confidence=np.zeros(n),
                    norm=np.full(n, np.nan),
                    invalid={},
                )
        min_limit = cfg.minimization_max_samples or n
        no_start: dict[str, int] = {}
        failed_attacks: dict[str, list[str]] = {}
        check_x: list[torch.Tensor] = []
        start = 0
        for batch in task.batches(ctx.batch_size):
            x = batch.inputs
            assert isinstance(x, torch.Tensor)
            _check_inputs(x, bounds, task.name, batch.sample_ids)
            x = x.to(adapter.device)
            y = batch.labels.to(adapter.device)
            sl = slice(start, start + len(x))
            logits = adapter.logits(x)
            check_logits(logits, num_classes=task.num_classes, model=adapter.name, task=task.name)
            probs = torch.softmax(logits.double(), 1).cpu()
            cp, cc = probs.argmax(1), probs.amax(1)
            ids.extend(batch.sample_ids)
            labels[sl], clean_pred[sl], clean_conf[sl] = (
                batch.labels.numpy(),
                cp.numpy(),
                cc.numpy(),
            )
            if start < cfg.check_samples:
                check_x.append(x[: cfg.check_samples - start].detach())
            for info in infos:
                p = params[info.name]
                if info.kind == "fixed":
                    for eps in self.epsilons[info.norm]:
                        cand = self._fixed(
                            info, p, module, fmodel, x, y, eps, bounds, batch.sample_ids, ctx.seed
                        )
                        v = verify(
                            adapter,
                            x,
                            cand,
                            y,
                            norm=info.norm,
                            eps=eps,
                            bounds=bounds,
                            clean_prediction=cp,
                            clean_confidence=cc,
                        )
                        _store(
                            outcomes[(info.name, eps)], sl, v, np.ones(len(x), bool), v.norm.numpy()
                        )
                    continue
                m = max(0, min(len(x), min_limit - start))
                if m == 0:
                    continue
                seed = derive_seed(ctx.seed, info.name, *batch.sample_ids[:m])
                if info.kind == "decision":
                    cand, unstarted, error = self._decision(
                        info, p, adapter, fmodel, x[:m], y[:m], cp[:m], seed
                    )
                    no_start[info.name] = no_start.get(info.name, 0) + unstarted
                    if error is not None:
                        failed_attacks.setdefault(info.name, []).append(error)
                else:
                    cand = atk.run_foolbox(
                        atk.foolbox_attack(info, p), fmodel, x[:m], y[:m], eps=None, rng_seed=seed
                    )
                v = verify(
                    adapter,
                    x[:m],
                    cand,
                    y[:m],
                    norm=info.norm,
                    eps=None,
                    bounds=bounds,
                    clean_prediction=cp[:m],
                    clean_confidence=cc[:m],
                )
                mn = torch.where(v.adversarial, v.norm, torch.full_like(v.norm, torch.inf))
                mn = torch.where(cp[:m] != batch.labels[:m], torch.zeros_like(mn), mn).numpy()
                min_norms[info.name][start : start + m] = mn
                for eps in self.epsilons[info.norm]:
                    ok = within_budget(torch.as_tensor(mn), eps)
                    vb = replace(
                        v,
                        adversarial=v.adversarial & ok,
                        prediction=torch.where(ok, v.prediction, cp[:m]),
                        confidence=torch.where(ok, v.confidence, cc[:m]),
                    )
                    _store(
                        outcomes[(info.name, eps)],
                        slice(start, start + m),
                        vb,
                        np.ones(m, bool),
                        mn,
                    )
            start += len(x)
            if ctx.progress is not None:
                ctx.progress(len(x))
        correct = clean_pred == labels
        for name, count in no_start.items():
            if count:
                notes.append(
                    f"{name}: {count} correctly classified sample(s) had no starting point (no "
                    "sample of another predicted class in their batch) and were not attacked"
                )
        checks: list[vc.CheckResult] = []
        if cfg.checks and check_x:
            checks = self._checks(
                adapter,
                module,
                torch.cat(check_x),
                labels,
                clean_pred,
                correct,
                outcomes,
                infos,
                params,
                ids,
                bounds,
                task,
                ctx,
            )
        flags = tuple(c.flag for c in checks if c.raised)
        invalid = {
            f"{a}/eps={eps_label(e)}": o.invalid for (a, e), o in outcomes.items() if o.invalid
        }
        if failed_attacks:
            flags += ("decision_attack_failed",)
            notes.append(
                f"decision-based attacks failed on some batches, whose samples count as not "
                f"broken (robust accuracy overstated): {failed_attacks}"
            )
        if invalid:
            flags += ("invalid_adversarials",)
            notes.append(
                f"invalid adversarial candidates were rejected (not counted as successes): {invalid}"
            )
        if flags:
            notes.append(
                f"robustness estimate UNRELIABLE for {adapter.name!r}: flags {list(flags)}"
            )
        table, ensemble = self._table(
            ids, labels, clean_pred, clean_conf, correct, outcomes, infos, min_norms
        )
        metrics = self._metrics(table, ensemble, outcomes, min_norms, correct, infos, flags, ctx, n)
        for info in infos:
            if info.kind != "fixed" and min_limit < n:
                notes.append(
                    f"{info.name} ran on the first {min_limit} of {n} samples (minimization_max_samples)"
                )
        artifacts = {
            "bounds": list(bounds),
            "epsilons": {k: v for k, v in self.epsilons.items()},
            "attacks": {
                i.name: {
                    "norm": i.norm,
                    "kind": i.kind,
                    "params": params[i.name],
                    "description": i.description,
                    "n": int(outcomes[(i.name, self.epsilons[i.norm][0])].attacked.sum()),
                    **(
                        {"starting_points": "nearest (L2) other-predicted-class sample in batch"}
                        if i.kind == "decision"
                        else {}
                    ),
                }
                for i in infos
            },
            "seed": ctx.seed,
            "seed_scheme": SEED_SCHEME,
            "white_box": white,
            "checks": [c.to_dict() for c in checks],
            "check_thresholds": {
                "alpha": vc.ALPHA,
                "zero_grad_rate": vc.ZERO_GRAD_RATE,
                "unbounded_fail_rate": vc.UNBOUNDED_FAIL_RATE,
                "noise_only_rate": vc.NOISE_ONLY_RATE,
                "stronger_only_rate": vc.STRONGER_ONLY_RATE,
                "loss_flat_rate": vc.LOSS_FLAT_RATE,
            },
            "flags": list(flags),
            "invalid_adversarials": invalid,
            "failed_attacks": failed_attacks,
            "notes": list(notes),
        }
        if not white:  # decision-based numbers must not pass for white-box ones
            metrics = [
                replace(m, note=BLACKBOX_NOTE) if m.metric == "robust_acc" else m for m in metrics
            ]
        return SuiteResult(table=table, metrics=metrics, artifacts=artifacts, notes=notes)

    def _fixed(
        self,
        info: atk.AttackInfo,
        p: dict[str, Any],
        module: torch.nn.Module | None,
        fmodel: Any,
        x: torch.Tensor,
        y: torch.Tensor,
        eps: float,
        bounds: tuple[float, float],
        sample_ids: list[str],
        seed: int,
    ) -> torch.Tensor:
        if info.name.endswith("_pgd"):
            assert module is not None
            return atk.pgd(
                module,
                x,
                y,
                norm=info.norm,
                eps=eps,
                steps=p["steps"],
                rel_stepsize=p["rel_stepsize"],
                restarts=p["restarts"],
                random_start=p["random_start"],
                bounds=bounds,
                sample_ids=sample_ids,
                run_seed=seed,
                attack=info.name,
            ).adv
        rng_seed = derive_seed(seed, info.name, eps_label(eps), *sample_ids)
        return atk.run_foolbox(
            atk.foolbox_attack(info, p), fmodel, x, y, eps=eps, rng_seed=rng_seed
        )

    def _decision(
        self,
        info: atk.AttackInfo,
        p: dict[str, Any],
        adapter: ModelAdapter,
        fmodel: Any,
        x: torch.Tensor,
        y: torch.Tensor,
        clean_prediction: torch.Tensor,
        rng_seed: int,
    ) -> tuple[torch.Tensor, int, str | None]:
        """A decision-based attack from our own starting points (see `attacks.decision_starts`);
        samples that are not attacked keep their clean input.

        Returns (candidates, samples without a start, foolbox's error when the attack failed)."""
        starts, usable = atk.decision_starts(
            x, y, clean_prediction, lambda xs: adapter.logits(xs).argmax(1).to(x.device)
        )
        cand = x.clone()
        rows = usable.nonzero().squeeze(1)
        unstarted = int((clean_prediction.to(x.device) == y).sum()) - len(rows)
        if not len(rows):
            return cand, unstarted, None
        try:
            cand[rows] = atk.run_foolbox(
                atk.foolbox_attack(info, p),
                fmodel,
                x[rows],
                y[rows],
                eps=None,
                rng_seed=rng_seed,
                starting_points=starts[rows],
            ).to(x.device)
        except (AssertionError, ValueError) as err:
            # Foolbox asserts that its boundary points stay adversarial; a model whose decision
            # for one input depends on the rest of the batch (dynamic int8 quantisation scales
            # activations per batch) breaks that. The batch counts as not attacked, flagged.
            log.warning("%s failed on a batch of %s: %r", info.name, adapter.name, err)
            return cand, unstarted, f"{type(err).__name__}: {err}".rstrip(": ")
        return cand, unstarted, None

    # ----------------------------------------------------------------------------------------
    def _checks(
        self,
        adapter: ModelAdapter,
        module: torch.nn.Module | None,
        x: torch.Tensor,
        labels: np.ndarray,
        clean_pred: np.ndarray,
        correct: np.ndarray,
        outcomes: dict[tuple[str, float], _Outcome],
        infos: list[atk.AttackInfo],
        params: dict[str, dict[str, Any]],
        ids: list[str],
        bounds: tuple[float, float],
        task: Task,
        ctx: RunContext,
    ) -> list[vc.CheckResult]:
        m = len(x)
        y = torch.as_tensor(labels[:m], device=x.device)
        ok = torch.as_tensor(correct[:m])
        sids = ids[:m]
        results = [vc.nondeterministic(adapter, x), vc.probability_outputs(adapter.logits(x))]
        norm: Norm = next((i.norm for i in infos if i.name.endswith("_pgd")), infos[0].norm)
        eps = self.epsilons[norm][-1]
        ens = np.zeros(m, bool)
        for (name, e), o in outcomes.items():
            if e <= eps and atk.resolve_attack(name).norm == norm:
                ens |= o.broken[:m]
        ens_t = torch.as_tensor(ens)

        def classify(xs: torch.Tensor) -> torch.Tensor:
            out = adapter.logits(xs)  # non-finite logits never count as a break
            return torch.where(torch.isfinite(out).all(1), out.argmax(1), y)

        def noise(d: int) -> torch.Tensor:
            seeds = [derive_seed(ctx.seed, s, "noise", norm, eps_label(eps), d) for s in sids]
            return start_noise(tuple(x.shape[1:]), norm, seeds, x.device)

        noise_broken = vc.noise_attack(
            classify, x, y, noise=noise, eps=eps, bounds=bounds, draws=self.cfg.noise_draws
        )
        results.append(vc.noise_beats_gradient(noise_broken, ens_t, ok))
        if module is None:
            return results
        results.append(vc.zero_gradients(module, x, y))
        p = params.get(f"{norm}_pgd") or atk.attack_params(atk.resolve_attack(f"{norm}_pgd"), None)

        def run_pgd(
            name: str,
            e: float,
            steps: int,
            restarts: int,
            random_start: bool,
            rel: float = p["rel_stepsize"],
            track_loss: bool = False,
        ) -> atk.PGDResult:
            return atk.pgd(
                module,
                x,
                y,
                norm=norm,
                eps=e,
                steps=steps,
                rel_stepsize=rel,
                restarts=restarts,
                random_start=random_start,
                bounds=bounds,
                sample_ids=sids,
                run_seed=ctx.seed,
                attack=name,
                track_loss=track_loss,
            )

        def broken(r: atk.PGDResult, e: float | None) -> torch.Tensor:
            # Unchanged candidates keep the clean prediction (clean-wrong samples are masked by ok).
            cp = torch.as_tensor(clean_pred[:m])
            v: Verified = verify(
                adapter,
                x,
                r.adv,
                y,
                norm=norm,
                eps=e,
                bounds=bounds,
                clean_prediction=cp,
                clean_confidence=torch.ones(m),
            )
            return v.adversarial

        base = run_pgd("check_pgd", eps, p["steps"], 1, True, track_loss=True)
        assert base.loss_start is not None and base.loss_best is not None
        results.append(vc.loss_not_increasing(base.loss_start, base.loss_best, ok))
        # Twice the steps and restarts, and at least Madry's step-size rule (2.5 eps / steps).
        strong = run_pgd(
            "check_pgd_strong",
            eps,
            2 * p["steps"],
            2 * max(1, p["restarts"]),
            True,
            max(p["rel_stepsize"], 2.5),
        )
        results.append(vc.stronger_attack_lowers(broken(strong, eps), ens_t, ok))
        big = max_budget(norm, bounds, task.input_shape)
        unbounded = run_pgd("check_pgd_unbounded", big, 2 * p["steps"], 1, False)
        results.append(vc.unbounded_attack_fails(broken(unbounded, None), ok))
        for r in results:
            if r.raised:
                log.warning(
                    "adversarial check %s raised for %s: %s (%d of %d)",
                    r.flag,
                    adapter.name,
                    r.description,
                    r.bad,
                    r.n,
                )
        return results

    # ----------------------------------------------------------------------------------------
    def _table(
        self,
        ids: list[str],
        labels: np.ndarray,
        clean_pred: np.ndarray,
        clean_conf: np.ndarray,
        correct: np.ndarray,
        outcomes: dict[tuple[str, float], _Outcome],
        infos: list[atk.AttackInfo],
        min_norms: dict[str, np.ndarray],
    ) -> tuple[SampleTable, dict[tuple[Norm, float], np.ndarray]]:
        sid = np.asarray(ids, dtype=object)
        frames: list[dict[str, object]] = [
            {
                "sample_id": sid,
                "condition": CLEAN,
                "label": labels,
                "prediction": clean_pred,
                "correct": correct,
                "confidence": clean_conf,
                "attack_success": np.zeros(len(ids), bool),
                "perturbation_norm": np.zeros(len(ids)),
                "broken_by": np.full(len(ids), "", dtype=object),
            }
        ]
        for (name, eps), o in outcomes.items():
            a = o.attacked
            frames.append(
                {
                    "sample_id": sid[a],
                    "condition": f"attack={name}/eps={eps_label(eps)}",
                    "label": labels[a],
                    "prediction": o.prediction[a],
                    "correct": correct[a] & ~o.broken[a],
                    "confidence": o.confidence[a],
                    "attack_success": o.broken[a],
                    "perturbation_norm": np.where(o.broken[a], o.norm[a], np.nan),
                    "broken_by": np.where(o.broken[a], name, ""),
                }
            )
        ensemble: dict[tuple[Norm, float], np.ndarray] = {}
        for norm in NORMS:
            names = [i.name for i in infos if i.norm == norm]
            if not names:
                continue
            pred, conf = clean_pred.copy(), clean_conf.copy()
            nrm = np.full(len(ids), np.nan)
            by = np.full(len(ids), "", dtype=object)
            hit = np.zeros(len(ids), bool)
            for eps in self.epsilons[norm]:
                for name in names:
                    o = outcomes[(name, eps)]
                    new = o.broken & ~hit & correct
                    pred[new], conf[new], nrm[new], by[new] = (
                        o.prediction[new],
                        o.confidence[new],
                        o.norm[new],
                        name,
                    )
                    hit |= new
                ensemble[(norm, eps)] = correct & ~hit
                frames.append(
                    {
                        "sample_id": sid,
                        "condition": f"attack=ensemble/norm={norm}/eps={eps_label(eps)}",
                        "label": labels,
                        "prediction": pred.copy(),
                        "correct": correct & ~hit,
                        "confidence": conf.copy(),
                        "attack_success": hit.copy(),
                        "perturbation_norm": nrm.copy(),
                        "broken_by": by.copy(),
                    }
                )
        return SampleTable.concat([SampleTable.build(f) for f in frames]), ensemble

    def _metrics(
        self,
        table: SampleTable,
        ensemble: dict[tuple[Norm, float], np.ndarray],
        outcomes: dict[tuple[str, float], _Outcome],
        min_norms: dict[str, np.ndarray],
        correct: np.ndarray,
        infos: list[atk.AttackInfo],
        flags: tuple[str, ...],
        ctx: RunContext,
        n: int,
    ) -> list[MetricRecord]:
        def acc(values: np.ndarray, name: str, **kw: Any) -> MetricRecord:
            ci = bootstrap_ci(
                lambda idx: values[idx].mean(axis=1),
                len(values),
                seed=ctx.seed,
                name=f"{self.name}/{name}",
                resamples=ctx.bootstrap_resamples,
            )
            return spec_record(
                self.metric_spec(kw.pop("metric", "robust_acc")),
                suite=self.name,
                value=float(values.mean()) if len(values) else None,
                n=len(values),
                ci=ci,
                ci_method=CI_METHOD if ci else None,
                **kw,
            )

        records = [acc(correct, "clean_acc", metric="clean_acc")]
        for (norm, eps), robust in ensemble.items():
            cond = f"attack=ensemble/norm={norm}/eps={eps_label(eps)}"
            records.append(
                acc(
                    robust,
                    cond,
                    condition=cond,
                    flags=flags,
                    context={"norm": norm, "eps": eps_label(eps)},
                )
            )
        for (name, eps), o in outcomes.items():
            cond = f"attack={name}/eps={eps_label(eps)}"
            a = o.attacked
            rec = acc(
                correct[a] & ~o.broken[a],
                cond,
                condition=cond,
                flags=flags,
                context={
                    "attack": name,
                    "norm": atk.resolve_attack(name).norm,
                    "eps": eps_label(eps),
                },
            )
            records.append(replace(rec, headline=False))
            if o.invalid:
                records.append(
                    spec_record(
                        self.metric_spec("invalid_adversarials"),
                        suite=self.name,
                        value=float(sum(o.invalid.values())),
                        n=int(a.sum()),
                        condition=cond,
                        context={"attack": name},
                        note=str(o.invalid),
                    )
                )
        for name, mn in min_norms.items():
            vals = mn[~np.isnan(mn)]
            norm = atk.resolve_attack(name).norm
            for metric, q in (
                ("min_norm_q25", 0.25),
                ("min_norm_median", 0.5),
                ("min_norm_q75", 0.75),
            ):
                with np.errstate(invalid="ignore"):  # inf - inf between two failed samples
                    v = float(np.quantile(vals, q)) if len(vals) else None
                note = None
                if v is not None and not np.isfinite(v):
                    v, note = None, "attack failed on too many samples for this quantile"
                records.append(
                    spec_record(
                        self.metric_spec(metric),
                        suite=self.name,
                        value=v,
                        n=len(vals),
                        context={"attack": name, "norm": norm},
                        note=note or "misclassified samples count as 0, failures as inf",
                        flags=flags,
                    )
                )
        return records


def _store(o: _Outcome, sl: slice, v: Verified, attacked: np.ndarray, norm: np.ndarray) -> None:
    o.attacked[sl] = attacked
    o.broken[sl] = v.adversarial.numpy()
    o.prediction[sl] = v.prediction.numpy()
    o.confidence[sl] = v.confidence.numpy()
    o.norm[sl] = norm
    for k, c in v.reasons.items():
        o.invalid[k] = o.invalid.get(k, 0) + c


def _check_inputs(x: torch.Tensor, bounds: tuple[float, float], task: str, ids: list[str]) -> None:
    """Explicit bounds check before any attack (foolbox only asserts, which `python -O` drops)."""
    flat = x.flatten(1)
    bad = ~torch.isfinite(flat).all(1) | (flat < bounds[0]).any(1) | (flat > bounds[1]).any(1)
    if bad.any():
        first = ids[int(bad.nonzero()[0, 0])]
        raise DatasetError(
            f"task {task!r}: {int(bad.sum())} input(s) lie outside the declared bounds "
            f"{list(bounds)} or are not finite (first: sample {first!r}, range "
            f"[{float(torch.nan_to_num(flat).min()):.4g}, {float(torch.nan_to_num(flat).max()):.4g}]); "
            "fix the task's bounds or the data"
        )
