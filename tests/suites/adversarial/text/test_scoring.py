"""The text attacks' scorer: texts of like token length batched together, the same scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.data.text_tasks import rotten_tomatoes_texts
from harness.suites.adversarial.text import scoring
from harness.suites.adversarial.text.scoring import length_groups, scorer
from tests.suites.adversarial.text.reference_model import rt_bert


@pytest.mark.parametrize("seed", range(5))
def test_length_groups_cover_every_text_once_with_little_padding(seed: int) -> None:
    rng = np.random.default_rng(seed)
    counts = rng.integers(3, 70, size=int(rng.integers(1, 600))).tolist()
    groups = length_groups(counts)
    assert sorted(i for g in groups for i in g) == list(range(len(counts)))
    previous = 0
    for g in groups:
        lengths = [counts[i] for i in g]
        assert min(lengths) >= previous  # shortest first, no overlap
        previous = max(lengths)
        padded = len(g) * max(lengths)
        assert padded <= scoring.MAX_GROUP_TOKENS or len(g) == 1
        # a group closes only when it is full enough, so small groups come from the token cap
        if g is not groups[-1] and len(g) < scoring.MIN_GROUP:
            nxt = counts[groups[groups.index(g) + 1][0]]
            assert (len(g) + 1) * nxt > scoring.MAX_GROUP_TOKENS
        if len(g) > scoring.MIN_GROUP:  # without its last text the group was within the slack
            assert (len(g) - 1) * max(lengths) <= scoring.SLACK * (sum(lengths) - max(lengths))


class _Counting:
    """A text model that counts tokens (words) and records the batches it was called with."""

    def __init__(self, counts: bool) -> None:
        self.calls: list[list[str]] = []
        self.counts = counts

    def logits(self, texts: list[str]) -> torch.Tensor:
        self.calls.append(list(texts))
        n = torch.tensor([float(len(t.split())) for t in texts])
        return torch.stack([n, -n], 1)

    def count_tokens(self, texts: list[str]) -> int | None:
        return sum(len(t.split()) for t in texts) if self.counts else None


def test_the_scorer_batches_by_tokens_only_when_the_model_counts_them() -> None:
    texts = [" ".join(["w"] * (1 + (7 * i) % 40)) for i in range(200)]
    for counts in (True, False):
        model = _Counting(counts)
        probs = scorer(model)(texts)  # type: ignore[arg-type]
        n = np.asarray([len(t.split()) for t in texts], dtype=np.float64)
        want = torch.softmax(torch.tensor(np.stack([n, -n], 1)), 1).numpy()
        np.testing.assert_array_equal(probs, want)  # every text in its own row
        if counts:
            assert len(model.calls) > 1
            assert sorted(t for c in model.calls for t in c) == sorted(texts)
            for call in model.calls:
                lengths = [len(t.split()) for t in call]
                assert len(call) * max(lengths) <= scoring.SLACK * sum(lengths) or len(call) <= 32
        else:
            assert model.calls == [texts]


def test_rt_bert_scores_by_length_are_the_batch_scores_up_to_float_noise() -> None:
    adapter = rt_bert()
    texts = rotten_tomatoes_texts("test")[0][:512]
    grouped = np.concatenate([scorer(adapter)(texts[s : s + 256]) for s in (0, 256)])
    plain = np.concatenate(
        [torch.softmax(adapter.logits(texts[s : s + 256]).double(), 1).numpy() for s in (0, 256)]
    )
    np.testing.assert_allclose(grouped, plain, rtol=0, atol=1e-6)
    assert (grouped.argmax(1) == plain.argmax(1)).all()
