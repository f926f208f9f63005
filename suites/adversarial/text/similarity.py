"""Sentence similarity for the meaning-preservation constraint, from a local encoder the user names.

`similarity_model` is a Hugging Face encoder (a folder saved with `save_pretrained()`, or a hub id
already in the local cache): a sentence's embedding is the attention-masked mean of its last
hidden states, and similarity is their cosine. Without a model the constraint does not apply,
and the results say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from harness.core.errors import ConfigError


def _positions(model: Any) -> int:
    """The longest token sequence the encoder's position embeddings index (2**30: no limit);
    RoBERTa-style embeddings count from `padding_idx + 1`."""
    positions = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if not isinstance(positions, int) or positions <= 0:
        return 1 << 30
    table = getattr(getattr(model, "embeddings", None), "position_embeddings", None)
    if isinstance(table, torch.nn.Embedding) and table.padding_idx is not None:
        return max(1, table.num_embeddings - table.padding_idx - 1)
    return positions


class SentenceSimilarity:
    """Cosine similarity of mean-pooled sentence embeddings of one encoder."""

    def __init__(self, source: str, *, device: torch.device, batch_size: int = 64) -> None:
        try:
            import transformers
        except ImportError:
            raise ConfigError(
                "suites.adversarial.text.similarity_model needs transformers "
                "(pip install 'robustness-harness[hf]')"
            ) from None
        try:
            self._tok: Any = transformers.AutoTokenizer.from_pretrained(source)
            model: Any = transformers.AutoModel.from_pretrained(source)
        except (OSError, ValueError, KeyError) as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
            raise ConfigError(
                f"suites.adversarial.text.similarity_model: cannot load encoder {source!r} "
                f"offline ({first}); save one with save_pretrained() and give its folder"
            ) from None
        if getattr(self._tok, "pad_token", None) is None:  # sentences are embedded in batches
            raise ConfigError(
                f"suites.adversarial.text.similarity_model: encoder {source!r} has a tokenizer "
                "with no pad token, so sentences of different lengths cannot be batched; set "
                "tokenizer.pad_token and save it"
            )
        self._model = model.eval().to(device)
        # a tokenizer saved without model_max_length truncates nothing: cut at the positions
        # the encoder has, as the hf-text adapter does (`hf_text.position_limit`)
        limit = int(getattr(self._tok, "model_max_length", 1 << 30) or 1 << 30)
        self._max_length = min(limit, _positions(self._model))
        try:  # below its special tokens a tokenizer does not truncate at all
            specials = int(self._tok.num_special_tokens_to_add(pair=False))
        except (AttributeError, TypeError, ValueError):
            specials = 0
        if self._max_length <= specials:
            raise ConfigError(
                f"suites.adversarial.text.similarity_model: encoder {source!r} reads at most "
                f"{self._max_length} tokens, no more than the {specials} special tokens its "
                "tokenizer adds to every sentence; save the tokenizer with a larger "
                "model_max_length"
            )
        self._device = device
        self._batch = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = []
        for start in range(0, len(texts), self._batch):
            chunk = list(texts[start : start + self._batch])
            enc = self._tok(
                chunk,
                padding=True,
                truncation=True,
                max_length=self._max_length,
                return_tensors="pt",
            )
            enc = {k: v.to(self._device) for k, v in enc.items()}
            with torch.inference_mode():
                hidden = self._model(**enc).last_hidden_state.float()
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)
            out.append(torch.nn.functional.normalize(pooled, dim=1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 1), np.float32)

    def __call__(self, originals: list[str], candidates: list[str]) -> np.ndarray:
        """Cosine similarity of each (original, candidate) pair."""
        a, b = self.embed(originals), self.embed(candidates)
        return np.sum(a * b, axis=1).astype(np.float64)

    def accept(self, min_similarity: float) -> Any:
        """The search's filter: candidates of one original at or above `min_similarity`."""

        def keep(original: str, texts: list[str]) -> np.ndarray:
            sims = self([original] * len(texts), texts)
            return sims >= min_similarity

        return keep
