"""hf-text and the pad id a GPT-style classifier pools by (adapters/hf_text_padding.py).

A GPT-2 checkpoint whose tokenizer pads with its end-of-text token but whose config has no
`pad_token_id` built, then failed every batch of more than one text ("Cannot handle batch sizes
> 1 if no padding token is defined"). A config pad id other than the tokenizer's made the model
pool a padding position of the shorter texts: a text's logits depended on its batch. Tiny
offline GPT-2 models (a WordLevel tokenizer, one layer) stand in for the hub's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from harness.core.errors import ModelLoadError
from tests.adapters.builders import build

tf = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

EOT = "<|endoftext|>"
VOCAB = [EOT, "[UNK]", "a", "good", "bad", "film", "plot"]


def _gpt2(folder: Path, pad_token_id: int | None) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(VOCAB)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer: Any = tf.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", eos_token=EOT, pad_token=EOT
    )
    torch.manual_seed(0)
    config = tf.GPT2Config(
        vocab_size=len(VOCAB),
        n_positions=16,
        n_embd=16,
        n_layer=1,
        n_head=2,
        num_labels=2,
        id2label={0: "neg", 1: "pos"},
        label2id={"neg": 0, "pos": 1},
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=pad_token_id,
    )
    tf.GPT2ForSequenceClassification(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


TEXTS = ["good film", "a", "bad plot plot plot film good"]


def test_a_config_without_pad_id_takes_the_tokenizers(tmp_path: Path) -> None:
    adapter = build("hf-text", {"path": str(_gpt2(tmp_path / "m", None))}, Path("."), name="m")
    batched = adapter.logits(TEXTS)  # before: ValueError, batch sizes > 1 without a pad token
    alone = torch.cat([adapter.logits([t]) for t in TEXTS])
    torch.testing.assert_close(batched, alone, rtol=1e-4, atol=1e-4)
    (note,) = adapter.describe()["padding_notes"]
    assert note.startswith("pad_token_id 0 copied from the tokenizer")


def test_a_config_pad_id_the_tokenizer_does_not_pad_with_is_refused(tmp_path: Path) -> None:
    folder = _gpt2(tmp_path / "m", VOCAB.index("[UNK]"))
    with pytest.raises(ModelLoadError) as err:  # before: built, logits depended on the batch
        build("hf-text", {"path": str(folder)}, Path("."), name="m")
    line = str(err.value)
    assert "\n" not in line and "model 'm'" in line
    assert "config pad_token_id 1, the tokenizer pads with 0" in line


def test_agreeing_pad_ids_leave_the_description_as_it_was(tmp_path: Path) -> None:
    adapter = build("hf-text", {"path": str(_gpt2(tmp_path / "m", 0))}, Path("."), name="m")
    assert "padding_notes" not in adapter.describe()
    torch.testing.assert_close(
        adapter.logits(TEXTS)[1], adapter.logits(["a"])[0], rtol=1e-4, atol=1e-4
    )


def test_a_batch_of_texts_without_tokens_is_scored_as_beside_others(tmp_path: Path) -> None:
    """A tokenizer that adds no special tokens (GPT-2's) gives an empty or blank text no token.
    Beside another text it is scored (all padding, masked); a batch of such texts alone was
    (n, 0) and the forward pass failed ("cannot reshape tensor of 0 elements"), so a task with
    a few empty texts failed every job at batch_size 2 and passed at 32. Such a batch now gets
    one masked pad position: the same scores as beside other texts."""
    adapter = build("hf-text", {"path": str(_gpt2(tmp_path / "m", 0))}, Path("."), name="m")
    beside = adapter.logits(["good film", "", " \t"])[1:]
    torch.testing.assert_close(adapter.logits(["", " \t"]), beside, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(adapter.logits([""]), beside[:1], rtol=1e-4, atol=1e-4)
