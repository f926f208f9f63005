"""The text cascade: every text attack at every budget of its threat model, each candidate
re-verified before it counts.

Per threat model, budgets ascending, the attacks in plan order, each only on the samples no attack
broke so far at this budget or a smaller one (an adversarial text within a smaller share of
words is within every larger one, so a sample broken there stays broken): the worst case over the
attack set per sample, cumulative over budgets, as for images. A search's best text counts only
when `verify.verify_texts` finds it within budget and rules and a fresh forward pass predicts
another label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from harness.core.seeding import derive_seed
from harness.core.suite import RunContext
from harness.stats import tie_breaks
from harness.suites.adversarial.progress import StageProgress
from harness.suites.adversarial.text.attacks import TextAttack, TextBatch
from harness.suites.adversarial.text.budget import TextBudget, Threat
from harness.suites.adversarial.text.config import TextPlan
from harness.suites.adversarial.text.verify import SimilarityFn, verify_texts

ScoreFn = Callable[[list[str]], np.ndarray]


@dataclass
class TextOutcome:
    """Per-sample results of one (attack, budget) over all samples of the task."""

    attacked: np.ndarray
    broken: np.ndarray
    prediction: np.ndarray
    confidence: np.ndarray
    text: np.ndarray  # the verified adversarial text, "" where none
    words: np.ndarray  # words changed by the adversarial text (0 where none)
    chars: np.ndarray  # character edits of the adversarial text (0 where none)
    queries: np.ndarray  # model queries the search spent (0 where not attacked)
    invalid: dict[str, int] = field(default_factory=dict)  # rejected by the verifier, by rule
    rejected: int = 0  # candidates the search dropped for a constraint (never scored)
    # attacked samples whose search scored some text that moved the model's probabilities
    moved: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    non_finite: int = 0  # candidate texts the search got NaN or inf scores for
    # attacked samples with a word the attack may change, none of which the source had a
    # substitute for (nothing was tried)
    no_candidates: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    # attacked samples whose search the query budget stopped with candidates left untried
    cut: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    @classmethod
    def empty(cls, n: int) -> TextOutcome:
        return cls(
            attacked=np.zeros(n, bool),
            broken=np.zeros(n, bool),
            prediction=np.zeros(n, np.int64),
            confidence=np.zeros(n),
            text=np.full(n, "", dtype=object),
            words=np.zeros(n, np.int64),
            chars=np.zeros(n, np.int64),
            queries=np.zeros(n, np.int64),
            moved=np.zeros(n, bool),
            no_candidates=np.zeros(n, bool),
            cut=np.zeros(n, bool),
        )


@dataclass(kw_only=True)
class TextSweep:
    sample_ids: list[str]
    labels: np.ndarray
    texts: list[str]
    clean_prediction: np.ndarray
    clean_confidence: np.ndarray
    clean_probs: np.ndarray
    outcomes: dict[tuple[str, TextBudget], TextOutcome] = field(default_factory=dict)
    plan: TextPlan

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def correct(self) -> np.ndarray:
        return self.clean_prediction == self.labels

    @property
    def clean_tied(self) -> np.ndarray:
        """The clean label ties another class at the top: argmax's tie-break alone decides
        whether the text counts as clean-correct (harness.stats.tie_breaks)."""
        if self.n == 0:
            return np.zeros(0, bool)
        return tie_breaks.decided_by_tie(self.clean_probs, self.labels, 1)

    @property
    def surely_correct(self) -> np.ndarray:
        """Clean-correct under every tie-break: the texts that can count as robust."""
        return self.correct & ~self.clean_tied


def clean_pass(
    score: ScoreFn, texts: list[str], labels: np.ndarray, batch_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class probabilities, prediction and confidence of every clean text."""
    probs = [
        np.asarray(score(texts[s : s + batch_size]), dtype=np.float64)
        for s in range(0, len(texts), batch_size)
    ]
    p = np.concatenate(probs) if probs else np.zeros((0, 1))
    return p, p.argmax(1) if len(p) else np.zeros(0, np.int64), p.max(1) if len(p) else np.zeros(0)


def run_text_sweep(
    score: ScoreFn,
    sweep: TextSweep,
    attacks: dict[str, TextAttack],
    ctx: RunContext,
    *,
    similarity: SimilarityFn | None = None,
) -> TextSweep:
    """Every attack of the plan at every budget, verified, recorded in `sweep.outcomes`."""
    plan = sweep.plan
    stages = sum(len(plan.budgets[t]) * len(names) for t, names in plan.attacks.items())
    progress = StageProgress(sweep.n, stages, ctx.progress)
    for threat, names in plan.attacks.items():
        for name in names:
            for budget in plan.budgets[threat]:
                sweep.outcomes[(name, budget)] = TextOutcome.empty(sweep.n)
        _threat(score, sweep, threat, [attacks[n] for n in names], ctx, progress, similarity)
    progress.finish()
    return sweep


def _threat(
    score: ScoreFn,
    sweep: TextSweep,
    threat: Threat,
    attacks: list[TextAttack],
    ctx: RunContext,
    progress: StageProgress,
    similarity: SimilarityFn | None,
) -> None:
    alive = sweep.correct.copy()
    for budget in sweep.plan.budgets[threat]:
        for attack in attacks:
            rows = np.flatnonzero(alive)
            progress.stage(f"{attack.family} ({budget.label}) on {len(rows)} unbroken texts")
            out = sweep.outcomes[(attack.family, budget)]
            if len(rows):
                _attack(score, sweep, attack, budget, rows, out, ctx, similarity)
            alive &= ~(out.broken & out.attacked)
            progress.advance(1, 1)


def _attack(
    score: ScoreFn,
    sweep: TextSweep,
    attack: TextAttack,
    budget: TextBudget,
    rows: np.ndarray,
    out: TextOutcome,
    ctx: RunContext,
    similarity: SimilarityFn | None,
) -> None:
    originals = [sweep.texts[r] for r in rows]
    seeds = [
        derive_seed(ctx.seed, "text", attack.family, budget.label, sweep.sample_ids[r])
        for r in rows
    ]
    batch = TextBatch(
        texts=originals,
        labels=sweep.labels[rows],
        clean_probs=sweep.clean_probs[rows],
        seeds=seeds,
    )
    found = attack.run(score, batch, budget)
    v = verify_texts(
        score,
        originals,
        found.texts,
        sweep.labels[rows],
        budget,
        sweep.plan.rules,
        clean_prediction=sweep.clean_prediction[rows],
        clean_confidence=sweep.clean_confidence[rows],
        similarity=similarity,
        min_similarity=sweep.plan.min_similarity,
        batch_size=ctx.batch_size,
    )
    out.attacked[rows] = True
    out.broken[rows] = v.adversarial
    out.prediction[rows] = v.prediction
    out.confidence[rows] = v.confidence
    out.text[rows] = np.where(v.adversarial, np.asarray(found.texts, dtype=object), "")
    out.words[rows] = np.where(v.adversarial, v.words, 0)
    out.chars[rows] = np.where(v.adversarial, v.chars, 0)
    out.queries[rows] = found.queries
    out.rejected += int(found.rejected.sum())
    out.moved[rows] = found.moved
    out.no_candidates[rows] = found.no_candidates
    out.cut[rows] = found.cut
    out.non_finite += int(found.non_finite.sum())
    reasons = dict(v.reasons)
    # the search saw the label change, the fresh forward pass did not (a nondeterministic model)
    lost = int((found.found & v.valid & ~v.adversarial).sum())
    if lost:
        reasons["label_unchanged_on_recheck"] = lost
    for reason, count in reasons.items():
        out.invalid[reason] = out.invalid.get(reason, 0) + count
