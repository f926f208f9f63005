"""The adversarial suite on a text task: the plan, the sources, the sweep and its results.

Called by `AdversarialSuite.run` for text tasks. The model is queried for class scores only, so
every text model (hf-text, callable) is attacked the same way; the word-level attack's embedding
neighbours also need the model's input embeddings (`word_vectors()`), and a model without them
runs the character-level attacks only, with a note saying how to give a word source.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.core import forward_repeats
from harness.core.adapter import ModelAdapter
from harness.core.errors import ConfigError, ModelOutputError
from harness.core.metric_record import MetricSpec
from harness.core.suite import RunContext, SuiteResult
from harness.core.task import Task
from harness.suites.adversarial.metrics import with_clean_ties
from harness.suites.adversarial.text.attacks import CharGreedy, TextAttack, WordGreedy
from harness.suites.adversarial.text.config import TextConfig, TextPlan, resolve_text
from harness.suites.adversarial.text.flat_scores import (
    budget_cut_counts,
    budget_cut_note,
    flat_score_checks,
    flat_score_note,
    no_candidate_counts,
    no_candidate_note,
)
from harness.suites.adversarial.text.inputs import check_texts, input_notes
from harness.suites.adversarial.text.results import (
    clean_text_record,
    text_cells,
    text_examples,
    text_records,
    text_table,
)
from harness.suites.adversarial.text.scoring import scorer
from harness.suites.adversarial.text.search import AcceptFn, CandidateSource, ScoreFn
from harness.suites.adversarial.text.similarity import SentenceSimilarity
from harness.suites.adversarial.text.sources import (
    EmbeddingNeighbours,
    Substitutes,
    no_word_vectors,
    synonyms_table,
    unusable_synonyms_note,
)
from harness.suites.adversarial.text.sweep import TextSweep, clean_pass, run_text_sweep
from harness.suites.adversarial.text.verify import SimilarityFn
from harness.suites.adversarial.validity_checks import CheckResult

NONDETERMINISTIC = "nondeterministic_forward"
BATCH_DEPENDENT = "batch_dependent_forward"

NO_SIMILARITY_NOTE = (
    "no sentence-similarity model configured (suites.adversarial.text.similarity_model): edits "
    "are held by the budgets, stop words and protected tokens only"
)


def _word_source(
    plan: TextPlan, adapter: ModelAdapter
) -> tuple[CandidateSource | None, str | None]:
    """The word attack's substitutes, or None with the note that says why not and how."""
    if plan.word_source == "synonyms":
        assert plan.synonyms_file is not None
        table = synonyms_table(plan.synonyms_file, key="suites.adversarial.text.synonyms_file")
        return Substitutes(table=table, count=plan.word_candidates), None
    vectors = adapter.word_vectors()
    if vectors is None:
        return None, str(no_word_vectors(adapter.name)).replace("suites.adversarial.text.", "")
    return EmbeddingNeighbours(
        vectors=vectors, count=plan.word_candidates, min_cosine=plan.min_cosine
    ), None


def _truncated(adapter: ModelAdapter, texts: list[str]) -> tuple[int, object]:
    """Texts at the model's maximum length (so truncated by it), when it states one."""
    limit = adapter.describe().get("max_length")
    if not isinstance(limit, int):
        return 0, None
    counts = [adapter.count_tokens([t]) for t in texts]
    return sum(1 for c in counts if c is not None and c >= limit), limit


def repeat_check(
    score: ScoreFn, texts: list[str], probs: np.ndarray, batch_size: int
) -> CheckResult:
    """The clean texts scored a second time, in the same batches: a text whose scores moved (a
    randomised model, dropout left on) makes every search follow noise, and the re-check's
    "another label" can be a redraw.

    The passes are compared as the image suite's probes compare logits
    (`forward_repeats.changed_rows`: 1e-4 of the row's largest magnitude), on each row's
    log-probabilities less their largest, which are the logits less the largest logit. An
    absolute 1e-4 on the probabilities missed a model whose logits are all small (x1e-6: its
    probabilities stay near 1/K and move by ~1e-7 while its decisions flip)."""
    again, _pred, _conf = clean_pass(score, texts, np.zeros(len(texts), np.int64), batch_size)
    bad = 0
    if len(texts):
        bad = int(forward_repeats.changed_rows(_centred(probs), _centred(again)).sum())
    return CheckResult(
        flag=NONDETERMINISTIC,
        raised=bad > 0,
        bad=bad,
        n=len(texts),
        allowed_rate=None,
        p_value=None,
        description="the same text scored twice gave different class scores",
    )


def _centred(probs: np.ndarray) -> torch.Tensor:
    """log p - max log p per row (float64): the logits less their largest (-inf where a
    probability underflowed to 0)."""
    with np.errstate(divide="ignore"):
        logp = np.log(probs)
    return torch.from_numpy(logp - logp.max(axis=1, keepdims=True))


def repeat_note(model: str, check: CheckResult) -> str:
    return (
        f"model {model!r} gave {check.bad} of {check.n} clean texts other class scores "
        f"when they were scored twice (a logit moved by more than {forward_repeats.ATOL:g} of "
        "its row's largest): a randomised model or dropout left on; the attacks followed noise "
        "and a text counted as broken may be a redraw, so clean and robust accuracy and attack "
        f"success are not the model's (flag {NONDETERMINISTIC})"
    )


def batch_check(adapter: ModelAdapter, texts: list[str], batch_size: int) -> CheckResult:
    """The first texts (at most the run's batch size, `forward_repeats.LOOK`), the first half
    passed beside the second half and beside itself: a model whose logits of a text move with
    the texts beside it (a normalisation over the batch) is scored differently by the clean
    pass, the search's batches and the re-check, which batch the texts differently."""
    look = texts[: max(1, min(forward_repeats.LOOK, batch_size, len(texts)))]
    dependent = 0
    if len(look) >= 2:
        _repeated, dependent, _n = forward_repeats.unstable_rows(
            adapter.logits, look, adapter.device
        )
    return CheckResult(
        flag=BATCH_DEPENDENT,
        raised=dependent > 0,
        bad=dependent,
        n=len(look) // 2,
        allowed_rate=None,
        p_value=None,
        description="a text's logits changed with the other texts of its batch",
    )


def batch_note(model: str, check: CheckResult) -> str:
    return (
        f"the logits of model {model!r} for {check.bad} of {check.n} texts changed with the "
        "other texts of its batch (a normalisation over the batch): the clean pass, the "
        "search's batches and the re-check batch the texts differently, so clean and robust "
        f"accuracy and attack success depend on that batching, not on the model alone "
        f"(flag {BATCH_DEPENDENT})"
    )


def non_finite_notes(model: str, sweep: TextSweep) -> list[str]:
    """What a model that failed on attack texts (NaN or inf scores) did to the search."""
    searched = sum(o.non_finite for o in sweep.outcomes.values())
    rechecked = sum(o.invalid.get("non_finite_logits", 0) for o in sweep.outcomes.values())
    if not searched and not rechecked:
        return []
    return [
        f"model {model!r} returned NaN or inf class scores for {searched} text(s) the search "
        f"scored and {rechecked} adversarial text(s) re-checked: the search read those as the "
        "clean text and the re-check rejected them (non_finite_logits), so they were never "
        "counted as successes; robust accuracy counts such a text as robust, though the model "
        "gives it no prediction"
    ]


def run_text(
    *,
    suite: str,
    text_cfg: TextConfig,
    preset: str,
    adapter: ModelAdapter,
    task: Task,
    ctx: RunContext,
    specs: dict[str, MetricSpec],
    base_dir: Path | None,
    notes: list[str],
) -> SuiteResult:
    """Attack every text of `task` (already subset) with the plan of `text_cfg`."""
    plan = resolve_text(text_cfg, preset, base_dir)
    batches = list(task.batches(ctx.batch_size))
    ids = [sid for b in batches for sid in b.sample_ids]
    texts = check_texts([t for b in batches for t in b.inputs], ids, task.name)
    labels = np.concatenate([b.labels.numpy() for b in batches]) if batches else np.zeros(0, int)
    score = scorer(adapter)
    probs, pred, conf = clean_pass(score, texts, labels, ctx.batch_size)
    bad = int((~np.isfinite(probs).all(axis=1)).sum()) if len(probs) else 0
    if bad:
        raise ModelOutputError(
            f"model {adapter.name!r} returned NaN or inf class scores for {bad} text(s) of task "
            f"{task.name!r}"
        )
    repeat = repeat_check(score, texts, probs, ctx.batch_size)
    if repeat.raised:
        notes.append(repeat_note(adapter.name, repeat))
    # a randomised model's texts change anyway: nothing to tell apart
    grouped = batch_check(adapter, [] if repeat.raised else texts, ctx.batch_size)
    if grouped.raised:
        notes.append(batch_note(adapter.name, grouped))
    sweep = TextSweep(
        sample_ids=ids,
        labels=labels.astype(np.int64),
        texts=texts,
        clean_prediction=pred.astype(np.int64),
        clean_confidence=conf,
        clean_probs=probs,
        plan=plan,
    )
    similarity: SentenceSimilarity | None = None
    if plan.similarity_model is not None:
        similarity = SentenceSimilarity(plan.similarity_model, device=adapter.device)
    else:
        notes.append(NO_SIMILARITY_NOTE)
    accept: AcceptFn | None = similarity.accept(plan.min_similarity) if similarity else None
    attacks: dict[str, TextAttack] = {}
    for name in plan.attacks.get("char", []):
        attacks[name] = CharGreedy(plan, accept=accept, batch_size=ctx.batch_size)
    if "word" in plan.attacks:
        words, why = _word_source(plan, adapter)
        if words is None:
            if "char" not in plan.attacks:
                if plan.word_source == "embedding":
                    raise no_word_vectors(adapter.name, plan.attacks["word"])
                raise ConfigError(f"suites.adversarial.text.{why}")
            notes.append(f"word-level attacks did not run: {why}")
            plan = _without_word(plan)
            sweep.plan = plan
        else:
            if isinstance(words, Substitutes) and plan.synonyms_file is not None:
                unusable = unusable_synonyms_note(words.table, plan.synonyms_file)
                if unusable is not None:
                    notes.append(unusable)
            for name in plan.attacks["word"]:
                attacks[name] = WordGreedy(
                    plan, accept=accept, batch_size=ctx.batch_size, words=words
                )
    truncated, limit = _truncated(adapter, texts)
    # only texts correct under every tie-break count as robust when nothing can be edited
    notes += input_notes(texts, sweep.surely_correct, plan.rules, truncated, limit)
    sim_fn: SimilarityFn | None = similarity
    run_text_sweep(score, sweep, attacks, ctx, similarity=sim_fn)
    cells = text_cells(sweep)
    notes += non_finite_notes(adapter.name, sweep)
    checks = flat_score_checks(sweep)
    notes += [flat_score_note(t, c) for t, c in checks.items() if c.raised]
    sourceless = {
        t: no_candidate_note(t, bad, n) for t, (bad, n) in no_candidate_counts(sweep).items() if bad
    }
    stopped = {
        t: budget_cut_note(t, bad, n, plan.query_budget)
        for t, (bad, n) in budget_cut_counts(sweep).items()
        if bad
    }
    threat_notes = {
        t: "; ".join(n for n in (sourceless.get(t), stopped.get(t)) if n)
        for t in {**sourceless, **stopped}
    }
    notes += [f"{t}-level attacks: {note}" for t, note in sourceless.items()]
    notes += [f"{t}-level attacks: {note}" for t, note in stopped.items()]
    clean = with_clean_ties(
        clean_text_record(suite, specs["clean_acc"], sweep.correct), sweep.correct, sweep.clean_tied
    )
    flags = {t: (c.flag,) for t, c in checks.items() if c.raised}
    if repeat.raised:
        clean = replace(clean, flags=(*clean.flags, NONDETERMINISTIC))
        flags = {t: (*flags.get(t, ()), NONDETERMINISTIC) for t in plan.attacks}
    if grouped.raised:  # on the robust records, as an image model's
        flags = {t: (*flags.get(t, ()), BATCH_DEPENDENT) for t in plan.attacks}
    records = [
        clean,
        *text_records(
            sweep,
            cells,
            suite=suite,
            robust_spec=specs["robust_acc"],
            invalid_spec=specs["invalid_adversarials"],
            preset=preset,
            flags=flags,
            threat_notes=threat_notes,
        ),
    ]
    artifacts: dict[str, Any] = {
        "modality": "text",
        "preset": preset,
        "text": plan.describe(),
        "text_examples": text_examples(sweep, cells, task.class_names, plan.examples, ctx.seed),
        "notes": notes,
        "checks": {
            **{t: c.to_dict() for t, c in checks.items()},
            "forward": repeat.to_dict(),
            "batch": grouped.to_dict(),
        },
        "seed": ctx.seed,
    }
    return SuiteResult(
        table=text_table(sweep, cells), metrics=records, artifacts=artifacts, notes=notes
    )


def _without_word(plan: TextPlan) -> TextPlan:
    return replace(
        plan,
        attacks={t: a for t, a in plan.attacks.items() if t != "word"},
        budgets={t: b for t, b in plan.budgets.items() if t != "word"},
    )
