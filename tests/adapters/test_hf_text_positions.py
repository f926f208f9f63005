"""hf-text truncates at the model's position embeddings, not only at the tokenizer's limit.

A tokenizer saved without `model_max_length` (built locally, as here, or an older checkpoint's)
reports 1e30, so a text longer than the model's positions reached the model whole and its forward
pass failed ("The expanded size of the tensor (42) must match the existing size (16)"): every job
of the model on a task with one long text failed, where `max_length` promises truncation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from harness.core.errors import HarnessError
from tests.adapters.builders import build, word_level_tokenizer

tf = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

WORDS = ["good", "bad", "film", "plot"]


def _tokenizer(specials: list[str]) -> Any:
    """A WordLevel tokenizer with the special tokens at the given ids, no model_max_length."""
    return word_level_tokenizer(specials, WORDS)


def _save(model: Any, tokenizer: Any, folder: Path) -> Path:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    assert tokenizer.model_max_length > 1e20  # the tokenizer itself does not truncate
    return folder


SMALL = {
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "num_labels": 2,
}


@pytest.mark.parametrize(
    ("arch", "specials", "positions", "usable"),
    [
        ("bert", ["[PAD]", "[UNK]", "[CLS]", "[SEP]"], 16, 16),
        # RoBERTa counts positions from padding_idx + 1: 18 embeddings hold 16 tokens
        ("roberta", ["[CLS]", "[PAD]", "[SEP]", "[UNK]"], 18, 16),
    ],
)
def test_long_texts_are_truncated_at_the_models_positions(
    tmp_path: Path, arch: str, specials: list[str], positions: int, usable: int
) -> None:
    tokenizer = _tokenizer(specials)
    torch.manual_seed(0)
    config_class, model_class = {
        "bert": (tf.BertConfig, tf.BertForSequenceClassification),
        "roberta": (tf.RobertaConfig, tf.RobertaForSequenceClassification),
    }[arch]
    config = config_class(
        vocab_size=len(specials) + len(WORDS),
        max_position_embeddings=positions,
        pad_token_id=tokenizer.pad_token_id,
        **SMALL,
    )
    folder = _save(model_class(config).eval(), tokenizer, tmp_path / arch)
    adapter = build("hf-text", {"path": str(folder)}, Path("."), name="m")
    assert adapter.describe()["max_length"] == usable
    words = [WORDS[i % len(WORDS)] for i in range(3 * usable)]
    long, cut = " ".join(words), " ".join(words[: usable - 2])  # [CLS] ... [SEP]
    logits = adapter.logits([long, "good film", cut])
    torch.testing.assert_close(logits[0], logits[2])
    assert adapter.count_tokens([long]) == usable


@pytest.mark.parametrize("max_length", [1, 2])
def test_a_max_length_that_leaves_no_text_token_is_refused(tmp_path: Path, max_length: int) -> None:
    """A tokenizer asked to truncate below its special tokens does not truncate at all ("Sequence
    to truncate too short"): with max_length 1 the model read every text whole while the job
    note said its numbers were those of the texts' first token; at 2 it reads [CLS] [SEP] only."""
    tokenizer = _tokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
    torch.manual_seed(0)
    config = tf.BertConfig(vocab_size=4 + len(WORDS), pad_token_id=tokenizer.pad_token_id, **SMALL)
    folder = _save(tf.BertForSequenceClassification(config).eval(), tokenizer, tmp_path / "b")
    with pytest.raises(HarnessError) as info:
        build("hf-text", {"path": str(folder), "max_length": max_length}, Path("."), name="m")
    message = str(info.value)
    assert "\n" not in message
    assert "model 'm'" in message and f"max_length {max_length}" in message
    assert "2 special tokens" in message and "at least 3" in message
    adapter = build("hf-text", {"path": str(folder), "max_length": 3}, Path("."), name="m")
    assert adapter.count_tokens(["good film plot"]) == 3
