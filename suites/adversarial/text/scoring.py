"""Texts -> class probabilities through the model, in batches of texts of like token length.

A batch of texts is padded to its longest, and the model computes every padded position: the
attacks' batches of up to 256 texts (sorted by characters) carried 1.35 padded tokens per real
one on rt-bert. When the model counts its tokens (`count_tokens`: hf-text does), the scorer sorts
the texts by tokens and cuts them into groups of at least `MIN_GROUP` texts whose padding stays
within `SLACK` of their real tokens, at most `MAX_GROUP_TOKENS` padded tokens each (smaller
activations stay in cache): 1.07 padded tokens per real one, a third less model time on rt-bert
(benchmarks/NOTES.md). Other models are called once per batch.

Which texts share a group changes a text's scores in the last float bits only (the model sees
the same tokens; padding is masked), as the batch a text falls into always did.
"""

from __future__ import annotations

import numpy as np
import torch

from harness.core.adapter import ModelAdapter
from harness.suites.adversarial.text.search import ScoreFn

MIN_GROUP = 32
SLACK = 1.08
MAX_GROUP_TOKENS = 8192


def length_groups(counts: list[int]) -> list[list[int]]:
    """Indices of `counts` (tokens per text) in groups of like length, shortest first: a group
    closes before the next text when it holds `MIN_GROUP` texts and padding all of them to that
    text's length would exceed `SLACK` times their tokens, or past `MAX_GROUP_TOKENS`."""
    order = sorted(range(len(counts)), key=counts.__getitem__)
    groups: list[list[int]] = []
    group: list[int] = []
    tokens = 0
    for i in order:
        c = counts[i]
        padded = (len(group) + 1) * c
        if group and (
            (len(group) >= MIN_GROUP and padded > SLACK * (tokens + c)) or padded > MAX_GROUP_TOKENS
        ):
            groups.append(group)
            group, tokens = [], 0
        group.append(i)
        tokens += c
    if group:
        groups.append(group)
    return groups


def scorer(adapter: ModelAdapter) -> ScoreFn:
    """Texts -> float64 class probabilities through the (checked) adapter."""

    def probabilities(texts: list[str]) -> np.ndarray:
        logits = adapter.logits(texts)
        return torch.softmax(logits.detach().double(), 1).cpu().numpy()  # type: ignore[no-any-return]

    def score(texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if len(texts) <= MIN_GROUP:
            return probabilities(texts)
        # the batch's total first: None for a model that does not count (then no more calls);
        # hf-text tokenizes the batch's new word pieces in this one call
        if adapter.count_tokens(texts) is None:
            return probabilities(texts)
        counts = [adapter.count_tokens([t]) for t in texts]
        if any(c is None for c in counts):
            return probabilities(texts)
        groups = length_groups([int(c) for c in counts if c is not None])
        if len(groups) == 1:
            return probabilities(texts)
        out: np.ndarray | None = None
        for group in groups:
            probs = probabilities([texts[i] for i in group])
            if out is None:
                out = np.empty((len(texts), probs.shape[1]), dtype=np.float64)
            out[group] = probs
        assert out is not None
        return out

    return score
