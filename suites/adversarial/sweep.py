"""Running the attack plan over the eps sweep, batch by batch, every candidate re-verified.

One pass over the task. Per batch: the bounds check, the clean prediction, then every attack of
the plan. Fixed-budget attacks (FGSM, PGD) run once per eps. Minimisation attacks (DeepFool, C&W)
and decision-based ones (HopSkipJump, Boundary) run once, on the first `minimization_max_samples`
samples, and their verified minimal norms are thresholded at every eps. A candidate counts only
after `verification.verify` accepted it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import foolbox as fb
import numpy as np
import torch

from harness.core.adapter import ModelAdapter, check_logits
from harness.core.errors import DatasetError
from harness.core.seeding import derive_seed
from harness.core.suite import RunContext
from harness.core.task import Batch, Task
from suites.adversarial import attacks as atk
from suites.adversarial.blackbox import LogitsModel
from suites.adversarial.budgets import Norm, eps_label
from suites.adversarial.config import AttackPlan
from suites.adversarial.verification import Verified, verify, within_budget

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """Per-sample arrays of one (attack, eps) over the evaluated samples."""

    attacked: np.ndarray
    broken: np.ndarray
    prediction: np.ndarray
    confidence: np.ndarray
    norm: np.ndarray
    invalid: dict[str, int]

    @classmethod
    def empty(cls, n: int) -> Outcome:
        return cls(
            attacked=np.zeros(n, bool),
            broken=np.zeros(n, bool),
            prediction=np.zeros(n, np.int64),
            confidence=np.zeros(n),
            norm=np.full(n, np.nan),
            invalid={},
        )

    def store(self, rows: slice, v: Verified, norm: np.ndarray) -> None:
        """Record the verified candidates of samples `rows` (and count invalid ones by reason)."""
        self.attacked[rows] = True
        self.broken[rows] = v.adversarial.numpy()
        self.prediction[rows] = v.prediction.numpy()
        self.confidence[rows] = v.confidence.numpy()
        self.norm[rows] = norm
        for reason, count in v.reasons.items():
            self.invalid[reason] = self.invalid.get(reason, 0) + count


@dataclass(kw_only=True)
class Sweep:
    """What the sweep measured, per sample, for the stages after it."""

    sample_ids: list[str]
    labels: np.ndarray
    clean_prediction: np.ndarray
    clean_confidence: np.ndarray
    outcomes: dict[tuple[str, float], Outcome]  # (attack, eps), in plan then eps order
    min_norms: dict[str, np.ndarray]  # per minimisation attack; NaN where it did not run
    minimization_limit: int
    no_start: dict[str, int] = field(default_factory=dict)  # decision attack -> samples
    failed_attacks: dict[str, list[str]] = field(default_factory=dict)  # attack -> errors
    check_inputs: torch.Tensor | None = None  # the first `check_samples` inputs

    @classmethod
    def empty(
        cls, n: int, plan: AttackPlan, epsilons: dict[Norm, list[float]], minimization_limit: int
    ) -> Sweep:
        outcomes: dict[tuple[str, float], Outcome] = {}
        min_norms: dict[str, np.ndarray] = {}
        for info in plan.infos:
            if info.kind != "fixed":
                min_norms[info.name] = np.full(n, np.nan)
            for eps in epsilons[info.norm]:
                outcomes[(info.name, eps)] = Outcome.empty(n)
        return cls(
            sample_ids=[],
            labels=np.zeros(n, np.int64),
            clean_prediction=np.zeros(n, np.int64),
            clean_confidence=np.zeros(n, np.float64),
            outcomes=outcomes,
            min_norms=min_norms,
            minimization_limit=minimization_limit,
        )

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def correct(self) -> np.ndarray:
        """Clean-correct samples: the only ones an attack can break."""
        return self.clean_prediction == self.labels

    def start_notes(self) -> list[str]:
        """Decision-based attacks that left correctly classified samples unattacked."""
        return [
            f"{name}: {count} correctly classified sample(s) had no starting point (no "
            "sample of another predicted class in their batch) and were not attacked"
            for name, count in self.no_start.items()
            if count
        ]

    def subset_notes(self, plan: AttackPlan) -> list[str]:
        """Minimisation attacks that ran on a prefix of the samples only."""
        limit = self.minimization_limit
        return [
            f"{info.name} ran on the first {limit} of {self.n} samples (minimization_max_samples)"
            for info in plan.infos
            if info.kind != "fixed" and limit < self.n
        ]


@dataclass(frozen=True, kw_only=True)
class Target:
    """What the attacks run against: the adapter, its module when white-box, a foolbox model."""

    adapter: ModelAdapter
    module: torch.nn.Module | None
    fmodel: fb.models.Model
    bounds: tuple[float, float]

    @classmethod
    def of(cls, adapter: ModelAdapter, bounds: tuple[float, float], *, white_box: bool) -> Target:
        module = adapter.module() if white_box else None
        fmodel = (
            atk.model_for_foolbox(module, bounds, adapter.device)
            if module is not None
            else LogitsModel(adapter, bounds)
        )
        return cls(adapter=adapter, module=module, fmodel=fmodel, bounds=bounds)


@dataclass(frozen=True, kw_only=True)
class _Batch:
    """One batch as the attacks see it, with its clean pass (predictions on the CPU)."""

    start: int  # index of the first sample in the task
    sample_ids: list[str]
    x: torch.Tensor  # on the adapter's device
    y: torch.Tensor  # on the adapter's device
    labels: torch.Tensor  # on the CPU
    clean_prediction: torch.Tensor
    clean_confidence: torch.Tensor

    @property
    def rows(self) -> slice:
        return slice(self.start, self.start + len(self.x))

    def head(self, m: int) -> _Batch:
        return _Batch(
            start=self.start,
            sample_ids=self.sample_ids[:m],
            x=self.x[:m],
            y=self.y[:m],
            labels=self.labels[:m],
            clean_prediction=self.clean_prediction[:m],
            clean_confidence=self.clean_confidence[:m],
        )


def run_sweep(
    target: Target,
    task: Task,
    plan: AttackPlan,
    epsilons: dict[Norm, list[float]],
    ctx: RunContext,
    *,
    minimization_max_samples: int | None,
    check_samples: int,
) -> Sweep:
    """Every attack of `plan` at every eps on every sample of `task`, verified."""
    n = len(task)
    sweep = Sweep.empty(n, plan, epsilons, minimization_limit=minimization_max_samples or n)
    check_x: list[torch.Tensor] = []
    start = 0
    for batch in task.batches(ctx.batch_size):
        b = _clean_pass(target, task, batch, start, sweep)
        if start < check_samples:
            check_x.append(b.x[: check_samples - start].detach())
        for info in plan.infos:
            params = plan.params[info.name]
            stage = f"{info.name} ({info.norm}), samples {start}..{start + len(b.x) - 1}"
            if ctx.progress is not None:  # progress counts a sample once per attack
                ctx.progress(0, stage, n * len(plan.infos))
            if info.kind == "fixed":
                _run_fixed(target, info, params, b, epsilons[info.norm], sweep, ctx.seed)
            else:
                _run_minimizing(target, info, params, b, epsilons[info.norm], sweep, ctx.seed)
            if ctx.progress is not None:
                ctx.progress(len(b.x), stage)
        start += len(b.x)
    sweep.check_inputs = torch.cat(check_x) if check_x else None
    return sweep


def _clean_pass(target: Target, task: Task, batch: Batch, start: int, sweep: Sweep) -> _Batch:
    """Bounds check and clean prediction of one batch, recorded in `sweep`."""
    x = batch.inputs
    assert isinstance(x, torch.Tensor)
    check_inputs(x, target.bounds, task.name, batch.sample_ids)
    adapter = target.adapter
    x = x.to(adapter.device)
    y = batch.labels.to(adapter.device)
    rows = slice(start, start + len(x))
    logits = adapter.logits(x)
    check_logits(logits, num_classes=task.num_classes, model=adapter.name, task=task.name)
    probs = torch.softmax(logits.double(), 1).cpu()
    cp, cc = probs.argmax(1), probs.amax(1)
    sweep.sample_ids.extend(batch.sample_ids)
    sweep.labels[rows] = batch.labels.numpy()
    sweep.clean_prediction[rows] = cp.numpy()
    sweep.clean_confidence[rows] = cc.numpy()
    return _Batch(
        start=start,
        sample_ids=batch.sample_ids,
        x=x,
        y=y,
        labels=batch.labels,
        clean_prediction=cp,
        clean_confidence=cc,
    )


def _run_fixed(
    target: Target,
    info: atk.AttackInfo,
    params: dict[str, Any],
    b: _Batch,
    epsilons: list[float],
    sweep: Sweep,
    seed: int,
) -> None:
    """A fixed-budget attack, once per eps."""
    for eps in epsilons:
        cand = _fixed_candidates(target, info, params, b, eps, seed)
        v = verify(
            target.adapter,
            b.x,
            cand,
            b.y,
            norm=info.norm,
            eps=eps,
            bounds=target.bounds,
            clean_prediction=b.clean_prediction,
            clean_confidence=b.clean_confidence,
        )
        sweep.outcomes[(info.name, eps)].store(b.rows, v, v.norm.numpy())


def _fixed_candidates(
    target: Target,
    info: atk.AttackInfo,
    params: dict[str, Any],
    b: _Batch,
    eps: float,
    seed: int,
) -> torch.Tensor:
    if info.name.endswith("_pgd"):
        assert target.module is not None
        return atk.pgd(
            target.module,
            b.x,
            b.y,
            norm=info.norm,
            eps=eps,
            steps=params["steps"],
            rel_stepsize=params["rel_stepsize"],
            restarts=params["restarts"],
            random_start=params["random_start"],
            bounds=target.bounds,
            sample_ids=b.sample_ids,
            run_seed=seed,
            attack=info.name,
        ).adv
    rng_seed = derive_seed(seed, info.name, eps_label(eps), *b.sample_ids)
    return atk.run_foolbox(
        atk.foolbox_attack(info, params), target.fmodel, b.x, b.y, eps=eps, rng_seed=rng_seed
    )


def _run_minimizing(
    target: Target,
    info: atk.AttackInfo,
    params: dict[str, Any],
    b: _Batch,
    epsilons: list[float],
    sweep: Sweep,
    seed: int,
) -> None:
    """A minimisation or decision-based attack, once, thresholded at every eps."""
    m = max(0, min(len(b.x), sweep.minimization_limit - b.start))
    if m == 0:
        return
    head = b.head(m)
    rng_seed = derive_seed(seed, info.name, *head.sample_ids)
    if info.kind == "decision":
        cand = _decision_candidates(target, info, params, head, rng_seed, sweep)
    else:
        cand = atk.run_foolbox(
            atk.foolbox_attack(info, params),
            target.fmodel,
            head.x,
            head.y,
            eps=None,
            rng_seed=rng_seed,
        )
    v = verify(
        target.adapter,
        head.x,
        cand,
        head.y,
        norm=info.norm,
        eps=None,
        bounds=target.bounds,
        clean_prediction=head.clean_prediction,
        clean_confidence=head.clean_confidence,
    )
    norms = _minimal_norms(v, head)
    sweep.min_norms[info.name][head.rows] = norms
    for eps in epsilons:
        sweep.outcomes[(info.name, eps)].store(head.rows, _within(v, norms, eps, head), norms)


def _minimal_norms(v: Verified, b: _Batch) -> np.ndarray:
    """Verified minimal norm per sample: 0 when misclassified already, inf when not broken."""
    found = torch.where(v.adversarial, v.norm, torch.full_like(v.norm, torch.inf))
    misclassified = b.clean_prediction != b.labels
    return torch.where(misclassified, torch.zeros_like(found), found).numpy()


def _within(v: Verified, norms: np.ndarray, eps: float, b: _Batch) -> Verified:
    """`v` restricted to budget eps: candidates over it fall back to the clean prediction."""
    ok = within_budget(torch.as_tensor(norms), eps)
    return replace(
        v,
        adversarial=v.adversarial & ok,
        prediction=torch.where(ok, v.prediction, b.clean_prediction),
        confidence=torch.where(ok, v.confidence, b.clean_confidence),
    )


def _decision_candidates(
    target: Target,
    info: atk.AttackInfo,
    params: dict[str, Any],
    b: _Batch,
    rng_seed: int,
    sweep: Sweep,
) -> torch.Tensor:
    """A decision-based attack from our own starting points (see `attacks.decision_starts`);
    samples that are not attacked keep their clean input. Samples without a start and foolbox
    failures are recorded in `sweep`."""
    adapter, x = target.adapter, b.x
    starts, usable = atk.decision_starts(
        x, b.y, b.clean_prediction, lambda xs: adapter.logits(xs).argmax(1).to(x.device)
    )
    cand = x.clone()
    rows = usable.nonzero().squeeze(1)
    unstarted = int((b.clean_prediction.to(x.device) == b.y).sum()) - len(rows)
    sweep.no_start[info.name] = sweep.no_start.get(info.name, 0) + unstarted
    if not len(rows):
        return cand
    try:
        cand[rows] = atk.run_foolbox(
            atk.foolbox_attack(info, params),
            target.fmodel,
            x[rows],
            b.y[rows],
            eps=None,
            rng_seed=rng_seed,
            starting_points=starts[rows],
        ).to(x.device)
    except (AssertionError, ValueError) as err:
        # Foolbox asserts that its boundary points stay adversarial; a model whose decision
        # for one input depends on the rest of the batch (dynamic int8 quantisation scales
        # activations per batch) breaks that. The batch counts as not attacked, flagged.
        log.warning("%s failed on a batch of %s: %r", info.name, adapter.name, err)
        error = f"{type(err).__name__}: {err}".rstrip(": ")
        sweep.failed_attacks.setdefault(info.name, []).append(error)
    return cand


def check_inputs(x: torch.Tensor, bounds: tuple[float, float], task: str, ids: list[str]) -> None:
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
