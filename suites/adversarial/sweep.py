"""Running the attack plan over the eps sweep as a cascade, every candidate re-verified.

Stages, each over the whole task (so no decision depends on how samples fall into batches):
1. the clean pass: bounds check and the clean prediction of every sample;
2. per norm, attacks that are not fixed-budget (DeepFool, C&W; decision-based HopSkipJump and
   Boundary) run once on their seeded stratified subset (`minimization_max_samples`) and their
   verified minimal norms are thresholded at every eps;
3. per norm, eps ascending, the ensemble's attacks in plan order, each only on the samples no
   attack broke so far at this eps or a smaller one (a sample broken at a smaller eps is broken at
   every larger one), in batches of `batch_size` packed from the survivors.

The ensemble of a norm is its fixed-budget attacks plus the non-fixed ones that ran on every
sample (or, without gradients, the decision-based stand-in), so every attack in the worst case sees
every sample the ensemble counts. A candidate counts only after `verification.verify` accepted it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from harness.core.adapter import ModelAdapter, check_logits
from harness.core.errors import DatasetError
from harness.core.seeding import derive_seed
from harness.core.suite import RunContext
from harness.core.task import Task
from harness.stats import tie_breaks
from harness.suites.adversarial import attacks as atk
from harness.suites.adversarial.attack import AttackBatch
from harness.suites.adversarial.budgets import NORMS, Norm, eps_label
from harness.suites.adversarial.config import AttackPlan
from harness.suites.adversarial.examples import ExamplePool
from harness.suites.adversarial.forward import Forward
from harness.suites.adversarial.noise import attack_seeds, sample_seeds
from harness.suites.adversarial.progress import StageProgress
from harness.suites.adversarial.projection import Box, into_budget
from harness.suites.adversarial.rows import TaskRows
from harness.suites.adversarial.verification import Verified, verify, within_budget


@dataclass
class Outcome:
    """Per-sample arrays of one (attack, eps) over the evaluated samples."""

    attacked: np.ndarray
    broken: np.ndarray
    prediction: np.ndarray
    confidence: np.ndarray
    norm: np.ndarray
    invalid: dict[str, int]
    # a randomised model, at the checks' budget (`SweepSettings.keep_candidates`): a
    # score-based attack's verified adversarial candidates by task row, which
    # `gradient_obfuscation` decides again before it counts a break (checks._square_only)
    candidates: dict[int, torch.Tensor] = field(default_factory=dict)

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

    def store(self, rows: np.ndarray, v: Verified, norm: np.ndarray) -> None:
        """Record the verified candidates of task rows `rows` (and count invalid ones)."""
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
    # clean label tied with another class at the top: argmax's tie-break alone decides whether
    # the sample counts as clean-correct (harness.stats.tie_breaks); never robust
    clean_tied: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    min_norms: dict[str, np.ndarray]  # per non-fixed attack; NaN where it did not run
    minimization_rows: np.ndarray  # the seeded stratified subset non-fixed attacks run on
    ensemble: dict[Norm, list[str]] = field(default_factory=dict)  # members, cascade order
    evaluated: dict[Norm, np.ndarray] = field(default_factory=dict)  # rows the ensemble counts
    no_start: dict[str, int] = field(default_factory=dict)  # decision attack -> samples
    failed_attacks: dict[str, list[str]] = field(default_factory=dict)  # attack -> errors
    eot_draws: int = 1
    # a randomised model: one pass's prediction on each clean input (the model as the accuracy
    # suite scores it), beside the averaged classifier's `clean_prediction`; None otherwise
    single_pass_prediction: np.ndarray | None = None

    @classmethod
    def empty(
        cls,
        n: int,
        plan: AttackPlan,
        epsilons: dict[Norm, list[float]],
        minimization_rows: np.ndarray,
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
            clean_tied=np.zeros(n, bool),
            min_norms=min_norms,
            minimization_rows=minimization_rows,
        )

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def correct(self) -> np.ndarray:
        """Clean-correct samples: the only ones an attack can break."""
        return self.clean_prediction == self.labels

    @property
    def surely_correct(self) -> np.ndarray:
        """Clean-correct under every tie-break: the samples that can count as robust (a clean
        prediction the tie-break decides is no robust classification)."""
        return self.correct & ~self.clean_tied

    @property
    def single_pass_accuracy(self) -> float | None:
        """A randomised model's accuracy with one pass per clean input (None: deterministic)."""
        if self.single_pass_prediction is None or self.n == 0:
            return None
        return float((self.single_pass_prediction == self.labels).mean())

    def not_attacked(self, norm: Norm) -> list[str]:
        """Clean-correct samples the norm's ensemble did not attack (black-box subsets)."""
        evaluated = self.evaluated.get(norm)
        if evaluated is None:
            return []
        return [self.sample_ids[r] for r in np.flatnonzero(self.correct & ~evaluated)]

    def start_notes(self) -> list[str]:
        """Decision-based attacks that left correctly classified samples unattacked."""
        return [
            f"{name}: {count} correctly classified sample(s) had no starting point (no "
            "sample of another predicted class in their batch) and were not attacked"
            for name, count in self.no_start.items()
            if count
        ]

    def subset_notes(self, plan: AttackPlan) -> list[str]:
        """Non-fixed attacks that ran on a subset only, and samples no attack reached."""
        m, notes = len(self.minimization_rows), []
        for info in plan.infos:
            if info.kind != "fixed" and m < self.n:
                part = "counted" if info.name in self.ensemble.get(info.norm, []) else "not part"
                notes.append(
                    f"{info.name} ran on a seeded label-stratified subset of {m} of {self.n} "
                    f"samples (minimization_max_samples); {part} of the robust-accuracy ensemble"
                    + (" on that subset" if part == "counted" else "")
                )
        for norm in NORMS:
            missed = self.not_attacked(norm)
            if missed:
                notes.append(
                    f"{len(missed)} correctly classified sample(s) were not attacked in {norm} "
                    "and are left out of its robust accuracy (n counts attacked samples only; "
                    "their ids are in the artifacts under not_attacked)"
                )
        return notes


@dataclass(frozen=True, kw_only=True)
class Target:
    """What the attacks run against: the checked forward pass, the bounds, the device."""

    fwd: Forward
    bounds: tuple[float, float]
    device: torch.device
    # Tabular tasks with per-feature ranges: each feature's own box in attack space (float64,
    # feature_space.py); None when `bounds` is the whole box.
    box: tuple[torch.Tensor, torch.Tensor] | None = None

    def projected(
        self, x: torch.Tensor, candidate: torch.Tensor, norm: Norm, eps: float | None
    ) -> torch.Tensor:
        """`candidate` moved into the eps ball around `x` and into every feature's box, in the
        inputs' dtype (projection.py): what the verifier then checks, and the model sees."""
        box = self.box if self.box is not None else self.bounds
        return into_budget(x, candidate, norm=norm, eps=eps, bounds=box)

    @property
    def attack_box(self) -> Box:
        """Where the gradient and score attacks keep their iterates: each feature's box, else
        the bounds (the model sees its inputs clipped into the box, flat outside it)."""
        return self.box if self.box is not None else self.bounds

    @property
    def adapter(self) -> ModelAdapter:
        return self.fwd.adapter

    @property
    def white_box(self) -> bool:
        return self.fwd.module is not None


@dataclass(frozen=True, kw_only=True)
class SweepSettings:
    """How the sweep runs: seed, batch size, and where to put stored examples."""

    seed: int
    batch_size: int
    minimization_rows: np.ndarray
    examples: ExamplePool | None = None
    # (norm, eps): the outcomes of that norm at that eps or a smaller one keep candidates
    # (`Outcome.candidates`): a randomised model's check budget; None: none kept
    keep_candidates: tuple[Norm, float] | None = None


def run_sweep(
    target: Target,
    task: Task,
    plan: AttackPlan,
    epsilons: dict[Norm, list[float]],
    ctx: RunContext,
    settings: SweepSettings,
) -> SweepRunner:
    """Every attack of `plan` at every eps on every sample of `task`, verified; the runner holds
    the sweep, the row access the checks use, and runs the escalation's attacks later."""
    n = len(task)
    sweep = Sweep.empty(n, plan, epsilons, settings.minimization_rows)
    sweep.eot_draws = target.fwd.draws
    stages = sum(len(epsilons[i.norm]) if i.kind == "fixed" else 1 for i in plan.infos)
    progress = StageProgress(n, stages + 1, ctx.progress)
    progress.stage("clean predictions")
    rows = TaskRows(task, target.device)
    _clean_pass(target, task, sweep, rows, ctx.batch_size, progress)
    runner = SweepRunner(target, sweep, rows, settings, progress)
    for norm in NORMS:
        infos = plan.norm_infos(norm)
        if infos:
            runner.norm(norm, infos, plan.params, epsilons[norm], white_box=plan.white_box)
    return runner


def _clean_pass(
    target: Target,
    task: Task,
    sweep: Sweep,
    rows: TaskRows,
    batch_size: int,
    progress: StageProgress,
) -> None:
    """Bounds check and clean prediction of every sample, recorded in `sweep`."""
    start = 0
    for batch in task.batches(batch_size):
        x = batch.inputs
        assert isinstance(x, torch.Tensor)
        check_inputs(x, target.bounds, task.name, batch.sample_ids)
        x = x.to(target.device)
        rows.keep(x)
        logits = target.adapter.logits(x.clone())  # kept in `rows`: the model gets a copy
        check_logits(
            logits, num_classes=task.num_classes, model=target.adapter.name, task=task.name
        )
        span = slice(start, start + len(x))
        if target.fwd.eot:
            if sweep.single_pass_prediction is None:
                sweep.single_pass_prediction = np.zeros(sweep.n, np.int64)
            sweep.single_pass_prediction[span] = logits.argmax(1).cpu().numpy()
            logits = target.fwd.decide(x)
        probs = torch.softmax(logits.double(), 1).cpu()
        sweep.sample_ids.extend(batch.sample_ids)
        sweep.labels[span] = batch.labels.numpy()
        sweep.clean_prediction[span] = probs.argmax(1).numpy()
        sweep.clean_confidence[span] = probs.amax(1).numpy()
        sweep.clean_tied[span] = tie_breaks.decided_by_tie(probs.numpy(), sweep.labels[span], 1)
        start += len(x)
        progress.advance(len(x), len(task))


class SweepRunner:
    """Runs a norm's attacks over the task, stage by stage (and the escalation's, after)."""

    def __init__(
        self,
        target: Target,
        sweep: Sweep,
        rows: TaskRows,
        settings: SweepSettings,
        progress: StageProgress,
    ) -> None:
        self.target, self.sweep, self.rows = target, sweep, rows
        self.settings, self.progress = settings, progress
        self.labels = torch.as_tensor(sweep.labels)
        self.clean_pred = torch.as_tensor(sweep.clean_prediction)
        self.clean_conf = torch.as_tensor(sweep.clean_confidence)

    def norm(
        self,
        norm: Norm,
        infos: list[atk.AttackInfo],
        params: dict[str, dict[str, Any]],
        epsilons: list[float],
        *,
        white_box: bool,
    ) -> None:
        sweep = self.sweep
        full = len(sweep.minimization_rows) == sweep.n
        in_subset = np.zeros(sweep.n, bool)
        in_subset[sweep.minimization_rows] = True
        evaluated = np.ones(sweep.n, bool)
        members = []
        for info in infos:
            member = info.kind == "fixed" or full or (info.kind == "decision" and not white_box)
            if info.kind != "fixed":
                covered = self._minimizing(info, params[info.name], epsilons, offer=member)
                if member:
                    evaluated &= in_subset & (covered | ~sweep.correct)
            if member:
                members.append(info)
        sweep.ensemble[norm] = [i.name for i in members]
        sweep.evaluated[norm] = evaluated
        alive = sweep.correct & evaluated
        for eps in epsilons:
            for info in members:
                if info.kind == "fixed":
                    self._fixed(info, params[info.name], eps, alive)
                out = sweep.outcomes[(info.name, eps)]
                alive &= ~(out.broken & out.attacked)

    # --- fixed-budget attacks: the cascade --------------------------------------------------
    def _fixed(
        self, info: atk.AttackInfo, params: dict[str, Any], eps: float, alive: np.ndarray
    ) -> None:
        """One fixed-budget attack at one eps on the samples still `alive`."""
        todo = np.flatnonzero(alive)
        self.progress.stage(
            f"{info.name} ({info.norm}, eps {eps_label(eps)}) on {len(todo)} unbroken samples"
        )
        self.attack_rows(info, params, eps, todo, key=info.name)

    def attack_rows(
        self,
        info: atk.AttackInfo,
        params: dict[str, Any],
        eps: float,
        todo: np.ndarray,
        *,
        key: str,
        seed_name: str | None = None,
        fwd: Forward | None = None,
    ) -> None:
        """A fixed-budget attack at `eps` on task rows `todo`, in batches, every candidate
        projected and verified, recorded under outcome `(key, eps)` (seeds from `seed_name`,
        default the attack's name; `fwd`: another forward pass, e.g. more EOT draws)."""
        attack = info.make(params)
        target, bs = self.target, self.settings.batch_size
        out = self.sweep.outcomes[(key, eps)]
        chunks = max(1, -(-len(todo) // bs))
        for c in range(chunks):
            rows = todo[c * bs : (c + 1) * bs]
            if len(rows):
                batch = self._batch(seed_name or info.name, rows, eps)
                x = batch.x
                assert isinstance(x, torch.Tensor)
                cand = attack.run(fwd or target.fwd, batch, eps).x
                assert isinstance(cand, torch.Tensor)
                cand = target.projected(x, cand, info.norm, eps)
                v = self._verify(x, cand, batch.y, rows, info.norm, eps)
                out.store(rows, v, v.norm.numpy())
                keep = self.settings.keep_candidates
                if keep is not None and keep[0] == info.norm and eps <= keep[1]:
                    self._keep(info, rows, cand, v, out)
                self._offer(info, eps, rows, x, cand, v)
            self.progress.advance(1 / chunks, 1.0)

    @staticmethod
    def _keep(
        info: atk.AttackInfo, rows: np.ndarray, cand: torch.Tensor, v: Verified, out: Outcome
    ) -> None:
        """Keep a score-based attack's verified adversarial candidates."""
        if info.score_based:
            for i in np.flatnonzero(v.adversarial.numpy()):
                out.candidates[int(rows[i])] = cand[int(i)].detach().cpu()

    def _batch(self, name: str, rows: np.ndarray, eps: float | None) -> AttackBatch:
        """The attack's view of task rows `rows`: inputs, labels, per-sample seeds (of `name`)."""
        target, sweep = self.target, self.sweep
        ids = [sweep.sample_ids[r] for r in rows]
        if eps is None:  # non-fixed attacks run once for every eps
            seeds = sample_seeds(self.settings.seed, ids, name, device=target.device)
        else:
            seeds = attack_seeds(self.settings.seed, ids, name, eps, target.device)
        return AttackBatch(
            x=self.rows.inputs(rows),
            y=self.labels[rows].to(target.device),
            seeds=seeds,
            batch_seed=derive_seed(self.settings.seed, name, *ids),
            bounds=target.bounds,
            clean_prediction=self.clean_pred[rows].to(target.device),
            feature_box=target.box,
        )

    # --- non-fixed attacks: once, on the subset, thresholded at every eps ---------------------
    def _minimizing(
        self, info: atk.AttackInfo, params: dict[str, Any], epsilons: list[float], *, offer: bool
    ) -> np.ndarray:
        """Run a minimisation or decision attack on its subset; returns the rows it attacked."""
        sweep, bs = self.sweep, self.settings.batch_size
        covered = np.zeros(sweep.n, bool)
        subset = sweep.minimization_rows
        wrong = subset[~sweep.correct[subset]]  # misclassified already: no attack needed
        sweep.min_norms[info.name][wrong] = 0.0
        for eps in epsilons:
            out = sweep.outcomes[(info.name, eps)]
            out.attacked[wrong] = True
            out.prediction[wrong] = sweep.clean_prediction[wrong]
            out.confidence[wrong] = sweep.clean_confidence[wrong]
        subset = subset[sweep.correct[subset]]
        self.progress.stage(f"{info.name} ({info.norm}) on {len(subset)} correct samples")
        chunks = max(1, -(-len(subset) // bs))
        for c in range(chunks):
            rows = subset[c * bs : (c + 1) * bs]
            if len(rows):
                covered[self._minimizing_rows(info, params, epsilons, rows, offer)] = True
            self.progress.advance(1 / chunks, 1.0)
        return covered

    def _minimizing_rows(
        self,
        info: atk.AttackInfo,
        params: dict[str, Any],
        epsilons: list[float],
        rows: np.ndarray,
        offer: bool,
    ) -> np.ndarray:
        """One batch of a non-fixed attack; returns the rows it attacked."""
        sweep, target = self.sweep, self.target
        batch = self._batch(info.name, rows, None)
        x = batch.x
        assert isinstance(x, torch.Tensor)
        proposal = info.make(params).run(target.fwd, batch, None)
        cand = proposal.x
        assert isinstance(cand, torch.Tensor)
        attacked = np.ones(len(rows), bool)
        if proposal.attacked is not None:
            attacked = proposal.attacked.cpu().numpy().astype(bool)
        if proposal.failure is not None:
            sweep.failed_attacks.setdefault(info.name, []).append(proposal.failure)
        elif info.kind == "decision":
            sweep.no_start[info.name] = sweep.no_start.get(info.name, 0) + int((~attacked).sum())
        cand = target.projected(x, cand, info.norm, None)
        v = self._verify(x, cand, batch.y, rows, info.norm, None)
        norms = torch.where(v.adversarial, v.norm, torch.full_like(v.norm, torch.inf)).numpy()
        done = rows[attacked]
        sweep.min_norms[info.name][done] = norms[attacked]
        for eps in epsilons:
            ok = torch.as_tensor(attacked) & within_budget(torch.as_tensor(norms), eps)
            sweep.outcomes[(info.name, eps)].store(
                done, _select(_within(v, ok, rows, self), attacked), norms[attacked]
            )
        if offer:
            self._offer(info, max(epsilons), rows, x, cand, v)
        return done

    # --- shared ---------------------------------------------------------------------------
    def _verify(
        self,
        x: torch.Tensor,
        cand: torch.Tensor,
        y: torch.Tensor,
        rows: np.ndarray,
        norm: Norm,
        eps: float | None,
    ) -> Verified:
        return verify(
            self.target.fwd.decide,
            x,
            cand,
            y,
            norm=norm,
            eps=eps,
            bounds=self.target.bounds,
            clean_prediction=self.clean_pred[rows],
            clean_confidence=self.clean_conf[rows],
        )

    def _offer(
        self,
        info: atk.AttackInfo,
        eps: float,
        rows: np.ndarray,
        x: torch.Tensor,
        cand: torch.Tensor,
        v: Verified,
    ) -> None:
        pool = self.settings.examples
        if pool is None or info.norm != pool.norm or eps > pool.eps:
            return
        ok = v.adversarial & within_budget(v.norm, pool.eps)
        hit = ok.numpy()
        if hit.any():
            pick = torch.as_tensor(np.flatnonzero(hit), device=x.device)
            pool.offer(
                rows[hit],
                x[pick],
                cand.to(x.device)[pick],
                self.clean_pred[rows].numpy()[hit],
                v.prediction.numpy()[hit],
                info.name,
                v.norm.numpy()[hit],
            )


def _within(v: Verified, ok: torch.Tensor, rows: np.ndarray, runner: SweepRunner) -> Verified:
    """`v` restricted to `ok`: candidates over budget fall back to the clean prediction."""
    pred, conf = runner.clean_pred[rows], runner.clean_conf[rows]
    return replace(
        v,
        adversarial=v.adversarial & ok,
        prediction=torch.where(ok, v.prediction, pred),
        confidence=torch.where(ok, v.confidence, conf.double()),
    )


def _select(v: Verified, keep: np.ndarray) -> Verified:
    """The rows of `v` where `keep` is true."""
    k = torch.as_tensor(keep)
    return replace(
        v,
        adversarial=v.adversarial[k],
        valid=v.valid[k],
        changed=v.changed[k],
        prediction=v.prediction[k],
        confidence=v.confidence[k],
        norm=v.norm[k],
    )


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
