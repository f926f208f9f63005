"""`hf-text`'s `word_vectors()`: the whole-word rows of the input-embedding matrix, in vocabulary
order, special tokens and word pieces left out (the word-level attack's offline source)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from harness.adapters.hf_text import HFTextAdapter, HFTextConfig
from harness.core.model_calls import CheckedAdapter
from tests.adapters.builders import text_task
from tests.adapters.conftest import WORDS


def test_word_vectors_are_the_embedding_rows_of_whole_words(
    hf_text_dir: Path, text_csv: Path
) -> None:
    adapter = HFTextAdapter.build(
        name="b",
        config=HFTextConfig(path=str(hf_text_dir)),
        device=torch.device("cpu"),
        base_dir=Path("."),
    )
    vectors = adapter.word_vectors()
    assert list(vectors.words) == [w for w in WORDS if w.isalpha()]
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(hf_text_dir)
    vocab = AutoTokenizer.from_pretrained(hf_text_dir).get_vocab()
    matrix = model.get_input_embeddings().weight.detach().numpy()
    np.testing.assert_array_equal(vectors.vectors, matrix[[vocab[w] for w in vectors.words]])
    # the suites see it through the checked adapter
    checked = CheckedAdapter(adapter, text_task(text_csv))
    assert checked.word_vectors() is not None and checked.word_vectors().words == vectors.words
