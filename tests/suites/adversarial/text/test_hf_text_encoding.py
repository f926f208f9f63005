"""`hf-text`'s fast encoder (the Rust backend called directly, what the text attacks tokenize
through) gives exactly the tensors of the tokenizer's own call, for WordPiece, byte-level BPE and
unigram tokenizers, either padding and truncation side, special tokens in the text, empty,
over-long and unusual texts; by word pieces where the tokenizer allows it (rt-bert's WordPiece,
whitespace-split word-level, BPE and unigram models), on whole texts otherwise."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from harness.adapters import text_encoding
from harness.adapters.text_encoding import fast_encoder
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
    """A small tokenizer trained on rotten-tomatoes snippets: byte-level BPE ("bpe"), unigram
    with metaspace ("unigram"), or split at whitespace and punctuation after BERT's normalizer
    ("piece-bpe", "piece-unigram", "piece-wordlevel")."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    corpus = rotten_tomatoes_texts("train")[0][:1000]
    special = ["<pad>", "<s>", "</s>", "<unk>"]
    if kind.startswith("piece-"):
        model = kind.removeprefix("piece-")
        if model == "bpe":
            tok = Tokenizer(models.BPE(unk_token="<unk>"))
            trainer: Any = trainers.BpeTrainer(vocab_size=600, special_tokens=special)
        elif model == "unigram":
            tok = Tokenizer(models.Unigram())
            trainer = trainers.UnigramTrainer(
                vocab_size=600, special_tokens=special, unk_token="<unk>"
            )
        else:
            tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
            trainer = trainers.WordLevelTrainer(vocab_size=600, special_tokens=special)
        tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.BertNormalizer()])
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
    elif kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=special)
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


def _edited(texts: list[str]) -> list[str]:
    """Each text with one word changed, as the attacks change them (new pieces)."""
    out = []
    for k, t in enumerate(texts):
        words = t.split(" ")
        i = k % len(words)
        words[i] = words[i][:1] + "zq" + words[i][1:]
        out.append(" ".join(words))
    return out


def _same(tokenizer: Any, max_length: int, *, pieces: bool) -> None:
    fast = fast_encoder(tokenizer, max_length)
    assert fast is not None and fast.by_pieces == pieces
    texts = _texts()
    for batch in (texts, _edited(texts), texts[:7], texts[-len(ODD) :], [texts[3]], ODD[::-1]):
        want = tokenizer(
            batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        got = fast(batch)
        assert list(got) == list(want.keys())
        for key, value in want.items():
            assert got[key].dtype == value.dtype and torch.equal(got[key], value), key
        counts = fast.counts(batch)
        assert counts == want["attention_mask"].sum(1).tolist()


def test_wordpiece_of_the_zoo_text_model() -> None:
    adapter = rt_bert()
    _same(adapter._tokenizer, 64, pieces=True)
    _same(adapter._tokenizer, 8, pieces=True)
    # the adapter's logits are those of the tokenizer's own call
    texts = _texts()
    fast = adapter.logits(texts)
    adapter._fast = None
    np.testing.assert_array_equal(fast.numpy(), adapter.logits(texts).numpy())


@pytest.mark.slow  # every Rotten Tomatoes text (make test-slow; CI runs it)
def test_the_zoo_model_s_pieces_on_every_rotten_tomatoes_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every text of both splits, once as it is and once with a word edited, in the attacks'
    batches of 256; the store of pieces starting over on the way."""
    monkeypatch.setattr(text_encoding, "MAX_PIECES", 3000)
    tokenizer = rt_bert()._tokenizer
    fast = fast_encoder(tokenizer, 64)
    assert fast is not None and fast.by_pieces
    texts = rotten_tomatoes_texts("test")[0] + rotten_tomatoes_texts("train")[0]
    texts += _edited(texts)
    for start in range(0, len(texts), 256):
        batch = texts[start : start + 256]
        want = tokenizer(batch, padding=True, truncation=True, max_length=64, return_tensors="pt")
        got = fast(batch)
        assert all(torch.equal(got[k], want[k]) for k in want), start
        assert len(fast._store) <= 3000


@pytest.mark.parametrize(
    "kind", ["bpe", "unigram", "piece-bpe", "piece-unigram", "piece-wordlevel"]
)
@pytest.mark.parametrize("side", ["right", "left"])
def test_trained_tokenizers(kind: str, side: str) -> None:
    _same(_trained(kind, side), 32, pieces=kind.startswith("piece-"))
    _same(_trained(kind, side), 6, pieces=kind.startswith("piece-"))


def test_a_template_with_type_ids_is_kept_by_pieces() -> None:
    """Special tokens with their own type ids around the text (not BERT's all-zero ones)."""
    from tokenizers import processors

    tok = _trained("piece-wordlevel", "right")
    tok._tokenizer.post_processor = processors.TemplateProcessing(
        single="<s>:1 <s>:2 $A:3 </s>:4", special_tokens=[("<s>", 1), ("</s>", 2)]
    )
    for side in ("right", "left"):
        tok.padding_side = tok.truncation_side = side
        _same(tok, 32, pieces=True)
        _same(tok, 5, pieces=True)


def test_a_slow_tokenizer_or_other_inputs_use_the_tokenizer_s_call(tmp_path: Path) -> None:
    class Slow:
        is_fast = False

    assert fast_encoder(Slow(), 16) is None
    tok = _trained("bpe", "right")
    tok.model_input_names = ["input_ids", "attention_mask", "pixel_values"]
    assert fast_encoder(tok, 16) is None
