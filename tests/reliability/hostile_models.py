"""Models that misbehave, for the bad-input catalogue (`tests.reliability.hostile_models:<name>`).

Each wraps the seeded `linear_digits` model and breaks one promise of a classifier's forward:
the type of what it returns, its shape, its dtype, or whether it returns at all.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import torch
from torch import nn

from tests.fixture_models import linear_digits


class _Misbehaving(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.inner = linear_digits()
        self.how = how

    def forward(self, x: torch.Tensor) -> Any:  # noqa: C901 - one branch per misbehaviour
        out = self.inner(x)
        if self.how == "tuple":
            return out, out
        if self.how == "dict":  # read on its 'logits' key (a transformers ModelOutput too)
            return {"logits": out}
        if self.how == "dict-no-logits":
            return {"scores": out}
        if self.how == "none":
            return None
        if self.how == "list":
            return [out]
        if self.how == "short-batch":
            return out[:-1] if len(out) > 1 else out.repeat(2, 1)
        if self.how == "long-batch":
            return torch.cat([out, out[:1]])
        if self.how == "flat":
            return out.reshape(-1)
        if self.how == "complex":
            return torch.complex(out, torch.ones_like(out))
        if self.how == "argmax":
            return out.argmax(1)
        if self.how == "raise":
            raise ValueError("the model refuses this batch")
        if self.how == "recurse":
            return self.forward(x)
        if self.how == "exit":
            sys.exit(3)
        if self.how == "keyboard":  # a model pretending to be Ctrl-C is still the model
            raise KeyboardInterrupt
        if self.how == "oom":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        if self.how == "numpy":
            return out.detach().numpy()
        if self.how == "string":
            return "cat"
        raise AssertionError(self.how)


def misbehaving(how: str) -> nn.Module:
    """`linear_digits` whose forward does `how` instead of returning (batch, 10) logits."""
    return _Misbehaving(how)


def raising_factory() -> nn.Module:
    """A factory that fails while building the model."""
    raise RuntimeError("cannot build: out of coffee")


def exiting_factory() -> nn.Module:
    """A factory that calls sys.exit while building the model."""
    sys.exit(4)


def recursing_factory() -> nn.Module:
    """A factory that recurses forever."""
    return recursing_factory()


def not_a_module() -> object:
    return {"weight": torch.zeros(1)}


def env_reader() -> nn.Module:
    """A model whose construction reads the environment (a factory is code: it can do anything)."""
    os.environ.get("HOME")
    return linear_digits()


NOT_CALLABLE = "a factory reference to this string is not callable"
