"""Small models for the in-memory data tests: a text classifier with no weights to train."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from harness.core.adapter import Capabilities, InputSpec
from harness.core.errors import HarnessError


@dataclass
class KeywordText:
    """Class 1 when a text holds `word`, else 0 (logits +-3): a text model in a few lines."""

    word: str = "good"
    name: str = "keyword"
    input_spec: InputSpec = field(
        default_factory=lambda: InputSpec(shape=None, bounds=None, modality="text", dtype="str")
    )
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(gradients=False))
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def logits(self, inputs: Any) -> torch.Tensor:
        hit = torch.tensor([float(self.word in t) for t in inputs])
        return torch.stack([-3 * hit + 1.5, 3 * hit - 1.5], dim=1)

    def module(self) -> torch.nn.Module:
        raise HarnessError("keyword model has no gradients")

    def describe(self) -> dict[str, Any]:
        return {"adapter": "keyword", "word": self.word}

    def identity(self) -> str:
        return f"keyword:{self.word}"
