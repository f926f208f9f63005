"""The batched greedy search: word-importance ranking, then one word at a time, best edit kept.

As in TextAttack's `GreedyWordSwapWIR` (the search of its DeepWordBug and TextFooler recipes):
1. rank the words that may change by how much leaving each out ("delete") or replacing it with an
   unknown token ("unk") lowers the model's probability of the true label;
2. in that order, try the candidate edits of one word on the current text, keep the best if it
   lowers the true label's probability, and stop when the label changes, the budget of touched
   words is spent, the words run out or the query budget is spent.

Unlike TextAttack, which attacks one sample at a time, every sample advances in lockstep: one
ranking pass for all samples, then one round per word position, each round's candidates of every
sample in shared batches of `batch_size`. Scores only (black-box): the model is a function from
texts to probabilities. A query is one distinct text scored for one sample (a text scored twice
for the same sample is cached, as TextAttack caches it); the clean text counts as one query.
Random draws (character edits) come from one generator per sample seeded with the sample's seed,
so a sample's search does not depend on the batch it is in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from harness.suites.adversarial.text.budget import TextBudget
from harness.suites.adversarial.text.constraints import WordRules
from harness.suites.adversarial.text.words import Words, segment

Ranking = Literal["delete", "unk"]
ScoreFn = Callable[[list[str]], np.ndarray]  # texts -> (n, classes) probabilities
# (original text, candidate texts) -> mask of candidates that keep the meaning (similarity)
AcceptFn = Callable[[str, list[str]], np.ndarray]


class CandidateSource(Protocol):
    """Substitutes for word `index` of `words` (the candidates of one search step)."""

    def __call__(self, words: Words, index: int, gen: np.random.Generator) -> list[str]: ...


@dataclass(frozen=True, kw_only=True)
class SearchSettings:
    budget: TextBudget
    query_budget: int  # queries per sample, the clean text included
    ranking: Ranking = "delete"
    unk_token: str = "[UNK]"
    batch_size: int = 256


@dataclass(frozen=True)
class SearchOutcome:
    """Per sample: the best text found (the original when nothing helped), the queries spent,
    whether the search saw the label change, and candidates rejected by a constraint."""

    texts: list[str]
    queries: np.ndarray
    found: np.ndarray
    rejected: np.ndarray


@dataclass(eq=False)
class _State:
    original: Words
    label: int
    gen: np.random.Generator
    max_touched: int
    current: Words
    score: float  # 1 - p(label) of the current text
    queries: int = 1  # the clean text
    order: list[int] = field(default_factory=list)
    pos: int = 0
    touched: int = 0
    found: bool = False
    done: bool = False
    rejected: int = 0
    cache: dict[str, np.ndarray] = field(default_factory=dict)
    pending: tuple[int, list[str], list[str]] | None = None  # (index, words, texts)


def greedy_search(
    score: ScoreFn,
    texts: Sequence[str],
    labels: np.ndarray,
    clean_probs: np.ndarray,
    seeds: Sequence[int],
    source: CandidateSource,
    rules: WordRules,
    settings: SearchSettings,
    accept: AcceptFn | None = None,
) -> SearchOutcome:
    """Attack every text (all should be classified correctly now) within `settings`."""
    states = []
    for text, y, probs, seed in zip(texts, labels, clean_probs, seeds, strict=True):
        words = segment(text)
        states.append(
            _State(
                original=words,
                label=int(y),
                gen=np.random.default_rng(int(seed) & ((1 << 63) - 1)),
                max_touched=settings.budget.max_words(len(words)),
                current=words,
                score=1.0 - float(probs[int(y)]),
                cache={text: np.asarray(probs, dtype=np.float64)},
            )
        )
    _rank(score, states, rules, settings)
    while True:
        active = [s for s in states if not s.done]
        if not active:
            break
        for s in active:
            _next_candidates(s, source, accept)
        _evaluate(score, [s for s in active if s.pending], settings)
        for s in active:
            _step(s, settings)
    return SearchOutcome(
        texts=[s.current.join() for s in states],
        queries=np.asarray([s.queries for s in states], dtype=np.int64),
        found=np.asarray([s.found for s in states], dtype=bool),
        rejected=np.asarray([s.rejected for s in states], dtype=np.int64),
    )


def _rank(score: ScoreFn, states: list[_State], rules: WordRules, settings: SearchSettings) -> None:
    """Word-importance order of every sample (one batched pass over all samples)."""
    for s in states:
        index = np.flatnonzero(rules.editable(s.original)).tolist()
        if not index or s.max_touched == 0:
            s.done = True
            continue
        if settings.ranking == "delete":
            probes = [s.original.without(i) for i in index]
        else:
            probes = [s.original.replace(i, settings.unk_token).join() for i in index]
        s.order = index
        s.pending = (-1, [], probes)
    ranked = [s for s in states if s.pending]
    _evaluate(score, ranked, settings)
    for s in ranked:
        assert s.pending is not None
        _, _, probes = s.pending
        drop = np.asarray([1.0 - s.cache[t][s.label] if t in s.cache else -np.inf for t in probes])
        # most important first; ties keep the text order (a stable sort of -drop)
        s.order = [s.order[k] for k in np.argsort(-drop, kind="stable") if np.isfinite(drop[k])]
        s.pending = None
        if s.queries >= settings.query_budget:
            s.done = True


def _next_candidates(s: _State, source: CandidateSource, accept: AcceptFn | None) -> None:
    """The candidates of the next word in `s.order` that has any (or `s.done`)."""
    s.pending = None
    while s.pos < len(s.order):
        index = s.order[s.pos]
        s.pos += 1
        words = source(s.current, index, s.gen)
        texts = [s.current.replace(index, w).join() for w in words]
        if accept is not None and texts:
            keep = accept(s.original.join(), texts)
            s.rejected += int((~keep).sum())
            words = [w for w, k in zip(words, keep, strict=True) if k]
            texts = [t for t, k in zip(texts, keep, strict=True) if k]
        if texts:
            s.pending = (index, words, texts)
            return
    s.done = True


def _evaluate(score: ScoreFn, states: list[_State], settings: SearchSettings) -> None:
    """Score the pending texts of `states` in shared batches; each sample's uncached texts are
    cut to its remaining query budget (the texts past it are dropped from `pending`)."""
    todo: dict[str, None] = {}
    for s in states:
        assert s.pending is not None
        index, words, texts = s.pending
        room = settings.query_budget - s.queries
        kept_w, kept_t = [], []
        for k, t in enumerate(texts):
            if t not in s.cache:
                if room <= 0:
                    continue
                room -= 1
                s.queries += 1
                todo[t] = None
                s.cache[t] = np.empty(0)  # placeholder: scored below
            kept_t.append(t)
            if words:
                kept_w.append(words[k])
        s.pending = (index, kept_w, kept_t)
    batch = sorted(todo, key=len)  # similar lengths together: less padding per batch
    scored: dict[str, np.ndarray] = {}
    for start in range(0, len(batch), settings.batch_size):
        chunk = batch[start : start + settings.batch_size]
        probs = np.asarray(score(chunk), dtype=np.float64)
        scored.update(zip(chunk, probs, strict=True))
    for s in states:
        for t, v in s.cache.items():
            if v.size == 0:
                s.cache[t] = scored[t]


def _step(s: _State, settings: SearchSettings) -> None:
    """Keep the best candidate of this round if it lowers p(label); stop on success or budget."""
    if s.pending is None:
        return
    index, words, texts = s.pending
    s.pending = None
    if texts:
        probs = np.stack([s.cache[t] for t in texts])
        scores = 1.0 - probs[:, s.label]
        flips = probs.argmax(1) != s.label
        # a candidate that changes the label wins (the best such), else the best score
        best = int(np.argmax(np.where(flips, scores, -np.inf))) if flips.any() else None
        if best is None and scores.max() > s.score:
            best = int(np.argmax(scores))
        if best is not None:
            s.current = s.current.replace(index, words[best])
            s.score = float(scores[best])
            s.touched += 1
            if flips[best]:
                s.found = True
                s.done = True
    if s.touched >= s.max_touched or s.queries >= settings.query_budget:
        s.done = True
