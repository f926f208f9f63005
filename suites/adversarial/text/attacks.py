"""The text attacks: one class per attack, its search settings from the plan, its candidates from
one source. Both are black-box (class scores only) and run on any text model.

- `char_greedy`: DeepWordBug-style (Gao et al. 2018): character edits (swap, substitution,
  deletion, insertion) of the most important words, greedy, within `edits` per word.
- `word_greedy`: TextFooler-style (Jin et al. 2020): whole-word substitutes from the configured
  source (embedding neighbours or a synonyms file), greedy, in word-importance order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from harness.suites.adversarial.text.budget import TextBudget, Threat
from harness.suites.adversarial.text.config import TextPlan
from harness.suites.adversarial.text.search import (
    AcceptFn,
    CandidateSource,
    Ranking,
    ScoreFn,
    SearchOutcome,
    SearchSettings,
    greedy_search,
)
from harness.suites.adversarial.text.sources import CharEdits


@dataclass(frozen=True, kw_only=True)
class TextBatch:
    """The samples one attack sees at one budget: clean-correct and not yet broken."""

    texts: list[str]
    labels: np.ndarray
    clean_probs: np.ndarray  # (n, classes)
    seeds: Sequence[int]


class TextAttack(ABC):
    """A text attack: its name and threat model as class attributes, its search in `run`."""

    family: ClassVar[str]
    threat: ClassVar[Threat]
    summary: ClassVar[str]
    ranking: ClassVar[Ranking]  # word importance when the config names none
    # words tried for the last place the word budget leaves: one more word is tried while it
    # breaks texts at no more than about the search's average queries per text broken
    # (benchmarks/NOTES.md, measured on rt-bert)
    last_word_tries: ClassVar[int]
    # new candidates per text scored in a word's first round before looking for a break (then
    # twice as many each round); 0: all at once (benchmarks/NOTES.md, measured on rt-bert)
    stage: ClassVar[int]

    def __init__(self, plan: TextPlan, *, accept: AcceptFn | None, batch_size: int) -> None:
        self.plan = plan
        self.accept = accept
        self.batch_size = batch_size

    @abstractmethod
    def source(self, budget: TextBudget) -> CandidateSource:
        """Where this attack's candidate edits come from."""

    @classmethod
    def search_settings(
        cls,
        budget: TextBudget,
        *,
        query_budget: int,
        ranking: Ranking | None = None,
        unk_token: str = "[UNK]",
        batch_size: int = 256,
    ) -> SearchSettings:
        """The search this attack runs at `budget` (its own ranking unless one is given)."""
        return SearchSettings(
            budget=budget,
            query_budget=query_budget,
            ranking=ranking or cls.ranking,
            unk_token=unk_token,
            batch_size=batch_size,
            last_word_tries=cls.last_word_tries,
            stage=cls.stage,
        )

    def run(self, score: ScoreFn, batch: TextBatch, budget: TextBudget) -> SearchOutcome:
        settings = self.search_settings(
            budget,
            query_budget=self.plan.query_budget,
            ranking=self.plan.ranking,
            unk_token=self.plan.unk_token,
            batch_size=self.batch_size,
        )
        return greedy_search(
            score,
            batch.texts,
            batch.labels,
            batch.clean_probs,
            batch.seeds,
            self.source(budget),
            self.plan.rules,
            settings,
            accept=self.accept,
        )


class CharGreedy(TextAttack):
    family = "char_greedy"
    threat = "char"
    ranking = "edit"
    last_word_tries = 2  # a 2nd word breaks 18 more of 400 rt-bert texts; a 3rd costs 2.5x
    stage = 1  # 15-20% fewer queries for the same texts broken; ~7% less model time
    summary = "greedy character edits of the most important words (DeepWordBug-style)"

    def source(self, budget: TextBudget) -> CandidateSource:
        return CharEdits(count=self.plan.char_candidates, edits=budget.edits)


class WordGreedy(TextAttack):
    family = "word_greedy"
    threat = "word"
    ranking = "edit"
    last_word_tries = 1  # with 50 candidates a 2nd word costs 3.6x the average per text broken
    stage = 0  # most of 50 candidates are scored anyway (few words break): 5% fewer queries
    summary = "greedy word substitutions in word-importance order (TextFooler-style)"

    def __init__(
        self,
        plan: TextPlan,
        *,
        accept: AcceptFn | None,
        batch_size: int,
        words: CandidateSource,
    ) -> None:
        super().__init__(plan, accept=accept, batch_size=batch_size)
        self._words = words

    def source(self, budget: TextBudget) -> CandidateSource:
        return self._words
