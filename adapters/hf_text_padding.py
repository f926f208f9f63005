"""The pad token an hf-text classifier pools by: the model config's must be the tokenizer's.

GPT-style sequence classifiers (GPT-2, GPT-Neo, Llama, Mistral, ...) read the hidden state of each
text's last token that is not `config.pad_token_id`. A checkpoint whose tokenizer pads (often with
its end-of-text token) but whose config names no pad id builds, yet every batch of more than one
text fails in the forward pass ("Cannot handle batch sizes > 1 if no padding token is defined").
The tokenizer's pad id is then copied into the config at build, and the description says so
(`padding_notes`). A config whose pad id differs from the one the tokenizer pads with would make
such a model pool a padding position of the shorter texts: its logits for a text would depend on
the other texts of the batch. Whenever the pad id was copied or the two differ, the build checks
that a short text's logits are the same alone and beside a long one, and refuses the model with
one line naming both ids otherwise. A model whose two pad ids agree is not touched (nor is its
description, hence its job keys).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from harness.core.errors import ModelLoadError

SHORT = "a"  # a text the long one pads against (one token in every vocabulary seen)
TOLERANCE = 1e-4  # a batched forward differs from a lone one by float rounding only


def adopt_pad_token(model: Any, tokenizer: Any) -> list[str]:
    """Copy the tokenizer's pad id into a model config that has none; the notes to record
    (empty when nothing was done and the ids agree)."""
    config_id, tokenizer_id = model.config.pad_token_id, tokenizer.pad_token_id
    if config_id is None:
        model.config.pad_token_id = tokenizer_id
        return [
            f"pad_token_id {tokenizer_id} copied from the tokenizer (the model config had none): "
            "the classifier pools each text's last token that is not padding"
        ]
    if config_id != tokenizer_id:
        return [f"model config pad_token_id {config_id}; the tokenizer pads with {tokenizer_id}"]
    return []


def check_padding(
    logits: Callable[[list[str]], torch.Tensor],
    *,
    name: str,
    config_id: int,
    tokenizer_id: int,
    max_length: int,
) -> None:
    """Refuse the model when a short text's logits change once it is padded to a long one's
    length (the config pools by a pad id the tokenizer does not pad with)."""
    long = " ".join([SHORT] * max(2, max_length))
    alone = logits([SHORT])[0]
    padded = logits([SHORT, long])[0]
    if torch.allclose(alone, padded, rtol=TOLERANCE, atol=TOLERANCE):
        return
    raise ModelLoadError(
        f"model {name!r}: its logits for a text change when the text is padded in a batch "
        f"(config pad_token_id {config_id}, the tokenizer pads with {tokenizer_id}); set "
        "config.pad_token_id to the tokenizer's pad_token_id (or the tokenizer's pad token to "
        "the config's) and save the model"
    )
