"""The batched greedy search: word-importance ranking, then one word at a time, best edit kept.

As in TextAttack's `GreedyWordSwapWIR` (the search of its DeepWordBug and TextFooler recipes):
1. rank the words that may change by how much one probe per word lowers the model's probability
   of the true label: the word's first candidate edit ("edit", the default), leaving the word out
   ("delete", TextFooler) or replacing it with an unknown token ("unk", DeepWordBug);
2. in that order, try the candidate edits of one word on the current text, keep the best if it
   lowers the true label's probability, and stop when the label changes, the budget of touched
   words is spent, the words run out or the query budget is spent.

Four departures from TextAttack, each making the search stronger for the same budget:
- "edit" ranking probes each word with a real candidate, so the ranking pass is also the first
  round of the attack: a probe that changes the label ends the search there (one word touched),
  and a word's probe is one of its candidates, scored already when its turn comes on the
  unchanged text. (A [UNK] or a deletion is no candidate: TextAttack pays for the ranking and
  then again for every candidate.)
- The last word the budget allows is kept only when it changes the label: an edit there that
  merely lowers the true label's probability would end the search unbroken. The search passes
  over such a word and, with `last_word_tries` above 1, tries the next ones in importance order
  for that last place.
- A word's candidates are drawn once, from the original text (no word is edited twice, so they
  do not depend on the edits before them); words without any are neither probed nor tried.
- With `stage` above 0, a word's candidates (and the "edit" ranking's probes) are scored in
  rounds of `stage`, then twice, four times... as many new texts, and the rounds stop at the
  first that changes the label: the candidates after it are never queried, and the best
  candidate among those scored is kept. A round with a break ends the search either way, so
  the same texts break, with the same words and characters changed, for fewer queries (the
  adversarial text is the best break among the candidates scored, not among all).

Unlike TextAttack, which attacks one sample at a time, every sample advances in lockstep: the
ranking pass for all samples, then a round per word (or per stage of a word), each round's
candidates of every sample in shared batches of `batch_size`. Scores only (black-box): the model
is a function from texts to probabilities. A query is one distinct text scored for one sample (a
text scored twice for the same sample is cached, as TextAttack caches it); the clean text counts
as one query. Random draws (character edits) come from one generator per sample seeded with the
sample's seed, so a sample's search does not depend on the batch it is in (beyond the last float
bits of its scores, which the batch's padding can move).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from harness.suites.adversarial.text.budget import TextBudget
from harness.suites.adversarial.text.constraints import WordRules
from harness.suites.adversarial.text.words import Words, segment

Ranking = Literal["edit", "delete", "unk"]
ScoreFn = Callable[[list[str]], np.ndarray]  # texts -> (n, classes) probabilities
# (original text, candidate texts) -> mask of candidates that keep the meaning (similarity)
AcceptFn = Callable[[str, list[str]], np.ndarray]


class CandidateSource(Protocol):
    """Substitutes for word `index` of `words` (drawn once per word, on the original text)."""

    def __call__(self, words: Words, index: int, gen: np.random.Generator) -> list[str]: ...


@dataclass(frozen=True, kw_only=True)
class SearchSettings:
    budget: TextBudget
    query_budget: int  # queries per sample, the clean text included
    ranking: Ranking = "edit"
    unk_token: str = "[UNK]"
    batch_size: int = 256
    last_word_tries: int = 1  # words tried for the last place (1: TextAttack's greedy)
    # new texts per sample scored in a word's first round (then twice as many each round) until
    # one changes the label; 0: all of a word's candidates (and all ranking probes) at once
    stage: int = 0


MOVED_ATOL = 1e-5
"""A scored text `moved` the model when some class's log-probability differs from the clean
text's by more than this (nats). Log-probabilities, not probabilities: a confident model's top
probability barely moves (0.99995 against 0.99996) while the others move by percents; and above
the last float bits a batch's padding can move (docs/text-attacks.md)."""


@dataclass(frozen=True)
class SearchOutcome:
    """Per sample: the best text found (the original when nothing helped), the queries spent,
    whether the search saw the label change, candidates rejected by a constraint, and whether
    any text it scored moved the model's class log-probabilities (`MOVED_ATOL`; False when it
    scored none): a search whose every text left them where they were had no signal."""

    texts: list[str]
    queries: np.ndarray
    found: np.ndarray
    rejected: np.ndarray
    moved: np.ndarray
    # per sample: candidate texts the model gave NaN or inf scores (scored as the clean text)
    non_finite: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # per sample: it has a word the budget and rules let change, and the source gave none of
    # those words a substitute (the search had nothing to try)
    no_candidates: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    # per sample: the query budget stopped the search, unbroken, with candidates left to score
    cut: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


@dataclass(eq=False)
class _State:
    original: Words
    label: int
    gen: np.random.Generator
    max_touched: int
    current: Words
    score: float  # 1 - p(label) of the current text
    queries: int = 1  # the clean text
    candidates: dict[int, list[str]] = field(default_factory=dict)  # word index -> substitutes
    order: list[int] = field(default_factory=list)
    pos: int = 0
    touched: int = 0
    last_tries: int = 0  # words tried for the last place without changing the label
    found: bool = False
    done: bool = False
    rejected: int = 0
    non_finite: int = 0  # texts the model gave NaN or inf scores
    no_candidates: bool = False  # editable words, none with a substitute
    cut: bool = False  # the query budget stopped the search with candidates left to score
    cache: dict[str, np.ndarray] = field(default_factory=dict)
    accepted: dict[str, bool] = field(default_factory=dict)  # the similarity check, per text
    pending: tuple[int, list[str], list[str]] | None = None  # (index, words, texts) to score
    asked: int = 0  # texts in `pending` before the query budget cut it
    size: int = 0  # new texts in the word's next round
    queue: tuple[int, list[str], list[str]] | None = None  # this word's candidates left
    # this word's candidates scored so far (words, texts)
    tried: tuple[list[str], list[str]] = field(default_factory=lambda: ([], []))


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
        s = _State(
            original=words,
            label=int(y),
            gen=np.random.default_rng(int(seed) & ((1 << 63) - 1)),
            max_touched=settings.budget.max_words(len(words)),
            current=words,
            score=1.0 - float(probs[int(y)]),
            cache={text: np.asarray(probs, dtype=np.float64)},
        )
        _draw(s, source, rules)
        states.append(s)
    _rank(score, states, settings, accept)
    while True:
        active = [s for s in states if not s.done]
        if not active:
            break
        for s in active:
            if s.queue is None:
                _next_candidates(s, settings, accept)
            _stage(s)
        _evaluate(score, [s for s in active if s.pending], settings)
        for s in active:
            if _word_scored(s):
                _step(s, settings)
    return SearchOutcome(
        texts=[s.current.join() for s in states],
        queries=np.asarray([s.queries for s in states], dtype=np.int64),
        found=np.asarray([s.found for s in states], dtype=bool),
        rejected=np.asarray([s.rejected for s in states], dtype=np.int64),
        moved=np.asarray([_moved(s) for s in states], dtype=bool),
        non_finite=np.asarray([s.non_finite for s in states], dtype=np.int64),
        no_candidates=np.asarray([s.no_candidates for s in states], dtype=bool),
        cut=np.asarray([s.cut and not s.found for s in states], dtype=bool),
    )


def _moved(s: _State) -> bool:
    """Whether some text scored for the sample moved its class probabilities."""

    def logs(p: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(p, 1e-300))

    clean = logs(next(iter(s.cache.values())))  # the clean text's, scored first
    return any(float(np.abs(logs(p) - clean).max()) > MOVED_ATOL for p in s.cache.values())


def _draw(s: _State, source: CandidateSource, rules: WordRules) -> None:
    """The candidates of every word that may change, drawn in text order from the sample's
    generator (`s.done` when there is no such word or the budget allows none)."""
    if s.max_touched > 0:
        editable = np.flatnonzero(rules.editable(s.original)).tolist()
        for i in editable:
            words = source(s.original, i, s.gen)
            if words:
                s.candidates[i] = words
        s.no_candidates = bool(editable) and not s.candidates
    s.done = not s.candidates


def _accept(s: _State, texts: list[str], accept: AcceptFn | None) -> list[bool]:
    """Which of `texts` keep the meaning; each rejected text is counted once per sample."""
    if accept is None:
        return [True] * len(texts)
    new = [t for t in dict.fromkeys(texts) if t not in s.accepted]
    if new:
        for t, ok in zip(new, accept(s.original.join(), new), strict=True):
            s.accepted[t] = bool(ok)
            s.rejected += int(not ok)
    return [s.accepted[t] for t in texts]


def _edit_probes(
    s: _State, settings: SearchSettings, accept: AcceptFn | None
) -> dict[int, tuple[str, str]]:
    """Per word, its first candidate that keeps the meaning and the original text with it."""
    if accept is None:  # every first candidate is kept: the probes in text order
        return _budgeted(s, settings, lambda i: s.candidates[i][0])
    probes: dict[int, tuple[str, str]] = {}
    left = list(s.candidates)
    k = 0
    while left:
        left = [i for i in left if k < len(s.candidates[i])]
        texts = [s.original.replace(i, s.candidates[i][k]).join() for i in left]
        ok = _accept(s, texts, accept)
        probes.update(
            (i, (s.candidates[i][k], t)) for i, t, keep in zip(left, texts, ok, strict=True) if keep
        )
        left = [i for i, keep in zip(left, ok, strict=True) if not keep]
        k += 1
    return probes


def _probes(
    s: _State, settings: SearchSettings, accept: AcceptFn | None
) -> dict[int, tuple[str, str]]:
    """The ranking's probe per word that has candidates: (the word put in, the probe text)."""
    if settings.ranking == "edit":
        return _edit_probes(s, settings, accept)
    if settings.ranking == "delete":
        return _budgeted(s, settings, lambda i: None)
    return _budgeted(s, settings, lambda i: settings.unk_token)


def _budgeted(
    s: _State, settings: SearchSettings, put: Callable[[int], str | None]
) -> dict[int, tuple[str, str]]:
    """The probe of each word with candidates, in text order (`put(i)` the word put in, None
    to leave it out), until one past the texts the query budget can score: the ranking pass
    scores no more, and the one past it marks the search cut as before. (Building every
    word's probe made a 20,000-word text 20,000 texts of 100 kB for a 300-query budget.)"""
    room = settings.query_budget - s.queries
    probes: dict[int, tuple[str, str]] = {}
    new: set[str] = set()
    for i in s.candidates:
        word = put(i)
        if word is None:
            probes[i] = ("", s.original.without(i))
        else:
            before, after = s.original.around(i)
            probes[i] = (word, before + word + after)
        text = probes[i][1]
        if text not in s.cache and text not in new:
            new.add(text)
            if len(new) > room:
                break
    return probes


def _rank(
    score: ScoreFn, states: list[_State], settings: SearchSettings, accept: AcceptFn | None
) -> None:
    """Word-importance order of every sample (one batched pass over all samples); with "edit"
    ranking, a probe that changes the label ends its sample's search there."""
    probes: dict[int, dict[int, tuple[str, str]]] = {}
    for s in states:
        if not s.done:
            probes[id(s)] = _probes(s, settings, accept)
    ranked = [s for s in states if id(s) in probes]
    # "edit" probes are attacks: a stage whose probe changes the label ends the pass there
    stage = settings.stage if settings.ranking == "edit" else 0
    left = {id(s): [t for _, t in probes[id(s)].values()] for s in ranked}
    passing = [s for s in ranked if left[id(s)]]
    for s in passing:
        s.size = stage
    while passing:
        for s in passing:
            n = _cut(s, left[id(s)], s.size)
            s.size *= 2
            s.pending = (-1, [], left[id(s)][:n])
            s.asked = n
            left[id(s)] = left[id(s)][n:]
        _evaluate(score, passing, settings)
        over = set()
        for s in passing:
            assert s.pending is not None
            texts = s.pending[2]
            s.pending = None
            if not left[id(s)] or len(texts) < s.asked or _flips(s, texts):
                over.add(id(s))
        passing = [s for s in passing if id(s) not in over]
    for s in ranked:
        index = list(probes[id(s)])
        put = [w for w, _ in probes[id(s)].values()]
        texts = [t for _, t in probes[id(s)].values()]
        scored = [t in s.cache for t in texts]  # the query budget may have cut the pass short
        drop = np.asarray(
            [
                1.0 - s.cache[t][s.label] if ok else -np.inf
                for t, ok in zip(texts, scored, strict=True)
            ]
        )
        # most important first; ties keep the text order (a stable sort of -drop)
        s.order = [index[k] for k in np.argsort(-drop, kind="stable") if scored[k]]
        if settings.ranking == "edit":
            flips = [k for k, t in enumerate(texts) if scored[k] and s.cache[t].argmax() != s.label]
            if flips:
                best = max(flips, key=lambda k: drop[k])  # the first of the best, as np.argmax
                s.current = s.original.replace(index[best], put[best])
                s.score = float(drop[best])
                s.touched = 1
                s.found = s.done = True
        if not s.order or s.queries >= settings.query_budget:
            s.cut |= bool(s.order) and not s.found  # ranked words left, no query to try them
            s.done = True


def _next_candidates(s: _State, settings: SearchSettings, accept: AcceptFn | None) -> None:
    """The candidates of the next word in `s.order` that has any left (or `s.done`)."""
    s.queue = None
    while s.pos < len(s.order):
        index = s.order[s.pos]
        s.pos += 1
        words = s.candidates[index]
        before, after = s.current.around(index)
        texts = [before + w + after for w in words]
        keep = _accept(s, texts, accept)
        words = [w for w, k in zip(words, keep, strict=True) if k]
        texts = [t for t, k in zip(texts, keep, strict=True) if k]
        if texts:
            s.queue = (index, words, texts)
            s.tried = ([], [])
            s.size = settings.stage
            return
    s.done = True


def _stage(s: _State) -> None:
    """The word's next round: its next `s.size` unscored candidates in `s.queue` (then twice
    as many for the round after)."""
    s.pending = None
    if s.queue is None:
        return
    index, words, texts = s.queue
    k = _cut(s, texts, s.size)
    s.size *= 2
    s.pending = (index, words[:k], texts[:k])
    s.asked = k
    s.queue = (index, words[k:], texts[k:])


def _cut(s: _State, texts: list[str], size: int) -> int:
    """How many of `texts` make the next round: up to `size` not yet scored (the scored ones
    before and among them come free); all of them when `size` is 0."""
    if size <= 0:
        return len(texts)
    new: set[str] = set()
    for k, t in enumerate(texts):
        if t not in s.cache and t not in new:
            if len(new) == size:
                return k
            new.add(t)
    return len(texts)


def _flips(s: _State, texts: list[str]) -> bool:
    return any(s.cache[t].argmax() != s.label for t in texts)


def _word_scored(s: _State) -> bool:
    """Whether the word's round is over: a scored candidate changed the label (the rest are
    not scored), all are scored, or the query budget cut the stage; then `s.pending` holds the
    word's scored candidates for `_step`."""
    if s.pending is None or s.queue is None:
        return False
    index, words, texts = s.pending
    tried_words, tried_texts = s.tried
    tried_words += words
    tried_texts += texts
    if _flips(s, texts) or not s.queue[2] or len(texts) < s.asked:
        s.pending = (index, tried_words, tried_texts)
        s.queue = None
        return True
    s.pending = None
    return False


def _evaluate(score: ScoreFn, states: list[_State], settings: SearchSettings) -> None:
    """Score the pending texts of `states` in shared batches; each sample's uncached texts are
    cut to its remaining query budget (the texts past it are dropped from `pending`)."""
    todo: dict[str, None] = {}
    fresh: list[tuple[_State, dict[str, None]]] = []  # per sample, its texts scored below
    for s in states:
        assert s.pending is not None
        index, words, texts = s.pending
        room = settings.query_budget - s.queries
        kept_w, kept_t = [], []
        new: dict[str, None] = {}
        for k, t in enumerate(texts):
            if t not in s.cache and t not in new:
                if room <= 0:
                    s.cut = True  # a text the budget leaves unscored
                    continue
                room -= 1
                todo[t] = None
                new[t] = None
            kept_t.append(t)
            if words:
                kept_w.append(words[k])
        s.queries += len(new)
        s.pending = (index, kept_w, kept_t)
        fresh.append((s, new))
    batch = sorted(todo, key=len)  # similar lengths together: less padding per batch
    scored: dict[str, np.ndarray] = {}
    for start in range(0, len(batch), settings.batch_size):
        chunk = batch[start : start + settings.batch_size]
        probs = np.asarray(score(chunk), dtype=np.float64)
        scored.update(zip(chunk, probs, strict=True))
    for s, new in fresh:
        for t in new:
            p = scored[t]
            if not np.isfinite(p).all():  # the model failed on it: no signal, never a success
                s.non_finite += 1
                p = next(iter(s.cache.values()))  # the clean text's scores, cached first
            s.cache[t] = p


def _step(s: _State, settings: SearchSettings) -> None:
    """Keep the best candidate of this round if it changes the label, or, before the last
    word the budget allows, if it lowers p(label); stop on success or budget."""
    if s.pending is None:
        return
    index, words, texts = s.pending
    s.pending = None
    last = s.touched + 1 >= s.max_touched
    if texts:
        probs = np.stack([s.cache[t] for t in texts])
        scores = 1.0 - probs[:, s.label]
        flips = probs.argmax(1) != s.label
        best: int | None = None
        if flips.any():  # a candidate that changes the label wins (the best such)
            best = int(np.argmax(np.where(flips, scores, -np.inf)))
        elif not last and scores.max() > s.score:
            best = int(np.argmax(scores))
        if best is not None:
            s.current = s.current.replace(index, words[best])
            s.score = float(scores[best])
            s.touched += 1
            s.found = s.done = bool(flips[best])
    if last and not s.found:
        s.last_tries += 1
        s.done = s.last_tries >= settings.last_word_tries
    if s.touched >= s.max_touched or s.queries >= settings.query_budget:
        # words left to try when only the budget ends the search
        s.cut |= not s.done and s.touched < s.max_touched and s.pos < len(s.order)
        s.done = True
