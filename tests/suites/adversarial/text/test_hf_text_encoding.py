"""`hf-text`'s fast encoder (the Rust backend called directly, what the text attacks tokenize
through) gives exactly the tensors of the tokenizer's own call, for WordPiece, byte-level BPE and
unigram tokenizers, either padding and truncation side, special tokens in the text, empty,
over-long and unusual texts."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from harness.adapters.hf_text import fast_encoder
from harness.data.text_tasks import rotten_tomatoes_texts
from tests.suites.adversarial.text.reference_model import rt_bert

ODD = [
    "",
    " ",
    "\t\n  ",
    "ok\x07 film\x00 done",
    "naïve café—très bien, Ærø",
    "电影很好看 and 🎬🍿 fun",
    "[SEP] [CLS] [UNK] [PAD] <s> </s> <pad> inside",
    "don't   stop\u2019believing -- well-made!!!",
    "word " * 300,
    "A" * 500,
]


def _texts() -> list[str]:
    texts, _ = rotten_tomatoes_texts("test")
    return texts[:150] + ODD


@cache
def _backend(kind: str) -> Any:
    """A small byte-level BPE or unigram tokenizer trained on rotten-tomatoes snippets."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    corpus = rotten_tomatoes_texts("train")[0][:1000]
    special = ["<pad>", "<s>", "</s>", "<unk>"]
    if kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer: Any = trainers.BpeTrainer(vocab_size=600, special_tokens=special)
    else:
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=600, special_tokens=special, unk_token="<unk>")
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)]
    )
    return tok


def _trained(kind: str, side: str) -> Any:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=_backend(kind),
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        padding_side=side,
        truncation_side=side,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


def _same(tokenizer: Any, max_length: int) -> None:
    fast = fast_encoder(tokenizer, max_length)
    assert fast is not None
    texts = _texts()
    for batch in (texts, texts[:7], texts[-len(ODD) :], [texts[3]]):
        want = tokenizer(
            batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        got = fast(batch)
        assert list(got) == list(want.keys())
        for key, value in want.items():
            assert got[key].dtype == value.dtype and torch.equal(got[key], value), key


def test_wordpiece_of_the_zoo_text_model() -> None:
    adapter = rt_bert()
    _same(adapter._tokenizer, 64)
    _same(adapter._tokenizer, 8)
    # the adapter's logits are those of the tokenizer's own call
    texts = _texts()
    fast = adapter.logits(texts)
    adapter._fast = None
    np.testing.assert_array_equal(fast.numpy(), adapter.logits(texts).numpy())


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
@pytest.mark.parametrize("side", ["right", "left"])
def test_trained_tokenizers(kind: str, side: str) -> None:
    _same(_trained(kind, side), 32)


def test_a_slow_tokenizer_or_other_inputs_use_the_tokenizer_s_call(tmp_path: Path) -> None:
    class Slow:
        is_fast = False

    assert fast_encoder(Slow(), 16) is None
    tok = _trained("bpe", "right")
    tok.model_input_names = ["input_ids", "attention_mask", "pixel_values"]
    assert fast_encoder(tok, 16) is None
