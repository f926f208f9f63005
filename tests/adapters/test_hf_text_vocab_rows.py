"""hf-text refuses a tokenizer whose token ids reach past the model's input embeddings.

`tokenizer.add_tokens(...)` or a pad token added with `add_special_tokens` without
`model.resize_token_embeddings(len(tokenizer))`, or a tokenizer saved from a larger-vocabulary
checkpoint, gave ids the embedding table has no row for: the job failed with "model 'm' raised
IndexError during its forward pass ...: index out of range in self" (on a GPU a device-side
assert), naming neither the tokenizer nor the embeddings, and only on tasks whose texts held
such a token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from harness.adapters.hf_text import HFTextAdapter
from harness.core.errors import HarnessError
from tests.adapters.builders import build, word_level_tokenizer

tf = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
WORDS = ["good", "bad", "film", "plot"]
SMALL = {
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "num_labels": 2,
    "max_position_embeddings": 32,
}


def _tokenizer() -> Any:
    return word_level_tokenizer(SPECIALS, WORDS, model_max_length=32)


def _model(rows: int) -> Any:
    torch.manual_seed(0)
    config = tf.BertConfig(vocab_size=rows, pad_token_id=0, **SMALL)
    return tf.BertForSequenceClassification(config).eval()


def test_a_tokenizer_with_tokens_the_embeddings_lack_is_refused_naming_both(
    tmp_path: Path,
) -> None:
    tokenizer = _tokenizer()
    tokenizer.add_tokens(["superb", "dreadful"])  # ids 8 and 9; no resize_token_embeddings
    folder = tmp_path / "m"
    _model(len(SPECIALS) + len(WORDS)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    with pytest.raises(HarnessError) as info:
        build("hf-text", {"path": str(folder)}, Path("."), name="m")
    message = str(info.value)
    assert "\n" not in message
    assert "model 'm'" in message
    assert "token ids up to 9" in message and "8 input-embedding rows" in message
    assert "resize_token_embeddings" in message


def test_a_tokenizer_held_in_memory_is_checked_the_same_way() -> None:
    tokenizer = _tokenizer()
    tokenizer.add_tokens(["superb"])
    with pytest.raises(HarnessError, match=r"token ids up to 8, .* 8 input-embedding rows"):
        HFTextAdapter.from_objects(_model(8), tokenizer, name="m")


def test_an_embedding_table_larger_than_the_vocabulary_is_fine(tmp_path: Path) -> None:
    """Tables padded past the vocabulary (to a multiple of 8, say) are common and harmless, and
    a token added into such spare rows changes the model's identity."""
    tokenizer = _tokenizer()
    folder = tmp_path / "m"
    _model(16).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    adapter = build("hf-text", {"path": str(folder)}, Path("."), name="m")
    assert adapter.logits(["good film", "bad plot plot"]).shape == (2, 2)
    model = _model(16)
    first = HFTextAdapter.from_objects(model, tokenizer, name="m").identity()
    tokenizer.add_tokens(["superb"])  # id 8 of 16 rows
    added = HFTextAdapter.from_objects(model, tokenizer, name="m")
    assert added.identity() != first
    assert added.logits(["superb film"]).shape == (1, 2)
